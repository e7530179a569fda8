-- What the extension at p_at has to do for the tutors after p_after up to p_until, in tutor id order:
-- the series whose horizon has moved (closing false), the requests whose time off is gone and whose
-- held-back occurrences are still ahead (closing false), and the ended series whose last date has
-- passed, whose students leave (closing true). to_make says whether the row needs its tutor's lock:
-- a moved series whose stretch from its marker to its new horizon (horizon) holds no occurrence of
-- any pattern it has had (the request's own, series_patterns') has none, and only its marker moves;
-- every other row has some. Read once to find the tutors to lock and again under their locks, to
-- decide (and for the series with nothing to make, again under their rows' locks).
CREATE OR REPLACE FUNCTION public.astegni_extension_work(p_at timestamptz, p_after integer, p_until integer)
RETURNS TABLE (tutor_id integer, request_id integer, closing boolean, to_make boolean, horizon timestamp)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
WITH moved AS MATERIALIZED (
    SELECT s.tutor_id, s.request_id, s.made_until, h.horizon, s.window_start,
           least(s.window_end, s.last_date) AS last_day, t.timezone, public.astegni_schedule_of(r) AS schedule
    FROM public.series AS s
    JOIN public.requested_sessions AS r ON r.id = s.request_id
    JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
    CROSS JOIN public.schedule_settings AS g
    CROSS JOIN LATERAL (
        SELECT public.astegni_horizon(p_at, t.timezone, s.window_start, g.weeks_horizon) AS horizon) AS h
    WHERE s.tutor_id > p_after AND s.tutor_id <= p_until
      AND r.status = 'accepted'
      AND h.horizon > s.made_until
      AND (least(s.window_end, s.last_date) IS NULL OR s.made_until < least(s.window_end, s.last_date) + 1)
),
-- Each pattern a moved series has had over its stretch, expanded once per distinct shape (a bulk
-- acceptance leaves its series alike): more than the stretch makes (a pattern before its date
-- counts), never less.
stretch AS (
    SELECT m.request_id, m.schedule, m.timezone, m.made_until, m.horizon, m.window_start, m.last_day
    FROM moved AS m
    UNION ALL
    SELECT m.request_id,
           ROW((m.schedule).schedule_type, p.days, (m.schedule).specific_dates, (m.schedule).months,
               (m.schedule).year_range, p.start_time, p.end_time)::public.astegni_schedule,
           m.timezone, m.made_until, m.horizon, m.window_start, m.last_day
    FROM moved AS m
    JOIN public.series_patterns AS p ON p.request_id = m.request_id
),
shape AS MATERIALIZED (
    SELECT DISTINCT x.schedule, x.timezone, x.made_until, x.horizon, x.window_start, x.last_day
    FROM stretch AS x
),
busy AS MATERIALIZED (
    SELECT z.* FROM shape AS z
    WHERE EXISTS (SELECT FROM public.astegni_occurrences(z.schedule, z.timezone, p_at, z.made_until,
                                                         z.horizon, z.window_start, z.last_day))
)
SELECT m.tutor_id, m.request_id, false,
       EXISTS (SELECT FROM stretch AS x
               JOIN busy AS b
                 ON b.schedule = x.schedule AND b.timezone = x.timezone AND b.made_until = x.made_until
                AND b.horizon = x.horizon AND b.window_start IS NOT DISTINCT FROM x.window_start
                AND b.last_day IS NOT DISTINCT FROM x.last_day
               WHERE x.request_id = m.request_id),
       m.horizon
FROM moved AS m
UNION
SELECT r.tutor_id, k.request_id, false, true, NULL
FROM public.skipped_occurrences AS k
JOIN public.requested_sessions AS r ON r.id = k.request_id
WHERE k.reason = 'time_off' AND k.starts_at > p_at AND r.status = 'accepted'
  AND r.tutor_id > p_after AND r.tutor_id <= p_until
  AND NOT EXISTS (SELECT FROM public.tutor_time_off AS o
                  WHERE o.tutor_id = r.tutor_id AND o.during && tstzrange(k.starts_at, k.ends_at))
UNION
SELECT s.tutor_id, s.request_id, true, true, NULL
FROM public.series AS s
JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
WHERE s.tutor_id > p_after AND s.tutor_id <= p_until
  AND s.closed_at IS NULL AND s.last_date < (p_at AT TIME ZONE t.timezone)::date
ORDER BY 1, 2
$$;
