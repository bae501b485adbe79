#!/usr/bin/env bash
# Account management over HTTP (/api/v1/accounts): the first administrator comes from the CLI, everything
# else over the API with curl. Changes (disable, password, role, API key revocation) take effect on the
# very next request despite the 60 s credential cache; requesters, auditors and API keys are refused what
# they may not do; bad input gets 400; every change and every refusal is on the audit log, the chain
# verifies, and no password or key appears in the audit log or the frontend's log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles

ADMIN_PW='admin-Secret-7f3a91e2'
ALICE_PW='alice-Secret-c0ffee42'
ALICE_PW2='alice-Renewed-9b8e77d1'
ALICE_PW3='alice-ByAdmin-51d0aa3c'
AUD_PW='audrey-Secret-4e4e4e4e'
ADMIN2_PW='second-Admin-8c8c8c8c'
SECRETS=("$ADMIN_PW" "$ALICE_PW" "$ALICE_PW2" "$ALICE_PW3" "$AUD_PW" "$ADMIN2_PW")
# a password file is one line: a second line was taken into the password, one too long was cut, and a bare
# CR at the end (not a CRLF line end) was dropped from the password
for bad in 'first-line-1234\nsecond-line-5678\n' "$(printf 'x%.0s' $(seq 300))\n" "$(printf 'y%.0s' $(seq 256))\nzz\n" \
	'bare-carriage-return-1\r' 'crlf-then-more-12\r\nx'; do
	printf "$bad" > "$T/bad.pw"
	expect_rc 1 "$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name nobody --password-file "$T/bad.pw"
	grep -q 'password-file must hold one line of at most 256 bytes' <<<"$OUT" || fail "a bad password file: $OUT"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'nobody'")" = 0 ] || fail "a bad password file made an account"
printf 'short pw 11\n' > "$T/bad.pw"
expect_rc 1 "$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name nobody --password-file "$T/bad.pw"
grep -q 'password in --password-file is shorter than 12 bytes' <<<"$OUT" || fail "a short password: $OUT"
expect_rc 1 "$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name nobody --password-file "$T/no.pw"
grep -q 'cannot read --password-file' <<<"$OUT" || fail "a missing password file: $OUT"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'nobody'")" = 0 ] || fail "a bad password file made an account"
pass "a password file of two lines, of a line over 256 bytes or with a bare CR is refused (not taken in or cut); a short or missing one says so"
printf '%s\r\n' "$ADMIN_PW" > "$T/admin.pw" # a CRLF line end is not part of the password (logins below)
"$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name ops-admin --password-file "$T/admin.pw" \
	> "$T/bootstrap.log" 2>&1 || fail "bootstrap-admin: $(cat "$T/bootstrap.log")"
# the bootstrap makes the first administrator only: run again it refuses, names the one there is, writes nothing
AUDIT_BEFORE=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")
expect_rc 1 "$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name second-admin --password-file "$T/admin.pw"
grep -q 'an administrator exists (ops-admin)' <<<"$OUT" || fail "a second bootstrap: $OUT"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'second-admin'")" = 0 ] || fail "a second bootstrap made an account"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")" = "$AUDIT_BEFORE" ] || fail "a second bootstrap was audited"
pass "bootstrap-admin run again refuses (an administrator exists), makes no account and writes no audit row"
fe_start
ADMIN=(-u "ops-admin:$ADMIN_PW")

# api METHOD PATH BODY [curl args...]: sets STATUS and BODY ($T/resp.json); BODY "" sends an empty body
api() {
	local m=$1 path=$2 body=$3; shift 3
	printf '%s' "$body" > "$T/body.json"
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
		--data-binary @"$T/body.json" "$@" "$URL$path")
	BODY=$(cat "$T/resp.json")
}
get() { # PATH [curl args...]
	local path=$1; shift
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "$@" "$URL$path")
	BODY=$(cat "$T/resp.json")
}
want() { # STATUS [CODE] LABEL
	local st=$1 code='' label
	if [ $# -eq 3 ]; then code=$2; label=$3; else label=$2; fi
	[ "$STATUS" = "$st" ] || fail "$label: expected $st, got $STATUS $BODY"
	[ -z "$code" ] || [ "$(json_field '["error"]["code"]')" = "$code" ] || fail "$label: expected code $code: $BODY"
}
# Each expected authentication failure comes from its own loopback address, so the per-address failure
# limit (5 a minute) cannot turn a later check into a 429.
# (The count is kept in a file: other_addr runs in $( ), a subshell, so a shell variable never moved on and
# every "other" address was 127.0.0.11.)
other_addr() {
	local n; n=$(( $(cat "$T/next_addr" 2>/dev/null || echo 10) + 1 ))
	echo "$n" > "$T/next_addr"
	echo "--interface 127.0.0.$n"
}
audit_count() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = '$1'${2:+ and ($2)}"; }

# ---- create a requester; it issues ----
api POST /api/v1/accounts '{"name": "alice", "role": "requester", "password": "'"$ALICE_PW"'"}' "${ADMIN[@]}"
want 201 "create alice"
[ "$(json_field '["name"]')/$(json_field '["role"]')" = alice/requester ] || fail "create reply: $BODY"
csr a1 ec:P-256 "DNS:a1.example.com"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW"; want 201 "alice issues"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW"; want 201 "alice issues again (cached credential)"
pass "an administrator creates a requester over HTTP; it issues"
# a failed login's log line names the user whole, however it escapes: 63 bytes 0xff are 252 characters as
# \xff (the line cut them at 141, so names alike that far logged the same)
hdr=$(python3 -c 'import base64; print(base64.b64encode(b"\xff" * 63 + b":some password").decode())')
get /api/v1/accounts -H "Authorization: Basic $hdr" $(other_addr); want 401 unauthorized "a login as 63 bytes 0xff"
grep -qF "event=auth_failed user=\"$(printf '\\xff%.0s' $(seq 63))\" peer=" "$T/frontend.log" ||
	fail "the failed login's user in the log: $(grep 'event=auth_failed user=' "$T/frontend.log" | tail -1)"
pass "a failed login's log line holds its user name whole, escaped"

# ---- disable takes effect at once, despite the credential cache; enable again ----
api POST /api/v1/accounts/alice/disable '' "${ADMIN[@]}"; want 200 "disable alice"
[ "$(json_field '["disabled"]')" = True ] || fail "disable reply: $BODY"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW" $(other_addr); want 401 unauthorized "disabled alice"
# each try of a disabled account's right password runs scrypt, as a wrong one does (a cached verification
# answered the second try ~50 ms sooner: a guess sent twice told whether it was right)
pwchecks() { curl -fsS "$URL/metrics" | sed -n 's/^hsmca_password_verifications_total //p'; }
v0=$(pwchecks)
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW" $(other_addr); want 401 unauthorized "disabled alice, again"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW" $(other_addr); want 401 unauthorized "disabled alice, a third time"
[ "$(( $(pwchecks) - v0 ))" = 2 ] || fail "two tries of a disabled account's password: $(( $(pwchecks) - v0 )) verifications, want 2"
get /api/v1/accounts/alice "${ADMIN[@]}"; want 200 "get alice"
[ "$(json_field '["disabled"]')" = True ] || fail "alice not shown disabled: $BODY"
api POST /api/v1/accounts/alice/enable '{}' "${ADMIN[@]}"; want 200 "enable alice"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW"; want 201 "re-enabled alice issues"
pass "a disabled account is refused on its next request (401; its password verified each time, never from the cache) and works again once enabled"

# ---- password changes: by the account itself, then by an administrator ----
api POST /api/v1/accounts/alice/password '{"password": "'"$ALICE_PW2"'"}' -u "alice:$ALICE_PW"; want 200 "alice changes her password"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW" $(other_addr); want 401 unauthorized "old password after change"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW2"; want 201 "new password"
api POST /api/v1/accounts/alice/password '{"password": "'"$ALICE_PW3"'"}' "${ADMIN[@]}"; want 200 "admin sets alice's password"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW2" $(other_addr); want 401 unauthorized "password replaced by the admin"
issue_req "$T/a1.csr" server -u "alice:$ALICE_PW3"; want 201 "the admin's password"
ALICE=(-u "alice:$ALICE_PW3")
pass "a password change (own or by an administrator) refuses the old password at once; the new one works"

# ---- a requester manages nothing but its own password ----
api POST /api/v1/accounts '{"name": "mallory", "role": "admin", "password": "mallory password 1"}' "${ALICE[@]}"
want 403 forbidden "requester creates an account"
get /api/v1/accounts "${ALICE[@]}"; want 403 forbidden "requester lists accounts"
api POST /api/v1/accounts/ops-admin/password '{"password": "taken over password"}' "${ALICE[@]}"
want 403 forbidden "requester changes another's password"
api POST /api/v1/accounts/alice/role '{"role": "admin"}' "${ALICE[@]}"; want 403 forbidden "requester promotes itself"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'mallory'")" = 0 ] || fail "mallory exists"
pass "a requester gets 403 for everything but its own password"

# ---- an auditor reads but changes nothing ----
api POST /api/v1/accounts '{"name": "audrey", "role": "auditor", "password": "'"$AUD_PW"'"}' "${ADMIN[@]}"; want 201 "create auditor"
AUD=(-u "audrey:$AUD_PW")
get /api/v1/accounts "${AUD[@]}"; want 200 "auditor lists"
python3 - "$T/resp.json" <<'EOF' || fail "account list: $(cat "$T/resp.json")"
import json, re, sys
d = json.load(open(sys.argv[1]))
acc = {a["name"]: a for a in d["accounts"]}
assert set(d) == {"accounts"}, d
assert set(acc) == {"ops-admin", "alice", "audrey"}, acc
for a in acc.values():
    assert set(a) == {"name", "role", "disabled", "created_at"}, a
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["created_at"]), a
assert acc["ops-admin"]["role"] == "admin" and acc["alice"]["role"] == "requester" and acc["audrey"]["role"] == "auditor"
assert not any(a["disabled"] for a in acc.values())
EOF
get /api/v1/accounts/alice "${AUD[@]}"; want 200 "auditor reads one"
get /api/v1/accounts/nobody "${AUD[@]}"; want 404 not-found "unknown account"
api POST /api/v1/accounts '{"name": "eve", "role": "requester", "password": "eve password 12"}' "${AUD[@]}"
want 403 forbidden "auditor creates"
api POST /api/v1/accounts/alice/disable '' "${AUD[@]}"; want 403 forbidden "auditor disables"
pass "an auditor lists and reads accounts (name, role, disabled, created_at) but may not change them"

# ---- an account changes passwords at most 5 times a minute (each a scrypt and every frontend's account cache
# emptied: a requester could do it without end) ----
api POST /api/v1/accounts '{"name": "pwbob", "role": "requester", "password": "pwbob password 0"}' "${ADMIN[@]}"
want 201 "create pwbob"
for i in 1 2 3 4 5; do
	api POST /api/v1/accounts/pwbob/password '{"password": "pwbob password '$i'"}' -u "pwbob:pwbob password $((i - 1))"
	want 200 "pwbob's password change $i"
done
api POST /api/v1/accounts/pwbob/password '{"password": "pwbob password 6"}' -u "pwbob:pwbob password 5"
want 429 rate-limited "a sixth password change within the minute"
api POST /api/v1/accounts/pwbob/password '{"password": "pwbob password 7"}' "${ADMIN[@]}"
want 200 "an administrator sets pwbob's password meanwhile (its own budget)"
pass "an account changes passwords at most 5 times a minute (429 after), an administrator's changes count against the administrator"
# a %00 in a path segment is refused: decoded, it cut "disable%00junk" down to "disable" (and a key id too)
api POST '/api/v1/accounts/alice/disable%00junk' '' "${ADMIN[@]}"; want 400 "disable%00junk"
api POST '/api/v1/accounts/alice/apikeys/1%00x/disable' '' "${ADMIN[@]}"; want 400 "apikeys/1%00x/disable"
get /api/v1/accounts/alice "${ADMIN[@]}"; [ "$(json_field '["disabled"]')" = False ] || fail "alice disabled by a %00 path: $BODY"
pass "a path segment holding %00 is refused (400), not read up to the NUL"

# ---- role changes take effect at once ----
api POST /api/v1/accounts/alice/role '{"role": "auditor"}' "${ADMIN[@]}"; want 200 "alice -> auditor"
issue_req "$T/a1.csr" server "${ALICE[@]}"; want 403 forbidden "alice as auditor issues"
get /api/v1/accounts "${ALICE[@]}"; want 200 "alice as auditor lists"
api POST /api/v1/accounts/alice/role '{"role": "requester"}' "${ADMIN[@]}"; want 200 "alice -> requester"
issue_req "$T/a1.csr" server "${ALICE[@]}"; want 201 "alice a requester again"
pass "a role change applies to the next request"

# ---- API keys: shown once, work for issuing, revoked at once, never manage accounts ----
api POST /api/v1/accounts/alice/apikeys '{"profile": "server"}' "${ADMIN[@]}"; want 201 "API key for alice"
KEY1=$(json_field '["key"]'); KEY1_ID=$(json_field '["id"]')
[[ $KEY1 =~ ^hsk_[A-Za-z0-9_-]{43}$ ]] || fail "key format: $KEY1"
[ "$(json_field '["profile"]')" = server ] || fail "key profile: $BODY"
api POST /api/v1/accounts/alice/apikeys '{}' "${ADMIN[@]}"; want 201 "any-profile key"
KEY2=$(json_field '["key"]')
[ "$(json_field '["profile"]')" = None ] && [ "$KEY2" != "$KEY1" ] || fail "second key: $BODY"
h=$(printf '%s' "$KEY1" | sha256sum | cut -d' ' -f1)
[ "$(pg_psql "$T/pg" owner -c "select count(*) from api_keys where key_hash = '$h'")" = 1 ] || fail "key hash not stored"
issue_req "$T/a1.csr" server -H "Authorization: Bearer $KEY1"; want 201 "Bearer issue"
KS1=$(json_field '["serial"]')
csr c1 ec:P-256 "DNS:dev1.clients.example.com"
issue_req "$T/c1.csr" client -H "Authorization: Bearer $KEY2"; want 201 "any-profile key issues under client"
KC1=$(json_field '["serial"]')
issue_req "$T/c1.csr" client -H "Authorization: Bearer $KEY1"; want 403 profile-forbidden "server key under client"
# a key bound to a profile reads only that profile's certificates of its account (it read all of them)
get "/api/v1/certificates/$KS1" -H "Authorization: Bearer $KEY1"; want 200 "the server key reads a server certificate"
get "/api/v1/certificates/$KC1" -H "Authorization: Bearer $KEY1"; want 404 not-found "the server key reads a client certificate"
get "/api/v1/certificates/$KC1" -H "Authorization: Bearer $KEY2"; want 200 "the any-profile key reads a client certificate"
# an absolute-form request target (RFC 9112 3.2.2: a server must accept it) reads the same (before: 404, the
# handler looked for /api/v1/certificates/ at the start of http://...)
cp "$T/resp.json" "$T/origin-form.json"
get "/api/v1/certificates/$KC1" -H "Authorization: Bearer $KEY2" --request-target "$URL/api/v1/certificates/$KC1"
want 200 "an absolute-form target"
cmp -s "$T/resp.json" "$T/origin-form.json" || fail "an absolute-form target read another answer: $BODY"
get /api/v1/accounts/alice "${AUD[@]}"; want 200 "alice with keys"
python3 - "$T/resp.json" "$KEY1_ID" <<'EOF' || fail "keys listed: $(cat "$T/resp.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"name", "role", "disabled", "created_at", "apikeys"}, d
ks = d["apikeys"]
assert len(ks) == 2 and all(set(k) == {"id", "profile", "disabled", "created_at"} for k in ks), ks
assert ks[0]["id"] == int(sys.argv[2]) and ks[0]["profile"] == "server" and ks[1]["profile"] is None, ks
EOF
grep -q hsk_ "$T/resp.json" && fail "a key is listed"
api POST "/api/v1/accounts/alice/apikeys/$KEY1_ID/disable" '' "${ADMIN[@]}"; want 200 "disable key 1"
issue_req "$T/a1.csr" server -H "Authorization: Bearer $KEY1"; want 401 unauthorized "disabled key"
issue_req "$T/c1.csr" client -H "Authorization: Bearer $KEY2"; want 201 "the other key still works"
api POST "/api/v1/accounts/audrey/apikeys/$KEY1_ID/disable" '' "${ADMIN[@]}"; want 404 not-found "key of another account"
api POST /api/v1/accounts/alice/apikeys/999999/disable '' "${ADMIN[@]}"; want 404 not-found "unknown key id"
api POST /api/v1/accounts/alice/apikeys '{"profile": "nosuch"}' "${ADMIN[@]}"; want 400 unknown-profile "unknown profile"
grepq 'no such profile \\"nosuch\\"' "$T/resp.json" || fail "the unknown profile is not named: $(cat "$T/resp.json")"
api POST /api/v1/accounts/audrey/apikeys '{"profile": "server"}' "${ADMIN[@]}"; want 400 profile-forbidden "profile not for audrey"
grepq 'profile \\"server\\" does not list account audrey in its accounts' "$T/resp.json" \
	|| fail "the refusal does not say what to change: $(cat "$T/resp.json")"
api POST /api/v1/accounts/ops-admin/apikeys '{"profile": "server"}' "${ADMIN[@]}" -D "$T/key-headers"; want 201 "admin's own key"
AKEY=$(json_field '["key"]')
# the reply holds the key: no cache may keep it (it carried no Cache-Control at all)
grep -qi '^cache-control: no-store' "$T/key-headers" || fail "the new key's reply may be cached: $(cat "$T/key-headers")"
get /api/v1/accounts -H "Authorization: Bearer $AKEY"; want 403 api-key-forbidden "API key lists accounts"
api POST /api/v1/accounts '{"name": "bot", "role": "admin", "password": "bot password 123"}' -H "Authorization: Bearer $AKEY"
want 403 api-key-forbidden "API key creates an account"
api POST /api/v1/accounts/alice/apikeys '{}' -H "Authorization: Bearer $KEY2"; want 403 api-key-forbidden "key makes keys"
get /api/v1/accounts -H "Authorization: Bearer hsk_not-a-real-key-000000000000000000000000"; want 401 unauthorized "bad key"
# no key, nor any 16 characters of one, anywhere in the database (the check looked in key_hash alone, a
# column of 64 hex digits: it could not fail)
"$PG_BIN/pg_dump" --data-only "$(pg_conninfo "$T/pg" owner)" > "$T/db.dump" || fail "pg_dump"
[ "$(grep -c 'hsk_' "$T/db.dump" || true)" = 0 ] || fail "hsk_ in the database: $(grep -o 'hsk_.\{8\}' "$T/db.dump" | head -3)"
for k in "$KEY1" "$KEY2" "$AKEY"; do
	for off in 4 20 31; do
		! grep -qF -- "${k:$off:16}" "$T/db.dump" || fail "16 characters of an API key (from $off) are in the database"
	done
done
pass "API keys: hsk_ + 43 base64url, stored as SHA-256 only, issue (profile-bound or any), listed without the key, revoked at once, refused for account management"

# ---- a change without credentials is audited (actor -) and counted per address (429 after 5, then not
# audited); a read without them is neither (it was: neither, so a flood of anonymous changes left no trace) ----
nocred_rows() { audit_count account.refused "actor = '-' and details::jsonb->>'message' like 'credentials required%'"; }
N0=$(nocred_rows)
get /api/v1/accounts --interface 127.0.0.90; want 401 unauthorized "a read without credentials"
[ "$(nocred_rows)" = "$N0" ] || fail "a read without credentials was audited"
for i in 1 2 3 4 5; do
	api POST /api/v1/accounts '{"name": "anon", "role": "admin", "password": "anon password 123"}' --interface 127.0.0.91
	want 401 unauthorized "a change without credentials ($i)"
done
[ "$(nocred_rows)" = $((N0 + 5)) ] || fail "5 changes without credentials: $(($(nocred_rows) - N0)) audit rows"
api POST /api/v1/accounts/alice/disable '' --interface 127.0.0.91; want 429 rate-limited "a sixth change without credentials"
[ "$(nocred_rows)" = $((N0 + 5)) ] || fail "a rate-limited change without credentials was audited"
get /api/v1/accounts "${ADMIN[@]}" --interface 127.0.0.92; want 200 "another address is not limited"
pass "account changes without credentials: 401, audited with actor - and counted per address (429 after 5, not audited); reads without them are not audited"

# ---- validation: 400 with a reason ----
bad() { # BODY LABEL [PATH]
	api POST "${3:-/api/v1/accounts}" "$1" "${ADMIN[@]}"; want 400 bad-request "$2"
	[ -n "$(json_field '["error"]["message"]')" ] || fail "$2: no message"
}
long=$(printf 'n%.0s' $(seq 64))
longpw=$(printf 'p%.0s' $(seq 257))
bad '{"name": "a:b", "role": "requester", "password": "good password 1"}' "colon in name"
bad '{"name": "", "role": "requester", "password": "good password 1"}' "empty name"
bad '{"name": "'"$long"'", "role": "requester", "password": "good password 1"}' "64-byte name"
bad '{"name": "tab\there", "role": "requester", "password": "good password 1"}' "control character"
# names the profiles file's account lists could not hold ("ci#prod" read as "ci", "build team" as two)
bad '{"name": "ci#prod", "role": "requester", "password": "good password 1"}' "'#' in name"
bad '{"name": "build team", "role": "requester", "password": "good password 1"}' "space in name"
bad '{"name": "a,b", "role": "requester", "password": "good password 1"}' "comma in name"
bad '{"name": "c1\u0085x", "role": "requester", "password": "good password 1"}' "C1 control character"
# names that read as another: "ops-admin" with a zero-width space, a no-break space, a right-to-left mark
for c in 200b 00a0 200f feff 2066; do
	bad '{"name": "ops-admin\u'"$c"'", "role": "admin", "password": "good password 1"}' "U+$c in a name"
	grep -qi "invisible, spacing or direction-changing character (U+$c)" <<<"$BODY" || fail "U+$c in a name: $BODY"
done
bad '{"name": 5, "role": "requester", "password": "good password 1"}' "name not a string"
# the audit log's own actors are no account names (an account "cli" wrote rows like the command line's)
for n in - bootstrap cli expiry recovery; do
	bad '{"name": "'"$n"'", "role": "admin", "password": "good password 1"}' "the reserved name $n"
	grep -q "is an actor of the audit log's own" <<<"$BODY" || fail "reserved name $n: $BODY"
done
printf 'good password 1\n' > "$T/res.pw"
expect_fail "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name expiry --role admin \
	--password-file "$T/res.pw"
grep -q "is an actor of the audit log's own" <<<"$OUT" || fail "create-account, reserved name: $OUT"
# create-account takes the names the HTTP API takes, no others, and says why (a C1 control character was
# refused only by the table's CHECK, as a raw database error)
expect_fail "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name "$(printf 'c1\302\205x')" \
	--role requester --password-file "$T/res.pw"
grep -q -- "--name: account name: no control characters" <<<"$OUT" || fail "create-account, C1 name: $OUT"
expect_fail "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name "$(printf 'ops\342\200\213admin')" \
	--role admin --password-file "$T/res.pw"
grep -q -- "--name: account name: no invisible" <<<"$OUT" || fail "create-account, a zero-width space in a name: $OUT"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name in ('-', 'bootstrap', 'cli', 'expiry', 'recovery')")" = 0 ] \
	|| fail "an account under a reserved name"
bad '{"name": "bob", "role": "requester", "password": "short pw 11"}' "11-byte password"
bad '{"name": "bob", "role": "requester", "password": "'"$longpw"'"}' "257-byte password"
bad '{"name": "bob", "role": "root", "password": "good password 1"}' "unknown role"
bad '{"name": "bob", "role": "requester"}' "missing password"
bad '{"name": "bob", "role": "requester", "password": "good password 1", "admin": true}' "extra field"
bad '{"name": "bob", "name": "bob2", "role": "requester", "password": "good password 1"}' "duplicate field"
bad '{"name": "bob", "role": "requester", "password": "good password 1"} x' "trailing bytes"
bad '{"name": "bob", "role": ' "truncated JSON"
bad '["bob"]' "not an object"
bad '' "empty body"
bad '{"password": "short"}' "short new password" /api/v1/accounts/alice/password
bad '{"password": "good password 1", "old": "x"}' "extra field in password" /api/v1/accounts/alice/password
bad '{"role": "superuser"}' "bad role" /api/v1/accounts/alice/role
bad '{"profile": 7}' "profile not a string" /api/v1/accounts/alice/apikeys
bad '{"x": 1}' "body on disable" /api/v1/accounts/alice/disable
bad '' "colon in the path name" /api/v1/accounts/a%3Ab/disable
bad '' "bad escape in the path" /api/v1/accounts/a%zz/disable
bad '' "bad key id" /api/v1/accounts/alice/apikeys/01/disable
api POST /api/v1/accounts/alice/password '{"password": "short"}' "${ADMIN[@]}"
[ "$(json_field '["error"]["message"]')" = "password: at least 12 bytes" ] || fail "password message: $BODY"
get /api/v1/accounts/alice/nosuch "${ADMIN[@]}"; want 404 not-found "unknown action"
get /api/v1/accounts/alice/disable "${ADMIN[@]}"; want 405 method "GET on a POST endpoint"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name like 'bob%'")" = 0 ] || fail "a bad request created bob"
pass "bad names (also the audit log's own actors, over HTTP and by create-account), passwords, roles, fields, JSON and paths get 400 with a reason (nothing stored)"

# ---- conflicts and self-lockout ----
api POST /api/v1/accounts '{"name": "alice", "role": "admin", "password": "another password"}' "${ADMIN[@]}"
want 409 exists "duplicate name"
api POST /api/v1/accounts/ops-admin/disable '' "${ADMIN[@]}"; want 409 self-lockout "admin disables self"
api POST /api/v1/accounts/ops-admin/role '{"role": "requester"}' "${ADMIN[@]}"; want 409 self-lockout "admin demotes self"
api POST /api/v1/accounts/nobody/disable '' "${ADMIN[@]}"; want 404 not-found "disable unknown"
get /api/v1/accounts/ops-admin "${ADMIN[@]}"; want 200 "admin reads self"
[ "$(json_field '["role"]')/$(json_field '["disabled"]')" = admin/False ] || fail "admin changed: $BODY"
# a second administrator may disable the first; the first is then refused at once
api POST /api/v1/accounts '{"name": "admin2", "role": "admin", "password": "'"$ADMIN2_PW"'"}' "${ADMIN[@]}"; want 201 "admin2"
api POST /api/v1/accounts/ops-admin/disable '' -u "admin2:$ADMIN2_PW"; want 200 "admin2 disables ops-admin"
get /api/v1/accounts "${ADMIN[@]}" $(other_addr); want 401 unauthorized "disabled admin"
api POST /api/v1/accounts/ops-admin/enable '' -u "admin2:$ADMIN2_PW"; want 200 "admin2 enables ops-admin"
get /api/v1/accounts "${ADMIN[@]}"; want 200 "ops-admin back"
pass "duplicate names get 409; an administrator cannot disable or demote itself (409); another one can"

# ---- the account cache (auth.c, acctwatch.c): a change made by another process (psql here, as a second
# frontend would) applies once its NOTIFY arrives; with the watcher's connection cut, it reconnects and the
# same holds; nothing stale survives either ----
CAROL_PW='carol-Secret-5a5a5a5a'
SECRETS+=("$CAROL_PW")
api POST /api/v1/accounts '{"name": "carol", "role": "auditor", "password": "'"$CAROL_PW"'"}' "${ADMIN[@]}"; want 201 "carol"
CSERIAL=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where status = 'issued' limit 1")
watcher_pid() { # its last query: a LISTEN, or the ping it sends when the connection has been quiet for 5 s
	# (after a (re)connection its profile check's audit-log lookup comes last, until that ping: wait for it)
	pg_psql "$T/pg" owner -c "select pid from pg_stat_activity where query in ('LISTEN hsmca_accounts', 'LISTEN hsmca_schema', 'LISTEN hsmca_profiles', 'SELECT 1 AS listener_ping')"
}
for _ in $(seq 200); do [ -n "$(watcher_pid)" ] && break; sleep 0.1; done
[ -n "$(watcher_pid)" ] || fail "the account watcher does not LISTEN"
# until WANT-STATUS: GET the certificate as carol, each try from its own address (the per-address limit);
# fails after 5 s
CAROL_ADDR=100
carol_until() {
	local tries=0
	while [ $tries -lt 50 ]; do
		CAROL_ADDR=$((CAROL_ADDR + 1))
		get "/api/v1/certificates/$CSERIAL" -u "carol:$CAROL_PW" --interface "127.0.0.$CAROL_ADDR"
		tries=$((tries + 1))
		[ "$STATUS" = "$1" ] && { echo "$2: $tries tries" >> "$T/cache-tries.log"; return 0; }
		sleep 0.1
	done
	fail "$2: still $STATUS after 5 s: $BODY"
}
account_set() { fe_account_set_disabled "$1" "$2"; }
carol_until 200 "carol reads her certificate (row cached)"
carol_until 200 "again"
account_set carol true
carol_until 401 "disabled by another process"
account_set carol false
carol_until 200 "enabled by another process"
OLD=$(watcher_pid)
pg_psql "$T/pg" owner -c "select pg_terminate_backend($OLD)" >/dev/null
for _ in $(seq 200); do NEW=$(watcher_pid); [ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && break; sleep 0.1; done
[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] || fail "the account watcher did not reconnect"
grep -q 'account_watch_down' "$T/frontend.log" && grep -q 'account_watch_up' "$T/frontend.log" || fail "watcher reconnect not logged"
carol_until 200 "after the reconnect"
account_set carol true
carol_until 401 "disabled after the reconnect"
account_set carol false
carol_until 200 "enabled after the reconnect"
pass "account changes by another process apply once their NOTIFY arrives ($(awk -F': ' '{print $2}' "$T/cache-tries.log" | tr '\n' ' ' | sed 's/ tries / /g')tries), also after the watcher's connection was cut"

# ---- workers blocked on the database do not hold up other requests (frontend/pool.c): only as many workers
# as CPUs are woken for new work, plus one more each time queued work sees no progress; here 3 requests
# (more than that, fewer than the 4 workers of the test config) wait on a row lock held by another
# session, and a read still answers at once ----
# (polled, not fixed sleeps: without the lock taken and the requests waiting on it, the read below proves nothing)
lock_held() { [ "$(pg_psql "$T/pg" owner -c "select count(*) from pg_stat_activity where wait_event = 'PgSleep'")" = 1 ]; }
waiting() { # N: at least N of the frontend's sessions wait on a lock
	[ "$(pg_psql "$T/pg" owner -c "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and application_name like 'hsmca-frontend:%'")" -ge "$1" ]
}
lock_carol() {
	pg_psql "$T/pg" owner -c "begin; select 1 from accounts where name = 'carol' for update; select pg_sleep(6); commit" \
		>/dev/null 2>&1 &
	LOCKER=$!
	for _ in $(seq 100); do lock_held && return 0; sleep 0.05; done
	fail "the locker did not take carol's row"
}
wait_blocked() { # N
	for _ in $(seq 80); do waiting "$1" && return 0; sleep 0.05; done
	fail "fewer than $1 requests wait on carol's row lock"
}
lock_carol
BLOCKED=()
for i in 1 2 3; do
	curl -sS -o "$T/blocked$i.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary '{}' \
		"${ADMIN[@]}" "$URL/api/v1/accounts/carol/enable" > "$T/blocked$i.status" 2>&1 &
	BLOCKED+=($!)
done
wait_blocked 3
T0=$(date +%s%N)
# (an auditor's read of a certificate: the blocked requests also hold the row lock of their administrator)
get "/api/v1/certificates/$CSERIAL" -u "audrey:$AUD_PW"; want 200 "a read while 3 workers are blocked"
MS=$((($(date +%s%N) - T0) / 1000000))
# the proof is that it answered while the lock was still held (kill -0 below; the lock has ~5 s left at T0);
# the time bound is loose, since a loaded CI machine took 1.5 s for such an answer
[ "$MS" -lt 4000 ] || fail "a read took $MS ms while other workers were blocked"
kill -0 "$LOCKER" 2>/dev/null || fail "the row lock was released before the read: the check proves nothing"
wait "${BLOCKED[@]}" "$LOCKER"
for i in 1 2 3; do [ "$(cat "$T/blocked$i.status")" = 200 ] || fail "blocked request $i: $(cat "$T/blocked$i.status")"; done
pass "a read answers in $MS ms while 3 requests wait on a row lock (more workers than CPUs are busy); they complete once it is released"

# ---- an issuance whose credentials are cached needs no worker (issue_inline: the event loop checks it and
# hands the intent to the committer): with all 4 workers blocked on a row lock and more requests queued
# behind them, it still gets its certificate at once ----
csr inl ec:P-256 "DNS:inline.example.com"
issue_req "$T/inl.csr" server "${ADMIN[@]}"; want 201 "an issuance that caches the credentials (60 s)"
lock_carol
BLOCKED=()
for i in 1 2 3 4 5 6; do
	curl -sS -o "$T/blocked$i.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary '{}' \
		"${ADMIN[@]}" "$URL/api/v1/accounts/carol/enable" > "$T/blocked$i.status" 2>&1 &
	BLOCKED+=($!)
done
wait_blocked 4
T0=$(date +%s%N)
issue_req "$T/inl.csr" server "${ADMIN[@]}"; want 201 "an issuance while every worker is blocked"
MS=$((($(date +%s%N) - T0) / 1000000))
[ "$MS" -lt 4000 ] || fail "an issuance with cached credentials took $MS ms while the workers were blocked"
kill -0 "$LOCKER" 2>/dev/null || fail "the row lock was released before the issuance: the check proves nothing"
SER=$(json_field '["serial"]')
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$SER'")" = issued ] || fail "inline issuance: row $SER"
wait "${BLOCKED[@]}" "$LOCKER"
# the four the workers took complete once the lock is released; the two queued behind them for the lock's
# 6 s, past timeout_seconds (5), are answered 503 without being done (pool.c), or done if taken in time
n200=0
for i in 1 2 3 4 5 6; do
	case $(cat "$T/blocked$i.status") in
	200) n200=$((n200 + 1)) ;;
	503) grepq 'waited longer than timeout_seconds for a worker' "$T/blocked$i.json" || fail "blocked request $i: $(cat "$T/blocked$i.json")" ;;
	*) fail "blocked request $i: $(cat "$T/blocked$i.status") $(cat "$T/blocked$i.json")" ;;
	esac
done
[ "$n200" -ge 4 ] || fail "only $n200 of the blocked requests completed"
pass "an issuance with cached credentials answers in $MS ms while all 4 workers are blocked (no worker needed)"

# ---- a herd of logins with the same credentials costs one scrypt (frontend/pwflight.c): 16 requests at
# once for an account nobody has logged in to yet; before, each ran its own (16 x 16 MiB, seconds of CPU
# on two cores, the first answer after all of them). Then a mixed herd on another new account: the right
# password is never refused and a wrong one never let in by joining a verification (4 wrong: under the
# per-account failure limit, so the right ones are not limited) ----
metric() { curl -sS "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
HERD_PIDS=()
herd() { # NAME PASSWORD N TAG [curl args]: N requests at once, their statuses in $T/herd-TAG-*.status
	local i n=$3 tag=$4 who=$1:$2
	shift 4
	for i in $(seq "$n"); do
		curl -sS -o /dev/null -w '%{http_code}' -u "$who" "$@" "$URL/api/v1/certificates/$CSERIAL" \
			> "$T/herd-$tag-$i.status" 2>&1 &
		HERD_PIDS+=($!)
	done
}
HERD_PW='herd-Secret-0a1b2c3d'
SECRETS+=("$HERD_PW")
for n in herd herd2; do
	api POST /api/v1/accounts '{"name": "'"$n"'", "role": "auditor", "password": "'"$HERD_PW"'"}' "${ADMIN[@]}"
	want 201 "create $n"
done
V0=$(metric hsmca_password_verifications_total)
herd herd "$HERD_PW" 16 a
wait "${HERD_PIDS[@]}"
for i in $(seq 16); do [ "$(cat "$T/herd-a-$i.status")" = 200 ] || fail "herd request $i: $(cat "$T/herd-a-$i.status")"; done
V1=$(metric hsmca_password_verifications_total)
[ "$((V1 - V0))" = 1 ] || fail "16 identical logins at once ran scrypt $((V1 - V0)) times, want 1"
herd herd2 "$HERD_PW" 12 right
herd herd2 'herd-Wrong-99999999' 4 wrong $(other_addr)
wait "${HERD_PIDS[@]}"
for i in $(seq 12); do [ "$(cat "$T/herd-right-$i.status")" = 200 ] || fail "mixed herd, right password $i: $(cat "$T/herd-right-$i.status")"; done
for i in $(seq 4); do # 401, or 429 once that address has failed too often
	case $(cat "$T/herd-wrong-$i.status") in 401 | 429) ;; *) fail "mixed herd, wrong password $i: $(cat "$T/herd-wrong-$i.status")" ;; esac
done
pass "16 identical logins at once run scrypt once ($((V1 - V0)) in /metrics); in a mixed herd the right password always gets in, a wrong one never"

# ---- a listener that went silent: the account cache must not outlive it ----
# the watcher's backend is stopped (as a dropped route or a hung server would leave it: the connection stays
# open, nothing arrives); an account disabled meanwhile must be refused once the watcher's ping has gone
# unanswered (~10 s), where it used to log in from the cache until TCP gave up
WPW="watch me password 0001"
api POST /api/v1/accounts '{"name": "watchme", "role": "auditor", "password": "'"$WPW"'"}' "${ADMIN[@]}"; want 201 "create watchme"
get /api/v1/accounts -u "watchme:$WPW"; want 200 "watchme lists"
get /api/v1/accounts -u "watchme:$WPW"; want 200 "watchme lists (cached)"
WPID=$(watcher_pid)
[ -n "$WPID" ] && [ "$(wc -w <<<"$WPID")" = 1 ] || fail "the account watcher's backend: '$WPID'"
UPS=$(grep -c account_watch_up "$T/frontend.log" || true)
stop_pid "$WPID"
pg_psql "$T/pg" owner -c "update accounts set disabled = true where name = 'watchme'" >/dev/null
# noticed within 5 s of quiet and a 5 s ping (acctwatch.c); polled up to 20 s, not a fixed sleep of 12
DOWN=no
for _ in $(seq 200); do grep -q 'account_watch_down.*did not answer' "$T/frontend.log" && { DOWN=yes; break; }; sleep 0.1; done
get /api/v1/accounts -u "watchme:$WPW"; STOPPED=$STATUS
kill -CONT "$WPID"
[ "$DOWN" = yes ] || fail "the silent listener was not logged"
[ "$STOPPED" = 401 ] || fail "a disabled account logged in from the cache of a silent listener: $STOPPED"
for _ in $(seq 50); do [ "$(grep -c account_watch_up "$T/frontend.log")" -gt "$UPS" ] && break; sleep 0.2; done
[ "$(grep -c account_watch_up "$T/frontend.log")" -gt "$UPS" ] || fail "the watcher did not come back"
pass "an account watcher whose backend went silent is noticed within ~10 s: the cache stops, a disabled account is refused"

# ---- the audit log: every change and refusal, in the chain, without secrets ----
check_audit() { # ACTION WANT-AT-LEAST [CONDITION]
	local n; n=$(audit_count "$1" "${3:-}")
	[ "$n" -ge "$2" ] || fail "audit: $1${3:+ ($3)}: $n rows, want >= $2"
}
check_audit account.created 3 "actor = 'ops-admin'"
check_audit account.disabled 1 "actor = 'ops-admin' and object = 'alice'"
check_audit account.disabled 1 "actor = 'admin2' and object = 'ops-admin'"
check_audit account.enabled 2
check_audit account.password_changed 1 "actor = 'alice' and object = 'alice' and details::jsonb->>'by' = 'self'"
check_audit account.password_changed 1 "actor = 'ops-admin' and object = 'alice' and details::jsonb->>'by' = 'admin'"
check_audit account.role_changed 1 "object = 'alice' and details::jsonb->>'from' = 'requester' and details::jsonb->>'to' = 'auditor'"
check_audit apikey.created 3
check_audit apikey.disabled 1 "object = 'alice' and (details::jsonb->>'id')::bigint = $KEY1_ID"
check_audit account.refused 4 "actor = 'alice' and details::jsonb->>'code' = 'forbidden'"
check_audit account.refused 2 "actor = 'audrey' and details::jsonb->>'code' = 'forbidden'"
check_audit account.refused 3 "details::jsonb->>'code' = 'api-key-forbidden'"
check_audit account.refused 24 "actor = 'ops-admin' and details::jsonb->>'code' = 'bad-request'"
check_audit account.refused 1 "details::jsonb->>'code' = 'exists' and object = 'alice'"
check_audit account.refused 2 "details::jsonb->>'code' = 'self-lockout' and object = 'ops-admin'"
check_audit account.refused 2 "details::jsonb->>'code' = 'not-found'"
check_audit account.refused 2 "details::jsonb->>'code' = 'unknown-profile' or details::jsonb->>'code' = 'profile-forbidden'"
check_audit account.refused 1 "actor = '-' and details::jsonb->>'code' = 'unauthorized'"
# a change and its audit row commit together: every account row's last change (its xmin) wrote its audit row
# (the check only asked for any audit row of the account, which its creation gave: it could not fail); but
# the rows this test changed in SQL itself
unaudited=$(pg_psql "$T/pg" owner -c "select string_agg(a.name, ', ') from accounts a
	where a.name not in ('carol', 'watchme', 'q\" action=forged x') and not exists (select 1 from audit_log l
	where l.object = a.name and l.action like 'account.%' and l.action <> 'account.refused' and xid(l.xact) = a.xmin)")
[ -z "$unaudited" ] || fail "accounts whose last change wrote no audit row in its transaction: $unaudited"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts")" -ge 8 ] || fail "too few accounts for the check above to mean anything"
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" > "$T/verify.log" 2>&1 || fail "audit-verify: $(cat "$T/verify.log")"
grep -q 'audit chain intact' "$T/verify.log" || fail "audit-verify output"
pg_psql "$T/pg" owner -c "select actor, action, object, details from audit_log" > "$T/audit.txt"
for s in "${SECRETS[@]}" "$KEY1" "$KEY2" "$AKEY" "${KEY1:4:16}" "mallory password" "taken over password"; do
	grep -qF -- "$s" "$T/audit.txt" && fail "a secret is on the audit log: ${s:0:6}..."
	grep -qF -- "$s" "$T/frontend.log" && fail "a secret is in the frontend log: ${s:0:6}..."
done
grep -q 'account_changed' "$T/frontend.log" || fail "changes not logged"
# a name with a double quote cannot forge fields of a log line: the change's line quotes it escaped, and a
# database error that names it (its row changed outside the frontend) is logged with the quote as an
# apostrophe (both were written raw inside "...", so a name's own `"` ended the value and what followed read as fields)
QN='q"action=forged'
api POST /api/v1/accounts '{"name": "q\"action=forged", "role": "requester", "password": "quoted name password 1"}' "${ADMIN[@]}"
want 201 "create an account whose name has a double quote"
grep -qF 'event=account_changed actor="ops-admin" action=account.created object="q\"action=forged"' "$T/frontend.log" \
	|| fail "the change of a quoted name is not logged escaped: $(grep 'account.created' "$T/frontend.log" | tail -1)"
pg_psql "$T/pg" owner -c "UPDATE accounts SET disabled = true WHERE name = 'q\"action=forged'" >/dev/null
st=$(curl -sS -o /dev/null -w "%{http_code}" --interface 127.0.0.201 -u "$QN:quoted name password 1" "$URL/api/v1/accounts")
[ "$st" = 401 ] || fail "a login to a row changed outside the frontend: $st"
grep -qF "event=row_refused peer=127.0.0.201 why=\"account q'action=forged: row-mac:" "$T/frontend.log" \
	|| fail "the refused row's name is not logged plain: $(grep 'row_refused' "$T/frontend.log" | tail -1)"
grep 'event=row_refused' "$T/frontend.log" | grepq -F 'q"action' && fail "a raw double quote in a row_refused line"
pass "a name with a double quote forges no log field (the change logged escaped, a database error naming it plain)"
pass "every change and refusal is audited (actor, action, object, details); audit-verify passes; no password or key in the audit log or the log"
# a config whose database conninfo holds a password is refused while group or others may read it (before, a
# deployment's password sat in a 0644 file, as quickstart's peer-authenticated one is)
sed "s|^database = \(.*\)$|database = \1 password='a secret 1'|" "$T/frontend.conf" > "$T/pw-frontend.conf"
grepq "password='a secret 1'" "$T/pw-frontend.conf" || fail "the test's config has no password"
chmod 644 "$T/pw-frontend.conf"
if "$FRONTEND" audit-verify -c "$T/pw-frontend.conf" > "$T/pwconf.log" 2>&1; then fail "a 0644 config with a password was taken"; fi
grepq "conninfo holds a password, and group or others may read the file" "$T/pwconf.log" || fail "the refusal: $(cat "$T/pwconf.log")"
chmod 600 "$T/pw-frontend.conf"
"$FRONTEND" audit-verify -c "$T/pw-frontend.conf" > "$T/pwconf.log" 2>&1 || fail "a 0600 config with a password: $(cat "$T/pwconf.log")"
chmod 644 "$T/frontend.conf"
"$FRONTEND" audit-verify -c "$T/frontend.conf" > "$T/pwconf.log" 2>&1 || fail "a 0644 config without a password: $(cat "$T/pwconf.log")"
pass "a frontend.conf holding a database password must be 0600; one without may be 0644"

# ---- revocation: an administrator, with a password or login certificate, revokes an issued certificate
# (POST /api/v1/certificates/{serial}/revoke {"reason"}): its status, its revocations row and its audit row in
# one transaction; nobody else may, and a refusal changes nothing ----
csr rv ec:P-256 "DNS:revoke.example.com"
issue_req "$T/rv.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue the certificate to revoke: $STATUS $BODY"
RV=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/rv.pem"
csr ok2 ec:P-256 "DNS:kept.example.com"
issue_req "$T/ok2.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue a certificate to keep: $STATUS $BODY"
OK2=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/ok2.pem"
rv() { api POST "/api/v1/certificates/$1/revoke" "$2" "${@:3}"; }
row_rv() { pg_psql "$T/pg" owner -c "select c.status || ' ' || coalesce(r.reason, '-') || ' ' || coalesce(r.revoked_by, '-')
	from certificates c left join revocations r using (serial_hex) where c.serial_hex = '$RV'"; }
rv "$RV" '{"reason": "keyCompromise"}' "${ALICE[@]}"; want 403 forbidden "a requester revokes its own certificate"
rv "$RV" '{"reason": "keyCompromise"}' "${AUD[@]}"; want 403 forbidden "an auditor revokes"
rv "$RV" '{"reason": "keyCompromise"}' -H "Authorization: Bearer $AKEY"; want 403 forbidden "an administrator's API key revokes"
rv "$RV" '{"reason": "keyCompromise"}'; want 401 unauthorized "no credentials"
rv "$RV" '{"reason": "certificateHold"}' "${ADMIN[@]}"; want 400 bad-request "certificateHold"
grepq 'certificateHold is not offered' "$T/resp.json" || fail "certificateHold's refusal: $(cat "$T/resp.json")"
for b in '{}' '{"reason": "keycompromise"}' '{"reason": "keyCompromise", "at": 1}' '{"reason": 1}' '' 'x'; do
	rv "$RV" "$b" "${ADMIN[@]}"; want 400 bad-request "revocation body '$b'"
done
rv ffff0001 '{"reason": "keyCompromise"}' "${ADMIN[@]}"; want 404 not-found "an unknown serial"
rv zz '{"reason": "keyCompromise"}' "${ADMIN[@]}"; want 400 bad-request "a serial that is not hex"
[ "$(row_rv)" = "issued - -" ] || fail "a refused revocation changed the certificate: $(row_rv)"
[ "$(audit_count certificate.revoked)" = 0 ] || fail "a refused revocation was audited as one"
refused=$(audit_count certificate.refused "object = '/api/v1/certificates/$RV/revoke'")
[ "$refused" -ge 10 ] || fail "the refused revocations are not audited: $refused rows"
# a deadlock in the revocation's statement (a trigger of the test's raises one) is 503 retry, nothing revoked;
# before, the status was read in the aborted transaction, and the answer was a false 409 not-issued, audited
pg_psql "$T/pg" owner -c "CREATE FUNCTION public.test_deadlock() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF NEW.status = 'revoked' THEN RAISE EXCEPTION 'test: deadlock' USING ERRCODE = '40P01'; END IF; RETURN NEW; END \$\$;
	CREATE TRIGGER test_deadlock BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION public.test_deadlock()" >/dev/null \
	|| fail "the test's deadlock trigger"
rv "$RV" '{"reason": "keyCompromise"}' "${ADMIN[@]}"; want 503 retry "a revocation that met a deadlock"
pg_psql "$T/pg" owner -c "DROP TRIGGER test_deadlock ON certificates; DROP FUNCTION public.test_deadlock()" >/dev/null
[ "$(row_rv)" = "issued - -" ] || fail "a revocation that met a deadlock changed the certificate: $(row_rv)"
[ "$(audit_count certificate.refused "details like '%not-issued%'")" = 0 ] || fail "the deadlock was audited as not-issued"
rv "$(tr a-f A-F <<<"$RV")" '{"reason": "keyCompromise"}' "${ADMIN[@]}"; want 200 "an administrator revokes (serial in upper case)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d == {"serial": sys.argv[2], "status": "revoked", "reason": "keyCompromise", "revoked_by": "ops-admin"} else 1)' \
	"$T/resp.json" "$RV" || fail "the revocation's reply: $(cat "$T/resp.json")"
[ "$(row_rv)" = "revoked keyCompromise ops-admin" ] || fail "the revoked certificate's rows: $(row_rv)"
[ "$(audit_count certificate.revoked "actor = 'ops-admin' and object = '$RV' and details::jsonb->>'reason' = 'keyCompromise'")" = 1 ] \
	|| fail "the revocation's audit row"
rv "$RV" '{"reason": "superseded"}' "${ADMIN[@]}"; want 409 already-revoked "a second revocation"
[ "$(row_rv)" = "revoked keyCompromise ops-admin" ] || fail "a second revocation changed the first: $(row_rv)"
get "/api/v1/certificates/$RV" "${ALICE[@]}"; want 200 "the revoked certificate read by its requester"
[ "$(json_field '["status"]')" = revoked ] || fail "the revoked certificate reads $(json_field '["status"]')"
python3 -c 'import json,re,sys; r=json.load(open(sys.argv[1]))["revocation"]; sys.exit(0 if set(r) == {"reason", "revoked_at"} and r["reason"] == "keyCompromise" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["revoked_at"]) else 1)' \
	"$T/resp.json" || fail "the revoked certificate's revocation (reason and time): $BODY"
get "/api/v1/certificates/$OK2" "${ALICE[@]}"; want 200 "a certificate not revoked"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["revocation"] is None else 1)' "$T/resp.json" \
	|| fail "a certificate not revoked has a revocation: $(cat "$T/resp.json")"
api POST "/api/v1/certificates/$RV" '{}' "${ADMIN[@]}" -D "$T/rv-headers"; want 405 method "POST to a certificate's own path"
grep -qi '^Allow: GET' "$T/rv-headers" || fail "no Allow: GET on the 405: $(cat "$T/rv-headers")"
get "/api/v1/certificates/$RV/revoke" "${ADMIN[@]}"; want 405 method "GET of the revoke path"
api POST "/api/v1/certificates/$RV/unrevoke" '{}' "${ADMIN[@]}"; want 404 not-found "another path below a certificate"
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" > "$T/rv-verify.log" 2>&1 || fail "audit-verify after the revocation: $(cat "$T/rv-verify.log")"
pass "an administrator revokes an issued certificate (status, revocations row and audit row together; 409 again); requesters, auditors, API keys and the anonymous may not; bad reasons (certificateHold too), serials and paths refused, nothing changed"

# ---- the CRL its certificates name (crl_url .../crl/int.crl): public, DER, signed by the issuing CA through
# the signer, listing the revoked certificate with its reason and not the good one; kept while nothing changes,
# built again (a higher cRLNumber) after a revocation; openssl and GnuTLS take it ----
crl_get() { curl -sS -D "$T/crl-h.txt" -o "$1" -w '%{http_code}' "$URL/crl/int.crl"; }
[ "$(crl_get "$T/int1.crl")" = 200 ] || fail "GET /crl/int.crl: $(cat "$T/int1.crl")"
grep -qi $'^Content-Type: application/pkix-crl\r$' "$T/crl-h.txt" || fail "the CRL's content type: $(cat "$T/crl-h.txt")"
openssl crl -inform DER -in "$T/int1.crl" -out "$T/int1.pem" || fail "the CRL is not DER"
openssl crl -in "$T/int1.pem" -CAfile "$T/ca/int.pem" -noout 2>&1 | grepq 'verify OK' || fail "the CRL's signature under the issuing CA"
openssl crl -in "$T/int1.pem" -noout -text > "$T/int1.txt"
RVU=$(tr a-f A-F <<<"$RV")
grep -q "Serial Number: 0*$RVU\$" "$T/int1.txt" || fail "the revoked certificate is not listed: $(cat "$T/int1.txt")"
grep -A4 "Serial Number: 0*$RVU\$" "$T/int1.txt" | grepq 'Key Compromise' || fail "its reason is not keyCompromise: $(cat "$T/int1.txt")"
! grep -q "Serial Number: 0*$(tr a-f A-F <<<"$OK2")\$" "$T/int1.txt" || fail "a good certificate is listed"
grepq 'Version 2' "$T/int1.txt" && grepq 'X509v3 CRL Number' "$T/int1.txt" && grepq 'X509v3 Authority Key Identifier' "$T/int1.txt" \
	|| fail "the CRL's version or extensions: $(cat "$T/int1.txt")"
expect_rc 2 openssl verify -crl_check -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" -CRLfile "$T/int1.pem" "$T/rv.pem"
grepq 'certificate revoked' <<<"$OUT" || fail "openssl verify -crl_check of the revoked certificate: $OUT"
openssl verify -crl_check -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" -CRLfile "$T/int1.pem" "$T/ok2.pem" >/dev/null \
	|| fail "openssl verify -crl_check of a good certificate"
certtool --verify-crl --load-ca-certificate "$T/ca/int.pem" --infile "$T/int1.pem" > "$T/certtool-crl.txt" 2>&1 \
	|| fail "certtool --verify-crl: $(cat "$T/certtool-crl.txt")"
[ "$(crl_get "$T/int2.crl")" = 200 ] && cmp -s "$T/int1.crl" "$T/int2.crl" || fail "the CRL was built again with nothing revoked since"
num() { openssl crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=//'; }
rv "$OK2" '{"reason": "superseded"}' "${ADMIN[@]}"; want 200 "a second revocation"
[ "$(crl_get "$T/int3.crl")" = 200 ] || fail "GET /crl/int.crl after a revocation"
[ $((16#$(num "$T/int3.crl"))) -gt $((16#$(num "$T/int1.crl"))) ] || fail "the CRL number did not grow: $(num "$T/int1.crl") then $(num "$T/int3.crl")"
openssl crl -inform DER -in "$T/int3.crl" -noout -text | grep -A4 "Serial Number: 0*$(tr a-f A-F <<<"$OK2")\$" | grepq Superseded \
	|| fail "the new revocation is not on the new CRL"
# the signer gone and a revocation since: the kept CRL (valid for a day) is still answered, logged as stale,
# rather than an error; a new one once the signer is back
csr ok3 ec:P-256 "DNS:third.example.com"
issue_req "$T/ok3.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue a third certificate: $STATUS $BODY"
OK3=$(json_field '["serial"]')
kill -9 "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
rv "$OK3" '{"reason": "cessationOfOperation"}' "${ADMIN[@]}"; want 200 "a revocation with the signer down"
[ "$(crl_get "$T/int4.crl")" = 200 ] && cmp -s "$T/int3.crl" "$T/int4.crl" || fail "the kept CRL with the signer down"
grepq "event=crl_stale issuer=int" "$T/frontend.log" || fail "the stale CRL is not logged"
signer_start
signer_unseal alice bob carol
[ "$(crl_get "$T/int5.crl")" = 200 ] || fail "GET /crl/int.crl with the signer back"
openssl crl -inform DER -in "$T/int5.crl" -noout -text | grep -A4 "Serial Number: 0*$(tr a-f A-F <<<"$OK3")\$" | grepq 'Cessation Of Operation' \
	|| fail "the revocation made while the signer was down is not on the CRL signed once it is back"
st=$(curl -sS -o "$T/nocrl.json" -w '%{http_code}' "$URL/crl/nosuch.crl"); [ "$st" = 404 ] || fail "a CRL no profile names: $st"
st=$(curl -sS -o "$T/nocrl.json" -w '%{http_code}' "$URL/crl/int.pem"); [ "$st" = 404 ] || fail "a path that is no CRL's: $st"
pass "GET /crl/int.crl: the issuing CA's DER CRL (v2, AKI, cRLNumber), the revoked certificate with its reason, not a good one; openssl verify -crl_check refuses the revoked and takes the good, certtool --verify-crl takes it; kept while nothing changes, a higher number after a revocation; the kept one answered while the signer is down"

# ---- the running service's database role: refused at start if it could rewrite the audit log (hsmca_owned
# inherits nothing, but may SET ROLE to the owner) ----
owner_sql() { pg_psql "$T/pg" owner -c "$1"; }
owner_sql "CREATE ROLE hsmca_wide LOGIN IN ROLE hsmca_frontend; GRANT pg_write_all_data TO hsmca_wide;
	CREATE ROLE hsmca_owned LOGIN NOINHERIT; GRANT SELECT ON schema_version TO hsmca_owned;
	GRANT $(owner_sql "select pg_get_userbyid(relowner) from pg_class where oid = 'audit_log'::regclass") TO hsmca_owned;
	CREATE ROLE hsmca_plain LOGIN IN ROLE hsmca_frontend;
	CREATE ROLE hsmca_replica LOGIN IN ROLE hsmca_frontend; GRANT SET ON PARAMETER session_replication_role TO hsmca_replica;
	CREATE ROLE hsmca_setrole LOGIN NOINHERIT; GRANT SELECT ON schema_version TO hsmca_setrole;
	CREATE ROLE hsmca_param NOLOGIN; GRANT SET ON PARAMETER session_replication_role TO hsmca_param;
	GRANT hsmca_param TO hsmca_setrole;
	CREATE ROLE hsmca_creator LOGIN IN ROLE hsmca_frontend; GRANT CREATE ON SCHEMA public TO hsmca_creator;
	CREATE ROLE hsmca_temp LOGIN IN ROLE hsmca_frontend; GRANT TEMPORARY ON DATABASE $(owner_sql "select current_database()") TO hsmca_temp;
	CREATE ROLE hsmca_headw LOGIN IN ROLE hsmca_frontend; GRANT UPDATE (last_hash) ON audit_chain_head TO hsmca_headw;
	CREATE ROLE hsmca_colw LOGIN IN ROLE hsmca_frontend; GRANT UPDATE (details) ON audit_log TO hsmca_colw;
	CREATE ROLE hsmca_ckptdel LOGIN IN ROLE hsmca_frontend; GRANT DELETE ON audit_checkpoints TO hsmca_ckptdel" >/dev/null
# (hsmca_setrole inherits nothing but may SET ROLE to one that may SET session_replication_role; hsmca_creator
# and hsmca_temp were let past: before, only migrations 009 and 012 looked, once)
for who in "postgres:is a superuser" "hsmca_wide:may UPDATE, DELETE or TRUNCATE audit_log" \
	"hsmca_owned:is (a member of) audit_log's owner" \
	"hsmca_replica:may SET session_replication_role (which turns the schema's triggers off)" \
	"hsmca_setrole:may SET session_replication_role (which turns the schema's triggers off)" \
	"hsmca_creator:may CREATE in schema public (a function there can shadow pg_catalog's in the schema's triggers)" \
	"hsmca_temp:may create temporary objects (which could shadow what the schema's functions name)" \
	"hsmca_headw:may write audit_chain_head, or UPDATE, DELETE or TRUNCATE audit_checkpoints" \
	"hsmca_colw:may UPDATE, DELETE or TRUNCATE audit_log" \
	"hsmca_ckptdel:may write audit_chain_head, or UPDATE, DELETE or TRUNCATE audit_checkpoints"; do
	sed -e "s|^database = .*|database = $(pg_conninfo "$T/pg" "${who%%:*}")|" -e "s|^listen = .*|listen = 127.0.0.1:$((PORT + 5))|" \
		"$T/frontend.conf" > "$T/wide.conf"
	rc=0; timeout 20 "$FRONTEND" run -c "$T/wide.conf" > "$T/wide.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "the frontend as ${who%%:*}: exit $rc, want 1: $(tail -3 "$T/wide.log")"
	grep -q "event=startup_failed step=committer why=\"database role ${who%%:*} ${who#*:}: the service connects as hsmca_frontend" "$T/wide.log" \
		|| fail "the frontend as ${who%%:*}: no clear refusal: $(tail -3 "$T/wide.log")"
done
# a role with hsmca_frontend's rights and no more runs (the check is about what a role can do, not its name)
sed -e "s|^database = .*|database = $(pg_conninfo "$T/pg" hsmca_plain)|" -e "s|^listen = .*|listen = 127.0.0.1:$((PORT + 5))|" \
	"$T/frontend.conf" > "$T/plain.conf"
"$FRONTEND" run -c "$T/plain.conf" > "$T/plain.log" 2>&1 &
PLAIN=$!; PIDS+=("$PLAIN"); FE_PIDS+=("$PLAIN")
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$((PORT + 5))/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "http://127.0.0.1:$((PORT + 5))/api/v1/accounts" "${ADMIN[@]}" >/dev/null || fail "the frontend as a role like hsmca_frontend: $(tail -3 "$T/plain.log")"
kill -TERM "$PLAIN"; wait "$PLAIN" || fail "the frontend as hsmca_plain did not stop cleanly"
pass "the frontend refuses to run as a superuser, as a role that may UPDATE, DELETE or TRUNCATE audit_log (pg_write_all_data), as a member of its owner's role, as one that may SET session_replication_role (itself or by SET ROLE), CREATE in schema public or create temporary objects, write the chain head or remove checkpoints, saying why; a role with hsmca_frontend's rights runs"

# ---- a reconnection checks the schema version again: a database migrated under a running frontend ----
owner_sql "INSERT INTO schema_version (version, name, sha256) VALUES (999, '999_future.sql', repeat('0', 64))" >/dev/null
owner_sql "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name like 'hsmca-frontend:%'" >/dev/null
sleep 0.5
for i in 1 2 3 4 5 6; do
	st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/accounts" "${ADMIN[@]}")
	[ "$st" = 503 ] || fail "request $i after the database moved to schema 999 under the frontend: $st"
done
grep -q 'why="database schema version 999, this build knows [0-9]*: migrated by a newer hsmca; refusing to use it"' "$T/frontend.log" \
	|| fail "no clear error for the reconnection to schema 999: $(tail -3 "$T/frontend.log")"
owner_sql "DELETE FROM schema_version WHERE version = 999" >/dev/null
st=; for _ in $(seq 20); do
	st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/accounts" "${ADMIN[@]}"); [ "$st" = 200 ] && break; sleep 0.2
done
[ "$st" = 200 ] || fail "the schema back at this build's version: $st"
pass "a connection re-established under a running frontend is checked again: at another schema version it serves nothing (503, the version named in the log); back at its own, it serves again"

# ---- a migration under a running frontend whose connections stay up: told by NOTIFY (schema 020) ----
# the listener (cut above with the other sessions) listens again, and every worker serves
for _ in $(seq 50); do grep account_watch_ "$T/frontend.log" | tail -1 | grepq account_watch_up && break; sleep 0.1; done
grep account_watch_ "$T/frontend.log" | tail -1 | grepq account_watch_up || fail "the account watch did not come back"
for _ in 1 2 3 4 5 6 7 8; do curl -fsS -o /dev/null "$URL/api/v1/accounts" "${ADMIN[@]}" || fail "the frontend before the migration"; done
lines=$(wc -l < "$T/frontend.log") # (the first 999 above was logged too, by the NOTIFY before the cut)
owner_sql "INSERT INTO schema_version (version, name, sha256) VALUES (999, '999_future.sql', repeat('0', 64))" >/dev/null
st=; for _ in $(seq 25); do
	st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/accounts" "${ADMIN[@]}"); [ "$st" = 503 ] && break; sleep 0.2
done
[ "$st" = 503 ] || fail "a running frontend after a migration to 999 over live connections: $st"
for i in 1 2 3 4; do
	st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/accounts" "${ADMIN[@]}")
	[ "$st" = 503 ] || fail "request $i after the migration to 999: $st"
done
tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=schema_changed version="999"' || fail "no schema_changed: $(tail -3 "$T/frontend.log")"
owner_sql "DELETE FROM schema_version WHERE version = 999" >/dev/null
st=; for _ in $(seq 25); do
	st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/accounts" "${ADMIN[@]}"); [ "$st" = 200 ] && break; sleep 0.2
done
[ "$st" = 200 ] || fail "the schema back at this build's version (connections kept): $st"
pass "a migration under a frontend whose connections stay up is noticed at once (NOTIFY hsmca_schema, schema_changed logged): 503 at another version, served again at its own"

# ---- no password or API key stays in the frontend's memory once its request is done: its own copies are
# wiped, and so is every block libevent frees (request lines, headers, bodies). Before, a password set over
# the account API stayed in libevent's freed input buffers and in the job's body ----
curl -fsS -o /dev/null "$URL/api/v1/accounts" "${ADMIN[@]}" || fail "a last request"
sleep 0.5
NEEDLES=("${SECRETS[@]}" "$KEY1" "$KEY2" "$AKEY" "$(printf 'ops-admin:%s' "$ADMIN_PW" | base64 -w0)")
python3 "$(dirname "$0")/memscan.py" "$FRONTEND_PID" "${NEEDLES[@]}" > "$T/memscan.txt" 2>&1 \
	|| fail "secrets in the frontend's memory: $(head -c 1500 "$T/memscan.txt")"
pass "no password, API key or Basic credential is left in the frontend's memory after its requests"
