-- Revision 0005: grants, after its functions are installed. A routine created anew (added, or
-- re-signed: dropped and created) can be executed by PUBLIC and by neither role: revoke and grant
-- it here (as sql/0003/roles.sql does; ON ROUTINE covers a procedure too).

-- ==== Calendar feeds ====
-- No role reads astegni_calendar_links (an owner's table, PUBLIC has nothing on a new one): the app
-- serves feeds through astegni_calendar_feed and astegni_calendar_changed, which take a token's hash
-- and answer for that link alone; issuing and revoking links is the admin's (astegni calendar-link).
REVOKE ALL ON FUNCTION astegni_calendar_feed(bytea), astegni_calendar_changed(bytea, text),
    astegni_calendar_link(text, integer, bytea), astegni_revoke_calendar_links(text, integer),
    astegni_check_calendar_owner(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION astegni_calendar_feed(bytea), astegni_calendar_changed(bytea, text)
    TO astegni_app, astegni_admin;
GRANT EXECUTE ON FUNCTION astegni_calendar_link(text, integer, bytea),
    astegni_revoke_calendar_links(text, integer) TO astegni_admin;
