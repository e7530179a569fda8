-- The part of a request that decides its occurrences (what astegni_occurrences reads).
CREATE OR REPLACE FUNCTION public.astegni_schedule_of(r public.requested_sessions)
RETURNS public.astegni_schedule
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT ROW(r.schedule_type, r.days, r.specific_dates, r.months, r.year_range, r.start_time,
           r.end_time)::public.astegni_schedule
$$;
