#!/usr/bin/env bash
# The profiles file and the issuing CAs' certificates on the record (design: "profile changed" is an audited
# event). Each start of the frontend writes a profile or issuer that is new or changed since the last start to
# the profiles and issuers tables with its audit row (actor config): profile.created, profile.changed (with the
# new definition and the previous one's SHA-256), profile.removed, issuer.created, issuer.changed. Before, the
# tables stayed empty and a widened profile left no trace but the file. A profile's cfssl_key is recorded by
# its SHA-256 only; an unchanged restart writes nothing; "config" cannot be an account's name.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
cat >> "$T/profiles.conf" <<EOC

[profile cf]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 2
max_validity_days = 30
key_usage = digitalSignature
eku = serverAuth
accounts = alice
cfssl_key = $KEY
cfssl_account = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
chmod 600 "$T/profiles.conf" # it holds an auth key
fe_requester alice
audit() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = '$1'${2:+ and ($2)}"; }
records() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action like 'profile.%' or action like 'issuer.%'"; }
definition() { pg_psql "$T/pg" owner -c "select definition from profiles where name = '$1'"; }
restart() { fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=(); fe_start; }

fe_start
[ "$(audit profile.created "actor = 'config'")" = 3 ] || fail "profile.created rows: $(audit profile.created)"
[ "$(audit issuer.created "actor = 'config' and object = 'int'")" = 1 ] || fail "issuer.created rows: $(audit issuer.created)"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from issuers i where key_label = 'int' and
	encode(sha256(cert_der), 'hex') = '$(openssl x509 -in "$T/ca/int.pem" -outform DER | sha256sum | cut -c1-64)'")" = 1 ] \
	|| fail "the issuer's certificate is not the one served"
grep -qx 'max_sans = 4' <<<"$(definition server)" || fail "server's definition: $(definition server)"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'profile.created' and object = 'server'
	and details::jsonb->>'definition' = (select definition from profiles where name = 'server')
	and details::jsonb->>'sha256' = encode(sha256(convert_to((select definition from profiles where name = 'server'), 'UTF8')), 'hex')")" = 1 ] \
	|| fail "profile.created does not carry the definition and its SHA-256"
grep -qx "cfssl_key = sha256:$(printf '%s' "$KEY" | sha256sum | cut -c1-64)" <<<"$(definition cf)" || fail "cf's definition: $(definition cf)"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where details like '%$KEY%'")$(pg_psql "$T/pg" owner -c "select count(*) from profiles where definition like '%$KEY%'")" = 00 ] \
	|| fail "the cfssl key is in the database in clear"
pass "the first start records each profile (its definition, a cfssl_key by its SHA-256 only) and the issuer's certificate, each with its audit row"

N=$(records); restart
[ "$(records)" = "$N" ] || fail "an unchanged restart wrote $(($(records) - N)) records"
OLD=$(pg_psql "$T/pg" owner -c "select encode(sha256(convert_to(definition, 'UTF8')), 'hex') from profiles where name = 'server'")
sed -i '0,/^max_sans = 4$/s//max_sans = 5/' "$T/profiles.conf"
restart
[ "$(audit profile.changed "object = 'server' and details::jsonb->>'previous_sha256' = '$OLD'
	and details::jsonb->>'definition' like '%max_sans = 5%'")" = 1 ] || fail "the widened profile: $(audit profile.changed)"
grep -qx 'max_sans = 5' <<<"$(definition server)" || fail "server's definition after the change: $(definition server)"
[ "$(records)" = $((N + 1)) ] || fail "one change, $(($(records) - N)) records"
pass "an unchanged restart records nothing; a widened profile is profile.changed (the new definition, the previous one's SHA-256)"

# the database role (its password is in the frontend's config) writes the next definition into the table
# before the restart: the change is recorded all the same, since the record is compared with the audit log,
# not with the table (it left no row: the upsert found nothing to write)
OLD2=$(pg_psql "$T/pg" owner -c "select encode(sha256(convert_to(definition, 'UTF8')), 'hex') from profiles where name = 'server'")
NEWDEF=$(definition server | sed 's/^max_sans = 5$/max_sans = 6/')
grep -qx 'max_sans = 6' <<<"$NEWDEF" || fail "the next definition: $NEWDEF"
pg_psql "$T/pg" frontend -v d="$NEWDEF"$'\n' <<<"update profiles set definition = :'d' where name = 'server';" >/dev/null
sed -i '0,/^max_sans = 5$/s//max_sans = 6/' "$T/profiles.conf"
restart
grep -q "event=profile_table_ahead profile=server" "$T/frontend.log" || fail "the table written ahead was not noticed"
[ "$(audit profile.changed "object = 'server' and details::jsonb->>'previous_sha256' = '$OLD2'
	and details::jsonb->>'definition' like '%max_sans = 6%'")" = 1 ] || fail "a change written into the table ahead is off the record"
pass "a definition the database role wrote into the table ahead of the restart is recorded all the same (profile.changed, profile_table_ahead)"
# and one it wrote that the file does not say (approval dropped) is put back at the restart, said in the log
# (before: put back without a word, the write itself on no record)
N3=$(records)
pg_psql "$T/pg" frontend -c "update profiles set requires_approval = false, definition = 'tampered' where name = 'server'" >/dev/null
restart
grepq "event=profile_table_restored profile=server " "$T/frontend.log" || fail "the table written outside the frontend was put back silently"
[ "$(definition server)" != tampered ] || fail "the tampered definition stayed"
[ "$(records)" = "$N3" ] || fail "putting the recorded definition back recorded a change"
pass "a definition written into the table that the file does not say is put back at the restart, logged (profile_table_restored)"

python3 - "$T/profiles.conf" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
open(sys.argv[1], 'w').write(re.sub(r'\[profile client\]\n(?:[^\[]*\n)', '', t))
PY
grep -q 'profile client' "$T/profiles.conf" && fail "the client profile is still in the file"
restart
[ "$(audit profile.removed "object = 'client'")" = 1 ] || fail "the removed profile: $(audit profile.removed)"
[ -z "$(definition client)" ] || fail "a removed profile keeps its definition"
restart
[ "$(audit profile.removed)" = 1 ] || fail "a removal recorded twice"
pass "a profile taken out of the file is profile.removed once"

# one key label, one certificate: two profiles giving the issuer int different issuer_cert files were taken,
# and only the first one's certificate was recorded (the other could be swapped with no record)
fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=()
cp "$T/profiles.conf" "$T/profiles.good"
python3 - "$T/profiles.conf" "$T/ca/int.pem" "$T/ca/root.pem" <<'PY'
import sys
t = open(sys.argv[1]).read()
i = t.index("[profile cf]")
open(sys.argv[1], "w").write(t[:i] + t[i:].replace("issuer_cert = " + sys.argv[2], "issuer_cert = " + sys.argv[3], 1))
PY
grep -q "issuer_cert = $T/ca/root.pem" "$T/profiles.conf" || fail "the cf profile was not changed"
fe_conf
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf" # (a frontend that starts would serve until killed)
grep -q "profile cf: issuer int with issuer_cert $T/ca/root.pem, but profile .* gives that key another certificate" <<<"$OUT" \
	|| fail "two certificates for one issuer key: $OUT"
mv "$T/profiles.good" "$T/profiles.conf"
# a former issuer (former_issuers: certificates it issued still count as this appliance's) is on the record
# once, by its certificate's SHA-256
cat "$T/ca/root.pem" > "$T/former.pem"
ROOT_SHA=$(openssl x509 -in "$T/ca/root.pem" -outform DER | sha256sum | cut -c1-64)
fe_start "former_issuers = $T/former.pem"
[ "$(audit issuer.former "object = '$ROOT_SHA' and actor = 'config'")" = 1 ] || fail "issuer.former: $(audit issuer.former)"
fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=(); fe_start "former_issuers = $T/former.pem"
[ "$(audit issuer.former)" = 1 ] || fail "a former issuer recorded twice: $(audit issuer.former)"
pass "two certificates for one issuer key are refused at start; a former issuer is recorded once (issuer.former)"

# frontends starting at once record one after the other (an advisory lock in the records' transaction): two
# upserts of one profile both read the same previous definition, and files listing the profiles in other
# orders could deadlock. Held elsewhere for 4 s, the lock holds a start back that long.
fe_stop_checked || fail "the frontend did not stop cleanly"; FE_PIDS=()
( pg_psql "$T/pg" owner -c "BEGIN; SELECT pg_advisory_xact_lock(448613147504); SELECT pg_sleep(4); COMMIT" >/dev/null ) &
HOLDER=$!
# held once its session sleeps (a fixed 0.5 s could pass before it had the lock)
held() { [ "$(pg_psql "$T/pg" owner -c "select count(*) from pg_locks where locktype = 'advisory' and classid = $((448613147504 >> 32)) and objid = $((448613147504 & 0xffffffff)) and granted")" = 1 ]; }
for _ in $(seq 200); do held && break; sleep 0.02; done
held || fail "the lock holder did not get the lock"
t0=$(date +%s%N)
fe_conf "former_issuers = $T/former.pem"
"$FRONTEND" run -c "$T/frontend.conf" >> "$T/frontend.log" 2>&1 &
FRONTEND_PID=$!; PIDS+=("$FRONTEND_PID"); FE_PIDS+=("$FRONTEND_PID")
for _ in $(seq 300); do curl -fsS "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/healthz" >/dev/null || fail "the frontend did not start: $(tail -3 "$T/frontend.log")"
waited=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$HOLDER" || fail "the lock holder"
[ "$waited" -ge 2500 ] || fail "the start did not wait for the records' lock (up after $waited ms)"
pass "the start-up records wait for each other (advisory lock; a start waited $waited ms for one held 4 s)"

# two frontends of one database with different profiles files: the one started last is on the record, and
# the other, told by a NOTIFY, refuses the profile it defines otherwise (503 profile-diverged, logged,
# /metrics) instead of issuing under a superseded definition, until the record is its definition again
metric() { curl -fsS "$1/metrics" | sed -n "s/^$2 //p"; }
BPORT=$(free_ports 1); BURL=http://127.0.0.1:$BPORT
fe_profile_gated
printf 'admin password 0001\n' > "$T/admin.pw"
"$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name ops-admin \
	--password-file "$T/admin.pw" > /dev/null || fail "bootstrap-admin"
restart
awk '/^\[profile / { p = ($0 == "[profile server]" || $0 == "[profile gated]") } p && /^max_sans = / { $0 = "max_sans = 3" } 1' \
	"$T/profiles.conf" > "$T/profiles-b.conf"
chmod 600 "$T/profiles-b.conf"
[ "$(grep -c '^max_sans = 3$' "$T/profiles-b.conf")" = 2 ] || fail "profiles-b.conf: $(grep max_sans "$T/profiles-b.conf")"
csr held ec:P-256 "DNS:held.example.com"
issue_req "$T/held.csr" gated "${AUTH[@]}"
[ "$STATUS" = 202 ] || fail "a held request: $STATUS $BODY"
AID=$(json_field '["approval"]'); HELD=$(json_field '["serial"]')
start_b() { # PROFILES: a second frontend on BPORT
	sed "s/^listen = .*/listen = 127.0.0.1:$BPORT/; s|^profiles = .*|profiles = $1|" "$T/frontend.conf" > "$T/frontend-b.conf"
	"$FRONTEND" run -c "$T/frontend-b.conf" >> "$T/frontend-b.log" 2>&1 &
	B_PID=$!; PIDS+=("$B_PID")
	for _ in $(seq 100); do curl -fsS "$BURL/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
	fail "the second frontend did not start: $(tail -3 "$T/frontend-b.log")"
}
stop_b() { kill "$B_PID"; wait "$B_PID" 2>/dev/null || true; }
wait_log() { # PATTERN: in the first frontend's log after line $lines
	for _ in $(seq 100); do tail -n +$((lines + 1)) "$T/frontend.log" | grepq "$1" && return 0; sleep 0.1; done
	fail "not logged: $1: $(tail -n +$((lines + 1)) "$T/frontend.log" | grep -E 'profile' | tail -3)"
}
csr div ec:P-256 "DNS:div.example.com"
issue_req "$T/div.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "server before the second frontend: $STATUS $BODY"
lines=$(wc -l < "$T/frontend.log")
start_b "$T/profiles-b.conf"
[ "$(audit profile.changed "object = 'server' and details::jsonb->>'definition' like '%max_sans = 3%'")" = 1 ] || fail "B's server is not on the record"
wait_log "level=error event=profile_diverged profile=server "
issue_req "$T/div.csr" server "${AUTH[@]}"
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = profile-diverged ] || fail "server on the diverged frontend: $STATUS $BODY"
issue_req "$T/div.csr" cf "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "cf (the same in both files) on the first frontend: $STATUS $BODY"
URL=$BURL issue_req "$T/div.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "server on the second frontend: $STATUS $BODY"
[ "$(metric "$URL" hsmca_profiles_diverged)" = 2 ] && [ "$(metric "$BURL" hsmca_profiles_diverged)" = 0 ] \
	|| fail "hsmca_profiles_diverged: $(metric "$URL" hsmca_profiles_diverged) and $(metric "$BURL" hsmca_profiles_diverged)"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=profile_diverged profile=cf' && fail "cf reported diverged"
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X POST -u "ops-admin:$(cat "$T/admin.pw")" "$URL/api/v1/approvals/$AID/approve")
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = profile-diverged ] || fail "an approval on the diverged frontend: $STATUS $(cat "$T/resp.json")"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$HELD'")" = held ] \
	|| fail "the refused approval changed the held row: $(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$HELD'")"
# the second frontend restarted with the first one's file: the record is that definition again
stop_b
lines=$(wc -l < "$T/frontend.log")
start_b "$T/profiles.conf"
wait_log "event=profile_current profile=server "
issue_req "$T/div.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "server once the record is this frontend's definition again: $STATUS $BODY"
[ "$(metric "$URL" hsmca_profiles_diverged)" = 0 ] || fail "hsmca_profiles_diverged after: $(metric "$URL" hsmca_profiles_diverged)"
stop_b
pass "two frontends with different profiles files: the other one refuses the profile defined otherwise (503 profile-diverged, logged, /metrics; issuance and approvals) and serves the rest, until the record is its definition again"

# an authsign request refused for a state that lasts (the profile diverged) keeps its token: sent again, it is a
# replay, refused and counted, not an issuance refused again in the profile's account's name each time
# The same for a renewal proven by its challenge: each try was refused in the owner's name, never counted
csr rn ec:P-256 "DNS:rn.example.com"
issue_req "$T/rn.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "a certificate to renew: $STATUS $BODY"
RN=$(json_field '["serial"]')
awk '/^\[profile / { p = ($0 == "[profile cf]" || $0 == "[profile server]") } p && /^max_sans = / { $0 = "max_sans = 1" } 1' \
	"$T/profiles.conf" > "$T/profiles-c.conf"
chmod 600 "$T/profiles-c.conf"
lines=$(wc -l < "$T/frontend.log")
start_b "$T/profiles-c.conf"
wait_log "level=error event=profile_diverged profile=cf "
wait_log "level=error event=profile_diverged profile=server "
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -d "{\"serial\": \"$RN\"}" "$URL/api/v1/certificates/renewal-challenge")
[ "$STATUS" = 200 ] || fail "a renewal challenge: $STATUS $(cat "$T/resp.json")"
CH=$(json_field '["challenge"]')
csr rn2 ec:P-256 "DNS:rn.example.com"
renew_body "$T/rn2.csr" "$RN" "$CH" "$(renew_sig "$T/rn.key" "$CH" "$T/rn2.csr")"
refused_before=$(audit certificate.refused "actor = 'alice'")
codes=""
for _ in 1 2 3 4 5 6 7; do
	codes+=" $(curl -sS -o "$T/rn.out" -w '%{http_code}' --interface 127.0.0.62 --data-binary @"$T/renew.json" "$URL/api/v1/certificates/renew")"
done
[ "$codes" = " 503 503 503 503 503 429 429" ] || fail "one renewal sent 7 times to the diverged frontend: $codes ($(cat "$T/rn.out"))"
[ "$(audit certificate.refused "actor = 'alice'")" = $((refused_before + 5)) ] \
	|| fail "renewal refusals in the owner's name: $(( $(audit certificate.refused "actor = 'alice'") - refused_before )), want 5"
pass "a proven renewal refused because its profile diverged counts against its address like any refusal after the proof"

csr cfdiv ec:P-256 "DNS:cfdiv.example.com"
python3 - "$T/cfdiv.csr" "$KEY" "$(date +%s)" > "$T/cf-authsign.json" <<'PY'
import base64, hashlib, hmac, json, sys
req = json.dumps({"hosts": ["cfdiv.example.com"], "certificate_request": open(sys.argv[1]).read(), "profile": "cf", "label": ""}).encode()
tok = hmac.new(bytes.fromhex(sys.argv[2]), req, hashlib.sha256).digest()
print(json.dumps({"timestamp": int(sys.argv[3]), "token": base64.b64encode(tok).decode(), "request": base64.b64encode(req).decode()}))
PY
refused_before=$(audit certificate.refused "actor = 'alice'")
codes=""
for _ in 1 2 3 4 5 6 7; do
	codes+=" $(curl -sS -o "$T/cf.out" -w '%{http_code}' --interface 127.0.0.61 --data-binary @"$T/cf-authsign.json" "$URL/api/v1/cfssl/authsign")"
done
[ "$codes" = " 503 401 401 401 401 401 429" ] || fail "one authsign request sent 7 times to the diverged frontend: $codes"
[ "$(audit certificate.refused "actor = 'alice'")" = $((refused_before + 1)) ] \
	|| fail "refusals in the account's name: $(( $(audit certificate.refused "actor = 'alice'") - refused_before )), want 1"
stop_b
pass "an authsign request refused because its profile diverged keeps its token: sent again it is a replay, counted, and writes nothing in the account's name"

"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" > "$T/verify.log" 2>&1 || fail "audit-verify: $(cat "$T/verify.log")"
grep -q 'audit chain intact' "$T/verify.log" || fail "audit-verify: $(cat "$T/verify.log")"
expect_rc 1 "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" \
	--name config --role requester --password-file <(printf 'config password 0001\n')
grep -q 'actor of the audit log' <<<"$OUT" || fail "an account named config: $OUT"
pass "the records are on the audit chain (audit-verify intact); config is an actor of the audit log's own, not an account name"
