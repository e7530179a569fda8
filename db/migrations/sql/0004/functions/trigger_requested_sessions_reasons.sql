-- A request's reasons for a rejection or a cancellation are bounded, whoever writes them.
CREATE OR REPLACE TRIGGER requested_sessions_reasons
BEFORE INSERT OR UPDATE OF rejected_reason, cancelled_reason ON public.requested_sessions
FOR EACH ROW WHEN (NEW.rejected_reason IS NOT NULL OR NEW.cancelled_reason IS NOT NULL)
EXECUTE FUNCTION public.astegni_on_request_reasons();
