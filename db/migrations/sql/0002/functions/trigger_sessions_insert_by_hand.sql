-- Every session inserted by hand gets both time pairs and the same checks as a move; only the rule's own
-- bulk insert (inside its statement trigger, so at trigger depth 1) is left to the exclusion constraint.
CREATE OR REPLACE TRIGGER sessions_insert_by_hand
BEFORE INSERT ON public.sessions
FOR EACH ROW WHEN (NEW.request_id IS NULL OR pg_trigger_depth() < 1)
EXECUTE FUNCTION public.astegni_on_session_write();
