-- custody ledger schema, version 1 (SQLite). Never edit once released: add a new file.
--
-- Evidence tables (orgs, nodes, node_parents, tree_hashes, checkpoints, timestamps) are
-- insert-only: the triggers at the end refuse every UPDATE and DELETE. log_heads and
-- pending_stamps are mutable bookkeeping, never evidence.
-- Times: *_s / *_ns are Unix seconds and nanoseconds; *_us are Unix microseconds of the
-- ledger host's clock (not evidence).

CREATE TABLE orgs (
    org           TEXT    NOT NULL PRIMARY KEY,
    origin        TEXT    NOT NULL UNIQUE,
    vkey          TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL
);

CREATE TABLE log_heads (
    org             TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (org),
    next_index      INTEGER NOT NULL CHECK (next_index >= 0),
    checkpoint_size INTEGER NOT NULL CHECK (checkpoint_size >= 0 AND checkpoint_size <= next_index)
);

CREATE TABLE nodes (
    org             TEXT    NOT NULL REFERENCES orgs (org),
    idx             INTEGER NOT NULL CHECK (idx >= 0),
    leaf_hash       BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    bytes           BLOB    NOT NULL,
    kind            TEXT    NOT NULL,
    case_id         TEXT,
    subject         TEXT,
    recorded_at_s   INTEGER NOT NULL,
    recorded_at_ns  INTEGER NOT NULL,
    idempotency_key TEXT,
    appended_at_us  INTEGER NOT NULL,
    PRIMARY KEY (org, idx)
) WITHOUT ROWID;
CREATE UNIQUE INDEX nodes_idempotency ON nodes (org, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX nodes_leaf_hash ON nodes (org, leaf_hash);
CREATE INDEX nodes_case ON nodes (org, case_id) WHERE case_id IS NOT NULL;
CREATE INDEX nodes_kind ON nodes (org, kind, idx);
CREATE INDEX nodes_subject ON nodes (org, subject, idx) WHERE subject IS NOT NULL;
CREATE INDEX nodes_recorded ON nodes (org, recorded_at_s, recorded_at_ns, idx);

CREATE TABLE node_parents (
    org    TEXT    NOT NULL,
    child  INTEGER NOT NULL,
    parent INTEGER NOT NULL CHECK (parent < child),
    PRIMARY KEY (org, child, parent),
    FOREIGN KEY (org, child) REFERENCES nodes (org, idx),
    FOREIGN KEY (org, parent) REFERENCES nodes (org, idx)
) WITHOUT ROWID;
CREATE INDEX node_parents_parent ON node_parents (org, parent, child);

CREATE TABLE tree_hashes (
    org   TEXT    NOT NULL REFERENCES orgs (org),
    level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (org, level, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    org           TEXT    NOT NULL REFERENCES orgs (org),
    size          INTEGER NOT NULL CHECK (size > 0),
    root          BLOB    NOT NULL CHECK (length(root) = 32),
    note          BLOB    NOT NULL,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (org, size)
);

CREATE TABLE timestamps (
    org             TEXT    NOT NULL,
    checkpoint_size INTEGER NOT NULL,
    token_sha256    BLOB    NOT NULL CHECK (length(token_sha256) = 32),
    tsa             TEXT    NOT NULL,
    token           BLOB    NOT NULL,
    gen_time_s      INTEGER NOT NULL,
    gen_time_ns     INTEGER NOT NULL,
    certs_pem       BLOB,
    stored_at_us    INTEGER NOT NULL,
    PRIMARY KEY (org, checkpoint_size, token_sha256),
    FOREIGN KEY (org, checkpoint_size) REFERENCES checkpoints (org, size)
);

CREATE TABLE pending_stamps (
    org           TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (org, size),
    FOREIGN KEY (org, size) REFERENCES checkpoints (org, size)
);
CREATE INDEX pending_stamps_age ON pending_stamps (created_at_us);

CREATE TRIGGER orgs_no_update BEFORE UPDATE ON orgs
BEGIN SELECT RAISE(ABORT, 'custody: orgs is append-only'); END;
CREATE TRIGGER orgs_no_delete BEFORE DELETE ON orgs
BEGIN SELECT RAISE(ABORT, 'custody: orgs is append-only'); END;
CREATE TRIGGER nodes_no_update BEFORE UPDATE ON nodes
BEGIN SELECT RAISE(ABORT, 'custody: nodes is append-only'); END;
CREATE TRIGGER nodes_no_delete BEFORE DELETE ON nodes
BEGIN SELECT RAISE(ABORT, 'custody: nodes is append-only'); END;
CREATE TRIGGER node_parents_no_update BEFORE UPDATE ON node_parents
BEGIN SELECT RAISE(ABORT, 'custody: node_parents is append-only'); END;
CREATE TRIGGER node_parents_no_delete BEFORE DELETE ON node_parents
BEGIN SELECT RAISE(ABORT, 'custody: node_parents is append-only'); END;
CREATE TRIGGER tree_hashes_no_update BEFORE UPDATE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'custody: tree_hashes is append-only'); END;
CREATE TRIGGER tree_hashes_no_delete BEFORE DELETE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'custody: tree_hashes is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'custody: checkpoints is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'custody: checkpoints is append-only'); END;
CREATE TRIGGER timestamps_no_update BEFORE UPDATE ON timestamps
BEGIN SELECT RAISE(ABORT, 'custody: timestamps is append-only'); END;
CREATE TRIGGER timestamps_no_delete BEFORE DELETE ON timestamps
BEGIN SELECT RAISE(ABORT, 'custody: timestamps is append-only'); END;
