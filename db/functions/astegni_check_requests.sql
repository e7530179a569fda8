-- Refuses a set of requests about to be accepted (or previewed) if any has no student, a package that is
-- missing or another tutor's, or a malformed schedule, naming the lowest such request id, its field and
-- the bad value.
-- Raises AS004 (no student), AS005 (invalid schedule) and AS012 (invalid package).
CREATE OR REPLACE FUNCTION public.astegni_check_requests(p_ids integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan  -- planning its queries cost more than running them
AS $$
DECLARE
    v_id integer;
    v_field text;
    v_value text;
    v_problem text;
    v_owner integer;
    v_tutor integer;
BEGIN
    SELECT r.id INTO v_id
    FROM public.requested_sessions AS r
    WHERE r.id = ANY (p_ids) AND NOT EXISTS (SELECT FROM public.astegni_request_students(r))
    ORDER BY r.id LIMIT 1;
    IF FOUND THEN
        PERFORM public.astegni_raise('AS004',
            format('request %s names no student', v_id),
            jsonb_build_object('request_id', v_id, 'field', 'requested_to_id'),
            'A parent''s request must name the child (requested_to_id) or a roster; a student''s request needs the student''s profile.');
    END IF;

    -- enrolled_students.package_id is NOT NULL: the package decides the course and the price.
    SELECT r.id, r.package_id, p.tutor_id, r.tutor_id INTO v_id, v_value, v_owner, v_tutor
    FROM public.requested_sessions AS r
    LEFT JOIN public.tutor_packages AS p ON p.id = r.package_id
    WHERE r.id = ANY (p_ids) AND (p.id IS NULL OR p.tutor_id <> r.tutor_id)
    ORDER BY r.id LIMIT 1;
    IF FOUND THEN
        v_problem := CASE WHEN v_value IS NULL THEN 'is missing'
                          WHEN v_owner IS NULL THEN 'does not exist'
                          ELSE format('is tutor %s''s package, not tutor %s''s', v_owner, v_tutor) END;
        PERFORM public.astegni_raise('AS012',
            format('request %s: package_id %s%s', v_id, coalesce(v_value || ' ', ''), v_problem),
            jsonb_build_object('request_id', v_id, 'field', 'package_id', 'value', v_value,
                               'problem', v_problem, 'package_tutor_id', v_owner, 'tutor_id', v_tutor),
            'Give the request one of its tutor''s packages, then accept it again; it is still pending.');
    END IF;

    -- Each distinct schedule judged once (a bulk repeats them; MATERIALIZED, or the planner would judge
    -- it again for every request), then the lowest request with a bad one.
    WITH problem AS MATERIALIZED (
        SELECT shape.schedule, p.*
        FROM (SELECT DISTINCT public.astegni_schedule_of(q) AS schedule
              FROM public.requested_sessions AS q WHERE q.id = ANY (p_ids)) AS shape
        CROSS JOIN LATERAL public.astegni_schedule_problem(shape.schedule) AS p
    )
    SELECT r.id, problem.field, problem.value, problem.problem INTO v_id, v_field, v_value, v_problem
    FROM problem
    JOIN public.requested_sessions AS r
      ON r.id = ANY (p_ids) AND public.astegni_schedule_of(r) = problem.schedule
    ORDER BY r.id LIMIT 1;
    IF FOUND THEN
        PERFORM public.astegni_raise('AS005',
            format('request %s: %s %s%s', v_id, v_field,
                   coalesce(quote_literal(v_value) || ' ', ''), v_problem),
            jsonb_build_object('request_id', v_id, 'field', v_field, 'value', v_value, 'problem', v_problem),
            'Correct the request''s schedule, then accept it again; it is still pending.');
    END IF;
END
$$;
