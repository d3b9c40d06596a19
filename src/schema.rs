// The portable schema shared by both backends. Hand-kept in step with
// migrations/{sqlite,postgres}; tests/it/schema_drift.rs checks all three agree.

diesel::table! {
    organisations (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        org_type -> Text,
        name -> Text,
        school_form -> Nullable<Text>,
        school_unit_code -> Nullable<Text>,
        external_id -> Nullable<Text>,
        report_days_ahead -> Integer,
        allow_adult_self_report -> Bool,
        alert_threshold_pct -> Integer,
        created_at -> Timestamp,
        uuid -> Nullable<Text>,
        notice_at -> Nullable<Text>,
        schools_add_reasons -> Bool,
        case_deadline_days -> Integer,
        municipality_code -> Nullable<Text>,
    }
}

diesel::table! {
    people (id) {
        id -> BigInt,
        given_name -> Text,
        family_name -> Text,
        civic_no -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        sex -> Nullable<Text>,
        security_marking -> Text,
        school_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
        language -> Text,
        receive_confirmations -> Bool,
        username -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        token_version -> Integer,
        external_id -> Nullable<Text>,
        active -> Bool,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        uuid -> Nullable<Text>,
        email_chosen -> Bool,
        municipality_code -> Nullable<Text>,
        phone -> Nullable<Text>,
        phone_chosen -> Bool,
        civic_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    person_emails (id) {
        id -> BigInt,
        person_id -> BigInt,
        address -> Text,
        kind -> Text,
    }
}

diesel::table! {
    person_identifiers (id) {
        id -> BigInt,
        person_id -> BigInt,
        kind -> Text,
        context -> Nullable<Text>,
        value -> Text,
        globally_unique -> Bool,
    }
}

diesel::table! {
    guardianships (id) {
        id -> BigInt,
        pupil_id -> BigInt,
        guardian_id -> BigInt,
        relation -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> BigInt,
        school_id -> BigInt,
        name -> Text,
        group_type -> Text,
        school_year -> Nullable<Integer>,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        uuid -> Nullable<Text>,
    }
}

diesel::table! {
    group_memberships (id) {
        id -> BigInt,
        group_id -> BigInt,
        pupil_id -> BigInt,
        start_date -> Date,
        end_date -> Nullable<Date>,
    }
}

diesel::table! {
    duties (id) {
        id -> BigInt,
        person_id -> BigInt,
        organisation_id -> BigInt,
        role -> Text,
        group_id -> Nullable<BigInt>,
        start_date -> Date,
        end_date -> Nullable<Date>,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> BigInt,
        source -> Text,
        mode -> Text,
        status -> Text,
        since -> Nullable<Timestamp>,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        records -> BigInt,
        inserted -> BigInt,
        updated -> BigInt,
        ended -> BigInt,
        message -> Nullable<Text>,
    }
}

diesel::table! {
    sync_events (id) {
        id -> BigInt,
        run_id -> BigInt,
        ext -> Text,
        activity -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        minutes -> Integer,
        cancelled -> Bool,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        school_id -> BigInt,
        display_name -> Text,
        subject_code -> Text,
        subject_name -> Text,
        activity_type -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        uuid -> Nullable<Text>,
    }
}

diesel::table! {
    activity_groups (activity_id, group_id) {
        activity_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    activity_teachers (activity_id, teacher_id) {
        activity_id -> BigInt,
        teacher_id -> BigInt,
    }
}

diesel::table! {
    lessons (id) {
        id -> BigInt,
        activity_id -> BigInt,
        school_id -> BigInt,
        lesson_date -> Date,
        starts_at -> Time,
        ends_at -> Time,
        teaching_minutes -> Integer,
        room -> Nullable<Text>,
        cancelled -> Bool,
        substitute_teacher_id -> Nullable<BigInt>,
        external_id -> Nullable<Text>,
        uuid -> Nullable<Text>,
        source_cancelled -> Nullable<Bool>,
        changed_by_hand_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    holidays (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        holiday_date -> Date,
        name -> Text,
    }
}

diesel::table! {
    staff_absences (id) {
        id -> BigInt,
        school_id -> BigInt,
        person_id -> BigInt,
        first_day -> Date,
        last_day -> Date,
        created_by -> BigInt,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    trips (id) {
        id -> BigInt,
        school_id -> BigInt,
        group_id -> BigInt,
        reason_id -> BigInt,
        title -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> BigInt,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    trip_stays (trip_id, pupil_id) {
        trip_id -> BigInt,
        pupil_id -> BigInt,
    }
}

diesel::table! {
    absence_reasons (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        code -> Text,
        name_sv -> Text,
        name_en -> Text,
        counts_as_absence -> Bool,
        is_valid -> Bool,
        is_sick -> Bool,
        staff_selectable -> Bool,
        guardian_selectable -> Bool,
        pupil_selectable -> Bool,
        sends_notice -> Bool,
        active -> Bool,
        sort_order -> Integer,
    }
}

diesel::table! {
    lesson_reports (lesson_id) {
        lesson_id -> BigInt,
        reported_by -> BigInt,
        reported_at -> Timestamp,
        version -> Integer,
        modified_at -> Nullable<Timestamp>,
        device_submission -> Nullable<Text>,
    }
}

diesel::table! {
    attendance_marks (id) {
        id -> BigInt,
        lesson_id -> BigInt,
        pupil_id -> BigInt,
        status -> Text,
        minutes -> Integer,
        reason_id -> Nullable<BigInt>,
        marked_by -> BigInt,
        marked_at -> Timestamp,
    }
}

diesel::table! {
    absence_reports (id) {
        id -> BigInt,
        pupil_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason_id -> BigInt,
        message -> Nullable<Text>,
        reported_by -> BigInt,
        registered_by_staff -> Bool,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
        uuid -> Nullable<Text>,
    }
}

diesel::table! {
    leave_applications (id) {
        id -> BigInt,
        pupil_id -> BigInt,
        start_date -> Date,
        end_date -> Date,
        reason -> Text,
        applied_by -> BigInt,
        applied_at -> Timestamp,
        recommendation -> Nullable<Text>,
        recommendation_comment -> Nullable<Text>,
        recommended_by -> Nullable<BigInt>,
        recommended_at -> Nullable<Timestamp>,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_comment -> Nullable<Text>,
        uuid -> Nullable<Text>,
        delegation_id -> Nullable<BigInt>,
        blocked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    leave_rules (organisation_id) {
        organisation_id -> BigInt,
        notice_days -> Nullable<Integer>,
        longest_days -> Nullable<Integer>,
        principal_above_days -> Nullable<Integer>,
        changed_by -> BigInt,
        changed_at -> Timestamp,
        both_guardians -> Bool,
    }
}

diesel::table! {
    leave_confirmations (leave_id, guardian_id) {
        leave_id -> BigInt,
        guardian_id -> BigInt,
        answer -> Text,
        comment -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        by_phone -> Nullable<BigInt>,
    }
}

diesel::table! {
    leave_blocked_periods (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        name -> Text,
        first_day -> Date,
        last_day -> Date,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    leave_delegations (id) {
        id -> BigInt,
        school_id -> BigInt,
        max_days -> Integer,
        delegated_by -> BigInt,
        delegated_at -> Timestamp,
        ended_by -> Nullable<BigInt>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        dedupe_key -> Text,
        recipient_id -> Nullable<BigInt>,
        recipient_email -> Nullable<Text>,
        pupil_id -> Nullable<BigInt>,
        notice_date -> Nullable<Date>,
        language -> Text,
        payload -> Text,
        status -> Text,
        due_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        channel -> Text,
        provider_id -> Nullable<Text>,
        segments -> Nullable<Integer>,
        delivery -> Nullable<Text>,
    }
}

diesel::table! {
    person_channels (person_id, kind) {
        person_id -> BigInt,
        kind -> Text,
        channels -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<BigInt>,
        detail -> Text,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_attempts (state_hash) {
        state_hash -> Text,
        provider -> Text,
        nonce -> Text,
        verifier -> Text,
        next_path -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    one_time_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        person_id -> BigInt,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    absence_days (school_id, day, pupil_id) {
        school_id -> BigInt,
        day -> Date,
        pupil_id -> BigInt,
        class_id -> Nullable<BigInt>,
        week -> Integer,
        weekday -> Integer,
        scheduled_minutes -> Integer,
        reported_minutes -> Integer,
        valid_minutes -> Integer,
        invalid_minutes -> Integer,
        other_minutes -> Integer,
        lates -> Integer,
        refused_leave_minutes -> Integer,
    }
}

diesel::table! {
    absence_class_days (school_id, day, class_id) {
        school_id -> BigInt,
        day -> Date,
        class_id -> BigInt,
        week -> Integer,
        weekday -> Integer,
        pupils -> Integer,
        scheduled_minutes -> Integer,
        reported_minutes -> Integer,
        valid_minutes -> Integer,
        invalid_minutes -> Integer,
        other_minutes -> Integer,
        lates -> Integer,
        refused_leave_minutes -> Integer,
    }
}

diesel::table! {
    api_clients (id) {
        id -> BigInt,
        name -> Text,
        client_id -> Text,
        secret_hash -> Text,
        municipality_id -> BigInt,
        scopes -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_client_schools (api_client_id, school_id) {
        api_client_id -> BigInt,
        school_id -> BigInt,
    }
}

diesel::joinable!(activities -> organisations (school_id));
diesel::joinable!(sync_events -> sync_runs (run_id));
diesel::joinable!(api_client_schools -> api_clients (api_client_id));
diesel::joinable!(activity_groups -> activities (activity_id));
diesel::joinable!(activity_groups -> groups (group_id));
diesel::joinable!(activity_teachers -> activities (activity_id));
diesel::joinable!(activity_teachers -> people (teacher_id));
diesel::joinable!(lessons -> activities (activity_id));
diesel::joinable!(lesson_reports -> lessons (lesson_id));
diesel::joinable!(attendance_marks -> lessons (lesson_id));
diesel::joinable!(attendance_marks -> absence_reasons (reason_id));
diesel::joinable!(group_memberships -> groups (group_id));
diesel::joinable!(group_memberships -> people (pupil_id));
diesel::joinable!(groups -> organisations (school_id));
diesel::table! {
    throttle_hits (id) {
        id -> BigInt,
        limit_key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    signal_rules (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        kind -> Text,
        counts -> Text,
        window_days -> Integer,
        share_pct -> Nullable<Integer>,
        days -> Nullable<Integer>,
        tell_mentor -> Bool,
        tell_principal -> Bool,
        active -> Bool,
        tell_health -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        tell_guardians -> Bool,
        send_email -> Bool,
    }
}

diesel::table! {
    signals (id) {
        id -> BigInt,
        rule_id -> BigInt,
        pupil_id -> BigInt,
        school_id -> BigInt,
        status -> Text,
        raised_at -> Timestamp,
        period_from -> Date,
        period_to -> Date,
        absent_minutes -> Integer,
        scheduled_minutes -> Integer,
        days_in_row -> Integer,
        seen_by -> Nullable<BigInt>,
        seen_at -> Nullable<Timestamp>,
        dismissed_reason -> Nullable<Text>,
        dismissed_by -> Nullable<BigInt>,
        dismissed_at -> Nullable<Timestamp>,
        case_id -> Nullable<BigInt>,
        pattern -> Nullable<Text>,
    }
}

diesel::table! {
    absence_cases (id) {
        id -> BigInt,
        pupil_id -> BigInt,
        school_id -> BigInt,
        status -> Text,
        opened_by -> BigInt,
        opened_at -> Timestamp,
        period_from -> Date,
        period_to -> Date,
        absent_minutes -> Integer,
        scheduled_minutes -> Integer,
        decision -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        decided_by -> Nullable<BigInt>,
        decision_reason -> Nullable<Text>,
        deadline -> Nullable<Date>,
        conclusion -> Nullable<Text>,
        actions -> Nullable<Text>,
        follow_up_on -> Nullable<Date>,
        special_support -> Bool,
        outcome -> Nullable<Text>,
        closed_by -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_participants (case_id, person_id) {
        case_id -> BigInt,
        person_id -> BigInt,
        part -> Text,
        added_by -> BigInt,
        added_at -> Timestamp,
    }
}

diesel::table! {
    case_steps (id) {
        id -> BigInt,
        case_id -> BigInt,
        taken_on -> Date,
        kind -> Text,
        note -> Text,
        written_by -> BigInt,
        written_at -> Timestamp,
    }
}

diesel::table! {
    case_health_notes (id) {
        id -> BigInt,
        case_id -> BigInt,
        note -> Text,
        written_by -> BigInt,
        written_at -> Timestamp,
    }
}

diesel::table! {
    home_reports (id) {
        id -> BigInt,
        case_id -> BigInt,
        municipality_code -> Text,
        sent_on -> Date,
        method -> Text,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    huvudman_reports (id) {
        id -> BigInt,
        case_id -> BigInt,
        organisation_id -> BigInt,
        school_id -> BigInt,
        pupil_id -> BigInt,
        class_name -> Nullable<Text>,
        started_on -> Date,
        principal_id -> BigInt,
        status -> Text,
        officer_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    followup_rounds (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        due_on -> Date,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_updates (id) {
        id -> BigInt,
        report_id -> BigInt,
        round_id -> Nullable<BigInt>,
        body -> Text,
        written_by -> BigInt,
        written_at -> Timestamp,
    }
}

diesel::joinable!(signals -> signal_rules (rule_id));
diesel::joinable!(report_updates -> huvudman_reports (report_id));
diesel::joinable!(case_steps -> absence_cases (case_id));
diesel::joinable!(case_health_notes -> absence_cases (case_id));
diesel::joinable!(case_participants -> absence_cases (case_id));
diesel::joinable!(huvudman_reports -> absence_cases (case_id));
diesel::joinable!(absence_reports -> absence_reasons (reason_id));
diesel::joinable!(trips -> groups (group_id));
diesel::joinable!(trips -> absence_reasons (reason_id));
diesel::joinable!(trip_stays -> trips (trip_id));
diesel::joinable!(one_time_tokens -> people (person_id));
diesel::joinable!(person_emails -> people (person_id));
diesel::joinable!(person_identifiers -> people (person_id));

diesel::joinable!(person_channels -> people (person_id));
diesel::joinable!(closed_term_changes -> term_closings (closing_id));
diesel::joinable!(closed_term_changes -> lessons (lesson_id));

diesel::table! {
    second_factors (person_id) {
        person_id -> BigInt,
        secret -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        person_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_log (id) {
        id -> BigInt,
        at -> Timestamp,
        reader_id -> Nullable<BigInt>,
        client_id -> Nullable<BigInt>,
        pupil_id -> BigInt,
        kind -> Text,
        route -> Text,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    term_closings (id) {
        id -> BigInt,
        school_id -> BigInt,
        term_start -> Date,
        closed_at -> Timestamp,
        closed_by -> BigInt,
        problems -> Integer,
        reopened_at -> Nullable<Timestamp>,
        reopened_by -> Nullable<BigInt>,
        reopen_reason -> Nullable<Text>,
    }
}

diesel::table! {
    closed_term_changes (id) {
        id -> BigInt,
        closing_id -> BigInt,
        lesson_id -> BigInt,
        changed_by -> BigInt,
        changed_at -> Timestamp,
        marks -> Integer,
        reason -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    person_channels,
    sync_events,
    organisations,
    absence_cases,
    case_participants,
    case_steps,
    case_health_notes,
    huvudman_reports,
    home_reports,
    signal_rules,
    signals,
    people,
    person_emails,
    person_identifiers,
    guardianships,
    groups,
    group_memberships,
    duties,
    sync_runs,
    activities,
    activity_groups,
    activity_teachers,
    lessons,
    holidays,
    staff_absences,
    trips,
    trip_stays,
    absence_reasons,
    lesson_reports,
    attendance_marks,
    absence_reports,
    leave_applications,
    leave_delegations,
    outbox,
    audit_log,
    one_time_tokens,
    oidc_attempts,
    followup_rounds,
    report_updates,
    absence_days,
    absence_class_days,
    api_clients,
    api_client_schools,
    throttle_hits,
    second_factors,
    recovery_codes,
    access_log,
    term_closings,
    closed_term_changes,
    leave_rules,
    leave_blocked_periods,
    leave_confirmations,
);
