-- Hands the edits of astegni_accept (astegni_edits) to the acceptance its UPDATE is about to trigger, in
-- the same transaction: rows of acceptance_edits stamped with the transaction, which
-- astegni_accept_requests checks and astegni_apply_acceptance applies and deletes. Rows another
-- transaction left (only a direct call that did not accept can) are replaced, and never applied.
-- SECURITY DEFINER: astegni_accept runs as the client, and no client writes acceptance_edits.
-- Raises AS002 (the request is not pending: nothing to edit; astegni_refuse_response) and AS017
-- (astegni_edits).
CREATE OR REPLACE FUNCTION public.astegni_stage_edits(p_request_id integer, p_without date[], p_moves jsonb)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM public.requested_sessions AS r
                   WHERE r.id = p_request_id AND r.status = 'pending') THEN
        PERFORM public.astegni_refuse_response(p_request_id, NULL, 'accepted');
    END IF;
    DELETE FROM public.acceptance_edits AS e WHERE e.request_id = p_request_id;
    INSERT INTO public.acceptance_edits (request_id, session_date, start_time, end_time)
    SELECT p_request_id, e.session_date, e.start_time, e.end_time
    FROM public.astegni_edits(p_request_id, p_without, p_moves) AS e;
END
$$;
