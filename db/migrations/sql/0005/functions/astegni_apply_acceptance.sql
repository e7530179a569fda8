-- Enrols the students of accepted requests and creates their sessions in one set-based statement:
-- enrolled_students and enrolled_courses upserted (every student of a shared booking), sessions and
-- skipped_occurrences inserted (a recurring request: its first stretch, up to the horizon, and its
-- series row), one acceptances row per request saying what was made and why not more,
-- refusals raised, one astegni_events row per request (and the listeners woken: astegni_notify). Called by astegni_accept_requests, once
-- for the whole statement (p_check_clashes false: the exclusion constraint guards) or once per request in
-- id order when a clash has to be resolved (p_check_clashes true).
-- The tutor's edits that astegni_accept staged in this transaction (acceptance_edits, checked by
-- astegni_accept_requests) are applied to their occurrences (astegni_edit_occurrence) and deleted.
-- Naive timestamps of the app's tables are written in UTC (the caller pins TimeZone for their defaults).
-- Raises AS006 and AS007 through astegni_refuse_outcome.
CREATE OR REPLACE FUNCTION public.astegni_apply_acceptance(p_ids integer[], p_check_clashes boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
-- One generic plan for the one big statement: re-planning it for each accept cost more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_weeks integer;
    v_limit integer;
    v_requests integer;
    v_edited integer[];
BEGIN
    SELECT s.weeks_horizon, s.session_limit INTO v_weeks, v_limit FROM public.schedule_settings AS s;
    v_edited := ARRAY(SELECT DISTINCT e.request_id FROM public.acceptance_edits AS e
                      WHERE e.request_id = ANY (p_ids) AND e.staged_by = txid_current());

    WITH req AS (
        SELECT r AS request, r.id, r.tutor_id, r.package_id, r.message, t.timezone,
               public.astegni_schedule_of(r) AS schedule,
               public.astegni_schedule_note(public.astegni_schedule_of(r), (now() AT TIME ZONE t.timezone)::date)
                   AS note,
               lower(btrim(r.schedule_type)) = 'recurring' AS recurring,
               w.window_start, w.window_end,
               public.astegni_horizon(now(), t.timezone, w.window_start, v_weeks) AS horizon,
               EXISTS (SELECT FROM public.tutor_time_off AS o
                       WHERE o.tutor_id = r.tutor_id AND upper(o.during) > now()) AS time_off,
               public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id)
                   AS student_id,
               coalesce(r.counter_offer_price, p.hourly_rate) AS agreed_price,
               coalesce(p.course_ids, '{}') AS course_ids,
               r.id = ANY (v_edited) AS edited
        FROM public.requested_sessions AS r
        -- Probes by key (OFFSET 0 keeps them lateral): the generic plan's guess of 10 requests would
        -- otherwise hash every tutor and every package for each accept.
        CROSS JOIN LATERAL (SELECT t.timezone FROM public.tutor_profiles AS t WHERE t.id = r.tutor_id
                            OFFSET 0) AS t
        LEFT JOIN LATERAL (SELECT p.hourly_rate, p.course_ids FROM public.tutor_packages AS p
                           WHERE p.id = r.package_id OFFSET 0) AS p ON true
        LEFT JOIN LATERAL public.astegni_series_window(
            public.astegni_schedule_of(r), (now() AT TIME ZONE t.timezone)::date) AS w ON true
        WHERE r.id = ANY (p_ids)
    ),
    -- A recurring request becomes a series, made up to its horizon (astegni_extend_series goes on).
    started AS (
        INSERT INTO public.series (request_id, tutor_id, window_start, window_end, made_until)
        SELECT req.id, req.tutor_id, req.window_start, req.window_end, req.horizon
        FROM req
        WHERE req.recurring
    ),
    -- Each student of each request: a shared booking enrols its whole roster.
    enrol AS MATERIALIZED (
        SELECT req.id, req.tutor_id, req.package_id, req.agreed_price, req.course_ids, s.student_id
        FROM req
        CROSS JOIN LATERAL public.astegni_request_students(req.request) AS s (student_id)
    ),
    enrolment AS (
        -- One row per (tutor, student): the request with the highest id sets package and price.
        INSERT INTO public.enrolled_students AS e (tutor_id, student_id, package_id, agreed_price)
        SELECT DISTINCT ON (enrol.tutor_id, enrol.student_id)
               enrol.tutor_id, enrol.student_id, enrol.package_id, enrol.agreed_price
        FROM enrol
        ORDER BY enrol.tutor_id, enrol.student_id, enrol.id DESC
        ON CONFLICT (tutor_id, student_id) DO UPDATE
        SET package_id = excluded.package_id, agreed_price = excluded.agreed_price,
            updated_at = now() AT TIME ZONE 'UTC'
    ),
    course AS (
        INSERT INTO public.enrolled_courses AS c (tutor_id, package_id, students_id, course_id)
        SELECT enrol.tutor_id, enrol.package_id, array_agg(DISTINCT enrol.student_id), min(enrol.course_ids)
        FROM enrol
        GROUP BY enrol.tutor_id, enrol.package_id
        ON CONFLICT ON CONSTRAINT enrolled_courses_tutor_package_key DO UPDATE
        SET students_id = c.students_id || ARRAY(
                SELECT s FROM unnest(excluded.students_id) AS s WHERE s <> ALL (c.students_id)),
            updated_at = now() AT TIME ZONE 'UTC'
        RETURNING c.id, c.tutor_id, c.package_id
    ),
    -- Each request with its course and the number of its shape: requests with the same schedule in the
    -- same zone have the same occurrences (the window and the horizon follow from the two); an edited
    -- request has a shape of its own. Fenced
    -- (MATERIALIZED) so that the joins below stay hash joins: the generic plan guesses 10 requests.
    booked AS MATERIALIZED (
        SELECT req.*, course.id AS course_id,
               dense_rank() OVER (ORDER BY req.schedule, req.timezone,
                                            CASE WHEN req.edited THEN req.id END) AS shape_id
        FROM req
        JOIN course ON course.tutor_id = req.tutor_id
                   AND coalesce(course.package_id, 0) = coalesce(req.package_id, 0)
    ),
    -- Each shape expanded once (MATERIALIZED, or the planner would expand it again for every request),
    -- an edited request's with its edits.
    occurrence AS MATERIALIZED (
        SELECT shape.shape_id, x.*
        FROM (SELECT DISTINCT ON (b.shape_id) b.shape_id, b.id, b.edited, b.schedule, b.timezone,
                     b.window_start, b.window_end, b.horizon
              FROM booked AS b) AS shape
        CROSS JOIN LATERAL public.astegni_occurrences(
            shape.schedule, shape.timezone, now(), now() AT TIME ZONE shape.timezone, shape.horizon,
            shape.window_start, shape.window_end) AS o
        LEFT JOIN public.acceptance_edits AS e
          ON shape.edited AND e.request_id = shape.id AND e.session_date = o.session_date
         AND e.staged_by = txid_current()
        CROSS JOIN LATERAL public.astegni_edit_occurrence(
            o.session_date, o.starts_at, o.ends_at, o.duration, o.skip_reason, (shape.schedule).start_time,
            (shape.schedule).end_time, e.request_id IS NOT NULL, e.start_time, e.end_time, shape.timezone,
            now()) AS x
    ),
    plan AS (
        SELECT b.id AS request_id, b.tutor_id, b.course_id, o.session_date, o.start_time, o.end_time,
               o.starts_at, o.ends_at, o.duration,
               CASE WHEN btrim(b.message) <> '' THEN json_build_array(b.message) ELSE '[]'::json END AS topics,
               j.outcome, j.reason, j.clash_session_id
        FROM booked AS b
        JOIN occurrence AS o ON o.shape_id = b.shape_id
        CROSS JOIN LATERAL public.astegni_occurrence_outcome(
            o.starts_at, o.ends_at, o.skip_reason, b.tutor_id, b.course_id, (b.request).conflict_policy,
            b.time_off, p_check_clashes) AS j
    ),
    made AS (
        INSERT INTO public.sessions (enrolled_courses_id, tutor_id, request_id, session_date,
                                     start_time, end_time, duration, topics, starts_at, ends_at)
        SELECT plan.course_id, plan.tutor_id, plan.request_id, plan.session_date, plan.start_time,
               plan.end_time, plan.duration, plan.topics, plan.starts_at, plan.ends_at
        FROM plan
        WHERE plan.outcome = 'create'
    ),
    skipped AS (
        INSERT INTO public.skipped_occurrences (request_id, session_date, starts_at, ends_at, reason,
                                                clash_session_id)
        SELECT plan.request_id, plan.session_date, plan.starts_at, plan.ends_at, plan.reason,
               plan.clash_session_id
        FROM plan
        WHERE plan.outcome = 'skip'
    ),
    outcome AS (
        SELECT plan.request_id,
               count(*) FILTER (WHERE plan.outcome = 'create') AS created,
               count(*) FILTER (WHERE plan.reason IS NULL OR plan.reason = 'conflict') AS wanted,
               min(plan.starts_at) FILTER (WHERE plan.outcome = 'create') AS first_starts_at,
               max(plan.starts_at) FILTER (WHERE plan.outcome = 'create') AS last_starts_at,
               min(plan.session_date) FILTER (WHERE plan.outcome = 'refuse') AS clash_date,
               (array_agg(plan.clash_session_id ORDER BY plan.session_date)
                    FILTER (WHERE plan.outcome = 'refuse'))[1] AS clash_session_id,
               (array_agg(plan.start_time ORDER BY plan.session_date)
                    FILTER (WHERE plan.outcome = 'refuse'))[1] AS clash_time
        FROM plan
        GROUP BY plan.request_id
    ),
    enrolled AS (
        SELECT enrol.id, count(*)::integer AS students FROM enrol GROUP BY enrol.id
    ),
    told AS MATERIALIZED (
        SELECT req.*, coalesce(o.created, 0) AS created, o.wanted, o.first_starts_at, o.last_starts_at,
               o.clash_date, o.clash_session_id, o.clash_time,
               coalesce(req.note, CASE WHEN coalesce(o.created, 0) = 0 THEN 'none_ahead' END) AS outcome_note,
               enrolled.students
        FROM req
        JOIN enrolled ON enrolled.id = req.id
        LEFT JOIN outcome AS o ON o.request_id = req.id
    ),
    recorded AS (
        INSERT INTO public.acceptances (request_id, accepted_at, sessions_created, students_enrolled, note)
        SELECT told.id, now(), told.created, told.students, told.outcome_note
        FROM told
    ),
    consumed AS (
        DELETE FROM public.acceptance_edits AS e WHERE e.request_id = ANY (v_edited)
    ),
    announced AS (
        INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions,
                                           first_starts_at, last_starts_at, note)
        SELECT 'accepted', told.id, told.tutor_id, told.student_id, told.created, told.first_starts_at,
               told.last_starts_at, told.outcome_note
        FROM told
    )
    SELECT count(*) INTO v_requests
    FROM told
    WHERE CASE WHEN told.wanted > v_limit OR told.clash_session_id IS NOT NULL
               THEN public.astegni_refuse_outcome(told.request, told.wanted::int, v_limit, told.timezone,
                                                  told.clash_date, told.clash_session_id, told.clash_time)
               ELSE true END;
    PERFORM public.astegni_notify();
END
$$;
