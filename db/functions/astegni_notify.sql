-- Wakes the listeners of channel astegni_sessions once the transaction commits, unless another
-- transaction's event is less than half a second old: a listener that finds nothing looks again every
-- half second (astegni.notifications.POLL), so it finds this event by then anyway, and a busy server
-- does not take at every commit the one lock that keeps NOTIFY's queue in commit order. The
-- notification carries nothing: what happened is in astegni_events, written by the rule in the same
-- transaction and readable only by the project's roles, so a forged or garbled NOTIFY tells a listener
-- nothing but "look again". Called by every function that writes an event, after it.
-- SECURITY DEFINER: it reads the newest event's time, which a client that fires the rule may not read.
CREATE OR REPLACE FUNCTION public.astegni_notify()
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- The newest event of another transaction (this one's are stamped with its own now()).
    IF coalesce((SELECT e.created_at FROM public.astegni_events AS e WHERE e.created_at <> now()
                 ORDER BY e.id DESC LIMIT 1) <= clock_timestamp() - interval '0.5 seconds', true) THEN
        PERFORM pg_notify('astegni_sessions', '');
    END IF;
END
$$;
