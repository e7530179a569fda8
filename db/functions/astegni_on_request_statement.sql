-- Trigger function (AFTER UPDATE on requested_sessions, once per statement, with its transition tables):
-- hands the rows that went pending -> accepted and accepted -> cancelled to the rule, set-based. It
-- reads nothing a client can set: only the statement's own old and new rows (matched by id, which no
-- UPDATE may change).
-- SECURITY DEFINER so that a client without rights on sessions or enrolments still triggers the rule;
-- TimeZone pinned so that the defaults of the app's naive timestamp columns are UTC, as the rule's own
-- stamps are.
CREATE OR REPLACE FUNCTION public.astegni_on_request_statement()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET jit = off
SET work_mem = '64MB'
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_accepted integer[];
    v_cancelled integer[];
BEGIN
    -- An update that leaves no row accepted or cancelled (most of the app's) skips the join.
    IF NOT EXISTS (SELECT FROM new_rows AS n WHERE n.status IN ('accepted', 'cancelled')) THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(n.id ORDER BY n.id) FILTER (WHERE o.status = 'pending' AND n.status = 'accepted'),
           array_agg(n.id ORDER BY n.id) FILTER (WHERE o.status = 'accepted' AND n.status = 'cancelled')
    INTO v_accepted, v_cancelled
    FROM new_rows AS n
    JOIN old_rows AS o ON o.id = n.id
    WHERE o.status IS DISTINCT FROM n.status;

    IF v_accepted IS NOT NULL THEN
        PERFORM public.astegni_accept_requests(v_accepted);
    END IF;
    IF v_cancelled IS NOT NULL THEN
        PERFORM public.astegni_cancel_requests(v_cancelled);
    END IF;
    RETURN NULL;
END
$$;
