-- The first thing wrong with a schedule, as (field, value, problem); no row when it can be expanded.
-- Used by acceptance and preview before expanding, so that a malformed schedule is refused by name.
-- What is missing (no type, dates, weekdays or times) is not wrong: acceptance enrols the student
-- and says so (astegni_schedule_note); only a value that is there and malformed is a problem. The
-- times are judged by astegni_times_problem (24:00, longer than schedule_settings.max_session_minutes).
CREATE OR REPLACE FUNCTION public.astegni_schedule_problem(p_schedule public.astegni_schedule)
RETURNS TABLE (field text, value text, problem text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH kind AS (
    SELECT CASE lower(btrim(p_schedule.schedule_type))
        WHEN 'specific_dates' THEN 'dates' WHEN 'specific' THEN 'dates' WHEN 'recurring' THEN 'recurring'
    END AS k
),
lists (rank, field, list) AS (
    SELECT 5, 'specific_dates', p_schedule.specific_dates FROM kind WHERE k = 'dates'
    UNION ALL SELECT 5, 'days', p_schedule.days FROM kind WHERE k = 'recurring'
    UNION ALL SELECT 6, 'months', p_schedule.months FROM kind WHERE k = 'recurring'
),
problems (rank, field, value, problem) AS (
    SELECT 1, 'schedule_type', p_schedule.schedule_type,
           'is not a schedule type (specific_dates, specific or recurring)'
    FROM kind WHERE k IS NULL
    UNION ALL SELECT 2, t.field, t.value, t.problem
              FROM public.astegni_times_problem(p_schedule.start_time, p_schedule.end_time) AS t
    UNION ALL SELECT 4, 'end_time', p_schedule.end_time::text, 'equals start_time'
              WHERE p_schedule.end_time = p_schedule.start_time
    UNION ALL
    SELECT l.rank, l.field, left(l.list::text, 200), 'must be a JSON list'
    FROM lists AS l
    WHERE jsonb_typeof(l.list) NOT IN ('array', 'null')
    UNION ALL
    SELECT l.rank, l.field, left(CASE WHEN jsonb_typeof(e.item) = 'string' THEN e.item #>> '{}' ELSE e.item::text END, 200),
           CASE l.field WHEN 'specific_dates' THEN 'is not a date (YYYY-MM-DD)'
                        WHEN 'days' THEN 'is not a weekday' ELSE 'is not a month' END
    FROM lists AS l
    CROSS JOIN LATERAL (
        SELECT x.item FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(l.list) = 'array' THEN l.list END) WITH ORDINALITY AS x (item, n)
        WHERE jsonb_typeof(x.item) <> 'string'
           OR CASE l.field
                  WHEN 'specific_dates' THEN public.astegni_parse_date(x.item #>> '{}') IS NULL
                  WHEN 'days' THEN public.astegni_weekday(x.item #>> '{}') IS NULL
                  ELSE public.astegni_month(x.item #>> '{}') IS NULL END
        ORDER BY x.n LIMIT 1
    ) AS e
    UNION ALL
    SELECT 7, 'year_range', left(p_schedule.year_range::text, 200),
           'must be a year, [from] or [from, to] with from <= to, years 1 to 9999'
    FROM kind
    WHERE k = 'recurring' AND CASE jsonb_typeof(p_schedule.year_range)
        WHEN 'array' THEN jsonb_array_length(p_schedule.year_range) > 2
            OR EXISTS (SELECT FROM jsonb_array_elements(p_schedule.year_range) AS y (v)
                       WHERE public.astegni_parse_year(y.v) IS NULL)
            OR public.astegni_parse_year(p_schedule.year_range -> 0)
               > public.astegni_parse_year(p_schedule.year_range -> 1)
        WHEN 'number' THEN public.astegni_parse_year(p_schedule.year_range) IS NULL
        WHEN 'string' THEN public.astegni_parse_year(p_schedule.year_range) IS NULL
        WHEN 'null' THEN false
        ELSE p_schedule.year_range IS NOT NULL END
)
SELECT p.field, p.value, p.problem
FROM problems AS p
WHERE btrim(p_schedule.schedule_type) <> ''
ORDER BY p.rank
LIMIT 1
$$;
