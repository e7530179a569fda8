-- Each row inserted is a batch of a run of the extension (astegni_extend_step and astegni_extend_series_at
-- insert them).
CREATE OR REPLACE TRIGGER astegni_extensions_run
BEFORE INSERT ON public.astegni_extensions
FOR EACH ROW
EXECUTE FUNCTION public.astegni_on_extension();
