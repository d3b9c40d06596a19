DROP TABLE trip_stays;
