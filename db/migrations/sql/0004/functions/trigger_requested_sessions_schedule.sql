-- An accepted request's schedule changes only through astegni_reschedule; its tutor never.
CREATE OR REPLACE TRIGGER requested_sessions_schedule
BEFORE UPDATE ON public.requested_sessions
FOR EACH ROW WHEN (
    OLD.status = 'accepted'
    AND (NEW.tutor_id, NEW.schedule_type, NEW.days, NEW.specific_dates, NEW.months,
         NEW.year_range, NEW.start_time, NEW.end_time)
        IS DISTINCT FROM
        (OLD.tutor_id, OLD.schedule_type, OLD.days, OLD.specific_dates, OLD.months,
         OLD.year_range, OLD.start_time, OLD.end_time))
EXECUTE FUNCTION public.astegni_on_schedule_change();
