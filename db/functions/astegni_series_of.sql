-- The series of an accepted recurring request, read by a change (under its tutor's lock, taken by
-- astegni_claim_request first) or by a preview (after astegni_claim_request has found the request).
-- Raises AS014 (not an accepted recurring request).
CREATE OR REPLACE FUNCTION public.astegni_series_of(p_request_id integer)
RETURNS public.series
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_status text;
    v_series public.series;
BEGIN
    SELECT r.status INTO v_status FROM public.requested_sessions AS r WHERE r.id = p_request_id;
    SELECT s.* INTO v_series
    FROM public.series AS s
    JOIN public.requested_sessions AS r ON r.id = s.request_id AND r.status = 'accepted'
    WHERE s.request_id = p_request_id;
    IF NOT FOUND THEN
        PERFORM public.astegni_raise('AS014',
            format('request %s is not a series: it is %s, not an accepted recurring request', p_request_id,
                   v_status),
            jsonb_build_object('request_id', p_request_id, 'status', v_status),
            'Only an accepted recurring request is a series; cancel other requests instead.');
    END IF;
    RETURN v_series;
END
$$;
