-- The first thing wrong with a session's wall-clock start and end times, as (field, value, problem); no
-- row when they are fine. 24:00, which PostgreSQL's time type takes, is no time of day here: midnight is
-- 00:00, and an end before the start ends the next day. A session lasts at most
-- schedule_settings.max_session_minutes: its end minus its start, plus 24 hours when the end is before
-- the start (an overnight session), on the wall clock (a DST change on the way does not count). Equal
-- or missing times are for the callers to judge.
-- Used by astegni_schedule_problem (acceptance, previews, reschedules) and astegni_on_session_write.
CREATE OR REPLACE FUNCTION public.astegni_times_problem(p_start time, p_end time)
RETURNS TABLE (field text, value text, problem text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH span AS (
    SELECT p_end - p_start + CASE WHEN p_end < p_start THEN interval '24 hours' ELSE interval '0' END
           AS length
    WHERE p_end <> p_start
),
problems (rank, field, value, problem) AS (
    SELECT 1, 'start_time', p_start::text,
           'is 24:00, not a time of day: a session starting at midnight starts at 00:00 (of the day after)'
    WHERE p_start = '24:00'
    UNION ALL
    SELECT 2, 'end_time', p_end::text,
           'is 24:00, not a time of day: a session ending at midnight ends at 00:00 (an end before the start'
           || ' ends the next day)'
    WHERE p_end = '24:00'
    UNION ALL
    SELECT 3, 'end_time', p_end::text,
           format('makes a session of %s minutes (%s to %s%s), longer than the limit of %s minutes'
                  || ' (schedule_settings.max_session_minutes)',
                  floor(extract(epoch FROM span.length) / 60), to_char(p_start, 'HH24:MI'),
                  to_char(p_end, 'HH24:MI'), CASE WHEN p_end < p_start THEN ' the next day' ELSE '' END,
                  s.max_session_minutes)
    FROM span, public.schedule_settings AS s
    WHERE span.length > make_interval(mins => s.max_session_minutes)
)
SELECT p.field, p.value, p.problem
FROM problems AS p
ORDER BY p.rank
LIMIT 1
$$;
