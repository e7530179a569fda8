-- Removes one time off; the next extension makes again what it held back. p_tutor_id, when given,
-- scopes it to that tutor's time off (as astegni_accept): another tutor's, or one that does not exist,
-- is refused. Without it, false when there is no such time off. Under the tutor's lock, taken before
-- the row is removed, as everything that books or frees a tutor's time.
-- SECURITY DEFINER: clients remove time off only through here.
-- Raises AS001 (not p_tutor_id's), 55P03 and 40001 (retry).
CREATE OR REPLACE FUNCTION public.astegni_remove_time_off(p_time_off_id integer,
                                                          p_tutor_id integer DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_tutor_id integer;
BEGIN
    SELECT o.tutor_id INTO v_tutor_id
    FROM public.tutor_time_off AS o
    WHERE o.id = p_time_off_id AND (p_tutor_id IS NULL OR o.tutor_id = p_tutor_id);
    IF FOUND THEN
        PERFORM public.astegni_lock_tutors(ARRAY[v_tutor_id]);
        -- Under the lock, on committed state: a removal that waited finds the row gone.
        DELETE FROM public.tutor_time_off AS o WHERE o.id = p_time_off_id AND o.tutor_id = v_tutor_id;
    END IF;
    IF FOUND THEN
        RETURN true;
    ELSIF p_tutor_id IS NULL THEN
        RETURN false;
    END IF;
    PERFORM public.astegni_raise('AS001', format('tutor %s has no time off %s', p_tutor_id, p_time_off_id),
                                 jsonb_build_object('time_off_id', p_time_off_id, 'tutor_id', p_tutor_id),
                                 'Check the time off id, and that it belongs to this tutor.');
    RETURN NULL;  -- not reached (astegni_raise raises): PL/pgSQL asks for a RETURN here
END
$$;
