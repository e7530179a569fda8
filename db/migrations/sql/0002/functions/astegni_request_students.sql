-- Every student a request enrols: its own student (astegni_request_student) and, for a shared booking,
-- each student of its roster (requested_session_students). No row when it names none.
CREATE OR REPLACE FUNCTION public.astegni_request_students(r public.requested_sessions)
RETURNS SETOF integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT s.id
FROM (SELECT public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id)
      UNION
      SELECT rs.student_profile_id FROM public.requested_session_students AS rs
      WHERE rs.requested_session_id = r.id) AS s (id)
WHERE s.id IS NOT NULL
$$;
