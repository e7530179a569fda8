-- Accepted and cancelled requests are applied once per statement, set-based.
CREATE OR REPLACE TRIGGER requested_sessions_rule
AFTER UPDATE ON public.requested_sessions
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT
EXECUTE FUNCTION public.astegni_on_request_statement();
