#!/usr/bin/env bash
# Row MACs of accounts and API keys (schema 015, frontend/rowmac.h): a row changed by someone with the database
# role's password (an administrator's role, another password hash, a re-enabled account, an API key written in
# SQL) gives no authority: the login fails as for an unknown account, logged as row_refused and counted in
# /metrics. Rows from before 015 count as they were; the operator's create-account --replace repairs a refused
# row; a key rotation moves every row to the new key.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
# the database starts at schema 014, with accounts and an API key an older frontend wrote (section 0)
mkdir -p "$T/schema14"
cp "$(dirname "$0")"/../../schema/0{01,02,03,04,05,06,07,08,09,10,11,12,13,14}_*.sql "$T/schema14/"
FE_SCHEMA=$T/schema14 fe_setup_backend
[ "$(pg_psql "$T/pg" owner -c "select max(version) from schema_version")" = 14 ] || fail "not at schema 14"
fe_profiles
sed -i '0,/^accounts = alice, ops-admin$/s//accounts = alice, ops-admin, bob, old-req/' "$T/profiles.conf"
grep -q '^accounts = alice, ops-admin, bob, old-req$' "$T/profiles.conf" || fail "profile server's accounts"
CI="$(pg_conninfo "$T/pg" frontend)"
owner() { pg_psql "$T/pg" owner -c "$1"; }
role_sql() { pg_psql "$T/pg" frontend -c "$1" >/dev/null || fail "as the database role: $1"; }
expect_sql_error() { # ROLE SQL PATTERN
	local out
	if out=$(pg_psql "$T/pg" "$1" -c "$2" 2>&1); then fail "as $1, '$2' succeeded: $out"; fi
	grep -q -- "$3" <<< "$out" || fail "as $1, '$2' failed differently: $out"
}
# pw_hash PASSWORD: the frontend's scrypt format (auth.c), computed independently
pw_hash() {
	python3 - "$1" <<'PY'
import base64, hashlib, os, sys
salt = os.urandom(16)
key = hashlib.scrypt(sys.argv[1].encode(), salt=salt, n=1 << 14, r=8, p=1, maxmem=64 << 20, dklen=32)
print("scrypt$14$8$1$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(key).decode()))
PY
}
# each expected failure from its own loopback address: the per-address limit (5 a minute) is not reached
get() { # PATH [curl args...]
	local path=$1; shift
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "$@" "$URL$path")
}
refused_total() { curl -fsS "$URL/metrics" | sed -n 's/^hsmca_rows_refused_total //p'; }

# ---- 0. an upgrade: the rows 015 finds have no MAC and count as they are ----
OLD_PW='old-requester 0001'; OLDADM_PW='old-admin 00001'
OLD_KEY=hsk_$(openssl rand -hex 32)
owner "INSERT INTO accounts (name, role, pw_hash) VALUES ('old-req', 'requester', '$(pw_hash "$OLD_PW")'),
	('old-adm', 'admin', '$(pw_hash "$OLDADM_PW")');
	INSERT INTO api_keys (key_hash, account_id, profile) SELECT encode(sha256('$OLD_KEY'::bytea), 'hex'), id, 'server'
	FROM accounts WHERE name = 'old-req'" >/dev/null
"$FRONTEND" migrate --conninfo "$(pg_conninfo "$T/pg" owner)" > "$T/migrate15.log" 2>&1 || fail "migrate 15: $(cat "$T/migrate15.log")"
[ "$(owner "select count(*) from legacy_accounts")/$(owner "select count(*) from legacy_api_keys")" = 2/1 ] \
	|| fail "legacy lists: $(owner "select * from legacy_accounts")"
expect_sql_error frontend "INSERT INTO legacy_accounts VALUES (99, sha256('x'::bytea))" "permission denied"
expect_sql_error owner "INSERT INTO legacy_accounts VALUES (99, sha256('x'::bytea))" "written by migration 015 only"
expect_sql_error owner "DELETE FROM legacy_api_keys" "written by migration 015 only"
expect_sql_error owner "TRUNCATE legacy_accounts" "written by migration 015 only"
# the account tools need the key now
printf 'alice password 0002\n' > "$T/alice.pw"
expect_rc 1 "$FRONTEND" create-account --conninfo "$CI" --name alice --role requester --password-file "$T/alice.pw"
grep -q -- "--intent-key-file (or -c CONFIG) required" <<<"$OUT" || fail "create-account without a key: $OUT"
# a key file others may read is refused as at the frontend's start, and no account is made
cp "$T/intent.key" "$T/open.key"; chmod 644 "$T/open.key"
expect_rc 1 "$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/open.key" --name alice --role requester --password-file "$T/alice.pw"
grep -q -- "--intent-key-file $T/open.key: group or others may access it" <<<"$OUT" || fail "create-account with an open key file: $OUT"
[ "$(owner "select count(*) from accounts where name = 'alice'")" = 0 ] || fail "an account made without a usable key"
printf 'admin password 0001\n' > "$T/admin.pw"
# (an administrator exists already, old-adm above: bootstrap-admin makes the first one only)
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name ops-admin --role admin --password-file "$T/admin.pw" >/dev/null || fail "ops-admin"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" >/dev/null || fail "alice"
printf 'bob password 00003\n' > "$T/bob.pw"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name bob --role requester --password-file "$T/bob.pw" >/dev/null || fail "bob"
ALICE=(-u "alice:$(cat "$T/alice.pw")"); BOB=(-u "bob:$(cat "$T/bob.pw")"); ADMIN=(-u "ops-admin:$(cat "$T/admin.pw")")
NEW_KEY=$("$FRONTEND" create-apikey --conninfo "$CI" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account alice --profile server) || fail "create-apikey"
fe_start
csr one ec:P-256 "DNS:one.example.com"
issue_req "$T/one.csr" server -u "old-req:$OLD_PW"; [ "$STATUS" = 201 ] || fail "the account from schema 14: $STATUS $BODY"
issue_req "$T/one.csr" server -H "Authorization: Bearer $OLD_KEY"; [ "$STATUS" = 201 ] || fail "the API key from schema 14: $STATUS $BODY"
get /api/v1/accounts -u "old-adm:$OLDADM_PW"; [ "$STATUS" = 200 ] || fail "the administrator from schema 14: $STATUS"
issue_req "$T/one.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "alice: $STATUS $BODY"
issue_req "$T/one.csr" server -H "Authorization: Bearer $NEW_KEY"; [ "$STATUS" = 201 ] || fail "alice's API key: $STATUS $BODY"
[ "$(owner "select count(*) from accounts where row_mac is null and name not in ('old-req', 'old-adm')")" = 0 ] \
	|| fail "an account written without a MAC"
pass "upgrade to 015: the accounts and API key it found (no MAC) log in as before; legacy lists frozen; the account tools need the key, and refuse one others may read"

# ---- 1. the MAC is the one rowmac.h specifies, computed independently ----
IFS='|' read -r AID AROLE APWH ADIS ASEQ AMAC < <(owner "select id || '|' || role || '|' || pw_hash || '|' || disabled || '|' || mac_seq || '|' || encode(row_mac, 'hex') from accounts where name = 'alice'")
[ "$AMAC" = "$(account_mac_hex "$AID" alice "$AROLE" "$APWH" "$ADIS" "$ASEQ")" ] || fail "alice's row MAC is not the MAC of rowmac.h"
[ "$ASEQ" = 1 ] || fail "alice's mac_seq after create-account: $ASEQ"
pass "an account row's MAC is HMAC-SHA-256(intent key, id, name, role, password hash, disabled, mac_seq), as computed independently"

# ---- 2. rows changed in SQL by the database role: refused, logged, counted ----
# alice made an administrator
role_sql "UPDATE accounts SET role = 'admin' WHERE name = 'alice'"
get /api/v1/accounts "${ALICE[@]}" --interface 127.0.0.21; [ "$STATUS" = 401 ] || fail "alice, made an administrator in SQL, lists accounts: $STATUS"
issue_req "$T/one.csr" server "${ALICE[@]}" --interface 127.0.0.22; [ "$STATUS" = 401 ] || fail "alice's changed row still logs in: $STATUS"
issue_req "$T/one.csr" server -H "Authorization: Bearer $NEW_KEY" --interface 127.0.0.23; [ "$STATUS" = 401 ] || fail "alice's API key on a changed row: $STATUS"
grep -q 'event=row_refused .*account alice: row-mac: the account row.s MAC does not match' "$T/frontend.log" || fail "no row_refused for alice"
# ops-admin's password hash replaced by bob's: bob's password does not open it
role_sql "UPDATE accounts SET pw_hash = (SELECT pw_hash FROM accounts WHERE name = 'bob') WHERE name = 'ops-admin'"
get /api/v1/accounts -u "ops-admin:$(cat "$T/bob.pw")" --interface 127.0.0.24; [ "$STATUS" = 401 ] || fail "ops-admin with a hash written in SQL: $STATUS"
# a row from before 015 changed, and then changed back: it is no longer the row 015 found
role_sql "UPDATE accounts SET role = 'admin' WHERE name = 'old-req'"
get /api/v1/accounts -u "old-req:$OLD_PW" --interface 127.0.0.25; [ "$STATUS" = 401 ] || fail "old-req made an administrator: $STATUS"
role_sql "UPDATE accounts SET role = 'requester' WHERE name = 'old-req'"
issue_req "$T/one.csr" server -u "old-req:$OLD_PW" --interface 127.0.0.26; [ "$STATUS" = 401 ] || fail "old-req changed back: $STATUS"
# an API key written in SQL for bob
FORGED=hsk_$(openssl rand -hex 32)
role_sql "INSERT INTO api_keys (key_hash, account_id) SELECT encode(sha256('$FORGED'::bytea), 'hex'), id FROM accounts WHERE name = 'bob'"
issue_req "$T/one.csr" server -H "Authorization: Bearer $FORGED" --interface 127.0.0.27; [ "$STATUS" = 401 ] || fail "an API key written in SQL: $STATUS"
grep -q 'event=row_refused .*API key [0-9]* of bob: row-mac: the API key row has no MAC' "$T/frontend.log" || fail "no row_refused for the forged key"
issue_req "$T/one.csr" server "${BOB[@]}"; [ "$STATUS" = 201 ] || fail "bob's own row: $STATUS $BODY"
# a MAC of another length (the owner, past the CHECK) is refused like a wrong one: 401, not 503
owner "ALTER TABLE accounts DROP CONSTRAINT accounts_row_mac_check; UPDATE accounts SET row_mac = '\\x00' WHERE name = 'ops-admin'" >/dev/null
get /api/v1/accounts "${ADMIN[@]}" --interface 127.0.0.30; [ "$STATUS" = 401 ] || fail "a 1-byte row MAC: $STATUS"
grep -q 'event=row_refused .*row_mac: row-mac: not 32 bytes' "$T/frontend.log" || fail "no row_refused for the 1-byte MAC"
[ "$(refused_total)" -ge 7 ] || fail "/metrics: hsmca_rows_refused_total $(refused_total)"
# an administrator's listing shows the refused rows as they stand, marked
get /api/v1/accounts -u "old-adm:$OLDADM_PW"; [ "$STATUS" = 200 ] || fail "old-adm lists: $STATUS"
python3 - "$T/resp.json" <<'PY' || fail "the listing: $(cat "$T/resp.json")"
import json, sys
acc = {a["name"]: a for a in json.load(open(sys.argv[1]))["accounts"]}
assert acc["alice"]["refused"] is True and acc["alice"]["role"] == "admin", acc["alice"]
assert acc["ops-admin"]["refused"] is True and acc["old-req"]["refused"] is True, acc
assert acc["ops-admin"]["role"] == "admin" and acc["ops-admin"]["disabled"] is False, acc["ops-admin"]
assert "refused" not in acc["bob"] and "refused" not in acc["old-adm"], acc
PY
pass "an account made an administrator, a password hash written in SQL, a pre-015 row changed (and changed back), an API key inserted in SQL, a malformed MAC: each login refused (401), logged as row_refused, counted in /metrics"

# ---- 3. the frontend does not build on a refused row; the operator resets it ----
api() { STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' --data "$3" "${@:4}" "$URL$2"); }
api POST /api/v1/accounts/alice/password '{"password": "alice by admin 0003"}' -u "old-adm:$OLDADM_PW"
[ "$STATUS" = 409 ] && [ "$(json_field '["error"]["code"]')" = row-refused ] || fail "an administrator sets a refused row's password: $STATUS $(cat "$T/resp.json")"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" \
	> "$T/reset.log" 2>&1 && fail "create-account over an existing account"
grep -q "the account exists (--replace resets it)" "$T/reset.log" || fail "create-account over alice: $(cat "$T/reset.log")"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" \
	--replace > "$T/reset.log" 2>&1 || fail "create-account --replace: $(cat "$T/reset.log")"
expect_rc 1 "$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name nobody --role requester \
	--password-file "$T/alice.pw" --replace
grep -q "no such account" <<<"$OUT" || fail "create-account --replace of no account: $OUT"
issue_req "$T/one.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "alice after the reset: $STATUS $BODY"
get /api/v1/accounts "${ALICE[@]}"; [ "$STATUS" = 403 ] || fail "alice after the reset is a requester again: $STATUS"
[ "$(owner "select count(*) from audit_log where action = 'account.reset' and object = 'alice' and actor = 'cli'")" = 1 ] || fail "the reset is not audited"
pass "an administrator's change of a refused row gets 409 row-refused; create-account --replace resets it (audited) and it logs in again"

# ---- 4. a key rotation: started with the old key accepted, the frontend moves every row to the new key ----
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
mv "$T/intent.key" "$T/intent-old.key"
( umask 077 && openssl rand -hex 32 > "$T/intent.key" )
fe_start "intent_key_accept_file = $T/intent-old.key"
# alice, bob, ops-admin's refused row not; old-req's and old-adm's (no MAC) not; alice's API key; each logged
grep -q "event=rows_resealed rows=3$" "$T/frontend.log" || fail "rows resealed: $(grep rows_reseal "$T/frontend.log")"
for want in 'account="alice" id=[0-9]* role=requester' 'account="bob" id=[0-9]* role=requester' 'apikey=[0-9]* account_id=[0-9]* profile=server'; do
	grep -q "event=row_resealed $want" "$T/frontend.log" || fail "no row_resealed $want: $(grep row_resealed "$T/frontend.log")"
done
# each re-MACed row is on the record too, in the reseal's transaction (a row forged under a leaked old key is
# among them): actor config, object the account, the row's id
RESEALED=$(owner "select string_agg(actor || ' ' || action || ' ' || object || ' ' || coalesce(details::jsonb->>'role', details::jsonb->>'profile'), ';' order by id) from audit_log where action like '%.resealed'")
[ "$RESEALED" = "config account.resealed alice requester;config account.resealed bob requester;config apikey.resealed alice server" ] \
	|| fail "the reseal's audit rows: $RESEALED"
[ "$(owner "select count(*) from audit_log l join api_keys k on k.id = (l.details::jsonb->>'id')::bigint where l.action = 'apikey.resealed' and k.key_hash = encode(sha256('$NEW_KEY'::bytea), 'hex')")" = 1 ] \
	|| fail "apikey.resealed does not name alice's key by its id"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
fe_start
issue_req "$T/one.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "alice under the new key alone: $STATUS $BODY"
issue_req "$T/one.csr" server "${BOB[@]}"; [ "$STATUS" = 201 ] || fail "bob under the new key alone: $STATUS $BODY"
issue_req "$T/one.csr" server -H "Authorization: Bearer $NEW_KEY"; [ "$STATUS" = 201 ] || fail "alice's API key under the new key alone: $STATUS $BODY"
get /api/v1/accounts -u "old-adm:$OLDADM_PW"; [ "$STATUS" = 200 ] || fail "the untouched pre-015 administrator: $STATUS"
# rows that were refused before stay refused (the reseal re-MACs only rows whose MAC checked)
get /api/v1/accounts -u "ops-admin:$(cat "$T/bob.pw")" --interface 127.0.0.28; [ "$STATUS" = 401 ] || fail "the changed ops-admin row after the rotation: $STATUS"
pass "key rotation: with the old key accepted at start the rows move to the new key (rows_resealed, one audit row each), and log in with the new key alone; refused rows stay refused"

# ---- 5. a deleted row cannot be written back at its id (017): its MAC would check again ----
# the owner deletes alice's API key (leaked, say); the database role writes it back with its old id, fields and
# MAC, and UPDATEs it until mac_seq is what the MAC covers: the INSERT is refused, so the key stays dead
IFS='|' read -r KID KHASH KACC KPROF KSEQ KMAC < <(owner "select id || '|' || key_hash || '|' || account_id || '|' || profile || '|' || mac_seq || '|' || encode(row_mac, 'hex') from api_keys where key_hash = encode(sha256('$NEW_KEY'::bytea), 'hex')")
[ -n "$KMAC" ] || fail "alice's API key row"
owner "DELETE FROM api_keys WHERE id = $KID" >/dev/null
issue_req "$T/one.csr" server -H "Authorization: Bearer $NEW_KEY" --interface 127.0.0.31; [ "$STATUS" = 401 ] || fail "a deleted API key: $STATUS"
expect_sql_error frontend "INSERT INTO api_keys (id, key_hash, account_id, profile, row_mac) OVERRIDING SYSTEM VALUE
	VALUES ($KID, '$KHASH', $KACC, '$KPROF', '\\x$KMAC')" "permission denied for table api_keys"
for _ in $(seq "$KSEQ"); do role_sql "UPDATE api_keys SET disabled = false WHERE id = $KID"; done
issue_req "$T/one.csr" server -H "Authorization: Bearer $NEW_KEY" --interface 127.0.0.32; [ "$STATUS" = 401 ] || fail "a deleted API key written back at its id: $STATUS"
pass "a deleted API key cannot be written back at its old id with its old MAC (permission denied): it stays refused"

fe_signed_are_issued
"$FRONTEND" audit-verify --conninfo "$CI" | grepq 'audit chain intact' || fail "audit chain"
pass "every signed TBS is an issued row; audit chain intact"
