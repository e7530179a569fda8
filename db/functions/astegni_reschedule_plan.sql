-- What changing a series' days and times from p_from on does ("this and all following"), one row per
-- date, without writing: the series' sessions from that date (or the tutor's today, if later) that
-- have not started, matched by date with what the new pattern makes up to the end of the series'
-- marker's day. outcome 'keep' (the date's session already is the new one), 'move' (re-timed in
-- place; a session cancelled or moved by hand on that date is overridden), 'create', 'cancel' (reason
-- 'rescheduled': the new pattern drops the date; or past, dst_gap, time_off, conflict: its occurrence
-- cannot be made), 'skip' or 'refuse' (a clash under conflict_policy 'fail'). NULL days or times keep
-- the current ones.
-- Built once for astegni_reschedule (which calls it under the tutor's lock, taken in a statement
-- before) and preview_reschedule, so that the two cannot disagree.
-- Raises AS005 (a malformed or missing pattern, no from date or one out of range), AS014 (not a
-- series) and AS015 (from after the series' last date); its callers have raised AS001 before.
CREATE OR REPLACE FUNCTION public.astegni_reschedule_plan(
    p_request_id integer, p_from date, p_days jsonb, p_start_time time, p_end_time time)
RETURNS TABLE (session_id integer, session_date date, starts_at timestamptz, ends_at timestamptz,
               duration integer, outcome text, reason text, clash_session_id integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
    r public.requested_sessions;
    v_series public.series;
    v_zone text;
    v_schedule public.astegni_schedule;
    v_from date;
    v_course_id integer;
    v_field text;
    v_value text;
    v_problem text;
BEGIN
    PERFORM public.astegni_check_date(p_request_id, 'from', p_from,
                                      'Give the first date the new days and times apply to.');
    v_series := public.astegni_series_of(p_request_id);
    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = v_series.tutor_id;
    SELECT q.* INTO r FROM public.requested_sessions AS q WHERE q.id = p_request_id;
    v_schedule := ROW(r.schedule_type, coalesce(p_days, r.days), r.specific_dates, r.months, r.year_range,
                      coalesce(p_start_time, r.start_time), coalesce(p_end_time, r.end_time));
    SELECT p.field, p.value, p.problem INTO v_field, v_value, v_problem
    FROM public.astegni_schedule_problem(v_schedule) AS p LIMIT 1;
    IF NOT FOUND THEN
        v_field := CASE public.astegni_schedule_note(v_schedule, NULL)
                       WHEN 'no_days' THEN 'days' WHEN 'no_times' THEN 'start_time' END;
        v_problem := 'is missing';
    END IF;
    IF v_field IS NOT NULL THEN
        PERFORM public.astegni_raise('AS005',
            format('request %s: %s %s%s', p_request_id, v_field, coalesce(quote_literal(v_value) || ' ', ''),
                   v_problem),
            jsonb_build_object('request_id', p_request_id, 'field', v_field, 'value', v_value,
                               'problem', v_problem),
            'A series needs weekdays (Monday..Sunday), a start time and a different end time.');
    END IF;
    v_from := greatest(p_from, (now() AT TIME ZONE v_zone)::date);
    IF v_series.last_date < v_from THEN
        PERFORM public.astegni_raise('AS015',
            format('series %s ended on %s, before %s', p_request_id, v_series.last_date, v_from),
            jsonb_build_object('request_id', p_request_id, 'field', 'from', 'value', v_from::text,
                               'last_date', v_series.last_date),
            'Reschedule from a date the series still runs on.');
    END IF;
    SELECT c.id INTO v_course_id FROM public.enrolled_courses AS c
    WHERE c.tutor_id = r.tutor_id AND c.package_id IS NOT DISTINCT FROM r.package_id;

    RETURN QUERY
    WITH planned AS (
        SELECT o.session_date, o.starts_at, o.ends_at, o.duration, j.outcome, j.reason, j.clash_session_id
        FROM public.astegni_occurrences(
            v_schedule, v_zone, now(), v_from - interval '1 microsecond',  -- from v_from's midnight on
            -- to the end of the marker's day: that day's session moves even when its new time is later
            -- than the marker (else it would be cancelled, and the extension leaves its date to it).
            v_series.made_until::date + interval '1 day - 1 microsecond',
            v_series.window_start, least(v_series.window_end, v_series.last_date)) AS o
        CROSS JOIN LATERAL public.astegni_occurrence_outcome(
            o.starts_at, o.ends_at, o.skip_reason, r.tutor_id, v_course_id, r.conflict_policy, true,
            true) AS j
        WHERE o.skip_reason IS DISTINCT FROM 'past'  -- only what has not started changes
    ),
    existing AS (
        SELECT s.id, s.session_date, s.starts_at, s.ends_at, s.duration, s.status
        FROM public.sessions AS s
        WHERE s.request_id = p_request_id AND s.session_date >= v_from AND s.starts_at > now()
    ),
    matched AS (
        SELECT e.id AS session_id, coalesce(n.session_date, e.session_date) AS session_date, n.reason,
               n.clash_session_id,
               CASE WHEN n.session_date IS NULL THEN 'cancel'
                    WHEN n.outcome = 'refuse' THEN 'refuse'
                    WHEN n.outcome = 'skip' AND e.status IS DISTINCT FROM 'cancelled' AND e.id IS NOT NULL
                    THEN 'cancel'
                    WHEN n.outcome = 'skip' THEN 'skip'
                    WHEN e.id IS NULL THEN 'create'
                    WHEN e.status IS DISTINCT FROM 'cancelled'
                         AND (e.starts_at, e.ends_at) = (n.starts_at, n.ends_at) THEN 'keep'
                    ELSE 'move' END AS outcome,
               -- The new occurrence's times; a dropped date shows the session it cancels.
               coalesce(n.starts_at, e.starts_at) AS starts_at, coalesce(n.ends_at, e.ends_at) AS ends_at,
               coalesce(n.duration, e.duration) AS duration
        FROM planned AS n
        FULL JOIN existing AS e ON e.session_date = n.session_date
        WHERE n.session_date IS NOT NULL OR e.status IS DISTINCT FROM 'cancelled'
    )
    SELECT m.session_id, m.session_date, m.starts_at, m.ends_at, m.duration, m.outcome,
           CASE WHEN m.outcome = 'cancel' AND m.reason IS NULL THEN 'rescheduled' ELSE m.reason END,
           m.clash_session_id
    FROM matched AS m
    ORDER BY m.session_date;
END
$$;
