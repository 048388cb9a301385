-- Device lock commands (evidence-format.md §11): enrollment tokens, enrolled devices and the
-- signed commands queued for them. Only SHA-256 digests of enrollment tokens and device
-- credentials are stored. Times are Unix seconds.
CREATE TABLE device_enrollment_tokens (
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    org         TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    device_id   TEXT
);

CREATE TABLE devices (
    device_id        TEXT    NOT NULL PRIMARY KEY,
    org              TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    credential_hash  BLOB    NOT NULL UNIQUE,
    enrolled_at      BIGINT  NOT NULL,
    revoked_at       BIGINT
);
CREATE INDEX devices_org_subject ON devices (org, subject);

-- One command per (case, device): queueing a case's lock twice returns the first command.
CREATE TABLE device_commands (
    command_id      TEXT    NOT NULL PRIMARY KEY,
    org             TEXT    NOT NULL,
    device_id       TEXT    NOT NULL REFERENCES devices (device_id),
    subject         TEXT    NOT NULL,
    case_id         TEXT    NOT NULL,
    signed_command  TEXT    NOT NULL,
    issued_at       BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'locked', 'failed')),
    detail          TEXT,
    acked_at        BIGINT,
    UNIQUE (case_id, device_id)
);
CREATE INDEX device_commands_device_status ON device_commands (device_id, status);
CREATE INDEX device_commands_org_case ON device_commands (org, case_id);
