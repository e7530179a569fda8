-- The one discipline of every operation that books or frees a tutor's time (acceptance, cancellation,
-- reschedule, the end of a series, time off, the extension, a zone change, a session inserted or moved
-- by hand): it takes its tutors' locks here, in a statement of its own, before it reads anything it
-- decides on. Each later statement of the caller (PL/pgSQL, READ COMMITTED) then sees all that the
-- previous holder committed; a statement that was already running when the wait began would not.
-- Row locks on astegni_tutor_locks, in tutor id order, so that racing transactions wait for each other
-- instead of deadlocking in the exclusion constraint: a table no client role may write, so nobody can
-- hold a tutor's lock outside the rule, and other tutors' rows are never touched.
-- Each lock row is also updated (to itself): a REPEATABLE READ or SERIALIZABLE transaction, whose
-- snapshot cannot see what a holder committed after it began, is then refused the lock with 40001
-- instead of deciding on stale rows. A wait is bounded by lock_timeout, whatever the client set.
-- Raises 55P03 (lock_not_available: the tutor stayed locked 2 s) and 40001; both mean "retry".
CREATE OR REPLACE FUNCTION public.astegni_lock_tutors(p_tutor_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET lock_timeout = '2s'
AS $$
BEGIN
    -- Every lock row already updated by this transaction (not a subtransaction): it holds them all,
    -- as astegni_accept does when its UPDATE fires the rule. Nothing to take, nor to write again.
    -- Counted through the primary key (= ANY): probing per tutor would seq-scan the whole table.
    IF (SELECT count(*) FROM public.astegni_tutor_locks AS l
        WHERE l.tutor_id = ANY (p_tutor_ids) AND l.xmin = pg_current_xact_id()::xid)
       = (SELECT count(DISTINCT t.id) FROM unnest(p_tutor_ids) AS t (id)) THEN
        RETURN;
    END IF;
    INSERT INTO public.astegni_tutor_locks (tutor_id)
    SELECT DISTINCT t.id FROM unnest(p_tutor_ids) AS t (id) WHERE t.id IS NOT NULL ORDER BY t.id
    ON CONFLICT (tutor_id) DO NOTHING;
    UPDATE public.astegni_tutor_locks AS l SET tutor_id = l.tutor_id
    FROM (SELECT k.tutor_id FROM public.astegni_tutor_locks AS k
          WHERE k.tutor_id = ANY (p_tutor_ids)
          ORDER BY k.tutor_id
          FOR NO KEY UPDATE) AS k
    WHERE l.tutor_id = k.tutor_id AND l.tutor_id = ANY (p_tutor_ids);  -- the key, not a scan of all tutors
END
$$;
