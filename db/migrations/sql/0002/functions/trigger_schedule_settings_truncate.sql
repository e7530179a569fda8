-- The settings row is never truncated away.
CREATE OR REPLACE TRIGGER schedule_settings_truncate
BEFORE TRUNCATE ON public.schedule_settings
FOR EACH STATEMENT
EXECUTE FUNCTION public.astegni_on_settings_write();
