#!/usr/bin/env bash
# Failed-login limits shared by the frontends of one database (schema 021, frontend/authshare.c). Two
# frontends, A and B: failures at either count against the address and the account at both (before, each
# process counted alone, so N frontends allowed N times the guesses); an address the account logged in from
# through A is exempt from the account's limit at B too; the counts outlive a restart; a quiet window clears
# them; rows are tags (no names, no addresses) and old ones are pruned.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
# keyuser's API key (below) is for the server profile, whose accounts must then list it
sed -i '0,/^accounts = alice, ops-admin$/s//accounts = alice, ops-admin, keyuser/' "$T/profiles.conf"
grep -q '^accounts = alice, ops-admin, keyuser$' "$T/profiles.conf" || fail "keyuser not added to the server profile"
printf 'admin password 0001\n' > "$T/admin.pw"
"$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name ops-admin \
	--password-file "$T/admin.pw" > /dev/null || fail "bootstrap-admin"
fe_start
BPORT=$((PORT + 5)); BURL=http://127.0.0.1:$BPORT
sed "s/^listen = .*/listen = 127.0.0.1:$BPORT/" "$T/frontend.conf" > "$T/frontend-b.conf"
"$FRONTEND" run -c "$T/frontend-b.conf" >> "$T/frontend-b.log" 2>&1 &
B_PID=$!; PIDS+=("$B_PID"); FE_PIDS+=("$B_PID")
for _ in $(seq 100); do curl -fsS "$BURL/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "$BURL/healthz" >/dev/null || fail "the second frontend did not start: $(tail -3 "$T/frontend-b.log")"

PW=$(cat "$T/admin.pw")
login() { # login URL ADDR PASSWORD: the status of an account listing (a login on a worker)
	curl -sS -o "$T/resp.json" -w '%{http_code}' --interface "$2" -u "${LU:-ops-admin}:$3" "$1/api/v1/accounts"
}
expect() { # expect WANT URL ADDR PASSWORD WHAT
	local got; got=$(login "$2" "$3" "$4")
	[ "$got" = "$1" ] || fail "$5: $got, want $1: $(cat "$T/resp.json")"
}
owner() { pg_psql "$T/pg" owner -c "$1"; }

# the address: three guesses at A and two at B are its five (at an unknown account, whose own count this is not)
for i in 1 2 3; do LU=nobody expect 401 "$URL" 127.0.0.41 "guess a$i" "guess $i at A from .41"; done
for i in 4 5; do LU=nobody expect 401 "$BURL" 127.0.0.41 "guess b$i" "guess $i at B from .41"; done
LU=nobody expect 429 "$URL" 127.0.0.41 "guess a6" "a sixth guess from .41 at A"
expect 429 "$BURL" 127.0.0.41 "$PW" "the right password from .41 at B, the address limited by failures at both"
pass "an address's failures at two frontends are counted together: 429 at both after 5 (3 at one, 2 at the other)"
# API keys: five wrong keys at A, and a sixth wrong one from that address at B is 429 (before, B looked at its
# own count only, and each frontend took five more guesses)
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name keyuser \
	--role requester --password-file <(printf 'keyuser password 0001\n') > /dev/null || fail "create-account keyuser"
AKEY=$("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account keyuser --profile server)
bearer() { curl -sS -o "$T/resp.json" -w '%{http_code}' --interface "$2" -H "Authorization: Bearer $3" "$1/api/v1/certificates/00"; }
[ "$(bearer "$BURL" 127.0.0.43 "$AKEY")" = 404 ] || fail "the valid key from .43 at B: $(cat "$T/resp.json")"
for i in 1 2 3 4 5; do
	[ "$(bearer "$URL" 127.0.0.43 "wrong-key-$i-0123456789abcdef")" = 401 ] || fail "wrong key $i at A: $(cat "$T/resp.json")"
done
[ "$(bearer "$BURL" 127.0.0.43 "wrong-key-6-0123456789abcdef")" = 429 ] || fail "a sixth wrong key from .43 at B after 5 at A: $(cat "$T/resp.json")"
# (a valid key is not held up by them: 256 random bits no number of tries guesses, and a shared address's other
# clients must not stop it)
[ "$(bearer "$BURL" 127.0.0.43 "$AKEY")" = 404 ] || fail "the valid key from .43 at B after 5 wrong ones at A: $(cat "$T/resp.json")"
pass "API keys: five wrong keys at one frontend, and a sixth from that address is 429 at the other too; a valid key still works"
# the loop's cached logins (issuance with a password a worker verified in the last minute) heed the shared
# limit too: an address limited by failures at A guesses alice's password at B; a wrong guess there is 429,
# and so is the right one (before, B's loop read its own counts only and took the cached password: each wrong
# guess got a 429 that B never counted, and the right one a certificate)
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name alice \
	--role requester --password-file <(printf 'alice password 0001\n') > /dev/null || fail "create-account alice"
csr cached ec:P-256 "DNS:cached.example.com"
URL=$BURL issue_req "$T/cached.csr" server --interface 127.0.0.60 -u "alice:alice password 0001"
[ "$STATUS" = 201 ] || fail "alice's issuance at B from .60: $STATUS $BODY"
for i in 1 2 3 4 5; do LU=nobody-$i expect 401 "$URL" 127.0.0.61 "guess d$i" "guess $i at A from .61"; done
URL=$BURL issue_req "$T/cached.csr" server --interface 127.0.0.61 -u "alice:wrong guess 0001"
[ "$STATUS" = 429 ] || fail "a wrong guess at B from .61, limited by failures at A: $STATUS $BODY"
URL=$BURL issue_req "$T/cached.csr" server --interface 127.0.0.61 -u "alice:alice password 0001"
[ "$STATUS" = 429 ] || fail "the right password (cached at B) from .61, limited by failures at A: $STATUS $BODY"
pass "the shared limit holds on the loop's cached logins too: the right password, verified at B a moment before, is 429 there from an address limited at A"

# the account: it logs in from .42 through A; then guesses at it from five other addresses, at both
expect 200 "$URL" 127.0.0.42 "$PW" "the right password from .42 at A"
for i in 1 2 3 4 5; do
	[ $((i % 2)) = 1 ] && u=$URL || u=$BURL
	expect 401 "$u" "127.0.0.5$i" "guess c$i" "guess $i at the account from .5$i"
done
expect 429 "$BURL" 127.0.0.56 "$PW" "the right password from a new address at B, the account limited by guesses at both"
expect 429 "$URL" 127.0.0.56 "$PW" "the right password from a new address at A"
expect 200 "$BURL" 127.0.0.42 "$PW" "the right password at B from .42, where the account logged in through A"
pass "an account's failures at two frontends are counted together (429 from new addresses at both); the address it logged in from at one frontend stays open at the other"

# the rows are tags only, and a restart keeps the counts
[ "$(owner "select count(*) from auth_failures")" -ge 7 ] || fail "auth_failures: $(owner "select count(*) from auth_failures")"
[ "$(owner "select count(*) from auth_known")" -ge 1 ] || fail "auth_known: $(owner "select count(*) from auth_known")"
[ "$(owner "select count(*) from auth_failures where position('127.0.0'::bytea in tag) > 0 or position('ops-admin'::bytea in tag) > 0")" = 0 ] \
	|| fail "a name or an address in the clear"
# at once: twelve guesses at one account from twelve addresses, six at each frontend, all verified in
# parallel: at most five are verified (401) across the two, the rest 429 (each attempt is taken from the
# shared count before scrypt runs; before, five could run at each frontend)
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name herd \
	--role requester --password-file <(printf 'herd password 0001\n') > /dev/null || fail "create-account herd"
herd=()
for i in $(seq 12); do
	[ $((i % 2)) = 1 ] && u=$URL || u=$BURL
	curl -sS -o /dev/null -w '%{http_code}\n' --interface "127.0.1.$i" -u "herd:guess $i" "$u/api/v1/accounts" > "$T/herd-$i.status" &
	herd+=($!)
done
wait "${herd[@]}" # (not every child: the frontends are this shell's too)
H401=$(cat "$T"/herd-*.status | grep -c '^401$' || true); H429=$(cat "$T"/herd-*.status | grep -c '^429$' || true)
[ $((H401 + H429)) = 12 ] && [ "$H401" -le 5 ] && [ "$H401" -ge 1 ] \
	|| fail "12 guesses at once at two frontends: $H401 x 401, $H429 x 429 (want at most 5 verified): $(sort "$T"/herd-*.status | uniq -c)"
[ "$(owner "select max(failures) from auth_failures")" -le 5 ] || fail "a count past the limit: $(owner "select max(failures) from auth_failures")"
pass "twelve guesses at once at two frontends: $H401 verified (401), $H429 refused (429): the attempts come out of the shared count before scrypt"
# a successful login moves no failure's count or time (the reservation is given back): a busy address's old
# failures still expire (before, each login's reservation renewed their time)
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name steady \
	--role requester --password-file <(printf 'steady password 0001\n') > /dev/null || fail "create-account steady"
LU=steady expect 401 "$URL" 127.0.0.70 "guess s1" "a guess at steady"
LU=steady expect 401 "$BURL" 127.0.0.70 "guess s2" "a guess at steady at B"
counts() { owner "select string_agg(encode(tag, 'hex') || ':' || failures || ':' || coalesce(last_at::text, '-'), ',' order by tag) from auth_failures"; }
before=$(counts); sleep 1.1
LU=steady expect 403 "$BURL" 127.0.0.70 "steady password 0001" "steady's right password (a requester: 403 from the account API)"
[ "$(counts)" = "$before" ] || fail "a successful login changed the failure counts: $before -> $(counts)"
[ "$(owner "select count(*) from auth_failures where pending > 0")" = 0 ] || fail "a reservation left pending after its login"
pass "a successful login takes no failure and moves no failure's time"

# renewal challenges are the appliance's, not one process's (their key is derived from the intent key): one
# made by A is taken by B, and one made before a restart after it (before, B refused A's as "not issued by
# this server", counting a failed proof against the address, and a restart voided every challenge)
csr old ec:P-256 "DNS:old.example.com"
issue_req "$T/old.csr" server -u "alice:alice password 0001" --interface 127.0.0.81
[ "$STATUS" = 201 ] || fail "issue the certificate to renew: $STATUS $BODY"
OLD=$(json_field '["serial"]')
challenge_at() { # challenge_at URL SERIAL: a renewal challenge from that frontend
	curl -sS -o "$T/resp.json" -w '%{http_code}' --interface 127.0.0.82 -d "{\"serial\": \"$2\"}" \
		"$1/api/v1/certificates/renewal-challenge" > "$T/ch.status"
	[ "$(cat "$T/ch.status")" = 200 ] || fail "renewal-challenge at $1: $(cat "$T/ch.status") $(cat "$T/resp.json")"
	json_field '["challenge"]'
}
renew_at() { # renew_at URL: POSTs $T/renew.json there, sets STATUS and BODY
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' --interface 127.0.0.82 --data-binary @"$T/renew.json" \
		"$1/api/v1/certificates/renew")
	BODY=$(cat "$T/resp.json")
}
CH=$(challenge_at "$URL" "$OLD")
csr new ec:P-256 "DNS:ignored.example.com"
renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH")"
renew_at "$BURL"
[ "$STATUS" = 201 ] || fail "A's challenge at B: $STATUS $BODY"
NEW=$(json_field '["serial"]')
[ "$(owner "select count(*) from certificates where serial_hex = '$NEW' and renews_serial = '$OLD' and status = 'issued'")" = 1 ] \
	|| fail "the renewal's row"
CH2=$(challenge_at "$URL" "$NEW") # used after the restart below
pass "a renewal challenge made by one frontend is taken by another"
# the counts' window runs from the last counted failure: moved to now, so that the restart below is within it
owner "update auth_failures set last_at = now() where failures > 0" > /dev/null
kill "$B_PID"; wait "$B_PID" 2>/dev/null || true
fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=()
# stale rows, for the first failure after the start to prune
owner "insert into auth_failures values (decode(repeat('ab', 32), 'hex'), 9, now() - interval '2 minutes');
	insert into auth_known values (decode(repeat('cd', 32), 'hex'), now() - interval '31 days')" > /dev/null
fe_start
expect 429 "$URL" 127.0.0.41 "$PW" "the right password from .41 after a restart, within the window"
expect 429 "$URL" 127.0.0.57 "$PW" "the right password from a new address after a restart, within the window"
# (an unknown account: ops-admin is limited at new addresses)
[ "$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.58 -u "nobody2:guess d1" "$URL/api/v1/accounts")" = 401 ] \
	|| fail "a guess at an unknown account from .58 after the restart"
[ "$(owner "select count(*) from auth_failures where tag = decode(repeat('ab', 32), 'hex')")$(owner "select count(*) from auth_known where tag = decode(repeat('cd', 32), 'hex')")" = 00 ] \
	|| fail "rows past their window were not pruned"
pass "the counts outlive a restart; failure rows past their window and known addresses past 30 days are deleted"
csr new2 ec:P-256 "DNS:ignored.example.com"
renew_body "$T/new2.csr" "$NEW" "$CH2" "$(renew_sig "$T/new.key" "$CH2" "$T/new2.csr")"
renew_at "$URL"
[ "$STATUS" = 201 ] || fail "a challenge made before the restart: $STATUS $BODY"
pass "a renewal challenge made before a restart is taken after it"

# refused guesses do not move the window on; a quiet window clears the count
LU=nobody expect 429 "$URL" 127.0.0.41 "guess a7" "a guess from .41 while limited"
before=$(owner "select string_agg(encode(tag, 'hex') || least(failures, 5) || last_at, ',' order by tag) from auth_failures where failures >= 5")
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.41 -H 'Authorization: Basic !!!' "$URL/api/v1/accounts")
[ "$STATUS" = 429 ] || fail "malformed credentials from .41 (limited by the shared count; this process has counted nothing from it): $STATUS"
after=$(owner "select string_agg(encode(tag, 'hex') || least(failures, 5) || last_at, ',' order by tag) from auth_failures where failures >= 5")
[ "$after" = "$before" ] || fail "a refused failure moved a limited count: $before -> $after"
owner "update auth_failures set last_at = last_at - interval '61 seconds'" > /dev/null
expect 200 "$URL" 127.0.0.41 "$PW" "the right password from .41 after a quiet minute"
expect 200 "$URL" 127.0.0.57 "$PW" "the right password from a new address after a quiet minute"
pass "a quiet minute (refused guesses not counted) clears the shared counts"

# an intent key's rotation (the old key accepted): the rows written under the old key still count. Before, the
# tags were checked under the new key alone: the addresses the account logged in from were forgotten, and
# guesses from anywhere locked the administrator out at its usual address too (.42 logged in through A above)
fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=()
mv "$T/intent.key" "$T/intent-old.key"
( umask 077 && openssl rand -hex 32 > "$T/intent.key" )
fe_start "intent_key_accept_file = $T/intent-old.key"
for i in 1 2 3 4 5; do expect 401 "$URL" "127.0.0.6$i" "guess r$i" "guess $i at the account from .6$i after the rotation"; done
expect 429 "$URL" 127.0.0.66 "$PW" "the right password from a new address, the account limited"
expect 200 "$URL" 127.0.0.42 "$PW" "the right password from .42, known before the rotation"
pass "during an intent key's rotation the addresses an account logged in from under the old key stay known"
