DROP TABLE signals;
DROP TABLE signal_rules;
