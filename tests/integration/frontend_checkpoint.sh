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
# wait_logged PATTERN: the checkpoint thread logs after it commits the row (and sets the metrics)
wait_logged() { for _ in $(seq 50); do grep -q "$1" "$T/frontend.log" && return 0; sleep 0.1; done; return 1; }
wait_covered() { for _ in $(seq 150); do covered && return 0; sleep 0.1; done; fail "$1: the head is not checkpointed: $(tail -3 "$T/frontend.log")"; }
verify() { "$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" "$@"; }
# issue_covered NAME: a certificate for NAME.example.com, then the head checkpointed
issue_covered() {
	csr "$1" ec:P-256 "DNS:$1.example.com"
	issue_req "$T/$1.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "issue $1: $STATUS $BODY"
	wait_covered "after issuing $1"
}
# openssl_verifies CERT LABEL: openssl checks the stored checkpoint of row $HEAD by LABEL against hash $HEX
# from the formula in schema 007, under CERT's key
openssl_verifies() {
	openssl x509 -in "$1" -noout -pubkey > "$T/cp.pub"
	OWNER "select encode(signature, 'hex') from audit_checkpoints where audit_id = $HEAD and key_label = '$2'" | xxd -r -p > "$T/cp.sig"
	{ printf 'hsmca-audit-checkpoint-v1\0'; printf 'hsmca-audit-head-v1\n%s\n%s\n' "$HEAD" "$HEX" | openssl dgst -sha256 -binary; } > "$T/cp.msg"
	openssl dgst -sha256 -verify "$T/cp.pub" -signature "$T/cp.sig" "$T/cp.msg" > /dev/null || fail "openssl does not verify $2's checkpoint of row $HEAD"
}

# ---- configuration errors stop the frontend at start-up, saying why ----
fe_conf 'checkpoint_key = nosuch'
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_key nosuch: no checkpoint_cert, and no profile has it as issuer' <<<"$OUT" || fail "an unknown checkpoint_key: $OUT"
fe_conf 'checkpoint_seconds = 5'
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_seconds without checkpoint_key' <<<"$OUT" || fail "checkpoint_seconds alone: $OUT"
fe_conf "checkpoint_cert = $T/ca/int.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_cert without checkpoint_key' <<<"$OUT" || fail "checkpoint_cert alone: $OUT"
fe_conf $'checkpoint_key = int\ncheckpoint_cert = '"$T/nosuch.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "checkpoint_cert $T/nosuch.pem: No such file or directory" <<<"$OUT" || fail "an unreadable checkpoint_cert: $OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ke.key" -out "$T/ke.pem" -subj /CN=ke \
	-addext keyUsage=critical,keyEncipherment 2>/dev/null || fail "openssl req"
fe_conf $'checkpoint_key = int\ncheckpoint_cert = '"$T/ke.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "checkpoint_cert $T/ke.pem: needs a keyUsage with digitalSignature" <<<"$OUT" || fail "a keyEncipherment checkpoint_cert: $OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/noku.key" -out "$T/noku.pem" -subj /CN=noku \
	-addext basicConstraints=critical,CA:FALSE 2>/dev/null || fail "openssl req"
fe_conf $'checkpoint_key = int\ncheckpoint_cert = '"$T/noku.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "checkpoint_cert $T/noku.pem: needs a keyUsage with digitalSignature" <<<"$OUT" || fail "a checkpoint_cert without keyUsage: $OUT"
fe_conf $'checkpoint_key = int\ncheckpoint_cert = '"$T/ca/int.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "checkpoint_cert $T/ca/int.pem is a CA certificate" <<<"$OUT" || fail "a CA certificate as checkpoint_cert: $OUT"
pass "a checkpoint_key no profile issues under and no checkpoint_cert given, checkpoint_seconds or checkpoint_cert without a key, an unreadable checkpoint_cert, one without digitalSignature in a keyUsage, or a CA's, stop the frontend at start-up"

# ---- checkpoints follow the head ----
fe_start $'checkpoint_key = int\ncheckpoint_seconds = 1'
issue_covered one
HEAD=$(OWNER "select last_id from audit_chain_head")
HEX=$(OWNER "select encode(last_hash, 'hex') from audit_chain_head")
wait_logged "event=audit_checkpoint audit_id=$HEAD head=$HEX key=int" \
	|| fail "the checkpoint is not logged: $(grep checkpoint "$T/frontend.log")"
metric() { curl -fsS "$URL/metrics" | sed -n "s/^$1 //p"; }
[ "$(metric hsmca_audit_checkpoint_row)" = "$HEAD" ] && [ "$(metric hsmca_audit_checkpoint_failures_total)" = 0 ] \
	&& [ "$(metric hsmca_audit_checkpoint_timestamp_seconds)" -gt $(( $(date +%s) - 30 )) ] \
	|| fail "checkpoint metrics: $(curl -fsS "$URL/metrics" | grep checkpoint)"
N=$(OWNER "select count(*) from audit_checkpoints")
sleep 2.5
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "a checkpoint while the head did not move"
OUT=$(verify --checkpoint-cert "$T/ca/int.pem") || fail "audit-verify: $OUT"
HEAD_TS=$(OWNER "select to_char(ts at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from audit_log where id = $HEAD")
grep -q "^audit chain intact: $HEAD rows; $N checkpoints verified under the checkpoint certificate, the last at row $HEAD of $HEAD_TS (0 rows after it" <<<"$OUT" \
	|| fail "audit-verify with the certificate (the newest checkpointed row and its time $HEAD_TS): $OUT"
# a role that may not read the log gets no verdict: exit 2 and the server's refusal, not "BROKEN"
OWNER "create role hsmca_noread login; grant select on schema_version to hsmca_noread" >/dev/null
expect_rc 2 "$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" hsmca_noread)" --checkpoint-cert "$T/ca/int.pem"
grep -q "cannot check the audit log.*permission denied" <<<"$OUT" && ! grep -q BROKEN <<<"$OUT" \
	|| fail "audit-verify as a role without SELECT on audit_log: $OUT"
expect_rc 2 "$FRONTEND" audit-verify --conninfo "host=$T/nowhere port=1 dbname=x user=y"
OWNER "revoke all on schema_version from hsmca_noread; drop role hsmca_noread" >/dev/null
OUT=$(verify) || fail "audit-verify without a certificate: $OUT"
grep -q "checkpoints match the chain (signatures not checked" <<<"$OUT" || fail "audit-verify without a certificate: $OUT"
# the signature as schema 007 documents it, checked by openssl
openssl_verifies "$T/ca/int.pem" int
# under another key the signatures do not verify
expect_rc 1 verify --checkpoint-cert "$T/ca/root.pem"
grep -q "BROKEN at row [0-9]*: .*checkpoint 1: the signature does not verify under the checkpoint certificate" <<<"$OUT" \
	|| fail "audit-verify under the root's key: $OUT"
# when not one checkpoint verifies, the report says a wrong certificate looks the same (an operator's slip)
grep -q "^note: none of the [0-9]* checkpoints verifies under the certificate given: if that is not checkpoint_key's certificate" <<<"$OUT" \
	|| fail "audit-verify under the root's key does not say the certificate may be the wrong one: $OUT"
# append-only for the frontend's role
expect_rc 1 pg_psql "$T/pg" frontend -c "update audit_checkpoints set audit_id = 1"
expect_rc 1 pg_psql "$T/pg" frontend -c "delete from audit_checkpoints"
expect_rc 1 pg_psql "$T/pg" frontend -c "truncate audit_checkpoints"
# and it can add only a checkpoint of an existing row with that row's hash (010): one past the end (which
# audit-verify took for rows cut off, and the checkpoint thread for tampering) or with another hash is refused
fake_ckpt() { # ROLE AUDIT_ID HASH_HEX [SQL before]: inserts a checkpoint with a signature no HSM made
	pg_psql "$T/pg" "$1" -c "${4:-} insert into audit_checkpoints (audit_id, head_hash, key_label, signature)
		values ($2, decode('$3', 'hex'), 'int', '\\x0102030405060708')"
}
expect_rc 1 fake_ckpt frontend 999999 "$(printf '00%.0s' $(seq 32))"
grep -q 'audit_log row 999999 does not exist or does not hold that hash' <<<"$OUT" || fail "a checkpoint past the end: $OUT"
expect_rc 1 fake_ckpt frontend "$HEAD" "$(printf '00%.0s' $(seq 32))"
grep -q "audit_log row $HEAD does not exist or does not hold that hash" <<<"$OUT" || fail "a checkpoint with another hash: $OUT"
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "a checkpoint the database should have refused was stored"
# the owner's own statements meet the triggers (HS002) unless it turns them off
expect_rc 1 OWNER "update audit_checkpoints set audit_id = 1"
grep -q 'audit_checkpoints is append-only: UPDATE refused' <<<"$OUT" || fail "the owner's UPDATE: $OUT"
expect_rc 1 OWNER "delete from audit_checkpoints"
grep -q 'append-only: DELETE refused' <<<"$OUT" || fail "the owner's DELETE: $OUT"
pass "the head is signed through the HSM once it moves (logged with its hash, /metrics names its row), not again while it stands; audit-verify checks the signatures (and names the newest checkpointed row's time; a role that cannot read the log gets exit 2, not BROKEN) (openssl agrees) and refuses another key's certificate; the frontend's role cannot change checkpoints, the owner's statements meet the append-only triggers"

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
wait_logged 'event=audit_checkpoint_resumed' || fail "resumption not logged"
[ "$(metric hsmca_audit_checkpoint_failures_total)" -ge 2 ] && [ "$(metric hsmca_audit_checkpoint_row)" = "$(OWNER "select last_id from audit_chain_head")" ] \
	|| fail "checkpoint metrics after the outage: $(curl -fsS "$URL/metrics" | grep checkpoint)"
pass "without a signer the failure is logged once (and counted in /metrics) and the head waits; when the signer is back the head is checkpointed"

# ---- the owner rewrites the last row while the frontend runs: nothing more is signed, and it says so ----
wait_covered "before the rewrite"
HEAD=$(OWNER "select last_id from audit_chain_head")
HEX=$(OWNER "select encode(last_hash, 'hex') from audit_chain_head")
FIRST=$(grep -m1 -o 'event=audit_checkpoint audit_id=[0-9]* head=[0-9a-f]*' "$T/frontend.log" | sed 's/.*audit_id=\([0-9]*\) head=/\1:/')
N=$(OWNER "select count(*) from audit_checkpoints")
rewrite_last() {
	OWNER "set session_replication_role = replica;
		update audit_log set actor = 'mallory',
			row_hash = sha256(audit_canonical(id, ts, 'mallory', action, object, details::text, prev_hash)) where id = $1;
		update audit_chain_head set last_hash = (select row_hash from audit_log where id = $1) where singleton" > /dev/null
}
rewrite_last "$HEAD"
for _ in $(seq 50); do grep -q 'event=audit_log_tampered' "$T/frontend.log" && break; sleep 0.1; done
grep -q "level=error event=audit_log_tampered why=\"row $HEAD no longer has the hash that was signed\"" "$T/frontend.log" \
	|| fail "the rewrite was not noticed: $(grep -E 'tamper|checkpoint_failed' "$T/frontend.log" | tail -3)"
[ "$(metric hsmca_audit_log_tampered)" = 1 ] || fail "hsmca_audit_log_tampered: $(metric hsmca_audit_log_tampered)"
csr two ec:P-256 "DNS:two.example.com"
issue_req "$T/two.csr" server "${AUTH[@]}" # issuance goes on; the rows after it do not extend the signed head
[ "$STATUS" = 201 ] || fail "issue after the rewrite: $STATUS $BODY"
sleep 2.5
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "a checkpoint was signed over the rewritten log"
grep -q "event=audit_log_tampered why=\"the rows since the checkpoint of row $HEAD do not extend it" "$T/frontend.log" \
	|| fail "the rows after the rewrite: $(grep tamper "$T/frontend.log" | tail -2)"
pass "a last row rewritten consistently under a running frontend: nothing more is signed, audit_log_tampered is logged and hsmca_audit_log_tampered is 1"

# ---- and audit-verify names it; a restarted frontend does not sign over it either ----
fe_kill
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*checkpoint [0-9]*: the row's hash is not the one signed (the log was rewritten)" <<<"$OUT" \
	|| fail "a rewritten last row: $OUT"
lines=$(wc -l < "$T/frontend.log")
fe_start $'checkpoint_key = int\ncheckpoint_seconds = 1'
for _ in $(seq 50); do tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=audit_log_tampered' && break; sleep 0.1; done
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=audit_log_tampered why=\"the rows since the checkpoint of row $HEAD do not extend it" \
	|| fail "the restarted frontend: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'tamper|checkpoint')"
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "the restarted frontend signed over the rewritten log"
fe_kill
# nor one started under a flood of checkpoints stored after the rewrite: 40 of key int for row $HEAD with its
# new hash (010 lets the frontend's role store them), none verifying. A start looked at the newest 32 only,
# took none, walked the chain from row 0 and signed the rewritten head; it now pages down to the genuine one
JUNK=$(OWNER "select encode(row_hash, 'hex') from audit_log where id = $HEAD")
pg_psql "$T/pg" frontend -c "insert into audit_checkpoints (audit_id, head_hash, key_label, signature)
	select $HEAD, decode('$JUNK', 'hex'), 'int', '\\x0102030405060708' from generate_series(1, 40)" > /dev/null || fail "the junk checkpoints"
N=$(OWNER "select count(*) from audit_checkpoints")
lines=$(wc -l < "$T/frontend.log")
fe_start $'checkpoint_key = int\ncheckpoint_seconds = 1'
for _ in $(seq 50); do tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=audit_log_tampered' && break; sleep 0.1; done
sleep 1.5
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=audit_log_tampered why=\"the rows since the checkpoint of row $HEAD do not extend it" \
	|| fail "a start under 40 forged checkpoints: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'tamper|checkpoint' | tail -5)"
[ "$(OWNER "select count(*) from audit_checkpoints")" = "$N" ] || fail "a start under 40 forged checkpoints signed over the rewritten log"
[ "$(tail -n +$((lines + 1)) "$T/frontend.log" | grep -c 'event=audit_checkpoint_forged checkpoint=')" = 16 ] \
	&& tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=audit_checkpoint_forged count=24 ' \
	|| fail "the forged checkpoints' log lines: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -c forged)"
fe_kill
pass "audit-verify names the rewritten row's checkpoint; a restarted frontend takes the stored checkpoint and signs nothing over the rewrite, also under 40 forged checkpoints stored after it (16 named, the rest counted)"

# ---- rows cut off the end, then the checkpoints deleted too: the logged head is the proof ----
OWNER "set session_replication_role = replica; delete from audit_log where id >= $HEAD;
	update audit_chain_head set last_id = $((HEAD - 1)), last_hash = (select row_hash from audit_log where id = $((HEAD - 1))) where singleton" > /dev/null
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*checkpoint [0-9]*: the row is gone (rows were cut off the log)" <<<"$OUT" || fail "a row cut off: $OUT"
OWNER "set session_replication_role = replica; delete from audit_checkpoints" > /dev/null
OUT=$(verify) || fail "the cut chain alone: $OUT"
grep -q '^audit chain intact' <<<"$OUT" || fail "the cut chain alone: $OUT" # what the hash chain alone cannot see
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "NOT PROVEN: .* no checkpoint to check under the certificate" <<<"$OUT" || fail "no checkpoints with a certificate: $OUT"
expect_rc 1 verify --expect "$HEAD:$HEX"
grep -q "BROKEN at row $HEAD: .*the expected row is gone" <<<"$OUT" || fail "--expect a cut row: $OUT"
OUT=$(verify --expect "$FIRST") || fail "--expect the first logged head ($FIRST): $OUT"
grep -q "row ${FIRST%%:*} has the expected hash" <<<"$OUT" || fail "--expect the first logged head: $OUT"
expect_rc 1 verify --expect "${FIRST%%:*}:$(printf '0%.0s' $(seq 64))"
grep -q "its hash is not the expected one" <<<"$OUT" || fail "--expect a wrong hash: $OUT"
for bad in "${FIRST%%:*}" "0:${FIRST#*:}" "${FIRST}0" "${FIRST%?}g" "x:${FIRST#*:}"; do
	expect_rc 2 verify --expect "$bad"
	grep -q -- "--expect wants ROW:HEX" <<<"$OUT" || fail "--expect $bad: $OUT"
done
pass "rows cut off after a checkpoint are named; with the checkpoints deleted as well the chain alone verifies, audit-verify --checkpoint-cert refuses to call it proven, and --expect with a logged head names the cut"

# ---- a dedicated checkpoint key (hsmca-ceremony checkpoint) after checkpoints of the issuing CA's key: an
# upgraded appliance (quickstart moved its existing homes from hsmca-intermediate to hsmca-checkpoint) ----
lines=$(wc -l < "$T/frontend.log")
fe_start $'checkpoint_key = int\ncheckpoint_seconds = 1'
issue_covered four
NINT=$(OWNER "select count(*) from audit_checkpoints where key_label = 'int'")
[ "$NINT" -ge 1 ] || fail "no checkpoint of the CA key"
fe_kill
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
ceremony_ca checkpoint ckpt p256 root
OUT=$("$SIGNER" check-config -c "$T/signer.conf") || fail "check-config: $OUT"
grep -q 'warning: key int signs audit checkpoints as well as certificates, CRLs or OCSP responses (a dedicated key: hsmca-ceremony checkpoint)' <<<"$OUT" \
	|| fail "no advice about the shared key: $OUT"
sed -i 's/^operations = cert, crl, checkpoint$/operations = cert, crl/' "$T/signer.conf"
signer_key ckpt root checkpoint
OUT=$("$SIGNER" check-config -c "$T/signer.conf") || fail "check-config: $OUT"
! grep -q 'checkpoint_key_shared\|signs audit checkpoints as well' <<<"$OUT" || fail "advice about dedicated keys: $OUT"
slines=$(wc -l < "$T/signer.log")
rm -f "$T/run/control.sock"
signer_start
signer_unseal alice bob carol
! tail -n +$((slines + 1)) "$T/signer.log" | grepq 'checkpoint_key_shared' || fail "the signer warned about a dedicated key"
# a certificate of another key (not a CA): every signature is refused before it is stored
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" -out "$T/other.pem" -subj /CN=other \
	-addext keyUsage=critical,digitalSignature -addext basicConstraints=critical,CA:FALSE 2>/dev/null || fail "openssl req"
fe_start $'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/other.pem"
for _ in $(seq 50); do tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=audit_checkpoint_failed' && break; sleep 0.1; done
tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=audit_checkpoint_failed why="the signature of key ckpt does not verify under its certificate"' \
	|| fail "a checkpoint_cert of another key: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep checkpoint)"
[ "$(OWNER "select count(*) from audit_checkpoints where key_label = 'ckpt'")" = 0 ] || fail "a checkpoint stored that its certificate does not verify"
fe_kill
# the key's own certificate: the CA key's checkpoints stay, the new key's follow without a tampering alarm
lines=$(wc -l < "$T/frontend.log")
fe_start $'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/ca/ckpt.pem"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=audit_checkpoints_on key=ckpt certificate=$T/ca/ckpt.pem every=1" \
	|| fail "start-up does not name the checkpoint certificate: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep checkpoint)"
issue_covered five
HEAD=$(OWNER "select last_id from audit_chain_head")
[ "$(OWNER "select key_label from audit_checkpoints where audit_id = $HEAD")" = ckpt ] || fail "key_label: $(OWNER "select key_label from audit_checkpoints")"
! tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'audit_log_tampered' \
	|| fail "the key change was taken for tampering: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep tamper)"
[ "$(metric hsmca_audit_log_tampered)" = 0 ] || fail "hsmca_audit_log_tampered after the key change"
NALL=$(OWNER "select count(*) from audit_checkpoints")
OUT=$(verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem") || fail "audit-verify under both certificates: $OUT"
grep -q "^audit chain intact: $HEAD rows; $NALL checkpoints verified under the checkpoint certificates" <<<"$OUT" || fail "audit-verify: $OUT"
expect_rc 1 verify --checkpoint-cert "$T/ca/ckpt.pem"
grep -q "BROKEN at row [0-9]*: .*the signature does not verify under the checkpoint certificate" <<<"$OUT" || fail "the CA key's checkpoints under the new certificate alone: $OUT"
# LABEL=PEM ties a certificate to its key's checkpoints: swapped, or one missing, is named
OUT=$(verify --checkpoint-cert "ckpt=$T/ca/ckpt.pem" --checkpoint-cert "int=$T/ca/int.pem") || fail "audit-verify with labels: $OUT"
grep -q "^audit chain intact: $HEAD rows; $NALL checkpoints verified" <<<"$OUT" || fail "audit-verify with labels: $OUT"
expect_rc 1 verify --checkpoint-cert "ckpt=$T/ca/int.pem" --checkpoint-cert "int=$T/ca/ckpt.pem"
grep -q "BROKEN at row [0-9]*: .*the signature does not verify under the checkpoint certificate" <<<"$OUT" || fail "labels swapped: $OUT"
expect_rc 1 verify --checkpoint-cert "ckpt=$T/ca/ckpt.pem"
grep -q "BROKEN at row [0-9]*: .*no checkpoint certificate was given for its key int" <<<"$OUT" || fail "the CA key's label missing: $OUT"
# any label the signer takes (printable, no space) is a label, not part of a path: before, "in:t=PEM" was read
# as a file of that name and the run stopped with exit 2 instead of naming the checkpoints of int
expect_rc 1 verify --checkpoint-cert "ckpt=$T/ca/ckpt.pem" --checkpoint-cert "in:t=$T/ca/int.pem"
grep -q "BROKEN at row [0-9]*: .*no checkpoint certificate was given for its key int" <<<"$OUT" || fail "a label with a colon: $OUT"
expect_rc 2 verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem" --checkpoint-cert "$T/ca/root.pem" \
	--checkpoint-cert "$T/other.pem" --checkpoint-cert "$T/ke.pem"
HEX=$(OWNER "select encode(last_hash, 'hex') from audit_chain_head")
openssl_verifies "$T/ca/ckpt.pem" ckpt
openssl verify -x509_strict -CAfile "$T/ca/root.pem" "$T/ca/ckpt.pem" > /dev/null || fail "the checkpoint certificate does not chain to the root"
pass "a dedicated checkpoint key after the CA key's checkpoints: the signer advises against sharing a CA key, another key's certificate is refused before anything is stored, the new key signs from where the old one stopped without a tampering alarm, audit-verify takes both certificates (the new one alone names the old checkpoints), openssl agrees"
# ---- checkpoint_anchor_file: the newest checkpoint signed, kept outside the database. An owner who deletes the
# newest checkpoints with the rows after an older one (triggers off) and puts the head back leaves checkpoints
# that all hold: a restarted frontend went on from the older one and signed over the cut ----
fe_kill
fe_conf $'checkpoint_anchor_file = '"$T/anchor/anchor"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'checkpoint_anchor_file without checkpoint_key' <<<"$OUT" || fail "checkpoint_anchor_file alone: $OUT"
install -d -o "$FE_USER" -m 700 "$T/anchor"
ANCHOR_CONF=$'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/ca/ckpt.pem"$'\ncheckpoint_anchor_file = '"$T/anchor/anchor"
lines=$(wc -l < "$T/frontend.log")
fe_start "$ANCHOR_CONF"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=audit_anchor_none file=$T/anchor/anchor" || fail "no anchor yet: not logged"
anchored() { # anchored ROW: the anchor file holds ROW, its hash and the key
	local want; want="$1:$(OWNER "select encode(row_hash, 'hex') from audit_log where id = $1") ckpt"
	for _ in $(seq 50); do [ "$(cat "$T/anchor/anchor" 2>/dev/null)" = "$want" ] && return 0; sleep 0.1; done
	fail "the anchor is not $want: $(cat "$T/anchor/anchor" 2>&1)"
}
issue_covered anchor1
R1=$(OWNER "select last_id from audit_chain_head")
anchored "$R1"
issue_covered anchor2
R2=$(OWNER "select last_id from audit_chain_head")
anchored "$R2"
[ "$(stat -c '%a %U' "$T/anchor/anchor")" = "600 $FE_USER" ] || fail "the anchor file: $(stat -c '%a %U' "$T/anchor/anchor")"
OUT=$(verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem" --anchor "$T/anchor/anchor") \
	|| fail "audit-verify --anchor on an intact log: $OUT"
grep -q "row $R2 has the expected hash" <<<"$OUT" || fail "audit-verify --anchor: $OUT"
fe_kill
# the owner's cut back to the checkpoint of R1
OWNER "set session_replication_role = replica; delete from audit_checkpoints where audit_id > $R1;
	delete from audit_log where id > $R1;
	update audit_chain_head set last_id = $R1, last_hash = (select row_hash from audit_log where id = $R1) where singleton" > /dev/null
OUT=$(verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem") \
	|| fail "the cut log under the certificates: $OUT" # what the stored checkpoints alone cannot see
expect_rc 1 verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem" --anchor "$T/anchor/anchor"
grep -q "BROKEN at row $R2: .*the expected row is gone" <<<"$OUT" || fail "audit-verify --anchor on the cut log: $OUT"
expect_rc 2 verify --anchor "$T/anchor/anchor" --expect "$R1:$(printf '0%.0s' $(seq 64))"
expect_rc 2 verify --anchor "$T/anchor/nosuch"
# a frontend starting from its anchor names the cut and signs nothing over it
lines=$(wc -l < "$T/frontend.log")
fe_start "$ANCHOR_CONF"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=audit_anchor audit_id=$R2 " || fail "the anchor read at start is not logged"
for _ in $(seq 100); do [ "$(metric hsmca_audit_log_tampered)" = 1 ] && break; sleep 0.1; done
[ "$(metric hsmca_audit_log_tampered)" = 1 ] || fail "the cut under the anchor: not tampering: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'checkpoint|tamper|anchor')"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "level=error event=audit_log_tampered why=\"the newest stored checkpoint of this key covers row $R1, row $R2 was signed (by this process, or as checkpoint_anchor_file records): checkpoints were deleted\"" \
	|| fail "audit_log_tampered does not name the cut: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'tamper')"
csr anchor3 ec:P-256 "DNS:anchor3.example.com"
issue_req "$T/anchor3.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "issue anchor3: $STATUS $BODY"
sleep 2.5
[ "$(OWNER "select count(*) from audit_checkpoints where audit_id > $R1")" = 0 ] || fail "a checkpoint was signed over the cut"
fe_kill
# an anchor that cannot be read stops the start; one of another key is logged and not used
printf 'garbage\n' > "$T/anchor/bad"
fe_conf "${ANCHOR_CONF/anchor\/anchor/anchor/bad}"
grep -q "^checkpoint_anchor_file = $T/anchor/bad$" "$T/frontend.conf" || fail "the config with the bad anchor"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "checkpoint_anchor_file $T/anchor/bad: not ROW:HEX LABEL" <<<"$OUT" || fail "a malformed anchor: $OUT"
pass "checkpoint_anchor_file holds the newest checkpoint signed (mode 600); after an owner cut the log back to an older checkpoint (which still verifies), audit-verify --anchor names the cut row and a frontend starting from the anchor logs audit_log_tampered and signs nothing over it; a malformed anchor stops the start"
# without the anchor (as before) a restarted frontend goes on from the older checkpoint: the later sections
fe_start $'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/ca/ckpt.pem"
# the frontend's role appends an audit row and stores a checkpoint of the key for that new head, with a
# signature no HSM made (010 lets it: the row and its hash exist). A frontend starting then took the newest
# stored checkpoint for tampering and signed no checkpoint again, ever; now it names it as forged once,
# passes over it, takes the newest one that verifies, and checkpoints the head itself
fe_kill
pg_psql "$T/pg" frontend -c "insert into audit_log (actor, action, object, details) values ('mallory', 'test.append', 'x', '{}')" > /dev/null \
	|| fail "an audit row appended by the frontend's role"
HEAD=$(OWNER "select last_id from audit_chain_head")
pg_psql "$T/pg" frontend -c "insert into audit_checkpoints (audit_id, head_hash, key_label, signature)
	values ($HEAD, (select last_hash from audit_chain_head), 'ckpt', '\\x0102030405060708')" > /dev/null || fail "the forged checkpoint"
lines=$(wc -l < "$T/frontend.log")
fe_start $'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/ca/ckpt.pem"
for _ in $(seq 100); do [ "$(OWNER "select count(*) from audit_checkpoints where key_label = 'ckpt' and audit_id = $HEAD")" = 2 ] && break; sleep 0.1; done
[ "$(OWNER "select count(*) from audit_checkpoints where key_label = 'ckpt' and audit_id = $HEAD")" = 2 ] \
	|| fail "the head was not checkpointed past the forged one: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'checkpoint|tamper')"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "level=error event=audit_checkpoint_forged checkpoint=[0-9]* audit_id=$HEAD why=" \
	|| fail "the forged checkpoint was not named: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'checkpoint|tamper')"
issue_covered six
[ "$(tail -n +$((lines + 1)) "$T/frontend.log" | grep -c 'event=audit_checkpoint_forged')" = 1 ] || fail "named more than once"
[ "$(metric hsmca_audit_log_tampered)" = 0 ] || fail "a forged checkpoint stopped the checkpoints: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep tamper)"
expect_rc 1 verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*the signature does not verify under any of the checkpoint certificates (a forged or damaged checkpoint)" <<<"$OUT" \
	|| fail "audit-verify and the forged checkpoint: $OUT"
OWNER "set session_replication_role = replica; delete from audit_checkpoints where key_label = 'ckpt' and signature = '\\x0102030405060708'" > /dev/null
pass "a checkpoint the frontend's role forged for a new head: a starting frontend names it once as forged, passes over it and checkpoints the head itself, and goes on; audit-verify names it"
# a checkpoint whose signature does not verify is named as forged, whatever row it names: one the owner slips
# in past the end (triggers off) was reported as rows cut off the log
fe_kill
fake_ckpt owner 999999 "$(printf '00%.0s' $(seq 32))" "set session_replication_role = replica;"
expect_rc 1 verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row 999999: .*the signature does not verify under any of the checkpoint certificates (a forged or damaged checkpoint)" <<<"$OUT" \
	|| fail "a forged checkpoint past the end: $OUT"
pass "the frontend's role can store only checkpoints of existing rows with their hashes; audit-verify calls one whose signature does not verify forged, not cut rows"
# audit-verify goes on past a forged checkpoint: the checkpoints after it are still checked, and every forged
# one is counted (it stopped at the first and said nothing of the rest)
R=$(OWNER "select max(id) from audit_log")
fake_ckpt frontend "$R" "$(OWNER "select encode(row_hash, 'hex') from audit_log where id = $R")"
expect_rc 1 verify --checkpoint-cert "$T/ca/ckpt.pem" --checkpoint-cert "$T/ca/int.pem"
grep -q "BROKEN at row 999999: .*(a forged or damaged checkpoint); and 1 more checkpoint whose signature does not verify (every other checkpoint was checked)" <<<"$OUT" \
	|| fail "two forged checkpoints: $OUT"
pass "audit-verify checks every checkpoint past a forged one and counts the forged ones (2 here)"
# a checkpoint under a label no certificate was given for (the frontend's role can store one under any label)
# is counted like a forged one and the walk goes on: a later checkpoint that shows the owner rewrote the log is
# still checked, and named. Before, the walk stopped at the first and named only it
OWNER "set session_replication_role = replica; delete from audit_checkpoints where signature = '\\x0102030405060708'" > /dev/null
R=$(OWNER "select max(id) from audit_log")
pg_psql "$T/pg" frontend -c "insert into audit_checkpoints (audit_id, head_hash, key_label, signature)
	values ($R, (select row_hash from audit_log where id = $R), 'zz', '\\x0102030405060708')" > /dev/null || fail "the zz checkpoint"
fe_start $'checkpoint_key = ckpt\ncheckpoint_seconds = 1\ncheckpoint_cert = '"$T/ca/ckpt.pem"
issue_covered seven
HEAD=$(OWNER "select last_id from audit_chain_head")
fe_kill
expect_rc 1 verify --checkpoint-cert "ckpt=$T/ca/ckpt.pem" --checkpoint-cert "int=$T/ca/int.pem"
grep -q "BROKEN at row $R: .*no checkpoint certificate was given for its key zz" <<<"$OUT" || fail "the zz checkpoint alone: $OUT"
rewrite_last "$HEAD"
expect_rc 1 verify --checkpoint-cert "ckpt=$T/ca/ckpt.pem" --checkpoint-cert "int=$T/ca/int.pem"
grep -q "BROKEN at row $HEAD: .*the row's hash is not the one signed (the log was rewritten)" <<<"$OUT" \
	|| fail "the rewrite behind the zz checkpoint: $OUT"
pass "audit-verify goes on past a checkpoint whose key no certificate was given for, and names the rewrite a later checkpoint shows"
# last: the whole log wiped, its head reset: not proven with a certificate (it printed "intact: 0 rows" and exited 0)
OWNER "set session_replication_role = replica; delete from audit_log; delete from audit_checkpoints;
	update audit_chain_head set last_id = 0, last_hash = '\\x$(printf '0%.0s' $(seq 64))' where singleton" > /dev/null
expect_rc 1 verify --checkpoint-cert "$T/ca/int.pem"
grep -q "NOT PROVEN: 0 rows and no checkpoint to check under the certificate" <<<"$OUT" || fail "a wiped log with a certificate: $OUT"
pass "a log wiped whole (rows, checkpoints, the head reset) is NOT PROVEN under a checkpoint certificate"
