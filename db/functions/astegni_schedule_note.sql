-- Why accepting a schedule makes fewer sessions than its request seems to ask for, as a code recorded in
-- acceptances.note: 'no_schedule' (no schedule type), 'no_dates' (specific dates, none given), 'no_days'
-- (recurring, no weekday given), 'no_times' (no start or end time), 'window_passed' (its years are
-- past: the weeks horizon applied instead); NULL when the schedule is there in full. The student is
-- enrolled either way: a schedule that is not there yet never holds up the enrolment.
CREATE OR REPLACE FUNCTION public.astegni_schedule_note(p_schedule public.astegni_schedule, p_today date)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN p_schedule.schedule_type IS NULL OR btrim(p_schedule.schedule_type) = '' THEN 'no_schedule'
    WHEN lower(btrim(p_schedule.schedule_type)) IN ('specific_dates', 'specific')
         AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(p_schedule.specific_dates) = 'array'
                                              THEN p_schedule.specific_dates END), 0) = 0 THEN 'no_dates'
    WHEN lower(btrim(p_schedule.schedule_type)) = 'recurring'
         AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(p_schedule.days) = 'array'
                                              THEN p_schedule.days END), 0) = 0 THEN 'no_days'
    WHEN p_schedule.start_time IS NULL OR p_schedule.end_time IS NULL THEN 'no_times'
    WHEN lower(btrim(p_schedule.schedule_type)) = 'recurring'
         AND public.astegni_window_passed(p_schedule.year_range, p_today) THEN 'window_passed'
END
$$;
