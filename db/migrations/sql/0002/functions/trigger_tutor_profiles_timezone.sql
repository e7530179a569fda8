-- A tutor's zone is a known IANA name.
CREATE OR REPLACE TRIGGER tutor_profiles_timezone
BEFORE INSERT OR UPDATE OF timezone ON public.tutor_profiles
FOR EACH ROW
EXECUTE FUNCTION public.astegni_on_tutor_timezone();
