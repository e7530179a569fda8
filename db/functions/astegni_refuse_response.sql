-- Says why a response by the Python layer or an admin (astegni_accept, astegni_reject, astegni_cancel)
-- changed no row: the request does not exist (or is not p_tutor_id's), or it already has the status
-- asked for. Always raises; the transition trigger refuses every other wrong change.
-- Raises AS001 (request not found: astegni_claim_request) and AS002 (already responded).
CREATE OR REPLACE FUNCTION public.astegni_refuse_response(
    p_request_id integer, p_tutor_id integer, p_status text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_status text;
BEGIN
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, false);
    SELECT r.status INTO v_status FROM public.requested_sessions AS r WHERE r.id = p_request_id;
    PERFORM public.astegni_raise('AS002',
        format('request %s is already %s', p_request_id, v_status),
        jsonb_build_object('request_id', p_request_id, 'status', v_status, 'requested_status', p_status),
        'Only a pending request can be accepted or rejected, and only an accepted one cancelled.');
END
$$;
