-- The student a request enrols: the named student, else the requesting student's own profile; NULL if none.
CREATE OR REPLACE FUNCTION public.astegni_request_student(
    p_requested_to_id integer, p_requester_type text, p_requester_id integer)
RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT coalesce(p_requested_to_id, (
    SELECT sp.id FROM public.student_profiles AS sp
    WHERE p_requester_type = 'student' AND sp.user_id = p_requester_id))
$$;
