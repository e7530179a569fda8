-- Revision 0005: grants, after its functions are installed. A routine created anew (added, or
-- re-signed: dropped and created) can be executed by PUBLIC and by neither role: revoke and grant
-- it here (as sql/0003/roles.sql does; ON ROUTINE covers a procedure too).

-- ==== The extension locks only tutors with sessions to make ====
-- astegni_extension_work is re-signed (it says what each row needs): granted as before.
REVOKE EXECUTE ON FUNCTION astegni_extension_work(timestamptz, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION astegni_extension_work(timestamptz, integer, integer) TO astegni_app, astegni_admin;
