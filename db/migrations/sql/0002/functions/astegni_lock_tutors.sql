-- Serialises acceptances per tutor: transaction-scoped advisory locks taken in tutor id order, so that
-- racing acceptances wait for each other instead of deadlocking in the exclusion constraint.
-- PL/pgSQL so that its query plan is kept between calls (a SQL function is planned on every call).
CREATE OR REPLACE FUNCTION public.astegni_lock_tutors(p_request_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1634956391, t.tutor_id)  -- 1634956391: 'astg', the project's lock class
    FROM (SELECT DISTINCT r.tutor_id FROM public.requested_sessions AS r WHERE r.id = ANY (p_request_ids)) AS t
    ORDER BY t.tutor_id;
END
$$;
