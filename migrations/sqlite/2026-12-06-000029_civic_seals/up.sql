-- a pupil's civic number, sealed (src/auth/civic.rs): the term report's file and the
-- report to the home municipality carry it; the hash beside it is what sign-in matches
ALTER TABLE people ADD COLUMN civic_sealed TEXT;
