UPDATE people SET language = 'sv' WHERE language NOT IN ('sv', 'en');
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (language IN (''sv'', ''en'', ''ar'', ''so'', ''fa'', ''ti'', ''uk'', ''fi'', ''bs''))',
    'CHECK (language IN (''sv'', ''en''))')
WHERE type = 'table' AND name = 'people';
PRAGMA writable_schema = OFF;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
