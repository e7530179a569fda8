-- Each change of a request's status is checked and stamped.
CREATE OR REPLACE TRIGGER requested_sessions_transition
BEFORE UPDATE ON public.requested_sessions
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION public.astegni_on_request_transition();
