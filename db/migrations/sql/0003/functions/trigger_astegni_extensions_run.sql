-- Each row inserted is a run of the extension (astegni_extend_series_at inserts it).
CREATE OR REPLACE TRIGGER astegni_extensions_run
BEFORE INSERT ON public.astegni_extensions
FOR EACH ROW
EXECUTE FUNCTION public.astegni_on_extension();
