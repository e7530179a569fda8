-- The student a request enrols: the named student, else the requesting student's own profile; NULL if none.
-- PL/pgSQL so that its query plan is kept between calls (a SQL function with a subquery is not inlined
-- and would be planned on every call).
CREATE OR REPLACE FUNCTION public.astegni_request_student(
    p_requested_to_id integer, p_requester_type text, p_requester_id integer)
RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN coalesce(p_requested_to_id, (
        SELECT sp.id FROM public.student_profiles AS sp
        WHERE p_requester_type = 'student' AND sp.user_id = p_requester_id));
END
$$;
