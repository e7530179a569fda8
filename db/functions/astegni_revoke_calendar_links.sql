-- Revokes every live calendar link of an owner (astegni_check_calendar_owner): their feeds answer as
-- a token never issued does from the commit on. Returns how many it revoked (0: none was live).
-- SECURITY DEFINER: no client role writes astegni_calendar_links; granted to astegni_admin only.
-- Raises AS020 (an unknown owner).
CREATE OR REPLACE FUNCTION public.astegni_revoke_calendar_links(p_owner_kind text, p_owner_id integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_revoked integer;
BEGIN
    PERFORM public.astegni_check_calendar_owner(p_owner_kind, p_owner_id);
    UPDATE public.astegni_calendar_links AS l SET revoked_at = now()
    WHERE l.owner_kind = p_owner_kind AND l.owner_id = p_owner_id AND l.revoked_at IS NULL;
    GET DIAGNOSTICS v_revoked = ROW_COUNT;
    RETURN v_revoked;
END
$$;
