DROP TABLE staff_absences;
