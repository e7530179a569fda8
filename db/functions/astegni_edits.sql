-- The edits a tutor makes to a request in the step that accepts it (or previews it), as rows: each
-- date of p_without left out (start_time and end_time NULL), each date of p_moves moved to the times
-- it gives. p_moves is a JSON object, {"YYYY-MM-DD": {"start_time": "HH:MM", "end_time": "HH:MM"}};
-- a moved session's times are judged as a schedule's (astegni_times_problem: no 24:00, no longer than
-- max_session_minutes, an end before the start ends the next day). Whether each date is an occurrence
-- of the request is astegni_check_edits's to judge, under the tutor's lock.
-- Called by astegni_stage_edits (astegni_accept) and preview_sessions, so that both read edits alike.
-- Raises AS017 (naming the field, without or moves, and the bad value).
CREATE OR REPLACE FUNCTION public.astegni_edits(p_request_id integer, p_without date[], p_moves jsonb)
RETURNS SETOF public.astegni_edit
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_key text;
    v_value jsonb;
    v_day date;
    v_start time;
    v_end time;
    v_field text;
    v_problem text;
BEGIN
    IF array_position(p_without, NULL) IS NOT NULL THEN
        PERFORM public.astegni_raise('AS017', format('request %s: without holds NULL, not a date', p_request_id),
            jsonb_build_object('request_id', p_request_id, 'field', 'without', 'problem', 'is not a date'),
            'List the dates of the occurrences to leave out, as YYYY-MM-DD.');
    END IF;
    IF p_moves IS NOT NULL AND jsonb_typeof(p_moves) <> 'object' THEN
        PERFORM public.astegni_raise('AS017',
            format('request %s: moves is a JSON %s, not an object', p_request_id, jsonb_typeof(p_moves)),
            jsonb_build_object('request_id', p_request_id, 'field', 'moves', 'value', p_moves::text,
                               'problem', 'is not a JSON object'),
            'Give moves as {"YYYY-MM-DD": {"start_time": "HH:MM", "end_time": "HH:MM"}}.');
    END IF;
    FOR v_key, v_value IN SELECT m.key, m.value FROM jsonb_each(coalesce(p_moves, '{}')) AS m ORDER BY m.key LOOP
        v_day := public.astegni_parse_date(v_key);
        v_start := public.astegni_parse_time(v_value ->> 'start_time');
        v_end := public.astegni_parse_time(v_value ->> 'end_time');
        v_problem := NULL;
        IF v_day IS NULL THEN
            v_problem := 'is not a date (YYYY-MM-DD)';
        ELSIF v_day = ANY (p_without) THEN
            v_problem := 'is both left out (without) and moved';
        ELSIF jsonb_typeof(v_value) <> 'object' OR v_start IS NULL OR v_end IS NULL THEN
            v_field := CASE WHEN v_start IS NULL THEN 'start_time' ELSE 'end_time' END;
            v_problem := format('needs %s as a time of day (HH:MM), not %s', v_field,
                                coalesce(v_value -> v_field, v_value)::text);
        ELSIF v_start = v_end THEN
            v_problem := format('ends when it starts (%s)', to_char(v_start, 'HH24:MI'));
        ELSE
            SELECT format('%s %s', t.field, t.problem) INTO v_problem
            FROM public.astegni_times_problem(v_start, v_end) AS t;
        END IF;
        IF v_problem IS NOT NULL THEN
            PERFORM public.astegni_raise('AS017',
                format('request %s: moves %s %s', p_request_id, quote_literal(v_key), v_problem),
                jsonb_build_object('request_id', p_request_id, 'field', 'moves', 'value', v_key,
                                   'problem', v_problem),
                'Move an occurrence to a start and end time of its own day, {"start_time": "HH:MM",'
                || ' "end_time": "HH:MM"}; leave it out or move it, not both.');
        END IF;
        RETURN NEXT ROW(v_day, v_start, v_end)::public.astegni_edit;
    END LOOP;
    RETURN QUERY SELECT DISTINCT w.day, NULL::time, NULL::time FROM unnest(p_without) AS w (day);
END
$$;
