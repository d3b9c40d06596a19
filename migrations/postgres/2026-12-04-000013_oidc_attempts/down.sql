DROP TABLE oidc_attempts;
