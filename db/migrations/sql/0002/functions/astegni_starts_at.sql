-- The instant a session starts: its date and wall-clock start time read in the tutor's zone.
CREATE OR REPLACE FUNCTION public.astegni_starts_at(p_date date, p_start time, p_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT (p_date + p_start) AT TIME ZONE p_zone
$$;
