-- Brings every live series up to its horizon as at p_at, batch by batch as astegni_extend_series does
-- but in the caller's one transaction; returns the number of sessions made. A chosen moment is for
-- tests and backfills: EXECUTE is the owner's alone, so no client moves the clock or holds every
-- tutor's lock; clients CALL astegni_extend_series().
CREATE OR REPLACE FUNCTION public.astegni_extend_series_at(p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_after integer := 0;
    v_made integer := 0;
    v_step record;
BEGIN
    LOOP
        INSERT INTO public.astegni_extensions (at, after_tutor_id) VALUES (p_at, v_after)
        RETURNING last_tutor_id, sessions_made INTO v_step;
        EXIT WHEN v_step.last_tutor_id IS NULL;
        v_made := v_made + v_step.sessions_made;
        v_after := v_step.last_tutor_id;
    END LOOP;
    RETURN v_made;
END
$$;
