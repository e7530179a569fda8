-- Applies the cancellation of accepted requests (status just became 'cancelled'): their sessions that
-- have not started are marked cancelled (kept, not deleted; cancelled_reason 'request_cancelled'), the
-- students leave the course (astegni_leave_courses), and one astegni_events row is written per request
-- (the listeners woken: astegni_notify).
-- Takes the tutors' locks first, as acceptance does, so that it decides on committed state: an
-- acceptance of the same tutor in flight keeps the student it enrols.
CREATE OR REPLACE FUNCTION public.astegni_cancel_requests(p_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.astegni_lock_tutors(ARRAY(
        SELECT r.tutor_id FROM public.requested_sessions AS r WHERE r.id = ANY (p_ids)));
    PERFORM public.astegni_leave_courses(p_ids);
    WITH req AS (
        SELECT r.id, r.tutor_id,
               public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id)
                   AS student_id
        FROM public.requested_sessions AS r
        WHERE r.id = ANY (p_ids)
    ),
    cancelled AS (
        UPDATE public.sessions AS s
        SET status = 'cancelled', cancelled_reason = 'request_cancelled',
            updated_at = now() AT TIME ZONE 'UTC'
        FROM req
        WHERE s.request_id = req.id AND s.status = 'scheduled' AND s.starts_at > now()
        RETURNING s.request_id, s.starts_at
    ),
    outcome AS (
        SELECT cancelled.request_id, count(*) AS sessions,
               min(cancelled.starts_at) AS first_starts_at, max(cancelled.starts_at) AS last_starts_at
        FROM cancelled
        GROUP BY cancelled.request_id
    )
    INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                                       last_starts_at)
    SELECT 'cancelled', req.id, req.tutor_id, req.student_id, coalesce(o.sessions, 0), o.first_starts_at,
           o.last_starts_at
    FROM req
    LEFT JOIN outcome AS o ON o.request_id = req.id;
    PERFORM public.astegni_notify();
END
$$;
