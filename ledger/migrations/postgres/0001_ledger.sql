-- custody ledger schema, version 1 (PostgreSQL). Never edit once released: add a new file.
--
-- Evidence tables (orgs, nodes, node_parents, tree_hashes, checkpoints, timestamps) are
-- insert-only: the triggers at the end refuse every UPDATE, DELETE and TRUNCATE, and the
-- service role made by `Ledger::create_service_role` has no such privileges on them.
-- log_heads and pending_stamps are mutable bookkeeping, never evidence.
-- Times: *_s / *_ns are Unix seconds and nanoseconds; *_us are Unix microseconds of the
-- ledger host's clock (not evidence).

CREATE TABLE orgs (
    org           TEXT   NOT NULL PRIMARY KEY,
    origin        TEXT   NOT NULL UNIQUE,
    vkey          TEXT   NOT NULL,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE log_heads (
    org             TEXT   NOT NULL PRIMARY KEY REFERENCES orgs (org),
    next_index      BIGINT NOT NULL CHECK (next_index >= 0),
    checkpoint_size BIGINT NOT NULL CHECK (checkpoint_size >= 0 AND checkpoint_size <= next_index)
);

CREATE TABLE nodes (
    org             TEXT   NOT NULL REFERENCES orgs (org),
    idx             BIGINT NOT NULL CHECK (idx >= 0),
    leaf_hash       BYTEA  NOT NULL CHECK (length(leaf_hash) = 32),
    bytes           BYTEA  NOT NULL,
    kind            TEXT   NOT NULL,
    case_id         TEXT,
    subject         TEXT,
    recorded_at_s   BIGINT NOT NULL,
    recorded_at_ns  BIGINT NOT NULL,
    idempotency_key TEXT,
    appended_at_us  BIGINT NOT NULL,
    PRIMARY KEY (org, idx)
);
CREATE UNIQUE INDEX nodes_idempotency ON nodes (org, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX nodes_leaf_hash ON nodes (org, leaf_hash);
CREATE INDEX nodes_case ON nodes (org, case_id) WHERE case_id IS NOT NULL;
CREATE INDEX nodes_kind ON nodes (org, kind, idx);
CREATE INDEX nodes_subject ON nodes (org, subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX nodes_recorded ON nodes (org, recorded_at_s, recorded_at_ns, idx);

CREATE TABLE node_parents (
    org    TEXT   NOT NULL,
    child  BIGINT NOT NULL,
    parent BIGINT NOT NULL CHECK (parent < child),
    PRIMARY KEY (org, child, parent),
    FOREIGN KEY (org, child) REFERENCES nodes (org, idx),
    FOREIGN KEY (org, parent) REFERENCES nodes (org, idx)
);
CREATE INDEX node_parents_parent ON node_parents (org, parent, child);

CREATE TABLE tree_hashes (
    org   TEXT   NOT NULL REFERENCES orgs (org),
    level BIGINT NOT NULL CHECK (level >= 0 AND level < 64),
    idx   BIGINT NOT NULL CHECK (idx >= 0),
    hash  BYTEA  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (org, level, idx)
);

CREATE TABLE checkpoints (
    org           TEXT   NOT NULL REFERENCES orgs (org),
    size          BIGINT NOT NULL CHECK (size > 0),
    root          BYTEA  NOT NULL CHECK (length(root) = 32),
    note          BYTEA  NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (org, size)
);

CREATE TABLE timestamps (
    org             TEXT   NOT NULL,
    checkpoint_size BIGINT NOT NULL,
    token_sha256    BYTEA  NOT NULL CHECK (length(token_sha256) = 32),
    tsa             TEXT   NOT NULL,
    token           BYTEA  NOT NULL,
    gen_time_s      BIGINT NOT NULL,
    gen_time_ns     BIGINT NOT NULL,
    certs_pem       BYTEA,
    stored_at_us    BIGINT NOT NULL,
    PRIMARY KEY (org, checkpoint_size, token_sha256),
    FOREIGN KEY (org, checkpoint_size) REFERENCES checkpoints (org, size)
);

CREATE TABLE pending_stamps (
    org           TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (org, size),
    FOREIGN KEY (org, size) REFERENCES checkpoints (org, size)
);
CREATE INDEX pending_stamps_age ON pending_stamps (created_at_us);

CREATE FUNCTION custody_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'custody: % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;

CREATE TRIGGER orgs_append_only BEFORE UPDATE OR DELETE ON orgs
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER orgs_no_truncate BEFORE TRUNCATE ON orgs
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER nodes_append_only BEFORE UPDATE OR DELETE ON nodes
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER nodes_no_truncate BEFORE TRUNCATE ON nodes
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER node_parents_append_only BEFORE UPDATE OR DELETE ON node_parents
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER node_parents_no_truncate BEFORE TRUNCATE ON node_parents
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER tree_hashes_append_only BEFORE UPDATE OR DELETE ON tree_hashes
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER tree_hashes_no_truncate BEFORE TRUNCATE ON tree_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER timestamps_append_only BEFORE UPDATE OR DELETE ON timestamps
    FOR EACH ROW EXECUTE FUNCTION custody_refuse_change();
CREATE TRIGGER timestamps_no_truncate BEFORE TRUNCATE ON timestamps
    FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change();
