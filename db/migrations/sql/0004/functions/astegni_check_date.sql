-- Refuses a date argument that no calendar holds: missing, infinite, or past 9999-12-31 (where the
-- rule's date arithmetic would overflow into a raw 22008). Called by the changes of a series before
-- they use the date.
-- Raises AS005 (naming p_field).
CREATE OR REPLACE FUNCTION public.astegni_check_date(p_request_id integer, p_field text, p_value date,
                                                    p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF p_value IS NULL OR NOT isfinite(p_value) OR p_value > date '9999-12-31' THEN
        PERFORM public.astegni_raise('AS005',
            format('request %s: %s %s', p_request_id, p_field,
                   coalesce(quote_literal(p_value::text) || ' is out of range', 'is missing')),
            jsonb_build_object('request_id', p_request_id, 'field', p_field, 'value', p_value::text,
                               'problem', CASE WHEN p_value IS NULL THEN 'is missing' ELSE 'is out of range' END),
            p_hint);
    END IF;
END
$$;
