-- Refuses edits (astegni_edits) of request r that name a date which is not one of the occurrences
-- accepting it now would consider (astegni_request_occurrences), naming the earliest such date.
-- Called by astegni_accept_requests (the edits astegni_accept staged, under the tutor's lock) and
-- preview_sessions, so that a preview refuses what acceptance refuses.
-- Raises AS017 (field without or moves, value the date).
CREATE OR REPLACE FUNCTION public.astegni_check_edits(r public.requested_sessions,
                                                      p_edits public.astegni_edit[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_edit public.astegni_edit;
    v_first date;
    v_last date;
BEGIN
    SELECT e.* INTO v_edit
    FROM unnest(p_edits) AS e
    WHERE NOT EXISTS (SELECT FROM public.astegni_request_occurrences(r) AS o
                      WHERE o.session_date = e.session_date)
    ORDER BY e.session_date LIMIT 1;
    IF FOUND THEN
        SELECT min(o.session_date), max(o.session_date) INTO v_first, v_last
        FROM public.astegni_request_occurrences(r) AS o;
        PERFORM public.astegni_raise('AS017',
            format('request %s: %s %s is not one of its occurrences (%s)', r.id,
                   CASE WHEN v_edit.start_time IS NULL THEN 'without' ELSE 'moves' END, v_edit.session_date,
                   CASE WHEN v_first IS NULL THEN 'it has none'
                        WHEN v_first = v_last THEN format('only %s', v_first)
                        ELSE format('%s to %s', v_first, v_last) END),
            jsonb_build_object('request_id', r.id,
                               'field', CASE WHEN v_edit.start_time IS NULL THEN 'without' ELSE 'moves' END,
                               'value', v_edit.session_date::text, 'problem', 'is not an occurrence',
                               'first_date', v_first, 'last_date', v_last),
            'Leave out or move only dates the preview lists (astegni preview).');
    END IF;
END
$$;
