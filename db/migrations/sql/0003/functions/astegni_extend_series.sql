-- Brings every live series up to its horizon now (the transaction's time): what `astegni extend`, a
-- pg_cron job or an app calls, as often as it likes (a second run makes nothing). Returns the number of
-- sessions made. SECURITY DEFINER: a role allowed to accept may extend without rights on sessions.
CREATE OR REPLACE FUNCTION public.astegni_extend_series()
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
SELECT public.astegni_extend_series_at(now())
$$;
