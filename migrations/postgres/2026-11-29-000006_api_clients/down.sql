DROP TABLE api_client_schools;
DROP TABLE api_clients;
