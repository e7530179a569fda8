-- Trigger function (BEFORE INSERT on requested_sessions, rows whose status is not 'pending'): a request
-- is born pending, so that nothing reaches 'accepted' without passing through the rule.
-- Raises AS003 (invalid transition).
CREATE OR REPLACE FUNCTION public.astegni_on_request_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.astegni_raise('AS003',
        format('a request is inserted as ''pending'', not %L', NEW.status),
        jsonb_build_object('field', 'status', 'value', NEW.status),
        'Insert the request as pending, then accept or reject it with an UPDATE of its status.');
    RETURN NULL;
END
$$;
