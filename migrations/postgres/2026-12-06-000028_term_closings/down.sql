DROP TABLE closed_term_changes;
DROP TABLE term_closings;
