-- The key-encryption keys (KEKs), one row per version, each wrapped by the
-- root key the service loads at start (never stored here). The current
-- version wraps new data keys; versions below min_decryption_version are
-- retired: their rows are destroyed once nothing is wrapped with them.
CREATE TABLE secrets_keks (
        version    integer     PRIMARY KEY CHECK (version >= 1),
        root_id    text        NOT NULL, -- which root key wraps it
        wrapped    bytea,                -- NULL once retired and destroyed
        created_at timestamptz NOT NULL
);

-- One row: the keyring's state and the rewrap in progress.
CREATE TABLE secrets_keyring (
        one                    boolean     PRIMARY KEY DEFAULT true CHECK (one),
        current_version        integer     NOT NULL,
        min_decryption_version integer     NOT NULL DEFAULT 1,
        rewrap_target          integer     NOT NULL DEFAULT 0, -- 0: none ever started
        rewrap_total           bigint      NOT NULL DEFAULT 0,
        rewrap_done            bigint      NOT NULL DEFAULT 0,
        rewrap_started_at      timestamptz,
        rewrap_finished_at     timestamptz
);

-- A tenant's defaults (Vault's config of the mount).
CREATE TABLE secrets_config (
        tenant                 text    PRIMARY KEY,
        max_versions           integer NOT NULL CHECK (max_versions >= 0),
        cas_required           boolean NOT NULL,
        delete_version_after_s bigint  NOT NULL CHECK (delete_version_after_s >= 0)
);

-- A secret: its settings and where its versions stand.
CREATE TABLE secrets_meta (
        tenant                 text        NOT NULL,
        path                   text        NOT NULL,
        current_version        bigint      NOT NULL DEFAULT 0,
        oldest_version         bigint      NOT NULL DEFAULT 0,
        max_versions           integer     NOT NULL DEFAULT 0 CHECK (max_versions >= 0),
        cas_required           boolean     NOT NULL DEFAULT false,
        delete_version_after_s bigint      NOT NULL DEFAULT 0 CHECK (delete_version_after_s >= 0),
        rotate_after_s         bigint      NOT NULL DEFAULT 0 CHECK (rotate_after_s >= 0),
        custom_metadata        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_metadata) = 'object'),
        -- the current version for which a rotation reminder went out
        overdue_version        bigint      NOT NULL DEFAULT 0,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        PRIMARY KEY (tenant, path)
);

-- Every version: its payload encrypted with a data key of its own
-- (XChaCha20-Poly1305), the data key wrapped by a KEK version. Both are
-- bound to tenant, path and version as associated data, so a row copied
-- elsewhere does not decrypt. Destroyed versions keep no ciphertext.
CREATE TABLE secrets_versions (
        tenant        text        NOT NULL,
        path          text        NOT NULL,
        version       bigint      NOT NULL CHECK (version >= 1),
        created_at    timestamptz NOT NULL,
        deletion_time timestamptz,
        destroyed     boolean     NOT NULL DEFAULT false,
        kek_version   integer     NOT NULL,
        wrapped_key   bytea,      -- nonce || sealed data key; NULL when destroyed
        ciphertext    bytea,      -- nonce || sealed payload; NULL when destroyed
        PRIMARY KEY (tenant, path, version),
        FOREIGN KEY (tenant, path) REFERENCES secrets_meta (tenant, path) ON DELETE CASCADE,
        CHECK (destroyed = (ciphertext IS NULL) AND destroyed = (wrapped_key IS NULL))
);

-- The rewrap walks data keys by KEK version.
CREATE INDEX secrets_versions_kek ON secrets_versions (kek_version) WHERE NOT destroyed;

-- Path policies of a tenant (the built-in defaults are not stored).
CREATE TABLE secrets_policies (
        tenant     text        NOT NULL,
        name       text        NOT NULL,
        policy     bytea       NOT NULL, -- cairn.secrets.v1.Policy, packed
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, name)
);

-- The reply of every write request, by ce_id: a redelivered request gets the
-- same reply and changes nothing. Replies carry no value.
CREATE TABLE secrets_requests (
        tenant     text        NOT NULL,
        request_id text        NOT NULL,
        reply      bytea       NOT NULL,
        at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, request_id)
);

CREATE INDEX secrets_requests_at ON secrets_requests (at);

-- Every request, allowed or not, never the value. Each row's hash covers
-- the previous row's hash and its own fields (docs/secrets.md), so an edited,
-- inserted or deleted row breaks the chain from there on.
CREATE TABLE secrets_audit (
        seq        bigint      PRIMARY KEY,
        at_us      bigint      NOT NULL, -- unix microseconds, as hashed
        at         timestamptz GENERATED ALWAYS AS (to_timestamp(at_us / 1000000.0)) STORED,
        tenant     text        NOT NULL,
        principal  text        NOT NULL,
        role       text        NOT NULL,
        operation  text        NOT NULL,
        path       text        NOT NULL,
        version    bigint      NOT NULL,
        outcome    text        NOT NULL,
        code       integer     NOT NULL,
        ce_id      text        NOT NULL,
        request_id text        NOT NULL,
        prev_hash  bytea       NOT NULL,
        hash       bytea       NOT NULL
);

-- The chain's head: appends lock it, so rows chain in seq order, and a
-- deleted last row is found by comparing the last row with it.
CREATE TABLE secrets_audit_head (
        one  boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq  bigint  NOT NULL,
        hash bytea   NOT NULL
);

INSERT INTO secrets_audit_head (seq, hash)
VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- The rows up to seq have reached cairn.audit.v1 (apart from the head, so
-- the publisher never waits on appends).
CREATE TABLE secrets_audit_published (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq bigint  NOT NULL
);

INSERT INTO secrets_audit_published (seq) VALUES (0);
