-- Revision 0004: what the roles may do. Any client command checks the database's revision first.
GRANT SELECT ON astegni_alembic_version TO astegni_app, astegni_admin;
