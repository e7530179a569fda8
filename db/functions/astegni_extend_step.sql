-- One batch of the extension now (the transaction's time): the next tutors after p_after with work,
-- about p_batch series (astegni_on_extension). Returns the batch's last tutor (NULL when none was
-- left) and what it made. astegni_extend_series calls it once per transaction; EXECUTE is
-- astegni_scheduler's, so no web app login holds a batch of tutors' locks in a transaction of its own.
CREATE OR REPLACE FUNCTION public.astegni_extend_step(p_after integer, p_batch integer)
RETURNS TABLE (last_tutor_id integer, series_grown integer, sessions_made integer)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
INSERT INTO public.astegni_extensions (at, after_tutor_id, batch_size)
VALUES (now(), p_after, p_batch)
RETURNING last_tutor_id, series_grown, sessions_made
$$;
