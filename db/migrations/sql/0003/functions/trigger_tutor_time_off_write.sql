-- Time off recorded or moved cancels the tutor's sessions inside it.
CREATE OR REPLACE TRIGGER tutor_time_off_write
AFTER INSERT OR UPDATE OF tutor_id, during ON public.tutor_time_off
FOR EACH ROW
EXECUTE FUNCTION public.astegni_on_time_off();
