-- Refuses a free text (a reason given for rejecting, cancelling, ending or taking time off) longer than
-- 2,000 characters, naming p_field; p_detail adds the facts of where it was written (e.g. request_id).
-- The refusal quotes only the text's first 40 characters and its length, never the whole of it.
-- Called by astegni_on_request_reasons (requested_sessions' rejected_reason and cancelled_reason),
-- astegni_end_series (the series' ended reason) and astegni_add_time_off (the time off's reason).
-- Raises AS005 (invalid value).
CREATE OR REPLACE FUNCTION public.astegni_check_text(p_field text, p_value text, p_detail jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_limit CONSTANT integer := 2000;
    v_length integer := length(p_value);
    v_prefix text;
    v_problem text;
BEGIN
    IF v_length > v_limit THEN
        v_prefix := left(p_value, 40) || '...';
        v_problem := format('is %s characters long, more than %s', v_length, v_limit);
        PERFORM public.astegni_raise('AS005',
            format('%s %s %s', p_field, quote_literal(v_prefix), v_problem),
            coalesce(p_detail, '{}') || jsonb_build_object(
                'field', p_field, 'value', v_prefix, 'problem', v_problem, 'length', v_length,
                'limit', v_limit),
            format('Shorten %s to %s characters at most.', p_field, v_limit));
    END IF;
END
$$;
