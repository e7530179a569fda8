-- Expands a validated schedule into its occurrences, in the tutor's zone: duration in minutes,
-- skip_reason 'past' (it starts at or before p_at), 'dst_gap' (a DST change leaves it no time) or NULL
-- (to be made). Specific dates: every date. Recurring: each chosen weekday whose wall-clock start
-- (date + start_time) is after p_after and at or before p_until (the marker and the horizon of a
-- series), from p_first to p_last (its window and last date; NULL: open), in the chosen months when
-- the series has a window. A schedule without its dates, weekdays or times has no occurrence
-- (astegni_schedule_note says which is missing).
-- Pure SQL so that it is inlined into acceptance, extension and the previews alike. It reads only its
-- arguments, so that a statement expands each distinct (schedule, zone, range) once.
CREATE OR REPLACE FUNCTION public.astegni_occurrences(
    p_schedule public.astegni_schedule, p_zone text, p_at timestamptz, p_after timestamp,
    p_until timestamp, p_first date, p_last date)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               skip_reason text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH base AS (
    SELECT lower(btrim(p_schedule.schedule_type)) AS kind
    WHERE p_schedule.start_time IS NOT NULL AND p_schedule.end_time IS NOT NULL
),
weekdays AS (
    SELECT DISTINCT public.astegni_weekday(d.item #>> '{}') AS dow
    FROM base, jsonb_array_elements(
        CASE WHEN base.kind = 'recurring' AND jsonb_typeof(p_schedule.days) = 'array'
             THEN p_schedule.days END) AS d (item)
),
-- The chosen months count only inside a window (a stale window was dropped with its months).
months AS (
    SELECT DISTINCT public.astegni_month(m.item #>> '{}') AS month
    FROM base, jsonb_array_elements(
        CASE WHEN base.kind = 'recurring' AND p_first IS NOT NULL
                  AND jsonb_typeof(p_schedule.months) = 'array'
             THEN p_schedule.months END) AS m (item)
),
span AS (
    SELECT greatest(p_after::date, p_first) AS first_day, least(p_until::date, p_last) AS last_day
    FROM base
    WHERE base.kind = 'recurring'
),
candidates (day) AS (
    SELECT DISTINCT public.astegni_parse_date(d.item #>> '{}')
    FROM base, jsonb_array_elements(
        CASE WHEN base.kind IN ('specific_dates', 'specific')
                  AND jsonb_typeof(p_schedule.specific_dates) = 'array'
             THEN p_schedule.specific_dates END) AS d (item)
    UNION ALL
    SELECT c.day
    FROM span, weekdays,
         LATERAL generate_series(0, (span.last_day - span.first_day) / 7) AS g (week),
         LATERAL (SELECT span.first_day + (weekdays.dow - public.astegni_isodow(span.first_day) + 7) % 7
                         + 7 * g.week AS day) AS c
    WHERE c.day <= span.last_day
      AND c.day + p_schedule.start_time > p_after
      AND c.day + p_schedule.start_time <= p_until
      AND (NOT EXISTS (SELECT FROM months)
           OR extract(month FROM c.day)::int IN (SELECT month FROM months))
),
timed AS (
    SELECT c.day,
           public.astegni_starts_at(c.day, p_schedule.start_time, p_zone) AS starts_at,
           public.astegni_ends_at(c.day, p_schedule.start_time, p_schedule.end_time, p_zone) AS ends_at
    FROM candidates AS c
    OFFSET 0  -- a fence: later steps read these instants instead of recomputing them
)
SELECT t.day, t.starts_at, t.ends_at, (extract(epoch FROM t.ends_at - t.starts_at) / 60)::integer,
       CASE WHEN t.starts_at <= p_at THEN 'past' WHEN t.ends_at <= t.starts_at THEN 'dst_gap' END
FROM timed AS t
ORDER BY t.day
$$;
