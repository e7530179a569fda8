-- Issues a calendar link of a student, a parent or a tutor (astegni_check_calendar_owner): the caller
-- made a random token, gives only its SHA-256 (p_token_hash, 32 bytes) and puts the token in the URL
-- it hands out, so the token itself never reaches the database. An owner may have several live links.
-- SECURITY DEFINER: no client role writes astegni_calendar_links; granted to astegni_admin only.
-- Raises AS020 (an unknown owner), 23505 (a hash already issued), 23514 (a hash not 32 bytes long).
CREATE OR REPLACE FUNCTION public.astegni_calendar_link(p_owner_kind text, p_owner_id integer,
                                                        p_token_hash bytea)
RETURNS TABLE (id integer, created_at timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.astegni_check_calendar_owner(p_owner_kind, p_owner_id);
    RETURN QUERY
    INSERT INTO public.astegni_calendar_links AS l (owner_kind, owner_id, token_hash)
    VALUES (p_owner_kind, p_owner_id, p_token_hash)
    RETURNING l.id, l.created_at;
END
$$;
