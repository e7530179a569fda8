-- A live Astegni database shaped like the app's own pg_dump of 2026-02-15 (loaded over revision 0001's
-- tables, no astegni_alembic_version): what the app itself wrote, with the real data's quirks.
-- The dump predates the app's later scripts, so what they add to the baseline is not there (the dry run
-- writes the DDL that adds it): the table migrate_create_requested_session_students.py creates, and the
-- columns of migrate_add_num_students.py, migrate_add_package_sharing.py and
-- migrate_add_package_visibility.py.
DROP TABLE requested_session_students;
ALTER TABLE requested_sessions DROP COLUMN num_students;
ALTER TABLE tutor_packages DROP COLUMN allow_sharing, DROP COLUMN max_shared_students, DROP COLUMN visibility;

-- One row stops the upgrade, as in the dump: courses 9 and 11 are one tutor's one package twice. The
-- pending requests carry the shapes real users send: 'specific' without dates, a stale year box,
-- " Wednesday", a parent's booking, and values that are malformed.
INSERT INTO users (id, first_name, father_name, email, password_hash, roles, active_role) VALUES
    (1, 'Abebe', 'Kebede', 'abebe@example.test', 'x', '["tutor"]', 'tutor'),
    (2, 'Lena', 'Vogel', 'lena@example.test', 'x', '["tutor"]', 'tutor'),
    (4, 'Hana', 'Tesfaye', 'hana@example.test', 'x', '["student"]', 'student'),
    (5, 'Dawit', 'Bekele', 'dawit@example.test', 'x', '["student"]', 'student'),
    (6, 'Meron', 'Alemu', 'meron@example.test', 'x', '["student"]', 'student'),
    (7, 'Sara', 'Girma', 'sara@example.test', 'x', '["student"]', 'student'),
    (8, 'Yonas', 'Haile', 'yonas@example.test', 'x', '["student"]', 'student'),
    (9, 'Tigist', 'Haile', 'tigist@example.test', 'x', '["parent"]', 'parent');
SELECT setval('users_id_seq', 9);

INSERT INTO tutor_profiles (id, user_id, username) VALUES (1, 1, 'abebe'), (2, 2, 'lena');
SELECT setval('tutor_profiles_id_seq', 2);
INSERT INTO student_profiles (id, user_id, username, grade_level) VALUES
    (1, 4, 'hana', 'Grade 10'), (2, 5, 'dawit', 'Grade 11'), (3, 6, 'meron', 'Grade 9'),
    (4, 7, 'sara', 'Grade 8'), (5, 8, 'yonas', 'Grade 8');
SELECT setval('student_profiles_id_seq', 5);
INSERT INTO parent_profiles (id, user_id, children_ids) VALUES (1, 9, '{4,5}');
SELECT setval('parent_profiles_id_seq', 1);

INSERT INTO tutor_packages (id, tutor_id, name, hourly_rate, course_ids, schedule_type) VALUES
    (1, 1, 'Mathematics', 300.00, '{1,2}', 'recurring'),
    (2, 1, 'Physics', 350.00, '{3}', 'recurring'),
    (3, 2, 'English', 250.00, '{4}', 'recurring');
SELECT setval('tutor_packages_id_seq', 3);

INSERT INTO requested_sessions (id, tutor_id, requester_id, requester_type, package_id, requested_to_id,
                                status, message, schedule_type, days, specific_dates, months, year_range,
                                start_time, end_time, counter_offer_price, responded_at, created_at)
VALUES
    (1, 1, 4, 'student', 1, 1, 'accepted', 'Algebra', 'recurring', '["Monday", " Thursday"]', NULL,
     NULL, NULL, '09:00', '10:00', NULL, '2026-01-12 08:00', '2026-01-10 09:00'),
    (2, 2, 5, 'student', 3, 2, 'accepted', 'Essay writing', 'specific_dates', NULL, '["2026-02-20"]',
     NULL, NULL, '15:00', '16:00', 200.00, '2026-02-01 10:00', '2026-01-30 10:00'),
    (3, 1, 6, 'student', 1, 3, 'rejected', NULL, 'recurring', '["Friday"]', NULL, NULL, NULL,
     '11:00', '12:00', NULL, '2026-02-02 10:00', '2026-02-01 10:00'),
    -- the form's specific dates, none picked
    (4, 1, 6, 'student', 2, 3, 'pending', 'Mechanics', 'specific', NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, '2026-02-10 10:00'),
    (5, 2, 7, 'student', 3, 4, 'pending', NULL, 'specific_dates', NULL, '[]', NULL, NULL,
     '14:00', '15:00', NULL, NULL, '2026-02-11 10:00'),
    -- the form ticks 2025 by default; the days were split on commas
    (6, 1, 8, 'student', 2, 5, 'pending', 'Optics', 'recurring', '[" Wednesday", " Friday"]', NULL,
     '["January", "February"]', '[2025]', '16:00', '17:00', NULL, NULL, '2026-02-12 10:00'),
    -- a parent books for a child
    (7, 2, 9, 'parent', 3, 4, 'pending', 'Reading club', 'recurring', '["Tuesday"]', NULL, NULL, NULL,
     '18:00', '19:00', NULL, NULL, '2026-02-13 10:00'),
    -- malformed values that are there
    (8, 1, 4, 'student', 1, 1, 'pending', NULL, 'recurring', '["Funday"]', NULL, NULL, NULL,
     '09:00', '10:00', NULL, NULL, '2026-02-14 10:00'),
    (9, 2, 6, 'student', 1, 3, 'pending', NULL, 'recurring', '["Monday"]', NULL, NULL, NULL,
     '09:00', '10:00', NULL, NULL, '2026-02-14 11:00'),
    (10, 1, 7, 'student', 2, 4, 'pending', NULL, 'specific', NULL, '["2099-02-30"]', NULL, NULL,
     '10:00', '11:00', NULL, NULL, '2026-02-14 12:00'),
    (11, 1, 7, 'student', 2, 4, 'pending', NULL, 'specific_dates', NULL, '["2099-03-02", "2099-03-09"]',
     NULL, NULL, '10:00', '10:00', NULL, NULL, '2026-02-14 13:00'),
    (12, 1, 5, 'student', 1, 2, 'pending', 'Calculus', 'specific_dates', NULL,
     '["2099-03-03", "2099-03-10", "2099-03-10"]', NULL, NULL, '13:00', '14:30', 280.00, NULL,
     '2026-02-15 09:00');
SELECT setval('session_requests_id_seq', 12);

INSERT INTO enrolled_students (id, tutor_id, student_id, package_id, agreed_price, enrolled_at) VALUES
    (1, 1, 1, 1, 300.00, '2026-01-12 08:00'), (2, 2, 2, 3, 200.00, '2026-02-01 10:00');
SELECT setval('enrolled_students_id_seq', 2);
INSERT INTO user_investments (user_id, investment_type, investment_name, investment_date,
                              student_payment_id) VALUES
    (4, 'booking', 'Booking with tutor (Package ID: 1)', '2026-01-12', 1);

-- Course 11 repeats course 9 (one tutor, one package): the app looked it up with "package_id = %s".
INSERT INTO enrolled_courses (id, tutor_id, package_id, students_id, course_id) VALUES
    (9, 1, 1, '{1}', '{1,2}'), (10, 2, 3, '{2}', '{4}'), (11, 1, 1, '{1}', '{1,2}');
SELECT setval('enrolled_courses_id_seq', 11);

-- What the app's handler made, with its quirks (a negative duration; sessions of the repeated course).
INSERT INTO sessions (id, enrolled_courses_id, session_date, start_time, end_time, duration, topics,
                      status) VALUES
    (1, 9, '2026-01-12', '09:00', '10:00', 60, '["Algebra"]', 'completed'),
    (2, 9, '2026-01-15', '09:00', '10:00', 60, '["Algebra"]', 'completed'),
    (3, 11, '2026-01-19', '09:00', '10:00', 60, '["Algebra"]', 'completed'),
    (4, 10, '2026-02-20', '15:00', '16:00', -60, '["Essay writing"]', 'scheduled');
SELECT setval('sessions_id_seq', 4);
