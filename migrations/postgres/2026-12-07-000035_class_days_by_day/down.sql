DROP INDEX absence_class_days_day;
