-- Brings the series among p_ids up to their horizon at p_at, and makes again the occurrences of p_ids
-- that time off held back and no time off covers any more, in one set-based statement: sessions
-- inserted (or, cancelled by the time off, scheduled again), skipped_occurrences recorded, each
-- series' marker moved to its horizon, one 'extended' event per request that grew. A clash is skipped
-- whatever the request's policy: an acceptance made weeks ago cannot be refused now. Clashes are
-- looked up only when p_check_clashes (and for the occurrences made again, whose session the
-- sessions_move trigger would otherwise refuse); else the exclusion constraint guards, and the caller
-- retries one request at a time. A date on which the series already has a session (moved there by
-- hand) is left to it, and so is the marker's own day when it has a skipped occurrence (a reschedule
-- decides that day whole). Called by astegni_on_extension, under the tutors' locks.
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
               CASE WHEN btrim(r.message) <> '' THEN json_build_array(r.message) ELSE '[]'::json END
                   AS topics,
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
    -- The series to grow, split by the patterns they have had (series_patterns, once rescheduled: the
    -- newest applying from its date on), each part with the number of its shape: the same schedule,
    -- zone and range make the same occurrences (a bulk acceptance leaves its series all alike).
    growing AS MATERIALIZED (
        SELECT req.id, req.tutor_id, req.course_id, req.topics, req.time_off, req.horizon, req.timezone,
               req.made_until, part.schedule, part.after, part.until, req.window_start, req.last_day,
               dense_rank() OVER (ORDER BY part.schedule, req.timezone, part.after, part.until,
                                           req.window_start, req.last_day) AS shape_id,
               -- A session already on a date of the stretch (moved there by hand) keeps the date:
               -- looked up per occurrence only where one exists, and on the marker's own day (a
               -- session before the marker's time, the occurrence after it).
               EXISTS (SELECT FROM public.sessions AS x
                       WHERE x.request_id = req.id AND x.session_date > req.made_until::date) AS taken
        FROM req
        CROSS JOIN LATERAL (
            SELECT req.schedule, req.made_until AS after, req.horizon AS until
            WHERE NOT EXISTS (SELECT FROM public.series_patterns AS p WHERE p.request_id = req.id)
            UNION ALL
            -- From its first day (midnight, on the wall clock) to the day before a newer one applies.
            SELECT ROW((req.schedule).schedule_type, p.days, (req.schedule).specific_dates,
                       (req.schedule).months, (req.schedule).year_range, p.start_time,
                       p.end_time)::public.astegni_schedule,
                   greatest(req.made_until, p.valid_from - interval '1 microsecond'),
                   least(req.horizon, p.until - interval '1 microsecond')
            FROM (SELECT q.*, min(q.valid_from) OVER (ORDER BY q.id DESC ROWS BETWEEN UNBOUNDED PRECEDING
                                                                              AND 1 PRECEDING) AS until
                  FROM public.series_patterns AS q WHERE q.request_id = req.id) AS p
            WHERE p.until IS NULL OR p.until > p.valid_from
        ) AS part
        WHERE req.growing AND req.horizon > req.made_until
          AND (req.last_day IS NULL OR req.made_until < req.last_day + 1)
          AND part.until > part.after
    ),
    occurrence AS MATERIALIZED (
        SELECT shape.shape_id, o.*
        FROM (SELECT DISTINCT ON (g.shape_id) g.* FROM growing AS g) AS shape
        CROSS JOIN LATERAL public.astegni_occurrences(shape.schedule, shape.timezone, p_at, shape.after,
                                                      shape.until, shape.window_start, shape.last_day) AS o
    ),
    -- Each candidate carries its request's columns: joined back to req, the generic plan (which
    -- guesses one request) nested-looped the whole candidate list once per request.
    candidate AS (
        SELECT g.id, g.tutor_id, g.course_id, g.topics, g.time_off, o.session_date, o.starts_at,
               o.ends_at, o.duration, o.skip_reason, (g.schedule).start_time, (g.schedule).end_time,
               NULL::integer AS session_id, NULL::integer AS skip_id
        FROM growing AS g
        JOIN occurrence AS o ON o.shape_id = g.shape_id
        WHERE NOT (g.taken OR o.session_date = g.made_until::date)
           OR NOT EXISTS (SELECT FROM public.sessions AS x
                          WHERE x.request_id = g.id AND x.session_date = o.session_date)
              -- The marker's day as a reschedule left it, made to that day's end: its skipped
              -- occurrence too (time off that is gone makes it again below, once).
              AND (o.session_date <> g.made_until::date
                   OR NOT EXISTS (SELECT FROM public.skipped_occurrences AS k
                                  WHERE k.request_id = g.id AND k.session_date = o.session_date))
        UNION ALL
        -- Held back by time off that is gone, at the times it had: the session it cancelled, if any,
        -- comes back.
        SELECT k.request_id, req.tutor_id, req.course_id, req.topics, req.time_off, k.session_date,
               k.starts_at, k.ends_at, (extract(epoch FROM k.ends_at - k.starts_at) / 60)::integer, NULL,
               (k.starts_at AT TIME ZONE req.timezone)::time, (k.ends_at AT TIME ZONE req.timezone)::time,
               x.id, k.id
        FROM req
        JOIN public.skipped_occurrences AS k ON k.request_id = req.id
        LEFT JOIN public.sessions AS x ON x.request_id = k.request_id AND x.session_date = k.session_date
        WHERE k.reason = 'time_off' AND k.starts_at > p_at
          AND NOT EXISTS (SELECT FROM public.tutor_time_off AS o
                          WHERE o.tutor_id = req.tutor_id AND o.during && tstzrange(k.starts_at, k.ends_at))
          AND (x.id IS NULL OR x.status = 'cancelled' AND x.cancelled_reason = 'time_off')
    ),
    plan AS MATERIALIZED (
        SELECT c.*, j.outcome, j.reason, j.clash_session_id
        FROM candidate AS c
        CROSS JOIN LATERAL public.astegni_occurrence_outcome(
            c.starts_at, c.ends_at, c.skip_reason, c.tutor_id, c.course_id, 'skip', c.time_off,
            p_check_clashes OR c.skip_id IS NOT NULL) AS j
    ),
    made AS (
        INSERT INTO public.sessions (enrolled_courses_id, tutor_id, request_id, session_date,
                                     start_time, end_time, duration, topics, starts_at, ends_at)
        SELECT plan.course_id, plan.tutor_id, plan.id, plan.session_date, plan.start_time, plan.end_time,
               plan.duration, plan.topics, plan.starts_at, plan.ends_at
        FROM plan
        WHERE plan.outcome = 'create' AND plan.session_id IS NULL
        ORDER BY plan.id, plan.session_date  -- a request's rows together: its index entries are neighbours
    ),
    revived AS (
        UPDATE public.sessions AS s
        SET status = 'scheduled', cancelled_reason = NULL
        FROM plan
        WHERE plan.outcome = 'create' AND plan.session_id IS NOT NULL AND s.id = plan.session_id
    ),
    resolved AS (
        DELETE FROM public.skipped_occurrences AS k
        USING plan
        WHERE plan.outcome = 'create' AND plan.skip_id IS NOT NULL AND k.id = plan.skip_id
    ),
    reclassified AS (
        UPDATE public.skipped_occurrences AS k
        SET reason = plan.reason, clash_session_id = plan.clash_session_id
        FROM plan
        WHERE plan.outcome = 'skip' AND plan.skip_id IS NOT NULL AND k.id = plan.skip_id
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
        FROM (SELECT DISTINCT g.id, g.horizon FROM growing AS g) AS g
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
