-- The side table every test migration writes a row into: a migration
-- applied twice would leave two rows with its name.
CREATE TABLE migrate_side (
        id serial PRIMARY KEY,
        migration text NOT NULL
);
INSERT INTO migrate_side (migration) VALUES ('0001_side_table.sql');
