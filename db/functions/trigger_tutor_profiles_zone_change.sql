-- A tutor's sessions follow a change of the tutor's zone.
CREATE OR REPLACE TRIGGER tutor_profiles_zone_change
AFTER UPDATE OF timezone ON public.tutor_profiles
FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
EXECUTE FUNCTION public.astegni_on_tutor_zone_change();
