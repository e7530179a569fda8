-- Whether a request's year window ended before p_today: every year it names is past. Such a window is
-- ignored (the app's form ticks last year by default) and the weeks horizon applies instead.
-- PL/pgSQL, not SQL: a SQL function with a FROM is never inlined, and is parsed and planned again in
-- every statement that calls it (twice per acceptance); most requests name no years at all.
CREATE OR REPLACE FUNCTION public.astegni_window_passed(p_year_range jsonb, p_today date)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF coalesce(jsonb_typeof(p_year_range), 'null') NOT IN ('array', 'number', 'string') THEN
        RETURN false;  -- NULL, a JSON null or an object: no window
    END IF;
    RETURN coalesce((SELECT max(public.astegni_parse_year(y.item)) < extract(year FROM p_today)::int
                     FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_year_range) = 'array'
                                                    THEN p_year_range
                                                    ELSE jsonb_build_array(p_year_range) END) AS y (item)),
                    false);
END
$$;
