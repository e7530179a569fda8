-- Trigger function (BEFORE UPDATE on requested_sessions, rows whose status or id changes): a request's
-- id never changes (sessions and the rule's records refer to it); of the status changes, it allows
-- pending -> accepted, pending -> rejected and accepted -> cancelled, and stamps them with the
-- transaction time (responded_at, rejected_at, cancelled_at, updated_at). The app's own columns are
-- naive timestamps: they get UTC wall-clock time, whatever the client's TimeZone.
-- Raises AS002 (already responded), AS003 (invalid transition) and AS013 (immutable request id).
CREATE OR REPLACE FUNCTION public.astegni_on_request_transition()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM public.astegni_raise('AS013',
            format('request %s cannot become request %s', OLD.id, NEW.id),
            jsonb_build_object('request_id', OLD.id, 'field', 'id', 'value', NEW.id::text),
            'A request keeps its id: its sessions and records refer to it.');
    END IF;
    IF OLD.status IS NOT DISTINCT FROM NEW.status THEN
        RETURN NEW;
    ELSIF OLD.status = 'pending' AND NEW.status IN ('accepted', 'rejected') THEN
        NEW.responded_at := now() AT TIME ZONE 'UTC';
        IF NEW.status = 'rejected' THEN
            NEW.rejected_at := now() AT TIME ZONE 'UTC';
        END IF;
    ELSIF OLD.status = 'accepted' AND NEW.status = 'cancelled' THEN
        NEW.cancelled_at := now();
    ELSIF NEW.status IN ('accepted', 'rejected') OR OLD.status = 'cancelled' THEN
        PERFORM public.astegni_raise('AS002',
            format('request %s is already %s', OLD.id, OLD.status),
            jsonb_build_object('request_id', OLD.id, 'status', OLD.status, 'requested_status', NEW.status),
            'Only a pending request can be accepted or rejected, and only an accepted one cancelled.');
    ELSE
        PERFORM public.astegni_raise('AS003',
            format('request %s cannot go from %L to %L', OLD.id, OLD.status, NEW.status),
            jsonb_build_object('request_id', OLD.id, 'status', OLD.status, 'requested_status', NEW.status),
            'Allowed: pending -> accepted, pending -> rejected, accepted -> cancelled.');
    END IF;
    NEW.updated_at := now() AT TIME ZONE 'UTC';
    RETURN NEW;
END
$$;
