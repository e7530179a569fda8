-- The year held by a JSON number or digit string (1..9999); NULL for anything else.
-- One expression, no FROM: PostgreSQL inlines it into the calling statement.
CREATE OR REPLACE FUNCTION public.astegni_parse_year(p_value jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN jsonb_typeof(p_value) IN ('number', 'string') AND btrim(p_value #>> '{}') ~ '^[0-9]{1,4}$'
                 AND btrim(p_value #>> '{}')::int >= 1
            THEN btrim(p_value #>> '{}')::int END
$$;
