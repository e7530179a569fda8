-- The start of every operation on one request that a tutor's app names (accept, cancel, end,
-- reschedule, its preview): the request must exist and, when p_tutor_id is given, be that tutor's;
-- with p_lock, its tutor's lock is taken (astegni_lock_tutors) before the caller reads or writes
-- anything else, the request's own row included: a change that holds the tutor's lock and then writes
-- that row is waited for, never deadlocked with. Returns the request's tutor. Reads only the request's
-- tutor_id, which no UPDATE of an answered request changes.
-- SECURITY DEFINER: astegni_accept and astegni_cancel run as the client, who may not write
-- astegni_tutor_locks; it locks only the tutor of a request that exists, as accepting it would.
-- Raises AS001 (no such request, or another tutor's), 55P03 and 40001 (astegni_lock_tutors).
CREATE OR REPLACE FUNCTION public.astegni_claim_request(p_request_id integer, p_tutor_id integer,
                                                        p_lock boolean)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_tutor_id integer;
BEGIN
    SELECT r.tutor_id INTO v_tutor_id
    FROM public.requested_sessions AS r
    WHERE r.id = p_request_id AND (p_tutor_id IS NULL OR r.tutor_id = p_tutor_id);
    IF NOT FOUND THEN
        PERFORM public.astegni_raise('AS001',
            CASE WHEN p_tutor_id IS NULL THEN format('request %s does not exist', p_request_id)
                 ELSE format('tutor %s has no request %s', p_tutor_id, p_request_id) END,
            jsonb_build_object('request_id', p_request_id, 'tutor_id', p_tutor_id),
            'Check the request id, and that the request belongs to this tutor.');
    END IF;
    IF p_lock THEN
        PERFORM public.astegni_lock_tutors(ARRAY[v_tutor_id]);
    END IF;
    RETURN v_tutor_id;
END
$$;
