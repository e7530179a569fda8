-- Trigger function (BEFORE INSERT on astegni_extensions, one row per run): the extension at NEW.at.
-- Takes the locks of the tutors with work (in tutor id order, as acceptance does, so that it waits for
-- an acceptance in flight and then sees its sessions), brings their series to the horizon
-- (astegni_apply_extension: set-based, or one request at a time in id order when a clash has to be
-- resolved), closes the ended series whose last date has passed (their students leave the course),
-- and records what it made in the row. Running at trigger depth 1 is what lets the sessions it
-- inserts skip the per-row checks of sessions made by hand (sessions_insert_by_hand), as acceptance's
-- do; no client role may insert here, so only astegni_extend_series_at runs it.
-- Raises 40001 when a concurrent transaction booked a slot after this one's snapshot (retry).
CREATE OR REPLACE FUNCTION public.astegni_on_extension()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
SET work_mem = '64MB'
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_weeks integer := (SELECT s.weeks_horizon FROM public.schedule_settings AS s);
    v_ids integer[];
    v_closing integer[];
    v_id integer;
    v_grown integer;
    v_made integer;
BEGIN
    v_ids := ARRAY(
        SELECT s.request_id
        FROM public.series AS s
        JOIN public.requested_sessions AS r ON r.id = s.request_id
        JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
        WHERE r.status = 'accepted'
          AND public.astegni_horizon(NEW.at, t.timezone, s.window_start, v_weeks) > s.made_until
          AND (least(s.window_end, s.last_date) IS NULL
               OR s.made_until < least(s.window_end, s.last_date) + 1)
        UNION
        SELECT k.request_id
        FROM public.skipped_occurrences AS k
        JOIN public.requested_sessions AS r ON r.id = k.request_id
        WHERE k.reason = 'time_off' AND k.starts_at > NEW.at AND r.status = 'accepted'
          AND NOT EXISTS (SELECT FROM public.tutor_time_off AS o
                          WHERE o.tutor_id = r.tutor_id AND o.during && tstzrange(k.starts_at, k.ends_at))
        ORDER BY 1);
    v_closing := ARRAY(
        SELECT s.request_id
        FROM public.series AS s
        JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
        WHERE s.closed_at IS NULL AND s.last_date < (NEW.at AT TIME ZONE t.timezone)::date
        ORDER BY 1);
    PERFORM public.astegni_lock_tutors(ARRAY(
        SELECT r.tutor_id FROM public.requested_sessions AS r WHERE r.id = ANY (v_ids || v_closing)));

    BEGIN
        SELECT x.series_grown, x.sessions_made INTO NEW.series_grown, NEW.sessions_made
        FROM public.astegni_apply_extension(NEW.at, v_ids, false) AS x;
    EXCEPTION WHEN exclusion_violation THEN
        NEW.series_grown := 0;
        NEW.sessions_made := 0;
        FOREACH v_id IN ARRAY v_ids LOOP
            BEGIN
                SELECT x.series_grown, x.sessions_made INTO v_grown, v_made
                FROM public.astegni_apply_extension(NEW.at, ARRAY[v_id], true) AS x;
            EXCEPTION WHEN exclusion_violation THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'serialization_failure',
                    MESSAGE = format('request %s: a concurrent transaction booked one of its slots', v_id),
                    HINT = 'Retry the transaction.';
            END;
            NEW.series_grown := NEW.series_grown + v_grown;
            NEW.sessions_made := NEW.sessions_made + v_made;
        END LOOP;
    END;

    IF v_closing <> '{}' THEN
        PERFORM public.astegni_leave_courses(v_closing);
        UPDATE public.series AS s SET closed_at = now() WHERE s.request_id = ANY (v_closing);
    END IF;
    IF NEW.series_grown > 0 THEN
        PERFORM public.astegni_notify();
    END IF;
    RETURN NEW;
END
$$;
