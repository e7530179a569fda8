-- Refills time_zone_names from pg_timezone_names (30 ms a scan, hence the table): run after the
-- server's time zone data is updated. Returns the number of names.
CREATE OR REPLACE FUNCTION public.astegni_refresh_time_zones()
RETURNS integer
LANGUAGE sql
AS $$
INSERT INTO public.time_zone_names (name)
SELECT z.name FROM pg_catalog.pg_timezone_names AS z
ON CONFLICT (name) DO NOTHING;
SELECT count(*)::integer FROM public.time_zone_names;
$$;
