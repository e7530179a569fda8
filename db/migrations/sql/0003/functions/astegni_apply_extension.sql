-- Brings the series among p_ids up to their horizon at p_at, and makes again the occurrences of p_ids
-- that time off held back and no time off covers any more, in one set-based statement: sessions
-- inserted (or, cancelled by the time off, scheduled again), skipped_occurrences recorded, each
-- series' marker moved to its horizon, one 'extended' event per request that grew. A clash is skipped
-- whatever the request's policy: an acceptance made weeks ago cannot be refused now. Clashes are
-- looked up only when p_check_clashes (and for the occurrences made again, whose session the
-- sessions_move trigger would otherwise refuse); else the exclusion constraint guards, and the caller
-- retries one request at a time. A date on which the series already has a session (moved there by
-- hand) is left to it. Called by astegni_on_extension, under the tutors' locks.
CREATE OR REPLACE FUNCTION public.astegni_apply_extension(
    p_at timestamptz, p_ids integer[], p_check_clashes boolean, OUT series_grown integer,
    OUT sessions_made integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_weeks integer := (SELECT s.weeks_horizon FROM public.schedule_settings AS s);
BEGIN
    WITH req AS MATERIALIZED (
        SELECT r.id, r.tutor_id, t.timezone, public.astegni_schedule_of(r) AS schedule, c.id AS course_id,
               CASE WHEN btrim(r.message) <> '' THEN json_build_array(r.message) ELSE '[]'::json END AS topics,
               s.request_id IS NOT NULL AS growing, s.made_until, h.horizon, s.window_start,
               least(s.window_end, s.last_date) AS last_day,
               EXISTS (SELECT FROM public.tutor_time_off AS o
                       WHERE o.tutor_id = r.tutor_id AND upper(o.during) > p_at) AS time_off
        FROM public.requested_sessions AS r
        JOIN public.tutor_profiles AS t ON t.id = r.tutor_id
        JOIN public.enrolled_courses AS c
          ON c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id
        LEFT JOIN public.series AS s ON s.request_id = r.id
        CROSS JOIN LATERAL (
            SELECT public.astegni_horizon(p_at, t.timezone, s.window_start, v_weeks) AS horizon) AS h
        WHERE r.id = ANY (p_ids) AND r.status = 'accepted'
    ),
    -- The series to grow, each with the number of its shape: the same schedule, zone and range make
    -- the same occurrences (a bulk acceptance leaves its series all alike).
    growing AS MATERIALIZED (
        SELECT req.*,
               dense_rank() OVER (ORDER BY req.schedule, req.timezone, req.made_until, req.horizon,
                                           req.window_start, req.last_day) AS shape_id,
               EXISTS (SELECT FROM public.sessions AS x
                       WHERE x.request_id = req.id AND x.session_date > req.made_until::date) AS moved_ahead
        FROM req
        WHERE req.growing AND req.horizon > req.made_until
          AND (req.last_day IS NULL OR req.made_until < req.last_day + 1)
    ),
    occurrence AS MATERIALIZED (
        SELECT shape.shape_id, o.*
        FROM (SELECT DISTINCT ON (g.shape_id) g.* FROM growing AS g) AS shape
        CROSS JOIN LATERAL public.astegni_occurrences(shape.schedule, shape.timezone, p_at, shape.made_until,
                                                      shape.horizon, shape.window_start, shape.last_day) AS o
    ),
    candidate AS (
        SELECT g.id, o.session_date, o.starts_at, o.ends_at, o.duration, o.skip_reason,
               NULL::integer AS session_id, NULL::integer AS skip_id
        FROM growing AS g
        JOIN occurrence AS o ON o.shape_id = g.shape_id
        WHERE NOT g.moved_ahead
           OR NOT EXISTS (SELECT FROM public.sessions AS x
                          WHERE x.request_id = g.id AND x.session_date = o.session_date)
        UNION ALL
        -- Held back by time off that is gone: the session it cancelled, if any, comes back.
        SELECT k.request_id, k.session_date, k.starts_at, k.ends_at,
               (extract(epoch FROM k.ends_at - k.starts_at) / 60)::integer, NULL, x.id, k.id
        FROM req
        JOIN public.skipped_occurrences AS k ON k.request_id = req.id
        LEFT JOIN public.sessions AS x ON x.request_id = k.request_id AND x.session_date = k.session_date
        WHERE k.reason = 'time_off' AND k.starts_at > p_at
          AND NOT EXISTS (SELECT FROM public.tutor_time_off AS o
                          WHERE o.tutor_id = req.tutor_id AND o.during && tstzrange(k.starts_at, k.ends_at))
          AND (x.id IS NULL OR x.status = 'cancelled' AND x.cancelled_reason = 'time_off')
    ),
    plan AS MATERIALIZED (
        SELECT c.*, req.tutor_id, req.course_id, req.topics, (req.schedule).start_time,
               (req.schedule).end_time, j.outcome, j.reason, j.clash_session_id
        FROM candidate AS c
        JOIN req ON req.id = c.id
        CROSS JOIN LATERAL public.astegni_occurrence_outcome(
            c.starts_at, c.ends_at, c.skip_reason, req.tutor_id, req.course_id, 'skip', req.time_off,
            p_check_clashes OR c.skip_id IS NOT NULL) AS j
    ),
    made AS (
        INSERT INTO public.sessions (enrolled_courses_id, tutor_id, request_id, session_date,
                                     start_time, end_time, duration, topics, starts_at, ends_at)
        SELECT plan.course_id, plan.tutor_id, plan.id, plan.session_date, plan.start_time, plan.end_time,
               plan.duration, plan.topics, plan.starts_at, plan.ends_at
        FROM plan
        WHERE plan.outcome = 'create' AND plan.session_id IS NULL
    ),
    revived AS (
        UPDATE public.sessions AS s
        SET status = 'scheduled', cancelled_reason = NULL
        FROM plan
        WHERE plan.outcome = 'create' AND s.id = plan.session_id
    ),
    resolved AS (
        DELETE FROM public.skipped_occurrences AS k
        USING plan
        WHERE plan.outcome = 'create' AND k.id = plan.skip_id
    ),
    reclassified AS (
        UPDATE public.skipped_occurrences AS k
        SET reason = plan.reason, clash_session_id = plan.clash_session_id
        FROM plan
        WHERE plan.outcome = 'skip' AND k.id = plan.skip_id
    ),
    skipped AS (
        INSERT INTO public.skipped_occurrences (request_id, session_date, starts_at, ends_at, reason,
                                                clash_session_id)
        SELECT plan.id, plan.session_date, plan.starts_at, plan.ends_at, plan.reason, plan.clash_session_id
        FROM plan
        WHERE plan.outcome = 'skip' AND plan.skip_id IS NULL
    ),
    advanced AS (
        UPDATE public.series AS s
        SET made_until = g.horizon
        FROM growing AS g
        WHERE s.request_id = g.id
    ),
    grown AS MATERIALIZED (
        SELECT plan.id, plan.tutor_id, count(*) AS sessions, min(plan.starts_at) AS first_starts_at,
               max(plan.starts_at) AS last_starts_at
        FROM plan
        WHERE plan.outcome = 'create'
        GROUP BY plan.id, plan.tutor_id
    ),
    announced AS (
        INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions,
                                           first_starts_at, last_starts_at)
        SELECT 'extended', grown.id, grown.tutor_id,
               public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id),
               grown.sessions, grown.first_starts_at, grown.last_starts_at
        FROM grown
        JOIN public.requested_sessions AS r ON r.id = grown.id
    )
    SELECT count(*), coalesce(sum(grown.sessions), 0) INTO series_grown, sessions_made
    FROM grown;
END
$$;
