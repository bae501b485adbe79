-- 018: the checkpoint thread's look at the stored checkpoints reads a few index entries, not the table.
--
-- Every checkpoint_seconds each frontend's checkpoint thread (frontend/checkpoint.c) asks for its key's newest
-- stored checkpoint (by audit_id) and for the checkpoints stored since the last one it saw
-- (db_checkpoint_newer). With only 007's index on audit_id, the newest of a key was found by reading every
-- checkpoint of the table and sorting them (with 300,000 rows: ~0.5 s and ~47 MB of temporary files per
-- call, twice a pass, growing with the table for ever). This index gives the newest of a key in order; the
-- rows stored since the last seen one are a range of the primary key.
CREATE INDEX audit_checkpoints_newest ON audit_checkpoints (key_label, audit_id DESC, id DESC);
