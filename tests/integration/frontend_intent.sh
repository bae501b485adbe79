#!/usr/bin/env bash
# Intent MACs (schema 013, frontend/intent.h): a TBS stored in the database is signed (by the recovery pass, or
# after an approval) only if the frontend itself wrote it. Rows written by anyone else who can write the
# database (the hsmca_frontend role, the owner) are failed and the signer is never asked; a row from before
# 013 (no MAC) is signed as before; nobody can change a stored MAC. Release MACs (schema 014): a request that
# needed an approval is signed only if the frontend released it (section 7).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
# the database starts at schema 012, with rows an older frontend left; 013 comes later (section 0)
mkdir -p "$T/schema12"
cp "$(dirname "$0")"/../../schema/0{01,02,03,04,05,06,07,08,09,10,11,12}_*.sql "$T/schema12/"
FE_SCHEMA=$T/schema12 fe_setup_backend
[ "$(pg_psql "$T/pg" owner -c "select max(version) from schema_version")" = 12 ] || fail "not at schema 12"
fe_profiles
fe_profile_gated
CI="$(pg_conninfo "$T/pg" frontend)"
printf 'admin password 0001\n' > "$T/admin.pw"
printf 'alice password 0002\n' > "$T/alice.pw"
ALICE=(-u "alice:$(cat "$T/alice.pw")")
ADMIN=(-u "ops-admin:$(cat "$T/admin.pw")")

owner() { pg_psql "$T/pg" owner -c "$1"; }
expect_sql_error() { # ROLE SQL PATTERN
	local out
	if out=$(pg_psql "$T/pg" "$1" -c "$2" 2>&1); then fail "as $1, '$2' succeeded: $out"; fi
	grep -q -- "$3" <<< "$out" || fail "as $1, '$2' failed differently: $out"
}
# insert_intent STATUS SERIAL ISSUER TBS_HEX MAC_SQL: a certificate row as the frontend's role writes it by hand
insert_intent() {
	pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
		requester, tbs, status, intent_mac) VALUES ('$2', '$3', 'CN=forged', now(), now() + interval '1 day', 'server',
		'alice', '\\x$4', '$1', $5)" >/dev/null || fail "insert $2"
}
# wait_status SERIAL STATUS: up to 10 s
wait_status() {
	for _ in $(seq 100); do
		[ "$(owner "select status from certificates where serial_hex = '$1'")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 is $(owner "select status || ' ' || coalesce(failure_reason, '') from certificates where serial_hex = '$1'"), not $2"
}
signed_times() { grep -c "event=signed .*tbs_sha256=$1" "$T"/signer*.log || true; } # TBS_SHA256_HEX

# ---- 0. an upgrade: the pending and held rows an older frontend left have no MAC and are signed as before ----
# (under a key label the signer lacks, so "sent to the signer" shows as a deferral; no intent_mac column yet)
LP=$(openssl rand -hex 16); LH=$(openssl rand -hex 16); LX=$(openssl rand -hex 16)
old_row() { # SERIAL STATUS TBS_HEX
	pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
		requester, tbs, status) VALUES ('$1', 'nokey', 'CN=old', now(), now() + interval '1 day', 'gated', 'alice',
		'\\x$3', '$2')" >/dev/null || fail "row $1 at schema 12"
}
old_row "$LP" pending 3000
old_row "$LH" held 3001
old_row "$LX" pending 3002
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$LH', 'alice', now() + interval '1 hour')" >/dev/null || fail "approval of $LH"
# and one an older frontend released after its approval (pending, with an approval row): 014 lists it
LR=$(openssl rand -hex 16)
old_row "$LR" pending 3005
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$LR', 'alice', now() + interval '1 hour')" >/dev/null || fail "approval of $LR"
# a session of the database role opened before the migration (its transaction's now() is older than 013)
# inserts a row without a MAC after it: not one 013 found, so never signed
LE=$(openssl rand -hex 16)
{ echo "BEGIN; SELECT now();"; sleep 4
  echo "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs)
	VALUES ('$LE', 'nokey', 'CN=early', now(), now() + interval '1 day', 'gated', 'alice', '\\x3003'); COMMIT;"
} | pg_psql "$T/pg" frontend > "$T/early.log" 2>&1 &
EARLY=$!
# its transaction is open once it sits idle after SELECT now() (a fixed 1 s could pass before it got there)
opened() { [ "$(owner "select count(*) from pg_stat_activity where state = 'idle in transaction' and query like 'SELECT now()%'")" = 1 ]; }
for _ in $(seq 200); do opened && break; sleep 0.02; done
opened || fail "the early session did not open its transaction"
"$FRONTEND" migrate --conninfo "$(pg_conninfo "$T/pg" owner)" > "$T/migrate13.log" 2>&1 || fail "migrate 13: $(cat "$T/migrate13.log")"
[ "$(owner "select string_agg(serial_hex, ',' order by serial_hex) from legacy_intents")" = \
  "$(printf '%s\n' "$LP" "$LH" "$LX" "$LR" | sort | paste -sd,)" ] || fail "legacy_intents: $(owner "select * from legacy_intents")"
[ "$(owner "select string_agg(serial_hex, ',') from legacy_releases")" = "$LR" ] \
	|| fail "legacy_releases: $(owner "select * from legacy_releases")"
wait "$EARLY" || fail "the early session: $(cat "$T/early.log")"
"$FRONTEND" bootstrap-admin --conninfo "$CI" --intent-key-file "$T/intent.key" --name ops-admin --password-file "$T/admin.pw" >/dev/null || fail "bootstrap"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" >/dev/null || fail "alice"
[ "$(owner "select created_at < (select applied_at from schema_version where version = 13) from certificates where serial_hex = '$LE'")" = t ] \
	|| fail "the early session's row is not dated before 013"
# a legacy row whose TBS was changed since (by the owner, with the guard off) is not the row 013 found
owner "ALTER TABLE certificates DISABLE TRIGGER certificates_guard;
	UPDATE certificates SET tbs = '\\x3004' WHERE serial_hex = '$LX';
	ALTER TABLE certificates ENABLE TRIGGER certificates_guard" >/dev/null
# the list is frozen: the database role cannot write it, the owner's writes are refused
expect_sql_error frontend "INSERT INTO legacy_intents VALUES ('$LE', sha256('\\x3003'::bytea))" "permission denied"
expect_sql_error owner "INSERT INTO legacy_intents VALUES ('$LE', sha256('\\x3003'::bytea))" "written by migration 013 only"
expect_sql_error owner "DELETE FROM legacy_intents" "written by migration 013 only"
expect_sql_error owner "TRUNCATE legacy_intents" "written by migration 013 only"
expect_sql_error frontend "INSERT INTO legacy_releases VALUES ('$LE')" "permission denied"
expect_sql_error owner "INSERT INTO legacy_releases VALUES ('$LE')" "written by migration 014 only"
expect_sql_error owner "DELETE FROM legacy_releases" "written by migration 014 only"
expect_sql_error owner "TRUNCATE legacy_releases" "written by migration 014 only"
fe_start "recover_after_seconds = 1"
for _ in $(seq 100); do grep -q "event=recovery_deferred serial=$LP " "$T/frontend.log" && break; sleep 0.1; done
grep -q "event=recovery_deferred serial=$LP " "$T/frontend.log" || fail "the pending row from schema 12 was not sent to the signer"
for _ in $(seq 100); do grep -q "event=recovery_deferred serial=$LR " "$T/frontend.log" && break; sleep 0.1; done
grep -q "event=recovery_deferred serial=$LR " "$T/frontend.log" || fail "the released row from schema 12 was not sent to the signer"
wait_status "$LE" failed
wait_status "$LX" failed
grep -q "event=intent_refused serial=$LE " "$T/frontend.log" && grep -q "event=intent_refused serial=$LX " "$T/frontend.log" \
	|| fail "no intent_refused for $LE or $LX"
AID=$(owner "select id from approvals where object = '$LH'")
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X POST "${ADMIN[@]}" "$URL/api/v1/approvals/$AID/approve")
# the signer's own answer names the key label it lacks: it was asked; an approved row is not failed for a key
# the signer lacks now (503, it stays pending for the recovery pass, frontend_lifecycle)
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = signer-unavailable ] \
	&& grep -q "(no key with this label)" <<<"$(json_field '["error"]["message"]')" \
	|| fail "approving the held row from schema 12: $STATUS $(cat "$T/resp.json")"
[ "$(owner "select status from certificates where serial_hex = '$LH'")" = pending ] \
	|| fail "the held row from schema 12 after the signer's answer: $(owner "select status, failure_reason from certificates where serial_hex = '$LH'")"
grep -q "event=intent_refused serial=$LH" "$T/frontend.log" && fail "the held row from schema 12 was refused"
pass "upgrade to 013 and 014: the pending and held rows they found (no MAC, no release MAC) go to the signer; a row inserted after it by a session opened before it, and a found row whose TBS changed, are failed; legacy_intents and legacy_releases are frozen"

# ---- 1. what the frontend stores: the MAC of intent.h, the same as an independent computation ----
csr one ec:P-256 "DNS:one.example.com"
issue_req "$T/one.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue: $STATUS $(cat "$T/resp.json")"
S1=$(owner "select serial_hex from certificates where status = 'issued' order by id desc limit 1")
TBS1=$(owner "select encode(tbs, 'hex') from certificates where serial_hex = '$S1'")
H1=$(owner "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$S1'")
MAC1=$(owner "select encode(intent_mac, 'hex') from certificates where serial_hex = '$S1'")
[ "$MAC1" = "$(intent_mac_hex "$S1" int "$TBS1")" ] || fail "stored MAC $MAC1 is not the MAC of intent.h"
[ "$(owner "select count(*) from certificates where intent_mac is null and serial_hex not in ('$LP', '$LH', '$LX', '$LE', '$LR')")" = 0 ] \
	|| fail "an intent without a MAC"
[ "$(signed_times "$H1")" = 1 ] || fail "the TBS was signed $(signed_times "$H1") times"
pass "every intent the frontend stores carries HMAC-SHA-256(intent key, serial, issuer, TBS), as computed independently"

# ---- 2. rows the frontend did not write: failed by the recovery pass, never sent to the signer ----
# the TBS of a real certificate (the signer would sign it again: a second certificate with its serial) under
# new serials: without a MAC, with a random one, with the original row's (bound to another serial)
F1=$(openssl rand -hex 16); F2=$(openssl rand -hex 16); F3=$(openssl rand -hex 16)
insert_intent pending "$F1" int "$TBS1" NULL
insert_intent pending "$F2" int "$TBS1" "'\\x$(openssl rand -hex 32)'"
insert_intent pending "$F3" int "$TBS1" "'\\x$MAC1'"
wait_status "$F1" failed; wait_status "$F2" failed; wait_status "$F3" failed
[ "$(owner "select failure_reason from certificates where serial_hex = '$F1'")" = \
  "intent-mac: the stored intent has no MAC (not written by this appliance's frontend)" ] || fail "F1's reason"
for f in "$F2" "$F3"; do
	owner "select failure_reason from certificates where serial_hex = '$f'" | grepq "^intent-mac: the stored intent's MAC does not match" \
		|| fail "$f's reason: $(owner "select failure_reason from certificates where serial_hex = '$f'")"
	grep -q "event=intent_refused serial=$f " "$T/frontend.log" || fail "no intent_refused for $f"
done
[ "$(signed_times "$H1")" = 1 ] || fail "a forged row's TBS went to the signer ($(signed_times "$H1") signatures)"
[ "$(owner "select count(*) from audit_log where object in ('$F1', '$F2', '$F3') and action = 'certificate.failed'")" = 3 ] \
	|| fail "the failures are not audited: $(owner "select action, object from audit_log where object in ('$F1', '$F2', '$F3')")"
# counted for alerting: the two of section 0 and these three
[ "$(curl -fsS "$URL/metrics" | sed -n 's/^hsmca_intents_refused_total //p')" = 5 ] \
	|| fail "/metrics: $(curl -fsS "$URL/metrics" | grep intents_refused)"
[ "$(curl -fsS "$URL/metrics" | sed -n 's/^hsmca_commit_queue_items //p')" = 0 ] \
	|| fail "/metrics: the commit queue of an idle frontend: $(curl -fsS "$URL/metrics" | grep commit_queue)"
pass "pending rows the frontend did not write (no MAC, a random MAC, another row's MAC) are failed with intent-mac, audited, counted in /metrics, and never signed"

# ---- 2b. a renewal's intent (the frontend's MAC) whose certificate is revoked before recovery signs it ----
csr three ec:P-256 "DNS:three.example.com"
issue_req "$T/three.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue three: $STATUS $(cat "$T/resp.json")"
S3=$(json_field '["serial"]')
RN=$(openssl rand -hex 16)
owner "BEGIN; INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs,
	renews_serial, intent_mac) VALUES ('$RN', 'int', 'CN=renewal', now(), now() + interval '1 day', 'server', 'alice',
	'\\x$TBS1', '$S3', '\\x$(intent_mac_hex "$RN" int "$TBS1")');
	$(revoke_sql "$S3"); COMMIT" >/dev/null
wait_status "$RN" failed
[ "$(owner "select failure_reason from certificates where serial_hex = '$RN'")" = "renews $S3, which is revoked now" ] \
	|| fail "$RN's reason: $(owner "select failure_reason from certificates where serial_hex = '$RN'")"
[ "$(signed_times "$H1")" = 1 ] || fail "the renewal's TBS went to the signer"
pass "recovery does not sign a renewal whose certificate was revoked after its intent was committed"

# ---- 3. a stored MAC cannot be changed, by the frontend's role or the owner ----
expect_sql_error frontend "UPDATE certificates SET intent_mac = '\\x$MAC1' WHERE serial_hex = '$F1'" "permission denied"
expect_sql_error owner "UPDATE certificates SET intent_mac = NULL WHERE serial_hex = '$S1'" "only status, der and failure_reason may change"
expect_sql_error frontend "$(printf "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs, intent_mac) VALUES ('%s', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\\\x3000', '\\\\x00')" "$(openssl rand -hex 16)")" "intent_mac_check"
pass "intent_mac: no UPDATE for the frontend's role, certificates_guard refuses the owner's, 32 bytes or none"

# ---- 4. a row with the right MAC is sent to the signer (here under a key label it lacks: it stays pending) ----
G=$(openssl rand -hex 16)
insert_intent pending "$G" nokey 3000 "'\\x$(intent_mac_hex "$G" nokey 3000)'"
for _ in $(seq 100); do grep -q "event=recovery_deferred serial=$G " "$T/frontend.log" && break; sleep 0.1; done
grep -q "event=recovery_deferred serial=$G " "$T/frontend.log" || fail "a row with a good MAC was not sent to the signer"
[ "$(owner "select status from certificates where serial_hex = '$G'")" = pending ] || fail "$G is not pending"
pass "a stored intent whose MAC checks goes to the signer"

# ---- 5. a held row the frontend did not write: an approval fails it instead of signing it ----
HF=$(openssl rand -hex 16)
insert_intent held "$HF" int "$TBS1" NULL
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$HF', 'alice', now() + interval '1 hour')" >/dev/null
AID=$(owner "select id from approvals where object = '$HF'")
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X POST "${ADMIN[@]}" "$URL/api/v1/approvals/$AID/approve")
[ "$STATUS" = 409 ] && [ "$(json_field '["error"]["code"]')" = intent-refused ] && json_field '["error"]["message"]' | grepq '^intent-mac: ' \
	|| fail "approving a forged held row: $STATUS $(cat "$T/resp.json")"
[ "$(owner "select status from certificates where serial_hex = '$HF'")" = failed ] \
	&& owner "select failure_reason from certificates where serial_hex = '$HF'" | grepq '^intent-mac: ' \
	|| fail "the forged held row is not failed with its reason"
[ "$(signed_times "$H1")" = 1 ] || fail "the forged held row's TBS went to the signer"
grep -q "event=intent_refused serial=$HF approved_by=ops-admin" "$T/frontend.log" || fail "no intent_refused for $HF"
# and a held row the frontend wrote is signed after its approval
csr gated ec:P-256 "DNS:gated.example.com"
issue_req "$T/gated.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "held request: $STATUS $(cat "$T/resp.json")"
AID=$(json_field '["approval"]')
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X POST "${ADMIN[@]}" "$URL/api/v1/approvals/$AID/approve")
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve a real held row: $STATUS $(cat "$T/resp.json")"
SG=$(json_field '["serial"]')
pass "an approval signs a held row the frontend wrote, and fails (unsigned) one it did not"

# ---- 7. a held request released in SQL, without the frontend: failed by the recovery pass, never signed ----
# the approval stores the release MAC of intent.h (schema 014), as computed independently
[ "$(owner "select encode(release_mac, 'hex') from certificates where serial_hex = '$SG'")" = "$(release_mac_hex "$SG")" ] \
	|| fail "the release MAC of $SG is not the MAC of intent.h"
[ "$(owner "select string_agg(serial_hex, ',' order by serial_hex) from certificates where release_mac is not null")" = \
  "$(printf '%s\n' "$LH" "$HF" "$SG" | sort | paste -sd,)" ] \
	|| fail "release MACs on rows without an approval through the frontend"
# the database role plays the second administrator: its approval row and held -> pending (the guard's checks
# pass), once with no release MAC and once with the release MAC of another row
held_request() { # NAME: a gated request as alice; sets HS (its serial) and AID (its approval)
	csr "$1" ec:P-256 "DNS:$1.example.com"
	issue_req "$T/$1.csr" gated "${ALICE[@]}"
	[ "$STATUS" = 202 ] || fail "held request $1: $STATUS $(cat "$T/resp.json")"
	HS=$(json_field '["serial"]'); AID=$(json_field '["approval"]')
}
sql_release() { # SERIAL APPROVAL RELEASE_MAC_SQL
	pg_psql "$T/pg" frontend -c "BEGIN;
		UPDATE approvals SET status = 'approved', decided_by = 'ops-admin', decided_at = now() WHERE id = $2;
		INSERT INTO audit_log (actor, action, object, details) VALUES ('ops-admin', 'approval.approved', '$1',
			'{\"approval\": $2}');
		UPDATE certificates SET status = 'pending', release_mac = $3 WHERE serial_hex = '$1'; COMMIT" >/dev/null \
		|| fail "releasing $1 in SQL"
}
held_request flip1; R1=$HS; sql_release "$R1" "$AID" NULL
held_request flip2; R2=$HS; sql_release "$R2" "$AID" "(SELECT release_mac FROM certificates WHERE serial_hex = '$SG')"
wait_status "$R1" failed; wait_status "$R2" failed
owner "select failure_reason from certificates where serial_hex = '$R1'" | grepq "^release-mac: .*has no MAC" \
	|| fail "$R1's reason: $(owner "select failure_reason from certificates where serial_hex = '$R1'")"
owner "select failure_reason from certificates where serial_hex = '$R2'" | grepq "^release-mac: .*does not match" \
	|| fail "$R2's reason: $(owner "select failure_reason from certificates where serial_hex = '$R2'")"
for r in "$R1" "$R2"; do
	grep -q "event=intent_refused serial=$r " "$T/frontend.log" || fail "no intent_refused for $r"
	[ "$(signed_times "$(owner "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$r'")")" = 0 ] \
		|| fail "the TBS of $r, released in SQL, went to the signer"
done
# a request stored held carries the held domain's MAC, so it needs its release whatever the approval rows say:
# the owner deletes its approval row and releases it with the guard off: failed all the same
[ "$(owner "select encode(intent_mac, 'hex') from certificates where serial_hex = '$R1'")" = \
  "$(intent_mac_hex "$R1" int "$(owner "select encode(tbs, 'hex') from certificates where serial_hex = '$R1'")" held)" ] \
	|| fail "the stored MAC of the held request $R1 is not intent.h's held MAC"
held_request flip3; R3=$HS
owner "ALTER TABLE certificates DISABLE TRIGGER certificates_guard; DELETE FROM approvals WHERE id = $AID;
	UPDATE certificates SET status = 'pending' WHERE serial_hex = '$R3';
	ALTER TABLE certificates ENABLE TRIGGER certificates_guard" >/dev/null
wait_status "$R3" failed
owner "select failure_reason from certificates where serial_hex = '$R3'" | grepq "^release-mac: .*has no MAC" \
	|| fail "$R3's reason: $(owner "select failure_reason from certificates where serial_hex = '$R3'")"
# a row with an approval row, stored before the held domain (013's MAC), that 014 did not find released
R4=$(openssl rand -hex 16)
insert_intent held "$R4" int "$TBS1" "'\\x$(intent_mac_hex "$R4" int "$TBS1")'"
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$R4', 'alice', now() + interval '1 hour')" >/dev/null
sql_release "$R4" "$(owner "select id from approvals where object = '$R4'")" NULL
wait_status "$R4" failed
owner "select failure_reason from certificates where serial_hex = '$R4'" | grepq "^release-mac: " \
	|| fail "$R4's reason: $(owner "select failure_reason from certificates where serial_hex = '$R4'")"
[ "$(signed_times "$(owner "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$R3'")")" = 0 ] \
	|| fail "the TBS of $R3 went to the signer"
[ "$(signed_times "$H1")" = 1 ] || fail "the TBS of $R4 (a real certificate's) went to the signer again"
# the column is set once, on held -> pending: not on a row that is not held, not again, not by the owner
expect_sql_error frontend "UPDATE certificates SET release_mac = '\\x$(release_mac_hex "$S1")' WHERE serial_hex = '$S1'" "release_mac is set once"
expect_sql_error owner "UPDATE certificates SET release_mac = NULL WHERE serial_hex = '$SG'" "release_mac is set once"
expect_sql_error frontend "UPDATE certificates SET release_mac = '\\x00' WHERE serial_hex = '$SG'" "release_mac"
pass "a held request released in SQL (approval row and held -> pending by the database role) is failed with release-mac and never signed: with no release MAC, with another row's, with its approval row deleted by the owner (the held MAC), and a pre-014 row with an approval row; release_mac is set once, by the release"

# ---- 6. replacing the key: the new one writes, the old one (intent_key_accept_file) is still accepted ----
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
mv "$T/intent.key" "$T/intent-old.key"
( umask 077 && openssl rand -hex 32 > "$T/intent.key" )
before=$(grep -c "event=recovery_deferred serial=$G " "$T/frontend.log")
fe_start "recover_after_seconds = 1
intent_key_accept_file = $T/intent-old.key"
for _ in $(seq 100); do [ "$(grep -c "event=recovery_deferred serial=$G " "$T/frontend.log")" -gt "$before" ] && break; sleep 0.1; done
[ "$(grep -c "event=recovery_deferred serial=$G " "$T/frontend.log")" -gt "$before" ] || fail "a row of the old key was not sent to the signer"
csr two ec:P-256 "DNS:two.example.com"
issue_req "$T/two.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue under the new key: $STATUS $(cat "$T/resp.json")"
S2=$(json_field '["serial"]')
[ "$(owner "select encode(intent_mac, 'hex') from certificates where serial_hex = '$S2'")" = \
  "$(intent_mac_hex "$S2" int "$(owner "select encode(tbs, 'hex') from certificates where serial_hex = '$S2'")")" ] \
	|| fail "the new intent's MAC is not under the new key"
# once the old key is no longer accepted, its rows are not signed
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
fe_start "recover_after_seconds = 1"
wait_status "$G" failed
pass "key rotation: with the old key as intent_key_accept_file its rows still reach the signer and new intents carry the new key's MAC; without it they are failed"

fe_signed_are_issued
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
pass "every signed TBS is an issued row; audit chain intact"
