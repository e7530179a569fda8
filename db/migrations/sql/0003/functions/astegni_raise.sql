-- Raises one of the project's refusals: SQLSTATE class AS, DETAIL a JSON object of the facts.
-- Called by every function that refuses something; raises p_code (AS001..AS016, see docs/errors.md).
CREATE OR REPLACE FUNCTION public.astegni_raise(p_code text, p_message text, p_detail jsonb, p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message,
        DETAIL = jsonb_strip_nulls(p_detail)::text, HINT = p_hint;
END
$$;
