-- Brings every live series up to its horizon as at p_at, and makes again what removed time off had
-- held back (astegni_on_extension does it, logged in astegni_extensions); returns the number of
-- sessions made. A chosen moment is for tests and backfills: EXECUTE is the owner's alone, so no
-- client moves the clock; clients call astegni_extend_series().
CREATE OR REPLACE FUNCTION public.astegni_extend_series_at(p_at timestamptz)
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, public, pg_temp
AS $$
INSERT INTO public.astegni_extensions (at) VALUES (p_at) RETURNING sessions_made
$$;
