-- API tokens of the custody service: bearer secrets scoped to one organisation and a role.
-- Only the SHA-256 of each secret is stored. The service records its migrations in its own
-- table, _custody_service_migrations, apart from the ledger's.
CREATE TABLE api_tokens (
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    org         TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'legal', 'auditor')),
    name        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_org ON api_tokens (org);
