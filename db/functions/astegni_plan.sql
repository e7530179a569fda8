-- What accepting a request at p_at does with each occurrence: outcome 'create', 'skip' (reason 'past',
-- 'dst_gap' or 'conflict' under conflict_policy 'skip') or 'refuse' (a clash under 'fail'), with the
-- clashing session. Clashes are looked up only when p_check_clashes: the set-based path leaves them to
-- the exclusion constraint. Shared by acceptance and preview_sessions, so that the two cannot disagree.
CREATE OR REPLACE FUNCTION public.astegni_plan(
    r public.requested_sessions, p_course_id integer, p_zone text, p_at timestamptz,
    p_weeks integer, p_limit integer, p_check_clashes boolean)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               outcome text, reason text, clash_session_id integer)
LANGUAGE sql STABLE
AS $$
SELECT o.session_date, o.starts_at, o.ends_at,
       (extract(epoch FROM o.ends_at - o.starts_at) / 60)::integer,
       CASE WHEN o.skip_reason IS NOT NULL THEN 'skip'
            WHEN clash.id IS NULL THEN 'create'
            WHEN r.conflict_policy = 'skip' THEN 'skip'
            ELSE 'refuse' END,
       coalesce(o.skip_reason, CASE WHEN clash.id IS NOT NULL THEN 'conflict' END),
       clash.id
FROM public.astegni_occurrences(r, p_zone, p_at, p_weeks, p_limit) AS o
LEFT JOIN LATERAL (
    SELECT s.id FROM public.sessions AS s
    WHERE p_check_clashes AND o.skip_reason IS NULL
      AND s.tutor_id = r.tutor_id
      AND tstzrange(s.starts_at, s.ends_at) && tstzrange(o.starts_at, o.ends_at)
      AND s.enrolled_courses_id IS DISTINCT FROM p_course_id
      AND s.status IS DISTINCT FROM 'cancelled'
    ORDER BY s.starts_at, s.id
    LIMIT 1
) AS clash ON true
$$;
