-- Cancels one accepted request, with an optional reason, and reports how many of its sessions were
-- cancelled (the Python layer's astegni.cancel).
-- Raises AS001 (astegni_claim_request), AS002 (astegni_refuse_response) and AS003
-- (astegni_on_request_transition).
CREATE OR REPLACE FUNCTION public.astegni_cancel(
    p_request_id integer, p_reason text DEFAULT NULL, p_tutor_id integer DEFAULT NULL)
RETURNS TABLE (request_id integer, status text, cancelled_at timestamptz, cancelled_reason text,
               sessions_cancelled integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r public.requested_sessions;
BEGIN
    -- The tutor's lock before the request's row: a change of the tutor that holds the lock and then
    -- writes this row (a reschedule) is waited for, never deadlocked with.
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, true);
    -- A statement of its own: the sessions are cancelled by its trigger, before they are counted.
    UPDATE public.requested_sessions AS q SET status = 'cancelled', cancelled_reason = p_reason
    WHERE q.id = p_request_id AND (p_tutor_id IS NULL OR q.tutor_id = p_tutor_id) AND q.status <> 'cancelled'
    RETURNING q.* INTO r;
    IF NOT FOUND THEN
        PERFORM public.astegni_refuse_response(p_request_id, p_tutor_id, 'cancelled');
    END IF;
    RETURN QUERY
    SELECT r.id, r.status::text, r.cancelled_at, r.cancelled_reason,
           (SELECT count(*)::integer FROM public.sessions AS s
            WHERE s.request_id = r.id AND s.status = 'cancelled'
              AND s.updated_at = now() AT TIME ZONE 'UTC');
END
$$;
