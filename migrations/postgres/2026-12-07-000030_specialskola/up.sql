-- Specialskola as a school form (issue 38: year groups 1-11; SS 12000 SchoolTypesEnum SP).
-- Kept in step with migrations/sqlite by tests/it/schema_drift.rs.
ALTER TABLE organisations DROP CONSTRAINT organisations_school_form_check;
ALTER TABLE organisations ADD CONSTRAINT organisations_school_form_check
    CHECK (school_form IN ('forskoleklass', 'grundskola', 'anpassad_grundskola', 'specialskola', 'gymnasieskola', 'anpassad_gymnasieskola'));
