-- Serialises everything that books a tutor's time (acceptance, cancellation, a session moved or inserted
-- by hand, a change of the tutor's zone): row locks on astegni_tutor_locks, taken in tutor id order so
-- that racing transactions wait for each other instead of deadlocking in the exclusion constraint.
-- A table no client role may write: unlike an advisory key, nobody can hold a tutor's lock to stall it.
-- PL/pgSQL so that its query plans are kept between calls.
CREATE OR REPLACE FUNCTION public.astegni_lock_tutors(p_tutor_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    INSERT INTO public.astegni_tutor_locks (tutor_id)
    SELECT DISTINCT t.id FROM unnest(p_tutor_ids) AS t (id) WHERE t.id IS NOT NULL ORDER BY t.id
    ON CONFLICT (tutor_id) DO NOTHING;
    PERFORM FROM public.astegni_tutor_locks AS l
    WHERE l.tutor_id = ANY (p_tutor_ids)
    ORDER BY l.tutor_id
    FOR NO KEY UPDATE;
END
$$;
