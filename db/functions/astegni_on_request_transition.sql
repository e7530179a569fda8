-- Trigger function (BEFORE UPDATE on requested_sessions, rows whose status changes): allows
-- pending -> accepted, pending -> rejected and accepted -> cancelled, and stamps them with the
-- transaction time (responded_at, rejected_at, cancelled_at, updated_at). The app's own columns are
-- naive timestamps: they get UTC wall-clock time, whatever the client's TimeZone.
-- Raises AS002 (already responded) and AS003 (invalid transition).
CREATE OR REPLACE FUNCTION public.astegni_on_request_transition()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF OLD.status = 'pending' AND NEW.status IN ('accepted', 'rejected') THEN
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
    -- Tells this statement's astegni_on_request_statement that it has work (other updates skip it).
    PERFORM set_config('astegni.status_changed', 'on', true);
    RETURN NEW;
END
$$;
