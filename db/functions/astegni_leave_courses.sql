-- The students of requests that no longer enrol them (cancelled, or a series that is over) leave their
-- tutor's course for the request's package, unless another accepted request of the same tutor and
-- package still enrols them (a series that is over no longer does). enrolled_students is kept
-- (payment history). Called by astegni_cancel_requests, astegni_end_series and the extension, under
-- the tutors' locks.
CREATE OR REPLACE FUNCTION public.astegni_leave_courses(p_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    WITH leaving AS (
        SELECT r.tutor_id, r.package_id, array_agg(DISTINCT s.student_id) AS students
        FROM public.requested_sessions AS r
        CROSS JOIN LATERAL public.astegni_request_students(r) AS s (student_id)
        WHERE r.id = ANY (p_ids)
          AND NOT EXISTS (
            SELECT FROM public.requested_sessions AS other
            WHERE other.status = 'accepted'
              AND other.id <> ALL (p_ids)
              AND other.tutor_id = r.tutor_id
              AND other.package_id IS NOT DISTINCT FROM r.package_id
              AND NOT EXISTS (SELECT FROM public.series AS o
                              WHERE o.request_id = other.id AND o.closed_at IS NOT NULL)
              AND s.student_id IN (SELECT public.astegni_request_students(other)))
        GROUP BY r.tutor_id, r.package_id
    )
    UPDATE public.enrolled_courses AS c
    SET students_id = ARRAY(SELECT s FROM unnest(c.students_id) AS s WHERE s <> ALL (leaving.students)),
        updated_at = now() AT TIME ZONE 'UTC'
    FROM leaving
    WHERE c.tutor_id = leaving.tutor_id AND c.package_id IS NOT DISTINCT FROM leaving.package_id;
END
$$;
