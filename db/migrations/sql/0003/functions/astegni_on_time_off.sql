-- Trigger function (AFTER INSERT or UPDATE on tutor_time_off, per row): the tutor's sessions inside
-- the time off that have not started are cancelled (kept, cancelled_reason 'time_off'), each recorded
-- as a 'time_off' skipped occurrence of its request (so that the extension makes it again once no time
-- off covers it), with one 'time_off' event per affected request. Under the tutor's lock, as
-- everything that books the tutor's time. SECURITY DEFINER: the app may record time off without
-- rights on sessions.
-- Raises AS016 (a time off that is empty or unbounded: no bound, or an infinite one).
CREATE OR REPLACE FUNCTION public.astegni_on_time_off()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $$
BEGIN
    IF isempty(NEW.during) OR NOT isfinite(lower(NEW.during)) OR NOT isfinite(upper(NEW.during))
       OR lower_inf(NEW.during) OR upper_inf(NEW.during) THEN
        PERFORM public.astegni_raise('AS016',
            format('time off %s of tutor %s is %s', NEW.id, NEW.tutor_id,
                   CASE WHEN isempty(NEW.during) THEN 'empty' ELSE 'unbounded' END),
            jsonb_build_object('time_off_id', NEW.id, 'tutor_id', NEW.tutor_id, 'field', 'during',
                               'value', NEW.during::text),
            'Give the time off a start and an end, the end after the start.');
    END IF;
    PERFORM public.astegni_lock_tutors(ARRAY[NEW.tutor_id]);
    WITH cancelled AS (
        UPDATE public.sessions AS s
        SET status = 'cancelled', cancelled_reason = 'time_off', updated_at = now() AT TIME ZONE 'UTC'
        WHERE s.tutor_id = NEW.tutor_id
          AND s.status IS DISTINCT FROM 'cancelled'
          AND s.starts_at > now()
          AND tstzrange(s.starts_at, s.ends_at) && NEW.during
        RETURNING s.request_id, s.session_date, s.starts_at, s.ends_at
    ),
    skipped AS (
        INSERT INTO public.skipped_occurrences (request_id, session_date, starts_at, ends_at, reason)
        SELECT c.request_id, c.session_date, c.starts_at, c.ends_at, 'time_off'
        FROM cancelled AS c
        WHERE c.request_id IS NOT NULL
    )
    INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                                       last_starts_at)
    SELECT 'time_off', r.id, r.tutor_id,
           public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id),
           count(*), min(c.starts_at), max(c.starts_at)
    FROM cancelled AS c
    JOIN public.requested_sessions AS r ON r.id = c.request_id
    GROUP BY r.id;
    IF FOUND THEN
        PERFORM public.astegni_notify();
    END IF;
    RETURN NULL;
END
$$;
