-- Each change of a request's status is checked and stamped; its id never changes.
CREATE OR REPLACE TRIGGER requested_sessions_transition
BEFORE UPDATE ON public.requested_sessions
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.id IS DISTINCT FROM NEW.id)
EXECUTE FUNCTION public.astegni_on_request_transition();
