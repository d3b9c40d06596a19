-- Guardians and pupils read Närvaro in nine languages (issue 37): a person's language may
-- be any of them (Swedish, English, Arabic, Somali, Persian, Tigrinya, Ukrainian, Finnish,
-- Bosnian/Croatian/Serbian), not only Swedish and English.
-- Kept in step with the other tree by tests/it/schema_drift.rs.
--
-- SQLite cannot alter a CHECK constraint, and people cannot be built again inside the
-- migrations' one transaction while other tables' foreign keys point at it. A looser CHECK
-- leaves every stored row valid, so the table's definition is rewritten in place, the
-- procedure SQLite documents for changing a constraint (sqlite.org/lang_altertable.html,
-- section 7); the DDL after it bumps the schema version so every connection reads the new
-- definition.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, 'CHECK (language IN (''sv'', ''en''))',
    'CHECK (language IN (''sv'', ''en'', ''ar'', ''so'', ''fa'', ''ti'', ''uk'', ''fi'', ''bs''))')
WHERE type = 'table' AND name = 'people';
PRAGMA writable_schema = OFF;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
