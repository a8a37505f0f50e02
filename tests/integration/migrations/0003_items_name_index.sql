CREATE INDEX items_name ON items (name);
INSERT INTO migrate_side (migration) VALUES ('0003_items_name_index.sql');
