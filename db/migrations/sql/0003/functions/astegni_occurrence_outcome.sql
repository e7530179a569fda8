-- What is done with one occurrence: outcome 'create', 'skip' (reason 'past' or 'dst_gap' from
-- astegni_occurrences, 'time_off' inside the tutor's time off, or 'conflict' under conflict_policy
-- 'skip') or 'refuse' (a clash under 'fail'), with the clashing session. Time off is looked up only
-- when p_time_off (the tutor has some ahead) and clashes only when p_check_clashes (the set-based
-- paths leave them to the exclusion constraint). Shared by acceptance, extension, reschedule and the
-- previews, so that they cannot disagree.
CREATE OR REPLACE FUNCTION public.astegni_occurrence_outcome(
    p_starts_at timestamptz, p_ends_at timestamptz, p_skip_reason text, p_tutor_id integer,
    p_course_id integer, p_conflict_policy text, p_time_off boolean, p_check_clashes boolean)
RETURNS TABLE (outcome text, reason text, clash_session_id integer)
LANGUAGE sql STABLE
AS $$
SELECT CASE WHEN judged.reason IS NOT NULL THEN 'skip'
            WHEN clash.id IS NULL THEN 'create'
            WHEN p_conflict_policy = 'skip' THEN 'skip'
            ELSE 'refuse' END,
       coalesce(judged.reason, CASE WHEN clash.id IS NOT NULL THEN 'conflict' END),
       clash.id
FROM (
    SELECT coalesce(p_skip_reason, CASE WHEN p_time_off AND EXISTS (
        SELECT FROM public.tutor_time_off AS o
        WHERE o.tutor_id = p_tutor_id AND o.during && tstzrange(p_starts_at, p_ends_at)) THEN 'time_off' END)
        AS reason
    OFFSET 0  -- a fence: the lookup runs once, not once per reference below
) AS judged
CROSS JOIN LATERAL (
    -- A CASE, not a join: the set-based paths pay nothing per occurrence for the lookup they skip.
    SELECT CASE WHEN p_check_clashes AND judged.reason IS NULL THEN (
        SELECT s.id FROM public.sessions AS s
        WHERE s.tutor_id = p_tutor_id
          AND tstzrange(s.starts_at, s.ends_at) && tstzrange(p_starts_at, p_ends_at)
          AND s.enrolled_courses_id IS DISTINCT FROM p_course_id
          AND s.status IS DISTINCT FROM 'cancelled'
        ORDER BY s.starts_at, s.id
        LIMIT 1) END AS id
    OFFSET 0
) AS clash
$$;
