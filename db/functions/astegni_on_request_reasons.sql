-- Trigger function (BEFORE INSERT or UPDATE OF rejected_reason, cancelled_reason on requested_sessions,
-- rows with a reason): each reason is a text of at most 2,000 characters (astegni_check_text).
-- Raises AS005 (invalid value).
CREATE OR REPLACE FUNCTION public.astegni_on_request_reasons()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.astegni_check_text('rejected_reason', NEW.rejected_reason,
                                      jsonb_build_object('request_id', NEW.id));
    PERFORM public.astegni_check_text('cancelled_reason', NEW.cancelled_reason,
                                      jsonb_build_object('request_id', NEW.id));
    RETURN NEW;
END
$$;
