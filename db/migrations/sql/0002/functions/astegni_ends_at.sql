-- The instant a session ends: an end time not after the start time falls on the next day (overnight).
CREATE OR REPLACE FUNCTION public.astegni_ends_at(p_date date, p_start time, p_end time, p_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT (p_date + (p_end <= p_start)::int + p_end) AT TIME ZONE p_zone
$$;
