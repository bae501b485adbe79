#!/usr/bin/env bash
# The frontend's PostgreSQL layer against a fresh private cluster: migrations (twice, changed file, version
# refusal), certificates, accounts, API keys, the audit log's append-only rules and hash chain (tampering
# named, concurrent writers). Needs root (PostgreSQL runs as the postgres user) and HSMCA_BUILD.
set -euo pipefail

: "${HSMCA_BUILD:?HSMCA_BUILD must point at the build directory}"
HERE=$(cd "$(dirname "$0")" && pwd)
SCHEMA=${HSMCA_SCHEMA_DIR:-$HERE/../../schema}
DBT=$HSMCA_BUILD/tests/integration/db_test
# shellcheck source=pg_lib.sh
. "$HERE/pg_lib.sh"
# a throwaway cluster: durability is not under test here
PG_EXTRA_CONF=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'

T=$(mktemp -d /tmp/hsmca-db.XXXXXX)
chmod 755 "$T"
cleanup() {
	local rc=$?
	pg_stop "$T/pg" || true
	if [ $rc -ne 0 ]; then
		echo "--- test failed (rc=$rc); files in $T" >&2
		tail -n 30 "$T/pg/postgres.log" >&2 2>/dev/null || true
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
owner_sql() { pg_psql "$T/pg" owner -c "$1"; }
# expect_sql_error ROLE SQL PATTERN: the statement must fail with an error matching PATTERN
expect_sql_error() {
	local out
	if out=$(pg_psql "$T/pg" "$1" -c "$2" 2>&1); then fail "as $1, '$2' succeeded: $out"; fi
	grep -q -- "$3" <<< "$out" || fail "as $1, '$2' failed differently: $out"
}

START=$(date +%s)
pg_start "$T/pg" 5432
OWNER=$(pg_conninfo "$T/pg" owner)
FRONT=$(pg_conninfo "$T/pg" frontend)

# ---- migrations ----
# an extension's functions in public (a database that has pgcrypto, as many do) are not the schema's: 026's
# check refused them (functions without settings), so such a database could not migrate
owner_sql "CREATE EXTENSION pgcrypto" >/dev/null
"$DBT" known "$SCHEMA"
"$DBT" open-refused "$OWNER" > /dev/null # not migrated yet
pass "db_open refuses an unmigrated database"
"$DBT" migrate "$OWNER" "$SCHEMA" "$("$DBT" known "$SCHEMA" | awk '{print $4}')"
before=$(owner_sql "SELECT string_agg(version || '@' || applied_at, ',') FROM schema_version")
objects=$(owner_sql "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")
"$DBT" migrate "$OWNER" "$SCHEMA" "$("$DBT" known "$SCHEMA" | awk '{print $4}')"
[ "$(owner_sql "SELECT string_agg(version || '@' || applied_at, ',') FROM schema_version")" = "$before" ] \
	|| fail "the second migration changed schema_version"
[ "$(owner_sql "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = "$objects" ] \
	|| fail "the second migration changed the schema"
pass "migrating twice: the second run is a no-op"
mkdir "$T/changed"
cp "$SCHEMA"/*.sql "$T/changed/"
echo "-- an edit after release" >> "$T/changed/001_init.sql"
"$DBT" migrate-refused "$OWNER" "$T/changed" > /dev/null
pass "an applied migration that changed is refused"
mkdir "$T/newer"
cp "$SCHEMA"/*.sql "$T/newer/"
next=$(printf "%03d" $(( $("$DBT" known "$SCHEMA" | awk "{print \$7}") + 1 )))
echo "CREATE TABLE newer_than_this_build (x int);" > "$T/newer/${next}_newer.sql"
out=$("$DBT" migrate-refused "$OWNER" "$T/newer") || fail "migrate applied a migration this build does not know: $out"
grep -q "this build knows 1\.\.$((10#$next - 1)) .*nothing applied" <<<"$out" || fail "the refusal does not say why: $out"
[ "$(owner_sql "SELECT count(*) FROM schema_version WHERE version = $((10#$next))")" = 0 ] \
	&& [ "$(owner_sql "SELECT to_regclass('newer_than_this_build') IS NULL")" = t ] || fail "the newer migration was applied"
pass "a schema dir with migrations newer than this build is refused before anything is applied"
# one run's migrations are applied together or not at all: a database at 24 whose 026 fails (a function in
# public with no settings) stays at 24 (before: 025 was committed on its own, and the database was left at 25,
# which neither the old frontend nor the new one runs)
owner_sql "CREATE DATABASE hsmca_upgrade" >/dev/null
UPG=$(sed 's/dbname=[^ ]*/dbname=hsmca_upgrade/' <<<"$OWNER")
mkdir "$T/upto24" && for f in "$SCHEMA"/0*.sql; do n=$(basename "$f"); [ "${n%%_*}" -le 024 ] && cp "$f" "$T/upto24/"; done
"$HSMCA_BUILD/frontend/hsmca-frontend" migrate --conninfo "$UPG" --schema "$T/upto24" > "$T/upg.log" 2>&1 || fail "migrating to 24: $(cat "$T/upg.log")"
"$PG_BIN/psql" -X -qAt "$UPG" -c "CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'" >/dev/null
if "$HSMCA_BUILD/frontend/hsmca-frontend" migrate --conninfo "$UPG" --schema "$SCHEMA" > "$T/upg.log" 2>&1; then
	fail "026 applied with a function in public without settings"
fi
grep -q "nothing of this run applied: the database is at version 24 still" "$T/upg.log" || fail "the failed run's message: $(cat "$T/upg.log")"
[ "$("$PG_BIN/psql" -X -qAt "$UPG" -c "SELECT max(version) FROM schema_version")" = 24 ] \
	|| fail "a failed run left the database at $("$PG_BIN/psql" -X -qAt "$UPG" -c "SELECT max(version) FROM schema_version")"
"$PG_BIN/psql" -X -qAt "$UPG" -c "DROP FUNCTION public.planted()" >/dev/null
"$HSMCA_BUILD/frontend/hsmca-frontend" migrate --conninfo "$UPG" --schema "$SCHEMA" > "$T/upg.log" 2>&1 || fail "the upgrade after the fix: $(cat "$T/upg.log")"
[ "$("$PG_BIN/psql" -X -qAt "$UPG" -c "SELECT max(version) FROM schema_version")" = "$("$DBT" known "$SCHEMA" | awk '{print $7}')" ] || fail "the upgrade's version"
owner_sql "DROP DATABASE hsmca_upgrade" >/dev/null
pass "a run of migrations that fails applies none of them (the database keeps its version), and applies all once fixed"
out=$("$DBT" open "$FRONT" 2>&1) || fail "open: $out"
grep -qx "synchronous_commit on" <<<"$out" || fail "the session's synchronous_commit: $out"
grep -q 'event=db_synchronous_commit was=off now=on' <<<"$out" || fail "synchronous_commit = off not logged: $out"
owner_sql "ALTER ROLE hsmca_frontend SET synchronous_commit = remote_apply"
out=$("$DBT" open "$FRONT" 2>&1) || fail "open: $out"
grep -qx "synchronous_commit remote_apply" <<<"$out" && ! grep -q db_synchronous_commit <<<"$out" \
	|| fail "a value other than off was not left alone: $out"
owner_sql "ALTER ROLE hsmca_frontend RESET synchronous_commit"
pass "the frontend's sessions commit synchronously although the server says synchronous_commit = off (logged); another value is left as it is"
# settings that would make every write fail, given to the role for good (a password change does not clear
# them): SERIALIZABLE aborted concurrent audit appends, read-only refused them; pinned, and the role's settings
# logged
grep -qx "default_transaction_isolation read committed" <<<"$out" || fail "the session's isolation: $out"
owner_sql "ALTER ROLE hsmca_frontend SET default_transaction_isolation = serializable"
owner_sql "ALTER ROLE hsmca_frontend SET default_transaction_read_only = on"
owner_sql "ALTER ROLE hsmca_frontend SET lock_timeout = '1ms'"
owner_sql "ALTER ROLE hsmca_frontend SET idle_in_transaction_session_timeout = '1ms'"
out=$("$DBT" open "$FRONT" 2>&1) || fail "open with the role's settings: $out"
for want in "default_transaction_isolation read committed" "default_transaction_read_only off" "lock_timeout 0" \
	"idle_in_transaction_session_timeout 0"; do
	grep -qx "$want" <<<"$out" || fail "not pinned: $want: $out"
done
grep -q 'event=db_role_settings settings="default_transaction_isolation=serializable, default_transaction_read_only=on, lock_timeout=1ms, idle_in_transaction_session_timeout=1ms"' <<<"$out" \
	|| fail "the role's settings are not logged: $out"
owner_sql "ALTER ROLE hsmca_frontend RESET ALL"
out=$("$DBT" open "$FRONT" 2>&1) || fail "open: $out"
! grep -q db_role_settings <<<"$out" || fail "role settings logged with none set: $out"
pass "settings an ALTER ROLE gave the frontend's role for good (serializable, read-only, 1 ms lock and idle timeouts) are pinned to PostgreSQL's defaults in its sessions, and logged"
owner_sql "INSERT INTO schema_version (version, name, sha256) VALUES (999, '999_future.sql', repeat('0', 64))"
"$DBT" open-refused "$FRONT"
out=$("$DBT" migrate-refused "$OWNER" "$SCHEMA") || fail "migrate accepted a database with migration 999: $out"
grep -q "migration 999 (999_future.sql) which this build does not know" <<< "$out" || fail "migrate refused without naming 999: $out"
pass "migrate refuses a database with a migration this build does not know, naming it"
owner_sql "DELETE FROM schema_version WHERE version = 999"
"$DBT" open "$FRONT"
pass "db_open refuses a database at a newer schema version"

# the definer triggers call pg_catalog's functions whatever public holds (025): with CREATE in public given
# back to hsmca_frontend (an administrator's GRANT), a public.nextval(text) of its making outranked
# pg_catalog.nextval(regclass) in the audit trigger, which runs as the owner (its value became the row's
# change_seq here; it could as well have switched the audit log's triggers off)
owner_sql "GRANT CREATE ON SCHEMA public TO hsmca_frontend" >/dev/null
pg_psql "$T/pg" frontend -c "CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE sql AS 'SELECT 424242::bigint'" >/dev/null
pg_psql "$T/pg" frontend -c "INSERT INTO audit_log (actor, action, object, details) VALUES ('test', 'test.planted', 'x', '{}')" >/dev/null
seq=$(owner_sql "SELECT change_seq FROM audit_log WHERE action = 'test.planted'")
owner_sql "DROP FUNCTION public.nextval(text); REVOKE CREATE ON SCHEMA public FROM hsmca_frontend" >/dev/null
[ -n "$seq" ] && [ "$seq" != 424242 ] || fail "the audit trigger ran a function hsmca_frontend planted in public (change_seq '$seq')"
[ "$(owner_sql "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
	AND p.prosecdef AND array_to_string(p.proconfig, ',') LIKE '%public%'")" = 0 ] || fail "a definer function searches public"
"$DBT" audit-verify "$FRONT"
pass "the definer triggers call pg_catalog's functions, not one planted in public"

# ---- certificates, accounts, API keys (as hsmca_frontend) ----
read -r A C E < <("$DBT" certs "$FRONT" | tail -n 1)
[ "$(owner_sql "SELECT (SELECT change_seq FROM certificates WHERE serial_hex = '$A') >
	(SELECT change_seq FROM certificates WHERE serial_hex = '$C')")" = t ] \
	|| fail "a changed row did not get a newer change_seq"
[ "$(owner_sql "SELECT renews_serial FROM certificates WHERE serial_hex = '$E'")" = "$A" ] || fail "renewal link"
[ "$(owner_sql "SELECT count(*) = count(DISTINCT change_seq) FROM changes")" = t ] || fail "change_seq not unique"
[ "$(owner_sql "SELECT count(*) FROM revocations WHERE serial_hex = '$A' AND reason = 'keyCompromise'")" = 1 ] \
	|| fail "revocation row"
pass "certificates: pending -> issued | failed, pending rows listed, revocation, renewal link, change_seq"
"$DBT" accounts "$FRONT"
pass "accounts and API keys"
"$DBT" batch "$FRONT" || fail "batch statements"
pass "batch: intents and issued results in one statement, a transaction of its own, atomic; the committer stores the good item of a failed batch"
"$DBT" batch-partial "$FRONT" || fail "batch-partial"
pass "batch: results meeting a row already issued store nothing; the fallback gives each its true outcome"
"$DBT" claim "$FRONT" || fail "claim"
dl=$(grep -c "deadlock detected" "$T/pg/postgres.log" || true)
"$DBT" claim-order "$FRONT" || fail "claim-order: recovery's claim and another frontend's batch deadlocked"
[ "$(grep -c "deadlock detected" "$T/pg/postgres.log" || true)" = "$dl" ] \
	|| fail "claim-order: the server detected a deadlock: $(grep -A3 "deadlock detected" "$T/pg/postgres.log" | tail -n 8)"
pass "recovery's claim: a pending row one session holds is skipped by another, without waiting"
owner_sql "CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(1);
	RETURN NEW; END \$\$; CREATE TRIGGER test_slow BEFORE INSERT ON certificates FOR EACH ROW
	WHEN (NEW.subject = 'CN=slow retry') EXECUTE FUNCTION test_slow_insert()" >/dev/null
"$DBT" retry-locks "$FRONT" || fail "retry-locks: the one by one pass after a failed batch statement left a row unlocked"
owner_sql "DROP TRIGGER test_slow ON certificates; DROP FUNCTION test_slow_insert()" >/dev/null
pass "a committer transaction retried one by one after its batch statement failed locks its rows first, as the first did"
"$DBT" batch-plan "$OWNER" > "$T/batch-plan.log" 2>&1 || fail "batch plans: $(tail -n 40 "$T/batch-plan.log")"
pass "$(tail -n 1 "$T/batch-plan.log")"
"$DBT" pending-scan "$OWNER" > "$T/pending-scan.log" 2>&1 || fail "pending scan: $(tail -n 5 "$T/pending-scan.log")"
pass "$(tail -n 1 "$T/pending-scan.log")"
"$DBT" checkpoint-scan "$FRONT" > "$T/checkpoint-scan.log" 2>&1 || fail "checkpoint scan: $(tail -n 5 "$T/checkpoint-scan.log")"
pass "$(tail -n 1 "$T/checkpoint-scan.log")"

# ---- the serial's format is the database's rule too (005 checks it without a regular expression) ----
cert_sql() { # SERIAL: an INSERT of a pending certificate with that serial
	echo "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs)
		VALUES ('$1', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x3000')"
}
for bad in '' 'ABCDEF' '0x1f' "$(printf 'a%.0s' $(seq 41))" 'ab cd' 'abé' '12-34'; do
	expect_sql_error frontend "$(cert_sql "$bad")" "certificates_serial_hex_check"
done
for good in '0' 'deadbeef' "$(printf 'f%.0s' $(seq 40))" '0123456789abcdef'; do
	pg_psql "$T/pg" frontend -c "$(cert_sql "$good")" >/dev/null || fail "serial '$good' refused"
done
pass "certificate serials: 1..40 lowercase hex digits, anything else refused by the database"

# ---- a new certificate row is an intent (012): pending or held, no DER, no failure reason ----
ins_sql() { # STATUS DER FAILURE: an INSERT with those columns
	echo "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs,
		status, der, failure_reason) VALUES ('$(openssl rand -hex 16)', 'int', 'CN=x', now(), now() + interval '1 day',
		'p', 'r', '\\x300100', '$1', $2, $3)"
}
expect_sql_error frontend "$(ins_sql issued "'\\x3003300100'" NULL)" "a new row is an intent"
expect_sql_error frontend "$(ins_sql revoked "'\\x3003300100'" NULL)" "a new row is an intent"
expect_sql_error frontend "$(ins_sql failed NULL "'x'")" "a new row is an intent"
expect_sql_error frontend "$(ins_sql pending "'\\x3003300100'" NULL)" "a new row is an intent"
expect_sql_error owner "$(ins_sql issued "'\\x3003300100'" NULL)" "a new row is an intent"
pg_psql "$T/pg" frontend -c "$(ins_sql pending NULL NULL)" >/dev/null || fail "a pending intent refused"
pg_psql "$T/pg" frontend -c "$(ins_sql held NULL NULL)" >/dev/null || fail "a held intent refused"
pass "a certificate row is inserted as an intent only (pending or held, no DER, no failure reason), by anyone"
# a held row is released (held -> pending) only with its approval, decided by a second person (012)
HELD=$(openssl rand -hex 16)
pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
	requester, tbs, status) VALUES ('$HELD', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100', 'held')" >/dev/null
expect_sql_error frontend "UPDATE certificates SET status = 'pending' WHERE serial_hex = '$HELD'" "needs its approval by a second administrator"
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$HELD', 'alice', now() + interval '1 hour')" >/dev/null
expect_sql_error frontend "UPDATE certificates SET status = 'pending' WHERE serial_hex = '$HELD'" "needs its approval by a second administrator"
# (a decision needs its audit row in the same transaction, 023)
expect_sql_error frontend "UPDATE approvals SET status = 'approved', decided_by = 'bob', decided_at = now() WHERE object = '$HELD'" \
	"without its audit row in the same transaction"
pg_psql "$T/pg" frontend -c "BEGIN; UPDATE approvals SET status = 'approved', decided_by = 'bob', decided_at = now() WHERE object = '$HELD';
	INSERT INTO audit_log (actor, action, object, details) SELECT 'bob', 'approval.approved', object,
	json_build_object('approval', id)::text FROM approvals WHERE object = '$HELD'; COMMIT" >/dev/null
pg_psql "$T/pg" frontend -c "UPDATE certificates SET status = 'pending' WHERE serial_hex = '$HELD'" >/dev/null \
	|| fail "a held row with its approval was not released"
pass "a held row becomes pending only once its approval is decided by someone other than its requester"
# an approval is filed pending and decided once (024): one inserted decided, or a decision changed afterwards
# (with an audit row or not), never reaches the table and the approval list unlogged
expect_sql_error frontend "INSERT INTO approvals (action, object, requested_by, status, decided_by, decided_at, expires_at)
	VALUES ('certificate.issue', '$(openssl rand -hex 16)', 'alice', 'approved', 'bob', now(), now() + interval '1 hour')" \
	"a new approval is pending and undecided"
expect_sql_error frontend "INSERT INTO approvals (action, object, requested_by, status, expires_at)
	VALUES ('certificate.issue', '$(openssl rand -hex 16)', 'alice', 'expired', now() + interval '1 hour')" \
	"a new approval is pending and undecided"
expect_sql_error frontend "BEGIN; UPDATE approvals SET status = 'rejected', decided_by = 'carol' WHERE object = '$HELD';
	INSERT INTO audit_log (actor, action, object, details) SELECT 'carol', 'approval.rejected', object,
	json_build_object('approval', id)::text FROM approvals WHERE object = '$HELD'; COMMIT" "approved already; a decision does not change"
expect_sql_error frontend "UPDATE approvals SET decided_by = 'carol' WHERE object = '$HELD'" "approved already; a decision does not change"
[ "$(owner_sql "select status || ' ' || decided_by from approvals where object = '$HELD'")" = "approved bob" ] \
	|| fail "the decision changed: $(owner_sql "select status, decided_by from approvals where object = '$HELD'")"
pass "an approval is inserted pending and undecided, and a decision never changes (HS001), audit row or not"

# ---- a renewal of a certificate that is not issued (013): refused at its INSERT, also when the revocation
# is under way (the renewed row is locked FOR SHARE NOWAIT: refused at once, 55P03, not waited for in the
# committer's batch), and when a held renewal is released ----
issued_row() { # SERIAL: an issued certificate row, as the frontend writes one
	pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
		requester, tbs) VALUES ('$1', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100')" >/dev/null &&
	pg_psql "$T/pg" frontend -c "UPDATE certificates SET status = 'issued', der = '\\x3003300100' WHERE serial_hex = '$1'" \
		>/dev/null || fail "issued row $1"
}
renewal_sql() { # SERIAL RENEWS STATUS
	echo "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs,
		renews_serial, status) VALUES ('$1', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100', '$2', '$3')"
}
R1=$(openssl rand -hex 16); issued_row "$R1"
pg_psql "$T/pg" frontend -c "$(revoke_sql "$R1")" >/dev/null
expect_sql_error frontend "$(renewal_sql "$(openssl rand -hex 16)" "$R1" pending)" "renews $R1, which is revoked (not issued)"
expect_sql_error frontend "$(renewal_sql "$(openssl rand -hex 16)" "$R1" held)" "renews $R1, which is revoked (not issued)"
R2=$(openssl rand -hex 16); issued_row "$R2"
pg_psql "$T/pg" frontend -c "BEGIN; $(revoke_sql "$R2"); SELECT pg_sleep(2); COMMIT" \
	>/dev/null 2>&1 &
REVOKER=$!
# the revocation holds the row once its session sleeps (a fixed 0.5 s could pass before it got there)
in_sleep() { [ "$(owner_sql "select count(*) from pg_stat_activity where wait_event = 'PgSleep'")" = 1 ]; }
for _ in $(seq 200); do in_sleep && break; sleep 0.05; done
in_sleep || fail "the revoking transaction did not get to its sleep"
expect_sql_error frontend "$(renewal_sql "$(openssl rand -hex 16)" "$R2" pending)" "could not obtain lock on row"
[ "$(owner_sql "select status from certificates where serial_hex = '$R2'")" = issued ] \
	|| fail "the renewal waited for the revocation under way (it is committed)"
wait "$REVOKER" || fail "the revoking transaction failed"
expect_sql_error frontend "$(renewal_sql "$(openssl rand -hex 16)" "$R2" pending)" "renews $R2, which is revoked (not issued)"
R3=$(openssl rand -hex 16); issued_row "$R3"; RN=$(openssl rand -hex 16)
pg_psql "$T/pg" frontend -c "$(renewal_sql "$RN" "$R3" held)" >/dev/null || fail "a held renewal of an issued row refused"
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$RN', 'alice', now() + interval '1 hour');
	BEGIN; UPDATE approvals SET status = 'approved', decided_by = 'bob', decided_at = now() WHERE object = '$RN';
	INSERT INTO audit_log (actor, action, object, details) SELECT 'bob', 'approval.approved', object,
	json_build_object('approval', id)::text FROM approvals WHERE object = '$RN'; COMMIT" >/dev/null || fail "approval row"
pg_psql "$T/pg" frontend -c "$(revoke_sql "$R3")" >/dev/null
expect_sql_error frontend "UPDATE certificates SET status = 'pending' WHERE serial_hex = '$RN'" "renews $R3, which is not issued"
pass "a renewal of a certificate that is not issued is refused (HS003) at its insert, at once while a revocation is under way (55P03, before it commits), and at the release of a held one"

# ---- a revocation is a certificate's status and its revocations row together (016), checked at commit ----
V1=$(openssl rand -hex 16); issued_row "$V1"
expect_sql_error frontend "UPDATE certificates SET status = 'revoked' WHERE serial_hex = '$V1'" "certificate $V1: revoked without its revocations row"
expect_sql_error frontend "INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) VALUES ('$V1', 'int', 'keyCompromise', 'x')" \
	"revocation of $V1: the certificate is not revoked"
expect_sql_error frontend "BEGIN; UPDATE certificates SET status = 'revoked' WHERE serial_hex = '$V1';
	INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) VALUES ('$V1', 'other', 'keyCompromise', 'x');
	INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.revoked', '$V1', '{}'); COMMIT" \
	"not under issuer other"
[ "$(owner_sql "select status || ' ' || (select count(*) from revocations where serial_hex = '$V1') from certificates where serial_hex = '$V1'")" = "issued 0" ] \
	|| fail "a refused revocation left something behind"
pg_psql "$T/pg" frontend -c "$(revoke_sql "$V1")" >/dev/null || fail "a revocation with its row was refused"
[ "$(owner_sql "select c.status || ' ' || r.reason from certificates c join revocations r using (serial_hex) where c.serial_hex = '$V1'")" = \
  "revoked keyCompromise" ] || fail "the revocation of $V1"
pass "a revocation is refused at commit unless the certificate's status and its revocations row (same issuer) come together"

# ---- a certificate failed or revoked, an approval decided or expired: only with its audit row in the same
# transaction (023, checked at commit); the frontend role could do each in SQL with no record before ----
A1=$(openssl rand -hex 16); A2=$(openssl rand -hex 16); A3=$(openssl rand -hex 16)
pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
	requester, tbs) VALUES ('$A1', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100')" >/dev/null
issued_row "$A2"
expect_sql_error frontend "UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$A1'" \
	"certificate $A1: failed without its audit row in the same transaction"
expect_sql_error frontend "WITH c AS (UPDATE certificates SET status = 'revoked' WHERE serial_hex = '$A2' RETURNING serial_hex, issuer)
	INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) SELECT serial_hex, issuer, 'keyCompromise', 'x' FROM c" \
	"certificate $A2: revoked without its audit row in the same transaction"
# an audit row for it in an earlier transaction, or for another object in this one, does not count
pg_psql "$T/pg" frontend -c "INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.failed', '$A1', '{}')" >/dev/null
expect_sql_error frontend "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$A1';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.failed', '$A2', '{}'); COMMIT" \
	"certificate $A1: failed without its audit row in the same transaction"
[ "$(owner_sql "select status from certificates where serial_hex in ('$A1', '$A2') order by status")" = "issued
pending" ] || fail "a refused change of state left something behind"
# in a savepoint, as the committer's one-by-one items write them: still this transaction's
pg_psql "$T/pg" frontend -c "BEGIN; SAVEPOINT a; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$A1';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.failed', '$A1', '{}'); RELEASE a; COMMIT" \
	>/dev/null || fail "a failure with its audit row (in a savepoint) was refused"
pg_psql "$T/pg" frontend -c "$(revoke_sql "$A2")" >/dev/null || fail "a revocation with its audit row was refused"
# an approval: decided (above), expired
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$A3', 'alice', now() + interval '1 hour')" >/dev/null
expect_sql_error frontend "UPDATE approvals SET status = 'expired' WHERE object = '$A3'" \
	"without its audit row in the same transaction"
expect_sql_error frontend "BEGIN; UPDATE approvals SET status = 'expired' WHERE object = '$A3';
	INSERT INTO audit_log (actor, action, object, details) SELECT 'x', 'approval.rejected', object,
	json_build_object('approval', id)::text FROM approvals WHERE object = '$A3'; COMMIT" \
	"without its audit row in the same transaction"
pg_psql "$T/pg" frontend -c "BEGIN; UPDATE approvals SET status = 'expired' WHERE object = '$A3';
	INSERT INTO audit_log (actor, action, object, details) SELECT 'expiry', 'approval.expired', '',
	json_build_object('approval', id)::text FROM approvals WHERE object = '$A3'; COMMIT" >/dev/null \
	|| fail "an expiry with its audit row was refused"
[ "$(owner_sql "select count(*) from audit_log where xact is null and id > (select max(id) - 5 from audit_log)")" = 0 ] \
	|| fail "audit rows without their transaction"
# 028: the audit row says what the change was (a revocation beside a "certificate.requested" row passed); a
# failed certificate's reason is not rewritten afterwards; a pending approval has no decider
A4=$(openssl rand -hex 16); A5=$(openssl rand -hex 16); A6=$(openssl rand -hex 16)
issued_row "$A4"
pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
	requester, tbs) VALUES ('$A5', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100')" >/dev/null
expect_sql_error frontend "BEGIN; WITH c AS (UPDATE certificates SET status = 'revoked' WHERE serial_hex = '$A4' RETURNING serial_hex, issuer)
	INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) SELECT serial_hex, issuer, 'keyCompromise', 'alice' FROM c;
	INSERT INTO audit_log (actor, action, object, details) VALUES ('cli', 'certificate.requested', '$A4', '{}'); COMMIT" \
	"certificate $A4: revoked without its audit row in the same transaction (certificate.revoked)"
expect_sql_error frontend "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$A5';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.issued', '$A5', '{}'); COMMIT" \
	"certificate $A5: failed without its audit row in the same transaction (certificate.failed)"
# an approval's row fails a held row (its decision), not a pending one
expect_sql_error frontend "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$A5';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'approval.rejected', '$A5', '{}'); COMMIT" \
	"certificate $A5: failed without its audit row in the same transaction (certificate.failed)"
for act in approval.rejected approval.expired; do
	S=$(openssl rand -hex 16)
	pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
		requester, tbs, status) VALUES ('$S', 'int', 'CN=x', now(), now() + interval '1 day', 'p', 'r', '\\x300100', 'held')" >/dev/null
	expect_sql_error frontend "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$S';
		INSERT INTO audit_log (actor, action, object, details) VALUES ('x', 'certificate.failed', '$S', '{}'); COMMIT" \
		"certificate $S: failed without its audit row in the same transaction (approval.rejected or approval.expired)"
	pg_psql "$T/pg" frontend -c "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE serial_hex = '$S';
		INSERT INTO audit_log (actor, action, object, details) VALUES ('x', '$act', '$S', '{}'); COMMIT" \
		>/dev/null || fail "a held row failed with its $act row was refused"
	[ "$(owner_sql "select status from certificates where serial_hex = '$S'")" = failed ] || fail "$act: not failed"
done
expect_sql_error frontend "UPDATE certificates SET failure_reason = 'approved by alice, signer refused' WHERE serial_hex = '$A1'" \
	"certificate $A1: a failed certificate's failure_reason does not change"
[ "$(owner_sql "select status || ' ' || failure_reason from certificates where serial_hex = '$A1'")" = "failed x" ] \
	|| fail "the failure reason changed"
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', '$A6', 'alice', now() + interval '1 hour')" >/dev/null
expect_sql_error frontend "UPDATE approvals SET decided_by = 'alice' WHERE object = '$A6'" "a pending approval has no decided_by or decided_at"
expect_sql_error frontend "UPDATE approvals SET decided_at = now() WHERE object = '$A6'" "a pending approval has no decided_by or decided_at"
[ "$(owner_sql "select status from certificates where serial_hex in ('$A4', '$A5') order by status")" = "issued
pending" ] || fail "a refused change left something behind"
"$DBT" audit-verify "$FRONT"
pass "a certificate failed or revoked, an approval decided or expired, only with its audit row in the same transaction (savepoints too); an earlier one or another object's does not count, nor one that says another change (HS004); a failed row's reason and a pending approval's decider do not change (HS001)"

# ---- CREATE on schema public (012): a database from before PostgreSQL 15 keeps PUBLIC's grant ----
owner_sql "CREATE DATABASE hsmca_up" >/dev/null
OWNER_UP=$(sed 's/dbname=hsmca /dbname=hsmca_up /' <<<"$OWNER")
FRONT_UP=$(sed 's/dbname=hsmca /dbname=hsmca_up /' <<<"$FRONT")
mkdir "$T/upto11"
cp "$SCHEMA"/00*.sql "$SCHEMA"/010_*.sql "$SCHEMA"/011_*.sql "$T/upto11/"
"$DBT" migrate "$OWNER_UP" "$T/upto11" 11
"$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 "$OWNER_UP" -c "GRANT CREATE ON SCHEMA public TO PUBLIC"
[ "$("$PG_BIN/psql" -X -qAt "$OWNER_UP" -c "SELECT has_schema_privilege('hsmca_frontend', 'public', 'CREATE')")" = t ] \
	|| fail "the old grant was not in place"
"$DBT" migrate "$OWNER_UP" "$SCHEMA" "$("$DBT" known "$SCHEMA" | awk '{print $4}')"
[ "$("$PG_BIN/psql" -X -qAt "$OWNER_UP" -c "SELECT has_schema_privilege('hsmca_frontend', 'public', 'CREATE')")" = f ] \
	|| fail "hsmca_frontend may still create in public after 012"
if out=$("$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 "$FRONT_UP" -c "CREATE FUNCTION public.convert_to(text, text) RETURNS bytea LANGUAGE sql AS 'SELECT NULL::bytea'" 2>&1); then
	fail "hsmca_frontend created a function in public: $out"
fi
grep -q "permission denied for schema public" <<<"$out" || fail "CREATE FUNCTION in public failed differently: $out"
pass "a database upgraded with PUBLIC's CREATE on schema public loses it at 012: no function of the frontend's can shadow pg_catalog's"

# ---- least privilege of hsmca_frontend ----
expect_sql_error frontend "UPDATE audit_log SET actor = 'x'" "permission denied for table audit_log"
expect_sql_error frontend "DELETE FROM audit_log" "permission denied for table audit_log"
expect_sql_error frontend "TRUNCATE audit_log" "permission denied for table audit_log"
expect_sql_error frontend "UPDATE audit_chain_head SET last_id = 0" "permission denied"
expect_sql_error frontend "DELETE FROM certificates" "permission denied"
expect_sql_error frontend "UPDATE certificates SET tbs = '\\x00'" "permission denied"
expect_sql_error frontend "DELETE FROM revocations" "permission denied"
expect_sql_error frontend "SELECT nextval('change_seq')" "permission denied"
expect_sql_error frontend "CREATE TABLE t (x int)" "permission denied"
pass "hsmca_frontend cannot UPDATE, DELETE or TRUNCATE audit_log (nor other things it has no business with)"
# nor choose a row's id (017): the row MACs of 015 assume an id is never used twice, and the checkpoint
# thread that ids only grow. An INSERT naming id is refused, OVERRIDING SYSTEM VALUE or not; without id it works.
AC=$(owner_sql "SELECT id FROM accounts ORDER BY id LIMIT 1")
H0=$(owner_sql "SELECT id || ':' || encode(row_hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1")
for ins in "accounts (id, name, role, pw_hash) OVERRIDING SYSTEM VALUE VALUES (4242, 'idpick', 'admin', 'x')" \
	"api_keys (id, key_hash, account_id) OVERRIDING SYSTEM VALUE VALUES (4242, repeat('a', 64), $AC)" \
	"approvals (id, action, object, requested_by, expires_at) OVERRIDING SYSTEM VALUE VALUES (4242, 'certificate.issue', 'ab', 'x', now())" \
	"audit_checkpoints (id, audit_id, head_hash, key_label, signature) OVERRIDING SYSTEM VALUE
		VALUES (9223372036854775807, ${H0%%:*}, '\\x${H0#*:}', 'k', '\\x0102030405060708')" \
	"certificates (id, serial_hex, issuer, subject, not_before, not_after, profile, requester, tbs) OVERRIDING SYSTEM VALUE
		VALUES (4242, 'abcd', 'int', '', now(), now() + interval '1 day', 'server', 'x', '\\x30')"; do
	expect_sql_error frontend "INSERT INTO $ins" "permission denied for table"
done
pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	VALUES ('certificate.issue', 'ab', 'x', now()); INSERT INTO audit_checkpoints (audit_id, head_hash, key_label, signature)
	VALUES (${H0%%:*}, '\\x${H0#*:}', 'k', '\\x0102030405060708')" >/dev/null || fail "an insert without id refused"
[ "$(owner_sql "SELECT count(*) FROM accounts WHERE id = 4242 OR name = 'idpick'")/$(owner_sql "SELECT max(id) < 4242 FROM approvals")/$(owner_sql "SELECT count(*) FROM audit_checkpoints WHERE id = 9223372036854775807")" = 0/t/0 ] \
	|| fail "a row at a chosen id"
# audit_log's id is its chain trigger's, whatever the INSERT says
pg_psql "$T/pg" frontend -c "INSERT INTO audit_log (id, actor, action, object, details) VALUES (4242, 'x', 'test.id', '', '{}')" >/dev/null \
	|| fail "an audit row refused"
[ "$(owner_sql "SELECT id FROM audit_log WHERE action = 'test.id'")" = "$(( ${H0%%:*} + 1 ))" ] || fail "audit_log took a chosen id"
pass "hsmca_frontend cannot choose the id of an account, API key, approval, checkpoint or certificate (permission denied), nor of an audit row (the chain's trigger sets it)"
# the triggers hold even for the owner
expect_sql_error owner "UPDATE audit_log SET actor = 'x'" "append-only: UPDATE refused"
expect_sql_error owner "DELETE FROM audit_log" "append-only: DELETE refused"
expect_sql_error owner "TRUNCATE audit_log" "append-only: TRUNCATE refused"
pass "append-only triggers refuse UPDATE, DELETE, TRUNCATE even for the owner"
# no temporary objects for the frontend's role (009): a type or table in pg_temp would be found before the
# one a function means, since a search_path that does not name pg_temp searches it first
expect_sql_error frontend "CREATE TEMP TABLE t (x int)" "permission denied to create temporary tables"
# and the functions name pg_temp last, so a TEMPORARY grant made later does not reopen it: as the frontend,
# a domain pg_temp.text (63 characters at most) once cut the trigger's previous hash, storing a row hash
# audit-verify refused for ever
owner_sql "GRANT TEMPORARY ON DATABASE $PG_DB TO hsmca_frontend" >/dev/null
pg_psql "$T/pg" frontend -c "CREATE DOMAIN pg_temp.text AS name; CREATE DOMAIN pg_temp.bytea AS int;
	INSERT INTO audit_log (actor, action, object, details) VALUES ('mallory', 'test.shadow', 'x', '{}');
	INSERT INTO audit_log (actor, action, object, details) VALUES ('mallory', 'test.shadow', 'y', '{}')" >/dev/null \
	|| fail "the shadowing session"
owner_sql "REVOKE TEMPORARY ON DATABASE $PG_DB FROM hsmca_frontend" >/dev/null
"$DBT" audit-verify "$FRONT"
[ "$(owner_sql "SELECT array_agg(DISTINCT array_to_string(proconfig, ',')) FROM pg_proc p
	JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prolang <> 12
	AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')")" \
	= '{"search_path=pg_catalog, pg_temp"}' ] \
	|| fail "functions without pg_temp last, or searching public (026; the invoker triggers run as the owner when it writes): $(owner_sql "SELECT proname, proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")"
pass "hsmca_frontend cannot create temporary objects, and with them granted the audit trigger still uses the real types (every function names pg_temp last, and no function searches public): the chain verifies"

# ---- audit chain ----
"$DBT" audit-append "$FRONT" 60
"$DBT" audit-verify "$FRONT"
"$DBT" audit-concurrent "$FRONT" 2 300
"$DBT" audit-verify "$FRONT"
switches=$(owner_sql "SELECT count(*) FROM (SELECT actor, lag(actor) OVER (ORDER BY id) AS p FROM audit_log
	WHERE action = 'test.concurrent') s WHERE actor <> p")
pass "the chain verifies after sequential and concurrent appends (the writers alternated $switches times)"
# the trigger's hash equals the C verifier's for a row with awkward contents (checked by verify above);
# now tamper as the superuser with the triggers off, one row in the middle
K=$(owner_sql "SELECT id FROM audit_log WHERE action = 'test.append' ORDER BY id OFFSET 17 LIMIT 1")
orig=$(owner_sql "SELECT details FROM audit_log WHERE id = $K")
owner_sql "SET session_replication_role = replica; UPDATE audit_log SET details = '{\"i\": 0}' WHERE id = $K"
"$DBT" audit-verify "$FRONT" "$K"
pass "an edited row is named ($K)"
pg_psql "$T/pg" owner -v d="$orig" <<EOSQL
SET session_replication_role = replica;
UPDATE audit_log SET details = :'d' WHERE id = $K;
EOSQL
"$DBT" audit-verify "$FRONT"
# a row 0 put before the first row, whose row_hash is the first row's prev_hash (zero): the walk took it as
# intact, since the id it names for a broken row was also its "intact" value (0)
owner_sql "SET session_replication_role = replica; INSERT INTO audit_log (id, ts, actor, action, object, details,
	prev_hash, row_hash, change_seq) SELECT 0, ts, 'alice', 'account.created', 'mallory', '{}', prev_hash, prev_hash,
	-1 FROM audit_log WHERE id = 1" >/dev/null
"$DBT" audit-verify "$FRONT" 0
owner_sql "SET session_replication_role = replica; DELETE FROM audit_log WHERE id = 0" >/dev/null
"$DBT" audit-verify "$FRONT"
pass "a row 0 before the first row is named (0)"
# an edit that also recomputes the row's own hash breaks the next row's link
owner_sql "SET session_replication_role = replica; UPDATE audit_log SET actor = 'mallory',
	row_hash = sha256(audit_canonical(id, ts, 'mallory', action, object, details, prev_hash)) WHERE id = $K"
"$DBT" audit-verify "$FRONT" "$((K + 1))"
pass "an edited row with a recomputed hash is caught at the next row ($((K + 1)))"
owner_sql "SET session_replication_role = replica; DELETE FROM audit_log WHERE id >= $K"
LAST=$(owner_sql "SELECT max(id) FROM audit_log")
"$DBT" audit-verify "$FRONT" "$((LAST + 1))"
pass "rows cut off the end are caught by the chain head"
owner_sql "SET session_replication_role = replica; DELETE FROM audit_log WHERE id = 5;
	UPDATE audit_chain_head SET last_id = $LAST, last_hash = (SELECT row_hash FROM audit_log WHERE id = $LAST)"
"$DBT" audit-verify "$FRONT" 6
pass "a row deleted from the middle is caught at the next row (6)"

echo "frontend_db: all checks passed in $(( $(date +%s) - START ))s"
