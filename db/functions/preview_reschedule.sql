-- What astegni_reschedule with the same arguments would do, row by row; writes nothing and takes no
-- lock (see astegni_reschedule_plan for the rows). p_tutor_id, when given, scopes it to that tutor's
-- requests, as astegni_reschedule.
-- Raises AS001, AS005, AS014 and AS015, like the change itself.
CREATE OR REPLACE FUNCTION public.preview_reschedule(
    p_request_id integer, p_from date, p_days jsonb, p_start_time time, p_end_time time,
    p_tutor_id integer DEFAULT NULL)
RETURNS TABLE (session_id integer, session_date date, starts_at timestamptz, ends_at timestamptz,
               duration integer, outcome text, reason text, clash_session_id integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, false);
    RETURN QUERY
    SELECT * FROM public.astegni_reschedule_plan(p_request_id, p_from, p_days, p_start_time, p_end_time);
END
$$;
