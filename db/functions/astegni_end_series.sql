-- Ends a series after p_last_date: it makes nothing later, and its sessions after that date that have
-- not started are cancelled (kept, cancelled_reason 'series_ended'); the time off it was waiting out
-- after that date is forgotten. Its students leave the course once it is over: now when p_last_date
-- is before the tutor's today, else at the first extension after it. One 'ended' event. Returns the
-- number of sessions cancelled. Ending again earlier cuts more; on the same date changes nothing.
-- p_tutor_id, when given, scopes it to that tutor's requests (as astegni_accept); the tutor's lock is
-- taken before anything is read (astegni_claim_request), then the series row's.
-- Raises AS001, AS005 (no last date, or one out of range; a reason over 2,000 characters), AS014 (not
-- a series), AS015 (it already ends earlier), 55P03 and 40001 (retry).
CREATE OR REPLACE FUNCTION public.astegni_end_series(p_request_id integer, p_last_date date, p_reason text,
                                                     p_tutor_id integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_series public.series;
    v_zone text;
    v_cancelled integer;
BEGIN
    PERFORM public.astegni_check_date(p_request_id, 'last_date', p_last_date,
        'Give the date of the series'' last session (or the day before the first one it drops).');
    PERFORM public.astegni_check_text('reason', p_reason, jsonb_build_object('request_id', p_request_id));
    PERFORM public.astegni_claim_request(p_request_id, p_tutor_id, true);
    -- The series row too, before it is read: the extension moves the marker of a series with nothing
    -- to make under this row's lock alone (astegni_on_extension), deciding on its last date.
    PERFORM FROM public.series AS s WHERE s.request_id = p_request_id FOR NO KEY UPDATE;
    v_series := public.astegni_series_of(p_request_id);
    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = v_series.tutor_id;
    IF v_series.last_date <= p_last_date THEN
        IF v_series.last_date < p_last_date THEN
            PERFORM public.astegni_raise('AS015',
                format('series %s already ends on %s', p_request_id, v_series.last_date),
                jsonb_build_object('request_id', p_request_id, 'field', 'last_date',
                                   'value', p_last_date::text, 'last_date', v_series.last_date),
                'A series that has ended is not reopened; accept a new request instead.');
        END IF;
        RETURN 0;
    END IF;

    UPDATE public.series AS s
    SET last_date = p_last_date, ended_reason = p_reason, ended_at = now()
    WHERE s.request_id = p_request_id;
    DELETE FROM public.skipped_occurrences AS k
    WHERE k.request_id = p_request_id AND k.reason = 'time_off' AND k.session_date > p_last_date;
    WITH cancelled AS (
        UPDATE public.sessions AS s
        SET status = 'cancelled', cancelled_reason = 'series_ended', updated_at = now() AT TIME ZONE 'UTC'
        WHERE s.request_id = p_request_id AND s.session_date > p_last_date
          AND s.status IS DISTINCT FROM 'cancelled' AND s.starts_at > now()
        RETURNING s.starts_at
    ),
    announced AS (
        INSERT INTO public.astegni_events (event, request_id, tutor_id, student_id, sessions,
                                           first_starts_at, last_starts_at, note)
        SELECT 'ended', r.id, r.tutor_id,
               public.astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id),
               (SELECT count(*) FROM cancelled), (SELECT min(c.starts_at) FROM cancelled AS c),
               (SELECT max(c.starts_at) FROM cancelled AS c), p_reason
        FROM public.requested_sessions AS r
        WHERE r.id = p_request_id
        RETURNING sessions
    )
    SELECT announced.sessions INTO v_cancelled FROM announced;

    IF p_last_date < (now() AT TIME ZONE v_zone)::date THEN
        PERFORM public.astegni_leave_courses(ARRAY[p_request_id]);
        UPDATE public.series AS s SET closed_at = now() WHERE s.request_id = p_request_id;
    END IF;
    PERFORM public.astegni_notify();
    RETURN v_cancelled;
END
$$;
