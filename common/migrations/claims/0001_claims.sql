-- Claim check (common/src/claims.c): bytes too large for a Kafka message,
-- stored once and referred to by id, size and SHA-256, until expires_at;
-- the sweeper deletes expired rows oldest first through the index.
CREATE TABLE cairn_claims (
        id         uuid        PRIMARY KEY,
        size       bigint      NOT NULL CHECK (size >= 0),
        sha256     bytea       NOT NULL CHECK (length(sha256) = 32),
        data       bytea       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
);

CREATE INDEX cairn_claims_expires_at ON cairn_claims (expires_at);

-- the bytes are compressed audio or random-looking: TOAST's compression
-- would cost CPU for nothing
ALTER TABLE cairn_claims ALTER COLUMN data SET STORAGE EXTERNAL;
