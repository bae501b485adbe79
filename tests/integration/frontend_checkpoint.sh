#!/usr/bin/env bash
# Audit checkpoints (schema 007): with checkpoint_key the frontend has the signer sign the audit chain's head
# through the HSM every checkpoint_seconds while it moves, and audit-verify --checkpoint-cert checks every
# signature and that the chain still holds each signed hash at its row. A database owner who rewrites the last
# row and its hash consistently, or cuts rows off the end, passes the hash chain alone; a checkpoint names it.
# The signature is checked here with openssl too, from the formula in schema/007_audit_checkpoints.sql.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
FE_SIGNER_OPS="cert, crl, checkpoint" fe_setup_backend
fe_profiles
fe_requester alice
OWNER() { pg_psql "$T/pg" owner -c "$1"; }
covered() { [ "$(OWNER "select coalesce(max(audit_id), 0) from audit_checkpoints")" = "$(OWNER "select last_id from audit_chain_head")" ]; }
wait_covered() { for _ in $(seq 150); do covered && return 0; sleep 0.1; done; fail "$1: the head is not checkpointed: $(tail -3 "$T/frontend.log")"; }
verify() { "$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" "$@"; }

# ---- configuration errors stop the frontend at start-up, saying why ----
fe_conf 'checkpoint_key = nosuch'
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_key nosuch: no profile has it as issuer' <<<"$OUT" || fail "an unknown checkpoint_key: $OUT"
fe_conf 'checkpoint_seconds = 5'
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_seconds without checkpoint_key' <<<"$OUT" || fail "checkpoint_seconds alone: $OUT"
pass "a checkpoint_key no profile issues under, or checkpoint_seconds without a key, stops the frontend at start-up"

# ---- checkpoints follow the head ----
fe_start $'checkpoint_key = int\ncheckpoint_seconds = 1'
csr one ec:P-256 "DNS:one.example.com"
issue_req "$T/one.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "issue: $STATUS $BODY"
wait_covered "after an issuance"
HEAD=$(OWNER "select last_id from audit_chain_head")
HEX=$(OWNER "select encode(last_hash, 'hex') from audit_chain_head")
grep -q "event=audit_checkpoint audit_id=$HEAD head=$HEX key=int" "$T/frontend.log" \
	|| fail "the checkpoint is not logged: $(grep checkpoint "$T/frontend.log")"
metric() { curl -fsS "$URL/metrics" | sed -n "s/^$1 //p"; }
[ "$(metric hsmca_audit_checkpoint_row)" = "$HEAD" ] && [ "$(metric hsmca_audit_checkpoint_failures_total)" = 0 ] \
	&& [ "$(metric hsmca_audit_checkpoint_timestamp_seconds)" -gt $(( $(date +%s) - 30 )) ] \
	|| fail "checkpoint metrics: $(curl -fsS "$URL/metrics" | grep checkpoint)"
N=$(OWNER "select count(*) from audit_checkpoints")
sleep 2.5
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "a checkpoint while the head did not move"
OUT=$(verify --checkpoint-cert "$T/ca/int.pem") || fail "audit-verify: $OUT"
grep -q "^audit chain intact: $HEAD rows; $N checkpoints verified under the checkpoint certificate, the last at row $HEAD (0 rows after it" <<<"$OUT" \
	|| fail "audit-verify with the certificate: $OUT"
OUT=$(verify) || fail "audit-verify without a certificate: $OUT"
grep -q "checkpoints match the chain (signatures not checked" <<<"$OUT" || fail "audit-verify without a certificate: $OUT"
# the signature as schema 007 documents it, checked by openssl
openssl x509 -in "$T/ca/int.pem" -pubkey -noout > "$T/int.pub"
OWNER "select encode(signature, 'hex') from audit_checkpoints where audit_id = $HEAD" | xxd -r -p > "$T/cp.sig"
{ printf 'hsmca-audit-checkpoint-v1\0'; printf 'hsmca-audit-head-v1\n%s\n%s\n' "$HEAD" "$HEX" | openssl dgst -sha256 -binary; } > "$T/cp.msg"
openssl dgst -sha256 -verify "$T/int.pub" -signature "$T/cp.sig" "$T/cp.msg" > /dev/null || fail "openssl does not verify the checkpoint"
# under another key the signatures do not verify
expect_rc 1 verify --checkpoint-cert "$T/ca/root.pem"
grep -q "BROKEN at row [0-9]*: .*checkpoint 1: the signature does not verify under the checkpoint certificate" <<<"$OUT" \
	|| fail "audit-verify under the root's key: $OUT"
# append-only for the frontend's role
expect_rc 1 pg_psql "$T/pg" frontend -c "update audit_checkpoints set audit_id = 1"
expect_rc 1 pg_psql "$T/pg" frontend -c "delete from audit_checkpoints"
expect_rc 1 pg_psql "$T/pg" frontend -c "truncate audit_checkpoints"
pass "the head is signed through the HSM once it moves (logged with its hash, /metrics names its row), not again while it stands; audit-verify checks the signatures (openssl agrees) and refuses another key's certificate; the frontend's role cannot change checkpoints"

# ---- a signer that is down delays checkpoints; they resume when it is back ----
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
issue_req "$T/one.csr" server -u "alice:wrong password" # a refusal moves the head without the signer
[ "$STATUS" = 401 ] || fail "refusal: $STATUS $BODY"
for _ in $(seq 100); do grep -q 'event=audit_checkpoint_failed' "$T/frontend.log" && break; sleep 0.1; done
grep -q 'event=audit_checkpoint_failed why="signer: cannot connect' "$T/frontend.log" || fail "no failure logged: $(tail -3 "$T/frontend.log")"
sleep 2.5
[ "$(grep -c 'event=audit_checkpoint_failed' "$T/frontend.log")" = 1 ] || fail "the same failure logged more than once"
covered && fail "covered without a signer"
signer_start
signer_unseal alice bob carol
wait_covered "after the signer came back"
grep -q 'event=audit_checkpoint_resumed' "$T/frontend.log" || fail "resumption not logged"
[ "$(metric hsmca_audit_checkpoint_failures_total)" -ge 2 ] && [ "$(metric hsmca_audit_checkpoint_row)" = "$(OWNER "select last_id from audit_chain_head")" ] \
	|| fail "checkpoint metrics after the outage: $(curl -fsS "$URL/metrics" | grep checkpoint)"
pass "without a signer the failure is logged once (and counted in /metrics) and the head waits; when the signer is back the head is checkpointed"

# ---- the owner rewrites the last row consistently, or cuts it off: the chain alone holds, the checkpoint does not ----
kill "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
covered || fail "the last row is not checkpointed"
HEAD=$(OWNER "select last_id from audit_chain_head")
OWNER "set session_replication_role = replica;
	update audit_log set actor = 'mallory',
		row_hash = sha256(audit_canonical(id, ts, 'mallory', action, object, details::text, prev_hash)) where id = $HEAD;
	update audit_chain_head set last_hash = (select row_hash from audit_log where id = $HEAD) where singleton" > /dev/null
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*checkpoint [0-9]*: the row's hash is not the one signed (the log was rewritten)" <<<"$OUT" \
	|| fail "a rewritten last row: $OUT"
OWNER "set session_replication_role = replica; delete from audit_log where id = $HEAD;
	update audit_chain_head set last_id = $((HEAD - 1)), last_hash = (select row_hash from audit_log where id = $((HEAD - 1))) where singleton" > /dev/null
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*checkpoint [0-9]*: the row is gone (rows were cut off the log)" <<<"$OUT" || fail "a row cut off: $OUT"
pass "a consistently rewritten last row and a row cut off the end pass the hash chain but not its checkpoint (audit-verify names both)"
