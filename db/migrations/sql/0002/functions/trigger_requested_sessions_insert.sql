-- A request is inserted as 'pending'.
CREATE OR REPLACE TRIGGER requested_sessions_insert
BEFORE INSERT ON public.requested_sessions
FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM 'pending')
EXECUTE FUNCTION public.astegni_on_request_insert();
