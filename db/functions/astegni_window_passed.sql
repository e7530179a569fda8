-- Whether a request's year window ended before p_today: every year it names is past. Such a window is
-- ignored (the app's form ticks last year by default) and the weeks horizon applies instead.
CREATE OR REPLACE FUNCTION public.astegni_window_passed(p_year_range jsonb, p_today date)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT coalesce(max(public.astegni_parse_year(y.item)) < extract(year FROM p_today)::int, false)
FROM jsonb_array_elements(CASE
    WHEN jsonb_typeof(p_year_range) = 'array' THEN p_year_range
    WHEN jsonb_typeof(p_year_range) IN ('number', 'string') THEN jsonb_build_array(p_year_range)
END) AS y (item)
$$;
