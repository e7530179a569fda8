-- Trigger function (AFTER UPDATE OF timezone on tutor_profiles, when the zone changes): a tutor's
-- sessions always read in the tutor's current zone. Sessions still ahead keep their wall-clock time
-- (a 09:00 lesson stays at 09:00 in the new zone) and are re-timed, each checked for clashes; sessions
-- that have started keep their instants, and their date and times are rewritten in the new zone. Under
-- the tutor's lock, so that an acceptance racing the change uses one zone or the other, whole.
-- Raises AS007 and AS010 (astegni_on_session_write) when a re-timed session clashes or falls into no
-- time: the zone then stays as it was.
CREATE OR REPLACE FUNCTION public.astegni_on_tutor_zone_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_session record;
BEGIN
    PERFORM public.astegni_lock_tutors(ARRAY[NEW.id]);
    -- One by one, those moving later latest first and those moving earlier earliest first, so that no
    -- session passes over another on its way (the exclusion constraint checks each row at once).
    FOR v_session IN
        SELECT m.* FROM (
            SELECT s.id, s.session_date, s.start_time, s.end_time, s.starts_at,
                   public.astegni_starts_at(s.session_date, s.start_time, NEW.timezone) - s.starts_at AS shift
            FROM public.sessions AS s
            WHERE s.tutor_id = NEW.id AND s.starts_at > now()
        ) AS m
        ORDER BY m.shift > interval '0' DESC,
                 CASE WHEN m.shift > interval '0' THEN -extract(epoch FROM m.starts_at)
                      ELSE extract(epoch FROM m.starts_at) END
    LOOP
        CONTINUE WHEN v_session.shift = interval '0';
        UPDATE public.sessions AS s
        SET starts_at = public.astegni_starts_at(v_session.session_date, v_session.start_time, NEW.timezone),
            ends_at = public.astegni_ends_at(v_session.session_date, v_session.start_time,
                                             v_session.end_time, NEW.timezone)
        WHERE s.id = v_session.id;
    END LOOP;
    UPDATE public.sessions AS s
    SET session_date = (s.starts_at AT TIME ZONE NEW.timezone)::date,
        start_time = (s.starts_at AT TIME ZONE NEW.timezone)::time,
        end_time = (s.ends_at AT TIME ZONE NEW.timezone)::time,
        starts_at = s.starts_at, ends_at = s.ends_at
    WHERE s.tutor_id = NEW.id AND s.starts_at <= now()
      AND (s.session_date, s.start_time, s.end_time) IS DISTINCT FROM (
          (s.starts_at AT TIME ZONE NEW.timezone)::date, (s.starts_at AT TIME ZONE NEW.timezone)::time,
          (s.ends_at AT TIME ZONE NEW.timezone)::time);
    RETURN NULL;
END
$$;
