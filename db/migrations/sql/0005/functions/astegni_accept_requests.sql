-- Accepts requests whose status just became 'accepted': the rule's entry point, called by the
-- statement-level trigger with the ids of the statement's accepted rows (ascending).
-- Set-based first; if the exclusion constraint reports a clash, the statement's work is undone and
-- redone one request at a time in id order, so that a later request sees the sessions of an earlier one.
-- The edits astegni_accept staged for these requests in this transaction are checked first
-- (astegni_check_edits); astegni_apply_acceptance applies them.
-- Raises AS004, AS005, AS012 (astegni_check_requests), AS017 (astegni_check_edits), AS006, AS007
-- (astegni_refuse_outcome) and 40001 when a concurrent transaction booked the slot after this one's
-- snapshot (retry the transaction).
CREATE OR REPLACE FUNCTION public.astegni_accept_requests(p_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    PERFORM public.astegni_lock_tutors(ARRAY(
        SELECT r.tutor_id FROM public.requested_sessions AS r WHERE r.id = ANY (p_ids)));
    PERFORM public.astegni_check_requests(p_ids);
    PERFORM public.astegni_check_edits(r, e.edits)
    FROM (SELECT e.request_id,
                 array_agg(ROW(e.session_date, e.start_time, e.end_time)::public.astegni_edit) AS edits
          FROM public.acceptance_edits AS e
          WHERE e.request_id = ANY (p_ids) AND e.staged_by = txid_current()
          GROUP BY e.request_id) AS e
    JOIN public.requested_sessions AS r ON r.id = e.request_id
    ORDER BY r.id;
    BEGIN
        PERFORM public.astegni_apply_acceptance(p_ids, false);
    EXCEPTION WHEN exclusion_violation THEN
        FOREACH v_id IN ARRAY p_ids LOOP
            BEGIN
                PERFORM public.astegni_apply_acceptance(ARRAY[v_id], true);
            EXCEPTION WHEN exclusion_violation THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'serialization_failure',
                    MESSAGE = format('request %s: a concurrent transaction booked one of its slots', v_id),
                    HINT = 'Retry the transaction.';
            END;
        END LOOP;
    END;
END
$$;
