-- The month/year window of a recurring schedule as seen on p_today (the tutor's date at acceptance),
-- as (window_start, window_end): years run from 1 January of the first to 31 December of the last;
-- months without years, the 12 months from p_today's month; with chosen months, the window opens on
-- the first day of the first chosen month in it. NULLs when there is none, when it is not recurring,
-- or when its years have all passed (the form's stale year box: the series then runs indefinitely,
-- months ignored too). Fixed at acceptance in the series row.
CREATE OR REPLACE FUNCTION public.astegni_series_window(p_schedule public.astegni_schedule, p_today date)
RETURNS TABLE (window_start date, window_end date)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH years AS (
    SELECT min(public.astegni_parse_year(y.item)) AS first, max(public.astegni_parse_year(y.item)) AS last
    FROM jsonb_array_elements(CASE
        WHEN jsonb_typeof(p_schedule.year_range) = 'array' THEN p_schedule.year_range
        WHEN jsonb_typeof(p_schedule.year_range) IN ('number', 'string')
        THEN jsonb_build_array(p_schedule.year_range)
    END) AS y (item)
),
months AS (
    SELECT DISTINCT public.astegni_month(m.item #>> '{}') AS month
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(p_schedule.months) = 'array' THEN p_schedule.months END) AS m (item)
),
bounds AS (
    SELECT coalesce(make_date(y.first, 1, 1), date_trunc('month', p_today)::date) AS first,
           coalesce(make_date(y.last, 12, 31),
                    (date_trunc('month', p_today) + interval '12 months - 1 day')::date) AS last
    FROM years AS y
    WHERE lower(btrim(p_schedule.schedule_type)) = 'recurring'
      AND NOT public.astegni_window_passed(p_schedule.year_range, p_today)
      AND (y.first IS NOT NULL OR EXISTS (SELECT FROM months))
)
SELECT coalesce((SELECT min(b.first + make_interval(
                             months => (m.month - extract(month FROM b.first)::int + 12) % 12))
                 FROM months AS m)::date, b.first),
       b.last
FROM bounds AS b
$$;
