-- Revision 0004 undone: back to 0003, the app's rows kept.
REVOKE SELECT ON astegni_alembic_version FROM astegni_app, astegni_admin;
