-- 007: audit checkpoints. Every checkpoint_seconds (frontend config, with checkpoint_key set) the frontend
-- asks the signer to sign the audit chain's head through the HSM and stores the signature here:
--   digest    = SHA-256("hsmca-audit-head-v1\n" || <audit_id in ASCII decimal> || "\n" ||
--                       <head_hash in 64 lowercase hex digits> || "\n")
--   signature = the signer's SIGN_CHECKPOINT over digest (signer/PROTOCOL.md: the key signs
--               "hsmca-audit-checkpoint-v1" || 0x00 || digest; ECDSA with SHA-256, P-384 SHA-384; RSA
--               PKCS#1 v1.5 with SHA-256)
-- where head_hash is the row_hash of audit_log row audit_id, the last row when it was signed. The hash chain
-- alone is only as good as the database's owner: whoever can disable the append-only triggers can cut rows
-- off the end, or rewrite rows and recompute every later hash, and the chain verifies again. A row covered
-- by a checkpoint cannot be changed or removed without the HSM: `hsmca-frontend audit-verify
-- --checkpoint-cert PEM` checks every checkpoint's signature and that the chain still holds its hash at its
-- row. Append-only like audit_log (HS002).
CREATE TABLE audit_checkpoints (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	audit_id   bigint NOT NULL CHECK (audit_id > 0),
	head_hash  bytea NOT NULL CHECK (octet_length(head_hash) = 32),
	key_label  text NOT NULL CHECK (length(key_label) BETWEEN 1 AND 63),
	signature  bytea NOT NULL CHECK (octet_length(signature) BETWEEN 8 AND 1024),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_checkpoints_audit_id ON audit_checkpoints (audit_id); -- the frontend's max(audit_id) at start

CREATE FUNCTION audit_checkpoints_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	RAISE EXCEPTION 'audit_checkpoints is append-only: % refused', TG_OP USING ERRCODE = 'HS002';
END $$;
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_refuse();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_refuse();

REVOKE ALL ON audit_checkpoints FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_checkpoints_refuse() FROM PUBLIC;
GRANT SELECT, INSERT ON audit_checkpoints TO hsmca_frontend;
