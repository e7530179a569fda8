-- How far a series is made at p_at: p_weeks weeks past the later of p_at and the window's first day,
-- as a wall-clock time in the tutor's zone (every weekday then has p_weeks occurrences before it, DST
-- changes included).
CREATE OR REPLACE FUNCTION public.astegni_horizon(p_at timestamptz, p_zone text, p_window_start date,
                                                  p_weeks integer)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT greatest(p_at AT TIME ZONE p_zone, p_window_start::timestamp) + make_interval(days => 7 * p_weeks)
$$;
