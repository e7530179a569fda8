-- Trigger function (BEFORE INSERT on astegni_extensions, one row per batch of a run): the extension at
-- NEW.at for the next tutors after NEW.after_tutor_id, in tutor id order, until about NEW.batch_size
-- series (the last tutor taken whole). Takes the locks of the tutors with something to make (or to
-- make again, or to close) in a statement of its own, then reads what to do again
-- (astegni_extension_work, now on committed state: an acceptance or a reschedule that was in flight is
-- seen), brings their series to the horizon (astegni_apply_extension: set-based, or one request at a
-- time in id order when a clash has to be resolved), closes the ended series whose last date has
-- passed (their students leave the course), and records the batch: its last tutor (NULL once no tutor
-- is left after NEW.after_tutor_id) and what it made. A batch locks only its own tutors with work, so
-- the others are never held up by it.
-- The other tutors' series whose new horizon adds no occurrence only have their marker moved, without
-- the tutor's lock, last: each series row is locked FOR NO KEY UPDATE SKIP LOCKED (one a reschedule or
-- an end holds is left for a later run), and only then, in a statement of its own, is it checked again
-- that it has nothing to make, on what was committed by then. That is safe against a concurrent
-- reschedule or end because both lock the series row before they read it (astegni_reschedule,
-- astegni_end_series): one that committed before the row lock is seen by the second look (its new
-- pattern or last date decides), one still running holds the row (skipped), and one that starts after
-- waits for this batch's commit and then reads the moved marker (a reschedule makes up to its day).
-- Those row locks are taken after the tutors' locks, and nothing is waited for once they are held, so
-- they cannot close a cycle with a tutor's lock. Running at trigger depth 1 is what lets the sessions
-- it inserts skip the per-row checks of sessions made by hand (sessions_insert_by_hand), as
-- acceptance's do; no client role may insert here (astegni_extend_step, astegni_extend_series_at).
-- Raises 55P03 and 40001 (retry), the latter also when a concurrent transaction booked a slot after
-- this one's snapshot.
CREATE OR REPLACE FUNCTION public.astegni_on_extension()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET jit = off
SET work_mem = '64MB'
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_tutors integer[];
    v_idle integer[];
    v_ids integer[];
    v_closing integer[];
    v_id integer;
    v_grown integer;
    v_made integer;
BEGIN
    -- The batch: tutors in id order until about batch_size series (or requests with time off to make
    -- again), picked by index order alone so that each batch reads only its own rows.
    NEW.last_tutor_id := (
        SELECT max(b.tutor_id)
        FROM ((SELECT s.tutor_id FROM public.series AS s
               WHERE s.tutor_id > NEW.after_tutor_id
               ORDER BY s.tutor_id LIMIT NEW.batch_size)
              UNION ALL
              (SELECT r.tutor_id FROM public.skipped_occurrences AS k
               JOIN public.requested_sessions AS r ON r.id = k.request_id
               WHERE k.reason = 'time_off' AND k.starts_at > NEW.at AND r.tutor_id > NEW.after_tutor_id
               ORDER BY r.tutor_id LIMIT NEW.batch_size)
              ORDER BY 1 LIMIT NEW.batch_size) AS b);
    IF NEW.last_tutor_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(array_agg(DISTINCT w.tutor_id) FILTER (WHERE w.to_make), '{}'),
           coalesce(array_agg(w.request_id) FILTER (WHERE NOT w.to_make), '{}')
    INTO v_tutors, v_idle
    FROM public.astegni_extension_work(NEW.at, NEW.after_tutor_id, NEW.last_tutor_id) AS w;
    IF v_tutors <> '{}' THEN  -- else every series of the batch only has its marker to move
        PERFORM public.astegni_lock_tutors(v_tutors);
        SELECT coalesce(array_agg(w.request_id) FILTER (WHERE NOT w.closing), '{}'),
               coalesce(array_agg(w.request_id) FILTER (WHERE w.closing), '{}')
        INTO v_ids, v_closing
        FROM public.astegni_extension_work(NEW.at, NEW.after_tutor_id, NEW.last_tutor_id) AS w
        -- A tutor with work only since the first look waits for a later run.
        WHERE w.tutor_id = ANY (v_tutors);

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
                        MESSAGE = format('request %s: a concurrent transaction booked one of its slots',
                                         v_id),
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
    END IF;
    -- The markers of series with nothing to make, of tutors not locked: under their rows' locks,
    -- checked again (see the header).
    v_idle := ARRAY(SELECT s.request_id FROM public.series AS s
                    WHERE s.request_id = ANY (v_idle) AND NOT (s.tutor_id = ANY (v_tutors))
                    ORDER BY s.request_id
                    FOR NO KEY UPDATE SKIP LOCKED);
    IF v_idle <> '{}' THEN
        UPDATE public.series AS s SET made_until = w.horizon
        FROM public.astegni_extension_work(NEW.at, NEW.after_tutor_id, NEW.last_tutor_id) AS w
        WHERE w.request_id = s.request_id AND s.request_id = ANY (v_idle) AND NOT w.closing
          AND NOT w.to_make;
    END IF;
    IF NEW.series_grown > 0 THEN
        PERFORM public.astegni_notify();
    END IF;
    RETURN NEW;
END
$$;
