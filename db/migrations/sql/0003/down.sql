-- Revision 0003 undone: back to 0002, the app's rows kept. The sessions the series made stay; what
-- only series and time off meant (their tables, the cancelled reasons) goes.
DROP TRIGGER astegni_extensions_run ON astegni_extensions;
DROP TRIGGER requested_sessions_schedule ON requested_sessions;
DROP TRIGGER tutor_time_off_write ON tutor_time_off;
DROP FUNCTION astegni_extend_series, astegni_extend_series_at, astegni_on_extension, astegni_apply_extension,
    astegni_end_series, astegni_leave_courses, astegni_reschedule, preview_reschedule, astegni_reschedule_plan,
    astegni_series_of, astegni_series_window, astegni_horizon, astegni_on_schedule_change, astegni_on_time_off,
    astegni_occurrences, astegni_occurrence_outcome;

DROP TABLE astegni_extensions, tutor_time_off, series_patterns, series;
DELETE FROM skipped_occurrences WHERE reason = 'time_off';
ALTER TABLE skipped_occurrences
    DROP CONSTRAINT skipped_occurrences_reason_check,
    ADD CONSTRAINT skipped_occurrences_reason_check CHECK (reason IN ('past', 'dst_gap', 'conflict'));
DROP INDEX IF EXISTS skipped_occurrences_time_off_idx;
DELETE FROM astegni_events WHERE event NOT IN ('accepted', 'cancelled');
ALTER TABLE astegni_events
    DROP CONSTRAINT astegni_events_event_check,
    ADD CONSTRAINT astegni_events_event_check CHECK (event IN ('accepted', 'cancelled'));
ALTER TABLE sessions DROP COLUMN cancelled_reason;
