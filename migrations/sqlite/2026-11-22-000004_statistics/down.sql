DROP TABLE absence_days;
