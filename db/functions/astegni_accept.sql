-- Accepts one pending request and reports what the rule made, in one round trip (the Python layer's
-- astegni.accept). The caller owns the transaction.
-- Raises AS001, AS002 (astegni_refuse_response) and everything acceptance raises (AS003..AS007).
CREATE OR REPLACE FUNCTION public.astegni_accept(p_request_id integer, p_tutor_id integer DEFAULT NULL)
RETURNS TABLE (request_id integer, status text, responded_at timestamptz, agreed_price numeric,
               sessions_created integer, enrolled_course_id integer, skipped jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    r public.requested_sessions;
BEGIN
    UPDATE public.requested_sessions AS q SET status = 'accepted'
    WHERE q.id = p_request_id AND (p_tutor_id IS NULL OR q.tutor_id = p_tutor_id) AND q.status <> 'accepted'
    RETURNING q.* INTO r;
    IF NOT FOUND THEN
        PERFORM public.astegni_refuse_response(p_request_id, p_tutor_id, 'accepted');
    END IF;
    RETURN QUERY
    SELECT r.id, r.status, r.responded_at,
           (SELECT e.agreed_price FROM public.enrolled_students AS e
            WHERE e.tutor_id = r.tutor_id
              AND e.student_id = public.astegni_request_student(r.requested_to_id, r.requester_type,
                                                                r.requester_id)),
           (SELECT count(*)::integer FROM public.sessions AS s WHERE s.request_id = r.id),
           (SELECT c.id FROM public.enrolled_courses AS c
            WHERE c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id),
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'session_date', k.session_date, 'starts_at', k.starts_at, 'ends_at', k.ends_at,
                       'reason', k.reason, 'clash_session_id', k.clash_session_id)
                   ORDER BY k.session_date), '[]')
            FROM public.skipped_occurrences AS k WHERE k.request_id = r.id);
END
$$;
