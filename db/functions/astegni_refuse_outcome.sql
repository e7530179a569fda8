-- Refuses an acceptance whose plan makes too many sessions or clashes under conflict_policy 'fail';
-- returns true when neither applies. The clash is named by its date and start time (p_clash_time, an
-- occurrence the tutor moved; else the request's start time).
-- Raises AS006 (too many sessions) and AS007 (schedule conflict, naming the first clash).
CREATE OR REPLACE FUNCTION public.astegni_refuse_outcome(
    r public.requested_sessions, p_wanted integer, p_limit integer, p_zone text,
    p_clash_date date, p_clash_session_id integer, p_clash_time time DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_field text := CASE
        WHEN lower(btrim(r.schedule_type)) <> 'recurring' THEN 'specific_dates'
        -- A window whose years have passed is ignored: the weekdays alone make the count.
        WHEN public.astegni_window_passed(r.year_range, (now() AT TIME ZONE p_zone)::date) THEN 'days'
        WHEN jsonb_typeof(r.year_range) IN ('number', 'string')
          OR jsonb_array_length(CASE WHEN jsonb_typeof(r.year_range) = 'array' THEN r.year_range END) > 0
        THEN 'year_range'
        WHEN jsonb_array_length(CASE WHEN jsonb_typeof(r.months) = 'array' THEN r.months END) > 0 THEN 'months'
        ELSE 'days' END;
    v_time text := to_char(coalesce(p_clash_time, r.start_time), 'HH24:MI');
BEGIN
    IF p_wanted > p_limit THEN
        PERFORM public.astegni_raise('AS006',
            format('request %s would make %s sessions, more than the limit of %s', r.id, p_wanted, p_limit),
            jsonb_build_object('request_id', r.id, 'field', v_field, 'value', p_wanted::text,
                               'limit', p_limit),
            'Ask for fewer dates, weekdays, months or years; the limit is schedule_settings.session_limit.');
    END IF;
    IF p_clash_session_id IS NOT NULL THEN
        PERFORM public.astegni_raise('AS007',
            format('request %s clashes on %s at %s (%s) with session %s',
                   r.id, p_clash_date, v_time, p_zone, p_clash_session_id),
            jsonb_build_object('request_id', r.id, 'session_date', p_clash_date,
                               'start_time', v_time, 'timezone', p_zone,
                               'clash_session_id', p_clash_session_id),
            'Move or cancel the clashing session, or set the request''s conflict_policy to ''skip''.');
    END IF;
    RETURN true;
END
$$;
