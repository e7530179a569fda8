-- What accepting a request does with one of its occurrences: outcome 'create', 'skip' (reason 'past' or
-- 'dst_gap' from astegni_occurrences, or 'conflict' under conflict_policy 'skip') or 'refuse' (a clash
-- under 'fail'), with the clashing session. Clashes are looked up only when p_check_clashes: the
-- set-based path leaves them to the exclusion constraint. Shared by acceptance and preview_sessions,
-- so that the two cannot disagree.
CREATE OR REPLACE FUNCTION public.astegni_occurrence_outcome(
    p_starts_at timestamptz, p_ends_at timestamptz, p_skip_reason text, p_tutor_id integer,
    p_course_id integer, p_conflict_policy text, p_check_clashes boolean)
RETURNS TABLE (outcome text, reason text, clash_session_id integer)
LANGUAGE sql STABLE
AS $$
SELECT CASE WHEN p_skip_reason IS NOT NULL THEN 'skip'
            WHEN clash.id IS NULL THEN 'create'
            WHEN p_conflict_policy = 'skip' THEN 'skip'
            ELSE 'refuse' END,
       coalesce(p_skip_reason, CASE WHEN clash.id IS NOT NULL THEN 'conflict' END),
       clash.id
FROM (
    -- A CASE, not a join: the set-based path pays nothing per occurrence for the lookup it skips.
    SELECT CASE WHEN p_check_clashes AND p_skip_reason IS NULL THEN (
        SELECT s.id FROM public.sessions AS s
        WHERE s.tutor_id = p_tutor_id
          AND tstzrange(s.starts_at, s.ends_at) && tstzrange(p_starts_at, p_ends_at)
          AND s.enrolled_courses_id IS DISTINCT FROM p_course_id
          AND s.status IS DISTINCT FROM 'cancelled'
        ORDER BY s.starts_at, s.id
        LIMIT 1) END AS id
    OFFSET 0  -- a fence: the lookup runs once, not once per reference below
) AS clash
$$;
