-- Refuses a calendar link's owner that does not exist: p_owner_kind is 'student', 'parent' or 'tutor'
-- and p_owner_id that kind's profile id. Called by astegni_calendar_link and
-- astegni_revoke_calendar_links.
-- Raises AS020 (an unknown kind, or no such profile).
CREATE OR REPLACE FUNCTION public.astegni_check_calendar_owner(p_owner_kind text, p_owner_id integer)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_exists boolean;
BEGIN
    IF p_owner_kind IS DISTINCT FROM 'student' AND p_owner_kind IS DISTINCT FROM 'parent'
       AND p_owner_kind IS DISTINCT FROM 'tutor' THEN
        PERFORM public.astegni_raise('AS020', format('%L is no calendar owner kind', p_owner_kind),
                                     jsonb_build_object('field', 'owner_kind', 'value', p_owner_kind),
                                     'A calendar belongs to a student, a parent or a tutor.');
    END IF;
    v_exists := CASE p_owner_kind
        WHEN 'student' THEN EXISTS (SELECT FROM public.student_profiles AS o WHERE o.id = p_owner_id)
        WHEN 'parent' THEN EXISTS (SELECT FROM public.parent_profiles AS o WHERE o.id = p_owner_id)
        ELSE EXISTS (SELECT FROM public.tutor_profiles AS o WHERE o.id = p_owner_id)
    END;
    IF NOT v_exists THEN
        PERFORM public.astegni_raise('AS020', format('%s %s does not exist', p_owner_kind, p_owner_id),
                                     jsonb_build_object('field', 'owner_id', 'value', p_owner_id::text,
                                                        'owner_kind', p_owner_kind),
                                     format('Give a %s profile id (%s_profiles.id).', p_owner_kind,
                                            p_owner_kind));
    END IF;
END
$$;
