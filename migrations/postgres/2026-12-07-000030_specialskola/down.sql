UPDATE organisations SET school_form = NULL WHERE school_form = 'specialskola';
ALTER TABLE organisations DROP CONSTRAINT organisations_school_form_check;
ALTER TABLE organisations ADD CONSTRAINT organisations_school_form_check
    CHECK (school_form IN ('forskoleklass', 'grundskola', 'anpassad_grundskola', 'gymnasieskola', 'anpassad_gymnasieskola'));
