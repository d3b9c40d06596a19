-- The municipality's figures read every school's class sums over a period: by day first,
-- so the read is the period's rows and not every school year kept (the key begins with
-- the school, which a question about all schools cannot narrow).
CREATE INDEX absence_class_days_day ON absence_class_days (day, school_id);
