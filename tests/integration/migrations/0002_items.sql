CREATE TABLE items (
        id bigint PRIMARY KEY,
        name text NOT NULL
);
-- A moment of work, so that processes migrating together overlap.
SELECT pg_sleep(0.2);
INSERT INTO migrate_side (migration) VALUES ('0002_items.sql');
