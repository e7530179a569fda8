-- Trigger function (BEFORE UPDATE on requested_sessions, an accepted request whose schedule fields
-- or tutor change): an accepted request's schedule is what its sessions were made from, so it changes
-- only through astegni_reschedule, which first records the new days and times in series_patterns (a
-- table no client role may write); a change matching the series' newest pattern is that one. Any other
-- change of days, times, dates, months, years or type is refused, and so is any change of its tutor,
-- whose sessions and lock it holds.
-- Raises AS013 (immutable request).
CREATE OR REPLACE FUNCTION public.astegni_on_schedule_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_field text;
BEGIN
    v_field := CASE
        WHEN NEW.tutor_id IS DISTINCT FROM OLD.tutor_id THEN 'tutor_id'
        WHEN NEW.schedule_type IS DISTINCT FROM OLD.schedule_type THEN 'schedule_type'
        WHEN NEW.specific_dates IS DISTINCT FROM OLD.specific_dates THEN 'specific_dates'
        WHEN NEW.months IS DISTINCT FROM OLD.months THEN 'months'
        WHEN NEW.year_range IS DISTINCT FROM OLD.year_range THEN 'year_range'
        WHEN NOT EXISTS (
            SELECT FROM (SELECT p.days, p.start_time, p.end_time FROM public.series_patterns AS p
                         WHERE p.request_id = NEW.id ORDER BY p.id DESC LIMIT 1) AS newest
            WHERE (newest.days, newest.start_time, newest.end_time)
                  IS NOT DISTINCT FROM (NEW.days, NEW.start_time, NEW.end_time))
        THEN CASE WHEN NEW.days IS DISTINCT FROM OLD.days THEN 'days'
                  WHEN NEW.start_time IS DISTINCT FROM OLD.start_time THEN 'start_time'
                  ELSE 'end_time' END
    END;
    IF v_field IS NOT NULL THEN
        PERFORM public.astegni_raise('AS013',
            format('the %s of accepted request %s does not change by UPDATE', v_field, OLD.id),
            jsonb_build_object('request_id', OLD.id, 'field', v_field),
            'Change days and times from a date on with astegni_reschedule; end the series with '
            'astegni_end_series.');
    END IF;
    RETURN NEW;
END
$$;
