-- Accepts one pending request and reports what the rule made (its acceptances row), in one round trip
-- (the Python layer's astegni.accept). The caller owns the transaction. The tutor's edits, if any, go
-- with it: the dates of p_without left out, those of p_moves moved (astegni_edits says how they are
-- written), handed to the acceptance its UPDATE triggers by astegni_stage_edits.
-- Raises AS001 (astegni_claim_request), AS002 (astegni_refuse_response), AS017 (astegni_edits,
-- astegni_check_edits) and everything acceptance raises (AS003..AS007, AS012).
CREATE OR REPLACE FUNCTION public.astegni_accept(p_request_id integer, p_tutor_id integer DEFAULT NULL,
                                                 p_without date[] DEFAULT '{}', p_moves jsonb DEFAULT '{}')
RETURNS TABLE (request_id integer, status text, responded_at timestamptz, agreed_price numeric,
               sessions_created integer, students_enrolled integer, note text, enrolled_course_id integer,
               skipped jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    r public.requested_sessions;
BEGIN
    -- The tutor's lock before the request's row: a change of the tutor that holds the lock and then
    -- writes this row (a reschedule) is waited for, never deadlocked with.
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, true);
    IF cardinality(p_without) > 0 OR p_moves IS DISTINCT FROM '{}' THEN
        PERFORM public.astegni_stage_edits(p_request_id, p_without, p_moves);
    END IF;
    UPDATE public.requested_sessions AS q SET status = 'accepted'
    WHERE q.id = p_request_id AND (p_tutor_id IS NULL OR q.tutor_id = p_tutor_id) AND q.status <> 'accepted'
    RETURNING q.* INTO r;
    IF NOT FOUND THEN
        PERFORM public.astegni_refuse_response(p_request_id, p_tutor_id, 'accepted');
    END IF;
    RETURN QUERY
    SELECT r.id, r.status::text, r.responded_at AT TIME ZONE 'UTC',
           coalesce(r.counter_offer_price,
                    (SELECT p.hourly_rate FROM public.tutor_packages AS p WHERE p.id = r.package_id)),
           a.sessions_created, a.students_enrolled, a.note,
           (SELECT c.id FROM public.enrolled_courses AS c
            WHERE c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id),
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'session_date', k.session_date, 'starts_at', k.starts_at, 'ends_at', k.ends_at,
                       'reason', k.reason, 'clash_session_id', k.clash_session_id)
                   ORDER BY k.session_date), '[]')
            FROM public.skipped_occurrences AS k WHERE k.request_id = r.id)
    FROM public.acceptances AS a
    WHERE a.request_id = r.id;
END
$$;
