-- Trigger function (BEFORE INSERT of a session made by hand, BEFORE UPDATE of a session that moves or is
-- un-cancelled): keeps the wall-clock pair (session_date, start_time, end_time) and the instants
-- (starts_at, ends_at) telling the same time in the tutor's zone. Whichever pair the statement set moves
-- the other; a moved starts_at alone keeps the length; both pairs set must agree. Then refuses a move
-- onto a date where the request already has a session, or onto another course's session of the tutor.
-- The tutor's lock is taken before the tutor's zone or sessions are read: a zone change or a clash
-- with an acceptance in flight is seen once it commits (AS007, never the exclusion constraint's raw
-- 23P01). Its times are judged as a schedule's (astegni_times_problem: 24:00, the length limit) when
-- they are new or its length changes, so that a session made under a higher limit still moves as it is.
-- Raises AS005 (invalid times), AS007 (schedule conflict), AS010 (inconsistent session), AS011 (date
-- taken), 55P03 and 40001.
CREATE OR REPLACE FUNCTION public.astegni_on_session_write()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET jit = off
AS $$
DECLARE
    v_zone text;
    v_wall boolean;
    v_instants boolean;
    v_clash integer;
    v_field text;
    v_value text;
    v_problem text;
BEGIN
    IF NEW.enrolled_courses_id IS NULL THEN
        PERFORM public.astegni_raise('AS010',
            format('session %s belongs to no course (enrolled_courses_id is NULL)', NEW.id),
            jsonb_build_object('session_id', NEW.id, 'field', 'enrolled_courses_id'),
            'Give the session the enrolled course it belongs to.');
    END IF;
    IF NEW.tutor_id IS NULL THEN
        SELECT c.tutor_id INTO NEW.tutor_id FROM public.enrolled_courses AS c WHERE c.id = NEW.enrolled_courses_id;
    END IF;
    -- A session moved to another tutor frees the first one's time: both are locked.
    PERFORM public.astegni_lock_tutors(
        ARRAY[NEW.tutor_id] || CASE WHEN TG_OP = 'UPDATE' THEN OLD.tutor_id END);
    SELECT t.timezone INTO v_zone FROM public.tutor_profiles AS t WHERE t.id = NEW.tutor_id;
    IF TG_OP = 'INSERT' THEN
        v_wall := NEW.session_date IS NOT NULL OR NEW.start_time IS NOT NULL OR NEW.end_time IS NOT NULL;
        v_instants := NEW.starts_at IS NOT NULL OR NEW.ends_at IS NOT NULL;
    ELSE
        v_wall := (NEW.session_date, NEW.start_time, NEW.end_time)
                  IS DISTINCT FROM (OLD.session_date, OLD.start_time, OLD.end_time);
        v_instants := (NEW.starts_at, NEW.ends_at) IS DISTINCT FROM (OLD.starts_at, OLD.ends_at);
        IF v_instants AND NEW.ends_at IS NOT DISTINCT FROM OLD.ends_at AND NOT v_wall THEN
            NEW.ends_at := NEW.starts_at + (OLD.ends_at - OLD.starts_at);
        END IF;
    END IF;

    IF v_wall THEN
        IF NEW.session_date IS NULL OR NEW.start_time IS NULL OR NEW.end_time IS NULL
           OR NEW.start_time = NEW.end_time THEN
            PERFORM public.astegni_raise('AS010',
                format('session %s needs a date and two different times', NEW.id),
                jsonb_build_object('session_id', NEW.id, 'session_date', NEW.session_date,
                                   'start_time', NEW.start_time, 'end_time', NEW.end_time),
                'Give the session a date, a start_time and a different end_time.');
        END IF;
        IF v_instants AND (NEW.starts_at, NEW.ends_at) IS DISTINCT FROM (
               public.astegni_starts_at(NEW.session_date, NEW.start_time, v_zone),
               public.astegni_ends_at(NEW.session_date, NEW.start_time, NEW.end_time, v_zone)) THEN
            PERFORM public.astegni_raise('AS010',
                format('session %s: %s %s-%s in %s is not %s to %s', NEW.id, NEW.session_date,
                       NEW.start_time, NEW.end_time, v_zone, NEW.starts_at, NEW.ends_at),
                jsonb_build_object('session_id', NEW.id, 'timezone', v_zone), 'Set one pair; the other follows.');
        END IF;
        NEW.starts_at := public.astegni_starts_at(NEW.session_date, NEW.start_time, v_zone);
        NEW.ends_at := public.astegni_ends_at(NEW.session_date, NEW.start_time, NEW.end_time, v_zone);
    ELSIF v_instants THEN
        NEW.session_date := (NEW.starts_at AT TIME ZONE v_zone)::date;
        NEW.start_time := (NEW.starts_at AT TIME ZONE v_zone)::time;
        NEW.end_time := (NEW.ends_at AT TIME ZONE v_zone)::time;
    END IF;
    IF TG_OP = 'INSERT' OR v_wall AND '24:00' IN (NEW.start_time, NEW.end_time)
       OR (NEW.end_time - NEW.start_time) IS DISTINCT FROM (OLD.end_time - OLD.start_time) THEN
        SELECT t.field, t.value, t.problem INTO v_field, v_value, v_problem
        FROM public.astegni_times_problem(NEW.start_time, NEW.end_time) AS t;
        IF FOUND THEN
            PERFORM public.astegni_raise('AS005',
                format('session %s: %s %s %s', NEW.id, v_field, quote_literal(v_value), v_problem),
                jsonb_build_object('session_id', NEW.id, 'field', v_field, 'value', v_value,
                                   'problem', v_problem),
                'Give the session times of day (00:00 to 23:59) that make a session no longer than'
                || ' schedule_settings.max_session_minutes; an end before the start ends the next day.');
        END IF;
    END IF;
    IF NEW.ends_at IS NULL OR NEW.ends_at <= NEW.starts_at OR NEW.ends_at - NEW.starts_at >= interval '1 day' THEN
        PERFORM public.astegni_raise('AS010',
            format('session %s would last from %s to %s', NEW.id, NEW.starts_at, NEW.ends_at),
            jsonb_build_object('session_id', NEW.id, 'starts_at', NEW.starts_at, 'ends_at', NEW.ends_at),
            'A session ends after it starts, less than a day later.');
    END IF;
    NEW.duration := (extract(epoch FROM NEW.ends_at - NEW.starts_at) / 60)::integer;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now() AT TIME ZONE 'UTC';
    END IF;

    IF NEW.request_id IS NOT NULL AND EXISTS (
            SELECT FROM public.sessions AS s
            WHERE s.request_id = NEW.request_id AND s.session_date = NEW.session_date AND s.id <> NEW.id) THEN
        PERFORM public.astegni_raise('AS011',
            format('request %s already has a session on %s', NEW.request_id, NEW.session_date),
            jsonb_build_object('session_id', NEW.id, 'request_id', NEW.request_id,
                               'session_date', NEW.session_date),
            'Move the session to a date on which its request has no session.');
    END IF;
    IF NEW.status IS DISTINCT FROM 'cancelled' THEN
        SELECT s.id INTO v_clash FROM public.sessions AS s
        WHERE s.tutor_id = NEW.tutor_id
          AND tstzrange(s.starts_at, s.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
          AND s.enrolled_courses_id <> NEW.enrolled_courses_id
          AND s.status IS DISTINCT FROM 'cancelled'
          AND s.id <> NEW.id
        ORDER BY s.starts_at, s.id LIMIT 1;
        IF FOUND THEN
            PERFORM public.astegni_raise('AS007',
                format('session %s on %s at %s (%s) clashes with session %s', NEW.id, NEW.session_date,
                       to_char(NEW.start_time, 'HH24:MI'), v_zone, v_clash),
                jsonb_build_object('session_id', NEW.id, 'session_date', NEW.session_date,
                                   'start_time', to_char(NEW.start_time, 'HH24:MI'), 'timezone', v_zone,
                                   'clash_session_id', v_clash),
                'Move the session to a free slot, or move or cancel the clashing session.');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
