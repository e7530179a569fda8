-- Tells listeners on channel astegni_sessions what an acceptance or cancellation did to one request
-- (p_note: the acceptance's note, see astegni_schedule_note); delivered only if the transaction commits.
CREATE OR REPLACE FUNCTION public.astegni_notify(
    p_event text, p_request_id integer, p_tutor_id integer, p_student_id integer, p_sessions bigint,
    p_first_starts_at timestamptz, p_last_starts_at timestamptz, p_note text)
RETURNS void
LANGUAGE sql
AS $$
SELECT pg_notify('astegni_sessions', json_build_object(
    'event', p_event, 'request_id', p_request_id, 'tutor_id', p_tutor_id, 'student_id', p_student_id,
    'sessions', coalesce(p_sessions, 0),
    'first_starts_at', p_first_starts_at, 'last_starts_at', p_last_starts_at, 'note', p_note)::text)
$$;
