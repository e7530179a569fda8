-- Wakes the listeners of channel astegni_sessions once the transaction commits. The notification carries
-- nothing: what happened is in astegni_events, written by the rule in the same transaction and readable
-- only by the project's roles, so a forged or garbled NOTIFY tells a listener nothing but "look again".
CREATE OR REPLACE FUNCTION public.astegni_notify()
RETURNS void
LANGUAGE sql
AS $$
SELECT pg_notify('astegni_sessions', '')
$$;
