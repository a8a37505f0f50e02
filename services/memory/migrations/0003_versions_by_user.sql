-- Every version of a user's memories, current or not: what a search as of
-- a past time reads.
CREATE INDEX memories_user_versions ON memories (tenant, user_id, valid_from);
