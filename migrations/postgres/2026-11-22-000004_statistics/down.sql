DROP TABLE absence_class_days;
DROP TABLE absence_days;
