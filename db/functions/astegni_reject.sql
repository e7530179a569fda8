-- Rejects one pending request, with an optional reason (the Python layer's astegni.reject).
-- Raises AS001, AS002 (astegni_refuse_response) and AS003 (astegni_on_request_transition).
CREATE OR REPLACE FUNCTION public.astegni_reject(
    p_request_id integer, p_reason text DEFAULT NULL, p_tutor_id integer DEFAULT NULL)
RETURNS TABLE (request_id integer, status text, responded_at timestamptz, rejected_reason text)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE public.requested_sessions AS q SET status = 'rejected', rejected_reason = p_reason
    WHERE q.id = p_request_id AND (p_tutor_id IS NULL OR q.tutor_id = p_tutor_id) AND q.status <> 'rejected'
    RETURNING q.id, q.status::text, q.responded_at AT TIME ZONE 'UTC', q.rejected_reason;
    IF NOT FOUND THEN
        PERFORM public.astegni_refuse_response(p_request_id, p_tutor_id, 'rejected');
    END IF;
END
$$;
