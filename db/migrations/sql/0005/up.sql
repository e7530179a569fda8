-- Revision 0005, before its functions are installed: the DDL they need (tables, columns, types,
-- constraints). Only this comment when there is none.

-- ==== Email (astegni mail): the recipients the mailer could not reach, and why ====
-- One row per event and recipient refused by the SMTP server, or skipped for having no address (user_id
-- NULL: a student profile with no user; address NULL: no email). Written again, never duplicated, when
-- an event is mailed a second time (a restart before its cursor moved).
CREATE TABLE astegni_mail_refusals (
    event_id bigint NOT NULL REFERENCES astegni_events (id) ON DELETE CASCADE,
    user_id integer,
    address text,
    reason text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT astegni_mail_refusals_recipient_key UNIQUE NULLS NOT DISTINCT (event_id, user_id, address)
);
