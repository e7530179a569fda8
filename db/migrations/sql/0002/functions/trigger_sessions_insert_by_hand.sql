-- A session inserted by hand (no request) gets both time pairs and the same checks as a move.
CREATE OR REPLACE TRIGGER sessions_insert_by_hand
BEFORE INSERT ON public.sessions
FOR EACH ROW WHEN (NEW.request_id IS NULL)
EXECUTE FUNCTION public.astegni_on_session_write();
