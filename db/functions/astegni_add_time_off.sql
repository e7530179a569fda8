-- Records time off of tutor p_tutor_id from p_starts_at to p_ends_at (excluded), the way a client does
-- it: its trigger (astegni_on_time_off) cancels the tutor's sessions inside that have not started,
-- under the tutor's lock. Returns the row and how many sessions it cancelled. Bounds in the wrong
-- order make an empty range, refused as an empty or unbounded one is.
-- SECURITY DEFINER: clients record time off only through here, for the tutor they name.
-- Raises AS005 (a reason over 2,000 characters), AS016 (an unknown tutor, or time off that is empty or
-- unbounded), 55P03 and 40001 (retry).
CREATE OR REPLACE FUNCTION public.astegni_add_time_off(p_tutor_id integer, p_starts_at timestamptz,
                                                       p_ends_at timestamptz, p_reason text DEFAULT NULL)
RETURNS TABLE (id integer, tutor_id integer, starts_at timestamptz, ends_at timestamptz, reason text,
               created_at timestamptz, sessions_cancelled integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_column
DECLARE
    v_row public.tutor_time_off;
BEGIN
    IF NOT EXISTS (SELECT FROM public.tutor_profiles AS t WHERE t.id = p_tutor_id) THEN
        PERFORM public.astegni_raise('AS016', format('tutor %s does not exist', p_tutor_id),
                                     jsonb_build_object('tutor_id', p_tutor_id, 'field', 'tutor_id'),
                                     'Check the tutor id.');
    END IF;
    PERFORM public.astegni_check_text('reason', p_reason, jsonb_build_object('tutor_id', p_tutor_id));
    INSERT INTO public.tutor_time_off (tutor_id, during, reason)
    VALUES (p_tutor_id,
            CASE WHEN p_starts_at > p_ends_at THEN 'empty'::tstzrange ELSE tstzrange(p_starts_at, p_ends_at) END,
            p_reason)
    RETURNING * INTO v_row;
    -- What its trigger cancelled: the tutor's sessions inside it, cancelled for time off by this
    -- transaction (the rule stamps updated_at with the transaction's now(), in UTC).
    RETURN QUERY
    SELECT v_row.id, v_row.tutor_id, lower(v_row.during), upper(v_row.during), v_row.reason, v_row.created_at,
           (SELECT count(*)::integer FROM public.sessions AS s
            WHERE s.tutor_id = v_row.tutor_id AND s.status = 'cancelled' AND s.cancelled_reason = 'time_off'
              AND tstzrange(s.starts_at, s.ends_at) && v_row.during
              AND s.updated_at = now() AT TIME ZONE 'UTC');
END
$$;
