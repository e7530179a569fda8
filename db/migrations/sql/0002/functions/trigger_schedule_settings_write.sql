-- Only the database owner's role changes the settings; the row is never deleted.
CREATE OR REPLACE TRIGGER schedule_settings_write
BEFORE INSERT OR UPDATE OR DELETE ON public.schedule_settings
FOR EACH ROW
EXECUTE FUNCTION public.astegni_on_settings_write();
