"""Every statement the Python layer sends, in one place and named."""

ACCEPT = "SELECT * FROM astegni_accept(%(request_id)s, %(tutor_id)s)"
REJECT = "SELECT * FROM astegni_reject(%(request_id)s, %(reason)s, %(tutor_id)s)"
CANCEL = "SELECT * FROM astegni_cancel(%(request_id)s, %(reason)s, %(tutor_id)s)"
PREVIEW = "SELECT * FROM preview_sessions(%(request_id)s)"
LISTEN = "LISTEN astegni_sessions"
