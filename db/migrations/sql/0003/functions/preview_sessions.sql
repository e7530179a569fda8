-- What accepting a pending request now would do, one row per occurrence; writes nothing.
-- outcome 'create', 'skip' (reason past, dst_gap, time_off or conflict) or 'refuse' (a clash that would
-- refuse a conflict_policy 'fail' request), from the same plan acceptance uses.
-- Raises AS001, AS002 (not pending), AS004, AS005, AS006, AS012, like acceptance.
CREATE OR REPLACE FUNCTION public.preview_sessions(p_request_id integer)
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
    v_weeks integer;
    v_limit integer;
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
    PERFORM public.astegni_check_requests(ARRAY[r.id]);

    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = r.tutor_id;
    SELECT c.id INTO v_course_id FROM public.enrolled_courses AS c
    WHERE c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id;
    SELECT s.weeks_horizon, s.session_limit INTO v_weeks, v_limit FROM public.schedule_settings AS s;

    -- One expansion: the plan is kept and counted for the limit before a row is returned.
    RETURN QUERY
    WITH o AS MATERIALIZED (
        SELECT x.*
        FROM (SELECT public.astegni_schedule_of(r) AS schedule,
                     (now() AT TIME ZONE v_zone)::date AS today) AS s
        LEFT JOIN LATERAL public.astegni_series_window(s.schedule, s.today) AS w ON true
        CROSS JOIN LATERAL public.astegni_occurrences(
            s.schedule, v_zone, now(), now() AT TIME ZONE v_zone,
            public.astegni_horizon(now(), v_zone, w.window_start, v_weeks), w.window_start, w.window_end) AS x
    ),
    -- One range probe first: a tutor with nothing booked across the whole window needs no clash lookup
    -- per occurrence.
    busy AS MATERIALIZED (
        SELECT EXISTS (
            SELECT FROM public.sessions AS s,
                        (SELECT min(o.starts_at) AS first, max(o.ends_at) AS last FROM o) AS w
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
