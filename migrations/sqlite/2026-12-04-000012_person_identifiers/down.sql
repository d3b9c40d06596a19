DROP INDEX people_civic_no;
DROP TABLE person_identifiers;
