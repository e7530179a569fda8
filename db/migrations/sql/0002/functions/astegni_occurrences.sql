-- Expands a validated schedule into its occurrences, in the tutor's zone, as seen at p_at: duration in
-- minutes, skip_reason 'past' (a specific date whose start has passed), 'dst_gap' (a DST change leaves
-- it no time) or NULL (to be created). Recurring schedules take the weeks horizon (the next weeks x
-- weekdays occurrences after p_at), or every chosen weekday of a month/year window from p_at on; a
-- window whose years have all passed is ignored (the form's stale year box). A schedule without its
-- dates, weekdays or times has no occurrence (astegni_schedule_note says which is missing).
-- Pure SQL so that it is inlined into the set-based acceptance and into preview alike. It reads only the
-- schedule, so that acceptance expands each distinct (schedule, zone) of a statement once.
CREATE OR REPLACE FUNCTION public.astegni_occurrences(
    p_schedule public.astegni_schedule, p_zone text, p_at timestamptz, p_weeks integer, p_limit integer)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               skip_reason text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH base AS (
    SELECT lower(btrim(p_schedule.schedule_type)) AS kind, (p_at AT TIME ZONE p_zone)::date AS today
    WHERE p_schedule.start_time IS NOT NULL AND p_schedule.end_time IS NOT NULL
),
-- The month/year window applies unless its years are all past.
windowed AS (
    SELECT base.kind = 'recurring'
           AND NOT public.astegni_window_passed(p_schedule.year_range, base.today) AS open
    FROM base
),
weekdays AS (
    SELECT DISTINCT public.astegni_weekday(d.item #>> '{}') AS dow
    FROM base, jsonb_array_elements(
        CASE WHEN base.kind = 'recurring' AND jsonb_typeof(p_schedule.days) = 'array'
             THEN p_schedule.days END) AS d (item)
),
months AS (
    SELECT DISTINCT public.astegni_month(m.item #>> '{}') AS month
    FROM windowed, jsonb_array_elements(
        CASE WHEN windowed.open AND jsonb_typeof(p_schedule.months) = 'array'
             THEN p_schedule.months END) AS m (item)
),
years AS (
    SELECT min(public.astegni_parse_year(y.item)) AS first, max(public.astegni_parse_year(y.item)) AS last
    FROM windowed, jsonb_array_elements(CASE
        WHEN NOT windowed.open THEN NULL
        WHEN jsonb_typeof(p_schedule.year_range) = 'array' THEN p_schedule.year_range
        WHEN jsonb_typeof(p_schedule.year_range) IN ('number', 'string')
        THEN jsonb_build_array(p_schedule.year_range)
    END) AS y (item)
),
-- The recurring range: a month/year window when one is set, else the weeks horizon (with room for
-- today's slot having passed and for DST gaps). A window is cut where it must exceed the limit: every
-- chosen month holds each weekday at least 4 times.
span AS (
    SELECT base.today,
           (SELECT count(*) FROM weekdays)::int AS weekday_count,
           w.first IS NOT NULL AS windowed,
           greatest(base.today, w.first) AS first_day,
           CASE WHEN w.last IS NULL THEN base.today + 7 * (p_weeks + 2 + p_weeks / 26)
                ELSE least(w.last, make_date(extract(year FROM base.today)::int
                    + (p_limit / (4 * greatest((SELECT count(*) FROM weekdays)::int, 1))) + 2, 12, 31))
           END AS last_day
    FROM base
    CROSS JOIN LATERAL (
        SELECT CASE WHEN y.first IS NOT NULL THEN make_date(y.first, 1, 1)
                    WHEN EXISTS (SELECT FROM months) THEN date_trunc('month', base.today)::date END AS first,
               CASE WHEN y.last IS NOT NULL THEN make_date(y.last, 12, 31)
                    WHEN EXISTS (SELECT FROM months)
                    THEN (date_trunc('month', base.today) + interval '12 months - 1 day')::date END AS last
        FROM years AS y
    ) AS w
    WHERE base.kind = 'recurring'
),
candidates (day) AS (
    SELECT DISTINCT public.astegni_parse_date(d.item #>> '{}')
    FROM base, jsonb_array_elements(
        CASE WHEN base.kind IN ('specific_dates', 'specific') AND jsonb_typeof(p_schedule.specific_dates) = 'array'
             THEN p_schedule.specific_dates END) AS d (item)
    UNION ALL
    SELECT c.day
    FROM span, weekdays,
         LATERAL generate_series(0, (span.last_day - span.first_day) / 7) AS g (week),
         LATERAL (SELECT span.first_day + (weekdays.dow - public.astegni_isodow(span.first_day) + 7) % 7
                         + 7 * g.week AS day) AS c
    WHERE c.day <= span.last_day
      AND (NOT EXISTS (SELECT FROM months)
           OR extract(month FROM c.day)::int IN (SELECT month FROM months))
),
timed AS (
    SELECT c.day,
           public.astegni_starts_at(c.day, p_schedule.start_time, p_zone) AS starts_at,
           public.astegni_ends_at(c.day, p_schedule.start_time, p_schedule.end_time, p_zone) AS ends_at
    FROM candidates AS c
    OFFSET 0  -- a fence: later steps read these instants instead of recomputing them
),
judged AS (
    SELECT t.*,
           CASE WHEN t.starts_at <= p_at THEN 'past' WHEN t.ends_at <= t.starts_at THEN 'dst_gap' END AS reason
    FROM timed AS t
    OFFSET 0  -- the same for the reason
),
-- Only specific dates record the past; a recurring range starts at the moment of acceptance.
counted AS (
    SELECT j.*, count(*) FILTER (WHERE j.reason IS NULL) OVER (ORDER BY j.day) AS made
    FROM judged AS j, base
    WHERE base.kind <> 'recurring' OR j.reason IS DISTINCT FROM 'past'
)
SELECT c.day, c.starts_at, c.ends_at, (extract(epoch FROM c.ends_at - c.starts_at) / 60)::integer,
       c.reason
FROM counted AS c
LEFT JOIN span ON true
WHERE span.windowed IS NOT FALSE
   OR c.made < p_weeks * span.weekday_count
   OR c.made = p_weeks * span.weekday_count AND c.reason IS NULL
ORDER BY c.day
$$;
