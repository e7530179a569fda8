-- Brings every live series up to its horizon now: what `astegni extend`, a pg_cron job or a batch job
-- runs (`CALL astegni_extend_series()`), as often as it likes (a second run makes nothing). Commits
-- after each batch of about p_batch series (astegni_extend_step), so that a tutor's lock is held for
-- one batch only and acceptances wait milliseconds, not the whole run; as a procedure that commits,
-- it cannot run inside a transaction block, so nobody holds it open. Reports the series grown, the
-- sessions made and the batches run. EXECUTE is astegni_scheduler's and astegni_admin's.
-- Raises 55P03 and 40001 (retry: the batches committed before stay made).
CREATE OR REPLACE PROCEDURE public.astegni_extend_series(
    p_batch integer DEFAULT 200, INOUT series_grown integer DEFAULT NULL,
    INOUT sessions_made integer DEFAULT NULL, INOUT batches integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v_after integer := 0;
    v_step record;
BEGIN
    series_grown := 0;
    sessions_made := 0;
    batches := 0;
    LOOP
        SELECT x.last_tutor_id, x.series_grown, x.sessions_made INTO v_step
        FROM public.astegni_extend_step(v_after, p_batch) AS x;
        EXIT WHEN v_step.last_tutor_id IS NULL;
        series_grown := series_grown + v_step.series_grown;
        sessions_made := sessions_made + v_step.sessions_made;
        batches := batches + 1;
        v_after := v_step.last_tutor_id;
        COMMIT;
    END LOOP;
END
$$;
