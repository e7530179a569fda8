-- Changes a series' days and times from p_from on ("this and all following"): applies the rows of
-- astegni_reschedule_plan (made under the tutor's lock) and returns them. Sessions moved in place or
-- scheduled again ('move'), cancelled ('cancel': cancelled_reason 'rescheduled', or why the new
-- occurrence cannot be made) and created; the skipped occurrences recorded, the old pattern's records
-- from that date dropped; the request row takes the new days and times, the patterns it has had kept
-- in series_patterns (the first as of the acceptance date); one 'rescheduled' event. All or nothing.
-- p_tutor_id, when given, scopes it to that tutor's requests (as astegni_accept). The tutor's lock is
-- taken in a statement of its own before anything is read (astegni_claim_request), then the series
-- row's, so that a change that waited decides on, and writes over, what the previous holder committed.
-- SECURITY DEFINER: the app may reschedule without rights on sessions.
-- Raises AS001, AS005, AS014, AS015 (see the plan), AS007 (a clash under conflict_policy 'fail'), 55P03
-- and 40001 (retry).
CREATE OR REPLACE FUNCTION public.astegni_reschedule(
    p_request_id integer, p_from date, p_days jsonb, p_start_time time, p_end_time time,
    p_tutor_id integer DEFAULT NULL)
RETURNS TABLE (session_id integer, session_date date, starts_at timestamptz, ends_at timestamptz,
               duration integer, outcome text, reason text, clash_session_id integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    r public.requested_sessions;
    v_zone text;
    v_from date;
    v_start time;
    v_end time;
    v_made integer;
    v_first timestamptz;
    v_last timestamptz;
BEGIN
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, true);
    -- The series row too, before its marker is read: the extension moves the marker of a series with
    -- nothing to make under this row's lock alone (astegni_on_extension), and must not move it past
    -- what this change makes.
    PERFORM FROM public.series AS s WHERE s.request_id = p_request_id FOR NO KEY UPDATE;
    SELECT q.* INTO r FROM public.requested_sessions AS q WHERE q.id = p_request_id;
    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = r.tutor_id;
    v_from := greatest(p_from, (now() AT TIME ZONE v_zone)::date);
    v_start := coalesce(p_start_time, r.start_time);
    v_end := coalesce(p_end_time, r.end_time);

    RETURN QUERY
    WITH plan AS MATERIALIZED (
        SELECT * FROM public.astegni_reschedule_plan(p_request_id, p_from, p_days, p_start_time, p_end_time)
    ),
    -- The first clash refuses the whole change (AS007), undoing the statement's writes with it (no
    -- count to refuse: 0 sessions wanted, of a limit of 1).
    allowed AS MATERIALIZED (
        SELECT coalesce(bool_and(public.astegni_refuse_outcome(
                   q, 0, 1, t.timezone, p.session_date, p.clash_session_id)), true) AS ok
        FROM (SELECT * FROM plan AS x WHERE x.outcome = 'refuse' ORDER BY x.session_date LIMIT 1) AS p
        JOIN public.requested_sessions AS q ON q.id = p_request_id
        JOIN public.tutor_profiles AS t ON t.id = q.tutor_id
    ),
    moved AS (
        UPDATE public.sessions AS s
        SET start_time = v_start, end_time = v_end, status = 'scheduled', cancelled_reason = NULL
        FROM plan AS p
        WHERE s.id = p.session_id AND p.outcome = 'move'
    ),
    cancelled AS (
        UPDATE public.sessions AS s
        SET status = 'cancelled', cancelled_reason = p.reason, updated_at = now() AT TIME ZONE 'UTC'
        FROM plan AS p
        WHERE s.id = p.session_id AND p.outcome = 'cancel'
    ),
    made AS (
        INSERT INTO public.sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time,
                                     end_time, duration, topics, starts_at, ends_at)
        SELECT c.id, q.tutor_id, q.id, p.session_date, v_start, v_end, p.duration,
               CASE WHEN btrim(q.message) <> '' THEN json_build_array(q.message) ELSE '[]'::json END,
               p.starts_at, p.ends_at
        FROM plan AS p
        JOIN public.requested_sessions AS q ON q.id = p_request_id
        JOIN public.enrolled_courses AS c
          ON c.tutor_id = q.tutor_id AND c.package_id IS NOT DISTINCT FROM q.package_id
        WHERE p.outcome = 'create'
    ),
    forgotten AS (
        DELETE FROM public.skipped_occurrences AS k
        WHERE k.request_id = p_request_id AND k.session_date >= v_from
    ),
    skipped AS (
        INSERT INTO public.skipped_occurrences (request_id, session_date, starts_at, ends_at, reason,
                                                clash_session_id)
        SELECT p_request_id, p.session_date, p.starts_at, p.ends_at, p.reason, p.clash_session_id
        FROM plan AS p
        WHERE p.outcome IN ('skip', 'cancel') AND p.reason <> 'rescheduled'
    )
    SELECT p.* FROM plan AS p, allowed WHERE allowed.ok ORDER BY p.session_date;

    -- The pattern in force: recorded first (a table no client writes), then taken by the request row,
    -- whose trigger lets an accepted request's schedule change only to it.
    INSERT INTO public.series_patterns (request_id, valid_from, days, start_time, end_time)
    SELECT r.id, (a.accepted_at AT TIME ZONE v_zone)::date, r.days, r.start_time, r.end_time
    FROM public.acceptances AS a
    WHERE a.request_id = r.id
      AND NOT EXISTS (SELECT FROM public.series_patterns AS p WHERE p.request_id = r.id);
    INSERT INTO public.series_patterns (request_id, valid_from, days, start_time, end_time)
    VALUES (r.id, v_from, coalesce(p_days, r.days), v_start, v_end);
    UPDATE public.requested_sessions AS q
    SET days = coalesce(p_days, q.days), start_time = v_start, end_time = v_end,
        updated_at = now() AT TIME ZONE 'UTC'
    WHERE q.id = r.id;

    SELECT count(*), min(s.starts_at), max(s.starts_at) INTO v_made, v_first, v_last
    FROM public.sessions AS s
    WHERE s.request_id = r.id AND s.session_date >= v_from AND s.status = 'scheduled' AND s.starts_at > now();
    INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                                       last_starts_at)
    VALUES ('rescheduled', r.id, r.tutor_id,
            public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id),
            v_made, v_first, v_last);
    PERFORM public.astegni_notify();
END
$$;
