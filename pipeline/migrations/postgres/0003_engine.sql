-- The offboarding engine's bookkeeping. None of this is evidence: every step's outcome is a
-- custody node in the ledger, and a case's status is derived from those nodes. These tables
-- say who the employees and providers are, and which steps are due, claimed or waiting.

CREATE TABLE employees (
    org                 TEXT    NOT NULL,
    employee_id         TEXT    NOT NULL,
    email               TEXT    NOT NULL,
    display_name        TEXT,
    azure_principal_id  TEXT,
    status              TEXT    NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'offboarding', 'locked')),
    PRIMARY KEY (org, employee_id)
);
CREATE UNIQUE INDEX employees_email ON employees (org, email);

-- Connected LLM providers. The admin credential is sealed (XChaCha20-Poly1305 under the
-- service's secret key) and is never returned by the API.
CREATE TABLE providers (
    org                 TEXT    NOT NULL,
    provider_id         TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('openai', 'anthropic', 'azure_openai')),
    base_url            TEXT    NOT NULL,
    settings            TEXT    NOT NULL,
    credential_sealed   BYTEA   NOT NULL,
    PRIMARY KEY (org, provider_id)
);

CREATE TABLE cases (
    org                 TEXT    NOT NULL,
    case_id             TEXT    NOT NULL,
    employee_id         TEXT    NOT NULL,
    source              TEXT    NOT NULL,
    trigger_index       BIGINT    NOT NULL,
    trigger_hash        BYTEA   NOT NULL,
    created_at_us       BIGINT    NOT NULL,
    closed              BIGINT    NOT NULL DEFAULT 0,
    PRIMARY KEY (org, case_id)
);
CREATE INDEX cases_employee ON cases (org, employee_id);

-- One row per step of a case's plan. waiting_on counts unfinished prerequisites; a step
-- is claimable when it is pending, waiting on nothing, due, and not leased.
CREATE TABLE case_steps (
    org                 TEXT    NOT NULL,
    case_id             TEXT    NOT NULL,
    step                TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'done', 'needs_attention')),
    waiting_on          BIGINT    NOT NULL,
    attempts            BIGINT    NOT NULL DEFAULT 0,
    next_attempt_us     BIGINT    NOT NULL,
    lease_owner         TEXT,
    lease_until_us      BIGINT,
    last_error          TEXT,
    node_index          BIGINT,
    PRIMARY KEY (org, case_id, step)
);
CREATE INDEX case_steps_due ON case_steps (status, next_attempt_us);

-- Which step unblocks which: the plan's edges, copied per case.
CREATE TABLE case_step_edges (
    org                 TEXT    NOT NULL,
    case_id             TEXT    NOT NULL,
    step                TEXT    NOT NULL,
    then_step           TEXT    NOT NULL,
    PRIMARY KEY (org, case_id, step, then_step)
);

-- API tokens may belong to an employee; invalidating their sessions revokes them.
ALTER TABLE api_tokens ADD COLUMN owner_email TEXT;
