-- What accepting a pending request now would do, one row per occurrence; writes nothing.
-- outcome 'create', 'skip' (reason past, dst_gap, time_off, conflict or tutor_edit) or 'refuse' (a clash
-- that would refuse a conflict_policy 'fail' request), from the same plan acceptance uses; with the
-- tutor's edits (p_without, p_moves, as astegni_accept takes them), what accepting with them would do.
-- Raises AS001, AS002 (not pending), AS004, AS005, AS006, AS012, AS017, like acceptance.
CREATE OR REPLACE FUNCTION public.preview_sessions(p_request_id integer, p_without date[] DEFAULT '{}',
                                                   p_moves jsonb DEFAULT '{}')
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               outcome text, reason text, clash_session_id integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
-- One plan kept for the RETURN QUERY: a custom plan would be made again on every call (~1 ms).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    r public.requested_sessions;
    v_zone text;
    v_course_id integer;
    v_limit integer;
    v_edits public.astegni_edit[];
BEGIN
    SELECT q.* INTO r FROM public.requested_sessions AS q WHERE q.id = p_request_id;
    IF NOT FOUND THEN
        PERFORM public.astegni_raise('AS001', format('request %s does not exist', p_request_id),
                                     jsonb_build_object('request_id', p_request_id),
                                     'Check the request id.');
    ELSIF r.status <> 'pending' THEN
        PERFORM public.astegni_raise('AS002', format('request %s is already %s', r.id, r.status),
            jsonb_build_object('request_id', r.id, 'status', r.status), 'Only a pending request can be previewed.');
    END IF;
    -- In astegni_accept's order: the edits as written, the request, then the edits' dates.
    IF cardinality(p_without) > 0 OR p_moves IS DISTINCT FROM '{}' THEN  -- as astegni_accept decides
        v_edits := ARRAY(SELECT public.astegni_edits(r.id, p_without, p_moves));
    END IF;
    PERFORM public.astegni_check_requests(ARRAY[r.id]);
    IF cardinality(v_edits) > 0 THEN
        PERFORM public.astegni_check_edits(r, v_edits);
    END IF;

    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = r.tutor_id;
    SELECT c.id INTO v_course_id FROM public.enrolled_courses AS c
    WHERE c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id;
    SELECT s.session_limit INTO v_limit FROM public.schedule_settings AS s;

    -- One expansion: the plan is kept and counted for the limit before a row is returned.
    RETURN QUERY
    WITH o AS MATERIALIZED (
        SELECT x.*
        FROM public.astegni_request_occurrences(r) AS u
        LEFT JOIN unnest(v_edits) AS e ON e.session_date = u.session_date
        CROSS JOIN LATERAL public.astegni_edit_occurrence(
            u.session_date, u.starts_at, u.ends_at, u.duration, u.skip_reason, r.start_time, r.end_time,
            e.session_date IS NOT NULL, e.start_time, e.end_time, v_zone, now()) AS x
    ),
    -- One range probe first: a tutor with nothing booked across the whole window needs no clash lookup
    -- per occurrence.
    busy AS MATERIALIZED (
        SELECT EXISTS (
            SELECT FROM public.sessions AS s,
                        -- the occurrences that have a time: a DST gap's may end before it starts
                        (SELECT min(o.starts_at) AS first, max(o.ends_at) AS last FROM o
                         WHERE o.ends_at > o.starts_at) AS w
            WHERE s.tutor_id = r.tutor_id
              AND tstzrange(s.starts_at, s.ends_at) && tstzrange(w.first, w.last)
              AND s.status IS DISTINCT FROM 'cancelled') AS any
    ),
    p AS MATERIALIZED (
        SELECT o.session_date, o.starts_at, o.ends_at, o.duration, j.outcome, j.reason, j.clash_session_id
        FROM o, busy
        CROSS JOIN LATERAL public.astegni_occurrence_outcome(
            o.starts_at, o.ends_at, o.skip_reason, r.tutor_id, v_course_id, r.conflict_policy, true,
            busy.any) AS j
    ),
    allowed AS MATERIALIZED (
        SELECT public.astegni_refuse_outcome(r, count(*)::integer, v_limit, v_zone, NULL, NULL) AS ok
        FROM p WHERE p.reason IS NULL OR p.reason = 'conflict'
    )
    SELECT p.* FROM p, allowed WHERE allowed.ok
    ORDER BY p.session_date;
END
$$;
