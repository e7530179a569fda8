-- The year held by a JSON number or digit string (1..9999); NULL for anything else.
CREATE OR REPLACE FUNCTION public.astegni_parse_year(p_value jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN s ~ '^[0-9]{1,4}$' AND s::int >= 1 THEN s::int END
FROM (SELECT CASE WHEN jsonb_typeof(p_value) IN ('number', 'string') THEN btrim(p_value #>> '{}') END AS s) AS t
$$;
