-- The schema at head, readable in one place: tables, constraints, indexes and types (the functions
-- and triggers are in db/functions/). The migrations are the way to get there; tests/test_schema.py
-- checks that they make exactly this.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- ==== The app's tables, as a live Astegni database has them (revision 0001) ====

CREATE FUNCTION update_enrolled_courses_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
                    BEGIN
                        NEW.updated_at = CURRENT_TIMESTAMP;
                        RETURN NEW;
                    END;
                    $$;

CREATE TABLE enrolled_courses (
    id integer NOT NULL,
    tutor_id integer NOT NULL,
    package_id integer,
    enrolled_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    students_id integer[] DEFAULT '{}'::integer[] NOT NULL,
    schedule_type character varying(20) DEFAULT 'recurring'::character varying,
    year_range jsonb DEFAULT '[]'::jsonb,
    months jsonb DEFAULT '[]'::jsonb,
    days jsonb DEFAULT '[]'::jsonb,
    specific_dates jsonb DEFAULT '[]'::jsonb,
    start_time time without time zone,
    end_time time without time zone,
    is_recurring boolean DEFAULT true,
    status character varying(50) DEFAULT 'active'::character varying,
    course_id integer[] DEFAULT '{}'::integer[],
    CONSTRAINT enrolled_courses_schedule_type_check CHECK (((schedule_type)::text = ANY ((ARRAY['recurring'::character varying, 'specific_dates'::character varying])::text[])))
);

CREATE SEQUENCE enrolled_courses_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE enrolled_courses_id_seq OWNED BY enrolled_courses.id;

CREATE TABLE enrolled_students (
    id integer NOT NULL,
    tutor_id integer NOT NULL,
    student_id integer NOT NULL,
    enrolled_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    package_id integer NOT NULL,
    status character varying(20) DEFAULT 'active'::character varying,
    rejected_reason text,
    rejected_at timestamp without time zone,
    suspended_reason text,
    suspended_at timestamp without time zone,
    agreed_price numeric(10,2) DEFAULT NULL::numeric,
    payment_status character varying(20) DEFAULT 'pending'::character varying,
    payment_due_date date,
    payment_received_date timestamp without time zone,
    total_sessions integer DEFAULT 0,
    completed_sessions integer DEFAULT 0,
    cancelled_sessions integer DEFAULT 0
);

CREATE SEQUENCE enrolled_students_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE enrolled_students_id_seq OWNED BY enrolled_students.id;

CREATE TABLE student_profiles (
    id integer NOT NULL,
    user_id integer,
    grade_level character varying,
    career_aspirations text,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    cover_image character varying(500),
    username character varying(100),
    hero_title text[] DEFAULT '{}'::text[],
    hero_subtitle text[] DEFAULT '{}'::text[],
    interested_in text[] DEFAULT '{}'::text[],
    learning_method text[] DEFAULT '{}'::text[],
    studying_at character varying(255),
    about text,
    quote text[] DEFAULT '{}'::text[],
    parent_id integer[] DEFAULT '{}'::integer[],
    is_active boolean DEFAULT true,
    two_factor_enabled boolean DEFAULT false,
    two_factor_method character varying(50),
    two_factor_secret character varying(255),
    two_factor_inapp_password character varying(255),
    two_factor_backup_codes text,
    two_factor_temp_code character varying(10),
    two_factor_temp_expiry timestamp without time zone,
    two_factor_verification_token character varying(255),
    two_factor_verification_expiry timestamp without time zone,
    two_factor_protected_panels jsonb DEFAULT '["settings", "credentials", "earnings-investments"]'::jsonb,
    is_online boolean DEFAULT false,
    last_seen timestamp with time zone,
    scheduled_deletion_at timestamp without time zone
);

CREATE TABLE tutor_packages (
    id integer NOT NULL,
    tutor_id integer NOT NULL,
    name character varying NOT NULL,
    description text,
    is_active boolean,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    hourly_rate numeric(10,2) DEFAULT 0,
    days_per_week integer,
    hours_per_day numeric(4,2),
    payment_frequency character varying(50) DEFAULT 'monthly'::character varying,
    discount_1_month numeric(5,2) DEFAULT 0,
    discount_3_month numeric(5,2) DEFAULT 0,
    discount_6_month numeric(5,2) DEFAULT 0,
    session_format character varying(255),
    schedule_type character varying(20) DEFAULT 'recurring'::character varying,
    schedule_days text,
    start_time time without time zone,
    end_time time without time zone,
    start_date date,
    end_date date,
    session_time time without time zone,
    session_duration numeric(3,1),
    yearly_discount numeric(5,2) DEFAULT 0,
    course_ids integer[] DEFAULT '{}'::integer[],
    grade_level text[]
);

CREATE TABLE tutor_profiles (
    id integer NOT NULL,
    user_id integer,
    bio text,
    quote text,
    is_active boolean DEFAULT true,
    cover_image character varying,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    is_basic boolean DEFAULT false,
    hero_subtitle text DEFAULT 'Empowering students through personalized learning and expert guidance'::text,
    username character varying(100),
    rejection_reason text,
    expertise_badge character varying(50) DEFAULT 'Tutor'::character varying,
    hero_titles jsonb DEFAULT '["Excellence in Education, Delivered with Passion"]'::jsonb,
    two_factor_enabled boolean DEFAULT false,
    two_factor_method character varying(50),
    two_factor_secret character varying(255),
    two_factor_inapp_password character varying(255),
    two_factor_backup_codes text,
    two_factor_temp_code character varying(10),
    two_factor_temp_expiry timestamp without time zone,
    two_factor_verification_token character varying(255),
    two_factor_verification_expiry timestamp without time zone,
    two_factor_protected_panels jsonb DEFAULT '["settings", "packages", "requests", "earnings-investments"]'::jsonb,
    is_online boolean DEFAULT false,
    last_seen timestamp with time zone,
    search_count integer DEFAULT 0,
    trending_score double precision DEFAULT 0.0,
    last_search_increment timestamp without time zone,
    scheduled_deletion_at timestamp without time zone
);

CREATE TABLE user_investments (
    id integer NOT NULL,
    investment_type character varying(100) NOT NULL,
    investment_name character varying(255) NOT NULL,
    amount numeric(10,2),
    current_value numeric(10,2),
    roi_percentage numeric(5,2),
    investment_date date NOT NULL,
    maturity_date date,
    status character varying(50) DEFAULT 'active'::character varying,
    description text,
    risk_level character varying(50),
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    user_id integer NOT NULL,
    student_payment_id integer,
    due_date date,
    paid_date timestamp without time zone,
    payment_status character varying(20) DEFAULT 'pending'::character varying,
    days_overdue integer DEFAULT 0,
    late_fee numeric(12,2) DEFAULT 0.00,
    payment_method character varying(50),
    transaction_id character varying(100),
    payment_gateway character varying(50),
    billing_cycle character varying(20),
    is_recurring boolean DEFAULT false,
    next_billing_date date,
    auto_renew boolean DEFAULT false,
    subscription_plan_id integer
);

CREATE TABLE users (
    id integer NOT NULL,
    first_name character varying,
    father_name character varying,
    email character varying NOT NULL,
    phone character varying,
    password_hash character varying NOT NULL,
    roles json,
    active_role character varying,
    profile_picture character varying,
    is_active boolean DEFAULT true,
    email_verified boolean DEFAULT false,
    phone_verified boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    last_login timestamp without time zone,
    bio text,
    grandfather_name character varying,
    gender character varying(20),
    date_of_birth date,
    digital_id_no character varying(50),
    kyc_verified boolean DEFAULT false,
    kyc_verified_at timestamp without time zone,
    kyc_verification_id integer,
    has_password boolean DEFAULT true,
    export_verification_code character varying(10),
    export_verification_expiry timestamp without time zone,
    account_status character varying(20) DEFAULT 'active'::character varying,
    deactivated_at timestamp without time zone,
    scheduled_deletion_at timestamp without time zone,
    account_balance numeric(10,2) DEFAULT 0.00,
    is_verified boolean DEFAULT false NOT NULL,
    verified_at timestamp without time zone,
    verification_method character varying(20),
    verification_status character varying(20),
    rejected_at timestamp without time zone,
    suspended_at timestamp without time zone,
    suspension_reason text,
    suspended_by integer,
    is_suspended boolean DEFAULT false,
    last_name character varying,
    location character varying,
    social_links json DEFAULT '{}'::json,
    subscription_plan_id integer,
    subscription_started_at timestamp without time zone,
    subscription_expires_at timestamp without time zone,
    languages json DEFAULT '[]'::json,
    hobbies json DEFAULT '[]'::json,
    display_location boolean DEFAULT true,
    currency character varying(10) DEFAULT NULL::character varying,
    country_code character varying(10) DEFAULT NULL::character varying,
    theme character varying(20) DEFAULT 'light'::character varying,
    color_palette character varying(50) DEFAULT 'emerald-gold-charcoal'::character varying,
    font_size integer DEFAULT 16,
    display_density character varying(20) DEFAULT 'comfortable'::character varying,
    accent_color character varying(20) DEFAULT 'indigo'::character varying,
    enable_animations boolean DEFAULT true,
    reduce_motion boolean DEFAULT false,
    sidebar_position character varying(20) DEFAULT 'left'::character varying,
    google_email character varying,
    oauth_provider character varying(20),
    font_family character varying(50) DEFAULT 'patrick-hand'::character varying
);

CREATE TABLE parent_profiles (
    id integer NOT NULL,
    user_id integer NOT NULL,
    username character varying,
    bio text,
    quote text,
    relationship_type character varying,
    total_children integer,
    total_sessions_booked integer,
    total_amount_spent double precision,
    rating double precision,
    rating_count integer,
    is_active boolean,
    profile_complete boolean,
    profile_completion double precision,
    cover_image character varying,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    children_ids integer[] DEFAULT '{}'::integer[],
    hero_title text[] DEFAULT ARRAY[]::text[],
    hero_subtitle text,
    coparent_ids integer[] DEFAULT '{}'::integer[],
    two_factor_enabled boolean DEFAULT false,
    two_factor_method character varying(50),
    two_factor_secret character varying(255),
    two_factor_inapp_password character varying(255),
    two_factor_backup_codes text,
    two_factor_temp_code character varying(10),
    two_factor_temp_expiry timestamp without time zone,
    two_factor_verification_token character varying(255),
    two_factor_verification_expiry timestamp without time zone,
    two_factor_protected_panels jsonb DEFAULT '["settings", "my-children", "co-parents"]'::jsonb,
    is_online boolean DEFAULT false,
    last_seen timestamp with time zone,
    scheduled_deletion_at timestamp without time zone
);

CREATE SEQUENCE parent_profiles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE parent_profiles_id_seq OWNED BY parent_profiles.id;

CREATE TABLE requested_sessions (
    id integer NOT NULL,
    tutor_id integer NOT NULL,
    requester_type character varying(20) NOT NULL,
    package_id integer,
    status character varying(20) DEFAULT 'pending'::character varying,
    message text,
    preferred_schedule text,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    responded_at timestamp without time zone,
    rejected_reason text,
    rejected_at timestamp without time zone,
    schedule_type character varying(50),
    year_range jsonb,
    months jsonb,
    days jsonb,
    specific_dates jsonb,
    start_time time without time zone,
    end_time time without time zone,
    requested_to_id integer,
    counter_offer_price numeric(10,2) DEFAULT NULL::numeric,
    requester_id integer NOT NULL,
    CONSTRAINT check_requester_type CHECK (((requester_type)::text = ANY ((ARRAY['student'::character varying, 'parent'::character varying])::text[]))),
    CONSTRAINT session_requests_requester_type_check CHECK (((requester_type)::text = ANY ((ARRAY['student'::character varying, 'parent'::character varying])::text[]))),
    -- widened by astegni (revision 0002) to allow 'cancelled'
    CONSTRAINT session_requests_status_check CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled'))
);

CREATE SEQUENCE session_requests_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE session_requests_id_seq OWNED BY requested_sessions.id;

CREATE TABLE sessions (
    id integer NOT NULL,
    enrolled_courses_id integer,
    topics json DEFAULT '[]'::json,
    topics_covered json DEFAULT '[]'::json,
    session_date date NOT NULL,
    start_time time without time zone NOT NULL,
    end_time time without time zone NOT NULL,
    duration integer,
    session_mode character varying(50) DEFAULT 'online'::character varying,
    location character varying(255),
    whiteboard_id integer,
    student_review_id integer,
    tutor_review_id integer,
    parent_review_id integer,
    tutor_attendance_status character varying(20) DEFAULT 'present'::character varying,
    student_attendance_status character varying(20) DEFAULT 'present'::character varying,
    priority_level character varying(20) DEFAULT 'medium'::character varying,
    notification_enabled boolean DEFAULT false,
    alarm_enabled boolean DEFAULT false,
    alarm_before_minutes integer DEFAULT 15,
    is_featured boolean DEFAULT false,
    status character varying(20) DEFAULT 'scheduled'::character varying,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    attendance_marked_by integer,
    attendance_marked_at timestamp without time zone,
    attendance_source character varying(30) DEFAULT 'system_default'::character varying,
    attendance_notes text,
    CONSTRAINT sessions_attendance_source_check CHECK (((attendance_source)::text = ANY ((ARRAY['manual'::character varying, 'whiteboard_auto'::character varying, 'parent_reported'::character varying, 'admin_override'::character varying, 'system_default'::character varying])::text[])))
);

CREATE SEQUENCE sessions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE sessions_id_seq OWNED BY sessions.id;

CREATE SEQUENCE student_profiles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE student_profiles_id_seq OWNED BY student_profiles.id;

CREATE SEQUENCE tutor_investments_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE tutor_investments_id_seq OWNED BY user_investments.id;

CREATE SEQUENCE tutor_packages_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE tutor_packages_id_seq OWNED BY tutor_packages.id;

CREATE SEQUENCE tutor_profiles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE tutor_profiles_id_seq OWNED BY tutor_profiles.id;

CREATE SEQUENCE users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE users_id_seq OWNED BY users.id;

ALTER TABLE ONLY enrolled_courses ALTER COLUMN id SET DEFAULT nextval('enrolled_courses_id_seq'::regclass);

ALTER TABLE ONLY enrolled_students ALTER COLUMN id SET DEFAULT nextval('enrolled_students_id_seq'::regclass);

ALTER TABLE ONLY parent_profiles ALTER COLUMN id SET DEFAULT nextval('parent_profiles_id_seq'::regclass);

ALTER TABLE ONLY requested_sessions ALTER COLUMN id SET DEFAULT nextval('session_requests_id_seq'::regclass);

ALTER TABLE ONLY sessions ALTER COLUMN id SET DEFAULT nextval('sessions_id_seq'::regclass);

ALTER TABLE ONLY student_profiles ALTER COLUMN id SET DEFAULT nextval('student_profiles_id_seq'::regclass);

ALTER TABLE ONLY tutor_packages ALTER COLUMN id SET DEFAULT nextval('tutor_packages_id_seq'::regclass);

ALTER TABLE ONLY tutor_profiles ALTER COLUMN id SET DEFAULT nextval('tutor_profiles_id_seq'::regclass);

ALTER TABLE ONLY user_investments ALTER COLUMN id SET DEFAULT nextval('tutor_investments_id_seq'::regclass);

ALTER TABLE ONLY users ALTER COLUMN id SET DEFAULT nextval('users_id_seq'::regclass);

ALTER TABLE ONLY enrolled_courses
    ADD CONSTRAINT enrolled_courses_pkey PRIMARY KEY (id);

ALTER TABLE ONLY enrolled_students
    ADD CONSTRAINT enrolled_students_pkey PRIMARY KEY (id);

ALTER TABLE ONLY parent_profiles
    ADD CONSTRAINT parent_profiles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY parent_profiles
    ADD CONSTRAINT parent_profiles_user_id_key UNIQUE (user_id);

ALTER TABLE ONLY requested_sessions
    ADD CONSTRAINT session_requests_pkey PRIMARY KEY (id);

ALTER TABLE ONLY sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY student_profiles
    ADD CONSTRAINT student_profiles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY student_profiles
    ADD CONSTRAINT student_profiles_user_id_key UNIQUE (user_id);

ALTER TABLE ONLY student_profiles
    ADD CONSTRAINT student_profiles_username_key UNIQUE (username);

ALTER TABLE ONLY user_investments
    ADD CONSTRAINT tutor_investments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY tutor_packages
    ADD CONSTRAINT tutor_packages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY tutor_profiles
    ADD CONSTRAINT tutor_profiles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY tutor_profiles
    ADD CONSTRAINT tutor_profiles_user_id_key UNIQUE (user_id);

ALTER TABLE ONLY tutor_profiles
    ADD CONSTRAINT tutor_profiles_username_key UNIQUE (username);

ALTER TABLE ONLY users
    ADD CONSTRAINT users_email_key UNIQUE (email);

ALTER TABLE ONLY users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX idx_enrolled_course_id_gin ON enrolled_courses USING gin (course_id);

CREATE INDEX idx_enrolled_courses_students_id ON enrolled_courses USING gin (students_id);

CREATE INDEX idx_enrolled_is_recurring ON enrolled_courses USING btree (is_recurring);

CREATE INDEX idx_enrolled_package_id ON enrolled_courses USING btree (package_id);

CREATE INDEX idx_enrolled_schedule_type ON enrolled_courses USING btree (schedule_type);

CREATE INDEX idx_enrolled_students_package_id ON enrolled_students USING btree (package_id);

CREATE INDEX idx_enrolled_students_payment_due_date ON enrolled_students USING btree (payment_due_date);

CREATE INDEX idx_enrolled_students_payment_status ON enrolled_students USING btree (payment_status);

CREATE INDEX idx_enrolled_students_student_id ON enrolled_students USING btree (student_id);

CREATE INDEX idx_enrolled_students_tutor_id ON enrolled_students USING btree (tutor_id);

CREATE INDEX idx_enrolled_tutor_id ON enrolled_courses USING btree (tutor_id);

CREATE INDEX idx_parent_profiles_children_ids ON parent_profiles USING gin (children_ids);

CREATE INDEX idx_parent_profiles_coparent_ids ON parent_profiles USING gin (coparent_ids);

CREATE INDEX idx_parent_profiles_is_online ON parent_profiles USING btree (is_online) WHERE (is_online = true);

CREATE INDEX idx_requested_sessions_requested_to ON requested_sessions USING btree (requested_to_id);

CREATE INDEX idx_requested_sessions_tutor ON requested_sessions USING btree (tutor_id, status);

CREATE INDEX idx_sessions_attendance_marked_by ON sessions USING btree (attendance_marked_by);

CREATE INDEX idx_sessions_attendance_source ON sessions USING btree (attendance_source);

CREATE INDEX idx_sessions_attendance_statuses ON sessions USING btree (tutor_attendance_status, student_attendance_status);

CREATE INDEX idx_sessions_date ON sessions USING btree (session_date);

CREATE INDEX idx_sessions_enrolled_courses ON sessions USING btree (enrolled_courses_id);

CREATE INDEX idx_sessions_featured ON sessions USING btree (is_featured);

CREATE INDEX idx_student_profiles_is_online ON student_profiles USING btree (is_online) WHERE (is_online = true);

CREATE INDEX idx_student_profiles_parent_id ON student_profiles USING gin (parent_id);

CREATE INDEX idx_student_profiles_user_id ON student_profiles USING btree (user_id);

CREATE INDEX idx_student_profiles_username ON student_profiles USING btree (username);

CREATE INDEX idx_tutor_packages_course_ids ON tutor_packages USING gin (course_ids);

CREATE INDEX idx_tutor_profiles_is_online ON tutor_profiles USING btree (is_online) WHERE (is_online = true);

CREATE INDEX idx_tutor_search_count ON tutor_profiles USING btree (search_count DESC);

CREATE INDEX idx_tutor_trending_score ON tutor_profiles USING btree (trending_score DESC);

CREATE INDEX idx_user_investments_due_date ON user_investments USING btree (due_date);

CREATE INDEX idx_user_investments_next_billing_date ON user_investments USING btree (next_billing_date);

CREATE INDEX idx_user_investments_payment_status ON user_investments USING btree (payment_status);

CREATE INDEX idx_user_investments_student_payment_id ON user_investments USING btree (student_payment_id);

CREATE INDEX idx_user_investments_subscription_plan_id ON user_investments USING btree (subscription_plan_id);

CREATE INDEX idx_user_investments_transaction_id ON user_investments USING btree (transaction_id);

CREATE INDEX idx_user_investments_user_id ON user_investments USING btree (user_id);

CREATE INDEX idx_users_account_status ON users USING btree (account_status);

CREATE INDEX idx_users_currency ON users USING btree (currency);

CREATE INDEX idx_users_subscription_expires ON users USING btree (subscription_expires_at);

CREATE INDEX idx_users_subscription_plan ON users USING btree (subscription_plan_id);

CREATE INDEX ix_parent_profiles_id ON parent_profiles USING btree (id);

CREATE UNIQUE INDEX ix_parent_profiles_username ON parent_profiles USING btree (username);

CREATE INDEX ix_tutor_packages_id ON tutor_packages USING btree (id);

CREATE TRIGGER trigger_update_enrolled_courses_updated_at BEFORE UPDATE ON enrolled_courses FOR EACH ROW EXECUTE FUNCTION update_enrolled_courses_updated_at();

ALTER TABLE ONLY enrolled_students
    ADD CONSTRAINT enrolled_students_package_id_fkey FOREIGN KEY (package_id) REFERENCES tutor_packages(id) ON DELETE SET NULL;

ALTER TABLE ONLY enrolled_students
    ADD CONSTRAINT enrolled_students_student_id_fkey FOREIGN KEY (student_id) REFERENCES student_profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY enrolled_students
    ADD CONSTRAINT enrolled_students_tutor_id_fkey FOREIGN KEY (tutor_id) REFERENCES tutor_profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY enrolled_students
    ADD CONSTRAINT fk_enrolled_students_package FOREIGN KEY (package_id) REFERENCES tutor_packages(id) ON DELETE SET NULL;

ALTER TABLE ONLY enrolled_courses
    ADD CONSTRAINT fk_enrolled_tutor FOREIGN KEY (tutor_id) REFERENCES tutor_profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY requested_sessions
    ADD CONSTRAINT fk_requested_sessions_requester_user FOREIGN KEY (requester_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE ONLY requested_sessions
    ADD CONSTRAINT fk_session_requests_package FOREIGN KEY (package_id) REFERENCES tutor_packages(id) ON DELETE SET NULL;

ALTER TABLE ONLY requested_sessions
    ADD CONSTRAINT fk_session_requests_tutor FOREIGN KEY (tutor_id) REFERENCES tutor_profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY parent_profiles
    ADD CONSTRAINT parent_profiles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);

ALTER TABLE ONLY requested_sessions
    ADD CONSTRAINT requested_sessions_requested_to_id_fkey FOREIGN KEY (requested_to_id) REFERENCES student_profiles(id) ON DELETE SET NULL;

ALTER TABLE ONLY sessions
    ADD CONSTRAINT sessions_attendance_marked_by_fkey FOREIGN KEY (attendance_marked_by) REFERENCES users(id) ON DELETE SET NULL;

ALTER TABLE ONLY sessions
    ADD CONSTRAINT sessions_enrolled_courses_id_fkey FOREIGN KEY (enrolled_courses_id) REFERENCES enrolled_courses(id) ON DELETE CASCADE;

ALTER TABLE ONLY student_profiles
    ADD CONSTRAINT student_profiles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);

ALTER TABLE ONLY tutor_packages
    ADD CONSTRAINT tutor_packages_tutor_id_fkey FOREIGN KEY (tutor_id) REFERENCES tutor_profiles(id) ON DELETE CASCADE;

ALTER TABLE ONLY tutor_profiles
    ADD CONSTRAINT tutor_profiles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);

ALTER TABLE ONLY user_investments
    ADD CONSTRAINT user_investments_student_payment_id_fkey FOREIGN KEY (student_payment_id) REFERENCES enrolled_students(id) ON DELETE SET NULL;

ALTER TABLE ONLY user_investments
    ADD CONSTRAINT user_investments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

-- Later changes of the app: migrate_add_num_students.py, migrate_add_package_sharing.py,
-- migrate_add_package_visibility.py and migrate_create_requested_session_students.py (shared bookings).
ALTER TABLE requested_sessions ADD COLUMN num_students integer DEFAULT 1 NOT NULL;

ALTER TABLE tutor_packages
    ADD COLUMN allow_sharing boolean DEFAULT false NOT NULL,
    ADD COLUMN max_shared_students integer DEFAULT 1 NOT NULL,
    ADD COLUMN visibility character varying(16) DEFAULT 'public'::character varying NOT NULL;

CREATE TABLE requested_session_students (
    id serial PRIMARY KEY,
    requested_session_id integer NOT NULL REFERENCES requested_sessions(id) ON DELETE CASCADE,
    student_profile_id integer NOT NULL,
    is_related boolean DEFAULT false NOT NULL,
    is_primary boolean DEFAULT false NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (requested_session_id, student_profile_id)
);

CREATE INDEX idx_rss_session ON requested_session_students USING btree (requested_session_id);

-- ==== What the rule adds (revision 0002): tables, columns, constraints; no type changed ====

-- IANA zone names the server knows (pg_timezone_names takes 30 ms a scan; this is a lookup).
CREATE TABLE time_zone_names (name text PRIMARY KEY);

ALTER TABLE tutor_profiles ADD COLUMN timezone text NOT NULL DEFAULT 'Africa/Addis_Ababa';

-- One row: the weeks horizon of recurring requests, the most sessions one acceptance may make and
-- (revision 0004) the longest session in minutes, a schedule's or one made by hand.
CREATE TABLE schedule_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    weeks_horizon integer NOT NULL DEFAULT 8 CHECK (weeks_horizon BETWEEN 1 AND 520),
    session_limit integer NOT NULL DEFAULT 200 CHECK (session_limit BETWEEN 1 AND 100000),
    max_session_minutes integer NOT NULL DEFAULT 480 CHECK (max_session_minutes BETWEEN 1 AND 1440)
);

ALTER TABLE requested_sessions
    ADD COLUMN conflict_policy text NOT NULL DEFAULT 'fail'
        CONSTRAINT requested_sessions_conflict_policy_check CHECK (conflict_policy IN ('fail', 'skip')),
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancelled_reason text;
CREATE INDEX requested_sessions_tutor_package_idx ON requested_sessions (tutor_id, package_id);

ALTER TABLE sessions
    ADD COLUMN tutor_id integer,
    ADD COLUMN request_id integer
        CONSTRAINT sessions_request_id_fkey REFERENCES requested_sessions (id) ON DELETE SET NULL,
    ADD COLUMN starts_at timestamptz,
    ADD COLUMN ends_at timestamptz;

-- Occurrences an acceptance did not create, and why.
CREATE TABLE skipped_occurrences (
    id serial PRIMARY KEY,
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    session_date date NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL CHECK (reason IN ('past', 'dst_gap', 'conflict', 'time_off', 'tutor_edit')),
    clash_session_id integer REFERENCES sessions (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skipped_occurrences_request_id_idx ON skipped_occurrences (request_id);
-- The occurrences time off held back: the extension looks for those it may make again (0003).
CREATE INDEX skipped_occurrences_time_off_idx ON skipped_occurrences (request_id) WHERE reason = 'time_off';

-- What each acceptance made, and why not more (note: see astegni_schedule_note; 'none_ahead' when a
-- schedule that is there had no occurrence left to make).
CREATE TABLE acceptances (
    request_id integer PRIMARY KEY REFERENCES requested_sessions (id) ON DELETE CASCADE,
    accepted_at timestamptz NOT NULL,
    sessions_created integer NOT NULL,
    students_enrolled integer NOT NULL,
    note text CHECK (note IN ('no_schedule', 'no_dates', 'no_days', 'no_times', 'window_passed', 'none_ahead'))
);

-- What the rule announces, written in the transaction that did it: one row per request accepted or
-- cancelled. Listeners read it from here (a NOTIFY on astegni_sessions only wakes them), so no client
-- can forge an event, and only the project's roles read them.
CREATE TABLE astegni_events (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL CHECK (event IN ('accepted', 'cancelled', 'extended', 'ended', 'rescheduled', 'time_off')),
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    tutor_id integer NOT NULL,
    student_id integer,
    sessions integer NOT NULL,
    first_starts_at timestamptz,
    last_starts_at timestamptz,
    note text,
    -- The transaction that wrote it (revision 0005; 0 for events written before): listeners read in
    -- (xact, id) order only the events of transactions older than any still running, so that an event
    -- committed after a later-numbered one is not passed over.
    xact bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint
);
CREATE INDEX astegni_events_xact_id ON astegni_events (xact, id);

-- How far each named listener has read astegni_events, (last_xact, last_event_id) in the order above:
-- it resumes there after a restart. started: the snapshot of its first start (a pg_snapshot), whose
-- events are not its own.
CREATE TABLE astegni_event_cursors (
    listener text PRIMARY KEY,
    last_event_id bigint NOT NULL,
    last_xact bigint NOT NULL DEFAULT 0,
    started text
);

-- The recipients astegni mail could not reach, and why (revision 0005): refused by the SMTP server, or
-- with no address (user_id NULL: a student profile with no user; address NULL: no email).
CREATE TABLE astegni_mail_refusals (
    event_id bigint NOT NULL REFERENCES astegni_events (id) ON DELETE CASCADE,
    user_id integer,
    address text,
    reason text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT astegni_mail_refusals_recipient_key UNIQUE NULLS NOT DISTINCT (event_id, user_id, address)
);

-- One row per tutor whose time has been booked: its row lock serialises what books the tutor's time
-- (astegni_lock_tutors). No client role may write it, so nobody can hold a tutor's lock.
CREATE TABLE astegni_tutor_locks (
    tutor_id integer PRIMARY KEY REFERENCES tutor_profiles (id) ON DELETE CASCADE
);

-- The part of a request that decides its occurrences: acceptance expands each distinct one once.
CREATE TYPE astegni_schedule AS (
    schedule_type text, days jsonb, specific_dates jsonb, months jsonb, year_range jsonb,
    start_time time, end_time time
);

-- An edit of one date before accepting: left out (no times) or moved to these times (0005).
CREATE TYPE astegni_edit AS (session_date date, start_time time, end_time time);
-- The edits astegni_accept hands to the acceptance its UPDATE triggers, in the same transaction.
CREATE TABLE acceptance_edits (
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    session_date date NOT NULL,
    start_time time,
    end_time time,
    staged_by bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (request_id, session_date),
    CHECK ((start_time IS NULL) = (end_time IS NULL))
);

ALTER TABLE enrolled_students
    ADD CONSTRAINT enrolled_students_tutor_student_key UNIQUE (tutor_id, student_id);
ALTER TABLE enrolled_courses
    ADD CONSTRAINT enrolled_courses_tutor_package_key UNIQUE NULLS NOT DISTINCT (tutor_id, package_id),
    ADD CONSTRAINT enrolled_courses_id_tutor_key UNIQUE (id, tutor_id);
ALTER TABLE sessions
    ALTER COLUMN enrolled_courses_id SET NOT NULL,
    ALTER COLUMN tutor_id SET NOT NULL,
    ALTER COLUMN starts_at SET NOT NULL,
    ALTER COLUMN ends_at SET NOT NULL,
    ADD CONSTRAINT sessions_course_tutor_fkey FOREIGN KEY (enrolled_courses_id, tutor_id)
        REFERENCES enrolled_courses (id, tutor_id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_request_date_key UNIQUE (request_id, session_date),
    ADD CONSTRAINT sessions_time_check CHECK (ends_at > starts_at),
    -- No tutor is in two places at once, unless both sessions are one course's (a group class).
    ADD CONSTRAINT sessions_no_overlap EXCLUDE USING gist (
        tutor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, enrolled_courses_id WITH <>)
        WHERE (status IS DISTINCT FROM 'cancelled');

-- ==== Series (revision 0003): a recurring request keeps making its sessions up to a rolling horizon ====

-- An accepted recurring request: its window (fixed at acceptance), how far it has been made, its end.
CREATE TABLE series (
    request_id integer PRIMARY KEY REFERENCES requested_sessions (id) ON DELETE CASCADE,
    tutor_id integer NOT NULL REFERENCES tutor_profiles (id) ON DELETE CASCADE,
    -- The month/year window (NULL: none, or one that had passed at acceptance): made only within it.
    window_start date,
    window_end date,
    -- The horizon last reached, a wall-clock time in the tutor's zone: nothing at or before it is made
    -- again, so a session cancelled, deleted or moved by hand is never recreated.
    made_until timestamp NOT NULL,
    -- Set by astegni_end_series: nothing after last_date; closed_at once its students have left.
    last_date date,
    ended_reason text,
    ended_at timestamptz,
    closed_at timestamptz,
    CHECK (window_end >= window_start)
);
CREATE INDEX series_tutor_id_idx ON series (tutor_id);

-- Every pattern a series has had, from the date it applied: the newest is the request's own.
CREATE TABLE series_patterns (
    id serial PRIMARY KEY,
    request_id integer NOT NULL REFERENCES series (request_id) ON DELETE CASCADE,
    valid_from date NOT NULL,
    days jsonb,
    start_time time,
    end_time time,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_patterns_request_id_idx ON series_patterns (request_id, id);

-- When a tutor is away: no occurrence inside is made, and sessions inside are cancelled.
CREATE TABLE tutor_time_off (
    id serial PRIMARY KEY,
    tutor_id integer NOT NULL REFERENCES tutor_profiles (id) ON DELETE CASCADE,
    during tstzrange NOT NULL,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tutor_time_off_during_idx ON tutor_time_off USING gist (tutor_id, during);

-- One row per batch of a run of the extension: the moment it extended to, the tutors after
-- after_tutor_id up to last_tutor_id (NULL: none was left, the run's last row), about batch_size
-- series, and what it made.
CREATE TABLE astegni_extensions (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL DEFAULT now(),
    series_grown integer NOT NULL DEFAULT 0,
    sessions_made integer NOT NULL DEFAULT 0,
    after_tutor_id integer NOT NULL DEFAULT 0,
    batch_size integer NOT NULL DEFAULT 200 CHECK (batch_size > 0),
    last_tutor_id integer
);

-- Why a session was cancelled by the rule: 'request_cancelled', 'series_ended', 'rescheduled', 'time_off'.
ALTER TABLE sessions ADD COLUMN cancelled_reason text;

-- ==== A tutor's sessions by time (revision 0005): what every listing by tutor and time reads ====
CREATE INDEX sessions_tutor_starts_at ON sessions (tutor_id, starts_at);

-- ==== Calendar feeds (revision 0005): links of students, parents and tutors (docs/calendar.md) ====

-- A link's token is random and given out once, in its URL; only its SHA-256 is kept, so this table
-- leaks no working link. No client role reads it: the app resolves a token through
-- astegni_calendar_feed, an admin issues and revokes through astegni_calendar_link and
-- astegni_revoke_calendar_links. feed_etag and feed_changed_at: the feed's last ETag and when it
-- first had it (its Last-Modified), kept by astegni_calendar_changed.
CREATE TABLE astegni_calendar_links (
    id serial PRIMARY KEY,
    owner_kind text NOT NULL CHECK (owner_kind IN ('student', 'parent', 'tutor')),
    owner_id integer NOT NULL,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    feed_etag text,
    feed_changed_at timestamptz
);
-- An owner's live links, which a revocation ends.
CREATE INDEX astegni_calendar_links_owner_idx ON astegni_calendar_links (owner_kind, owner_id)
    WHERE revoked_at IS NULL;
-- A feed lists a student's requests by each way a request names its students (astegni_request_students):
-- requested_to_id has an index already; the requesting student's own and the roster's are these.
CREATE INDEX requested_sessions_requester_idx ON requested_sessions (requester_id)
    WHERE requester_type = 'student' AND requested_to_id IS NULL;
CREATE INDEX requested_session_students_student_idx ON requested_session_students (student_profile_id);
