-- A session that moves, changes course or is un-cancelled keeps both time pairs in agreement.
CREATE OR REPLACE TRIGGER sessions_move
BEFORE UPDATE ON public.sessions
FOR EACH ROW WHEN (
    (NEW.session_date, NEW.start_time, NEW.end_time, NEW.starts_at, NEW.ends_at, NEW.tutor_id,
     NEW.enrolled_courses_id)
    IS DISTINCT FROM
    (OLD.session_date, OLD.start_time, OLD.end_time, OLD.starts_at, OLD.ends_at, OLD.tutor_id,
     OLD.enrolled_courses_id)
    OR (OLD.status = 'cancelled' AND NEW.status IS DISTINCT FROM 'cancelled'))
EXECUTE FUNCTION public.astegni_on_session_write();
