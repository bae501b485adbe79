#!/usr/bin/env bash
# Approvals and renewal against the real signer (SoftHSM2) and a private PostgreSQL:
# - a profile with needs_approval holds the request (nothing signed) until a SECOND person approves;
#   rejection and expiry fail it; every step is on the audit log;
# - renewal by a signed server challenge keeps the names and profile, links the new certificate to the
#   old one (renews_serial), happens at most once, and refuses bad signatures, foreign or stale
#   challenges and revoked certificates;
# - renewal over mutual TLS with curl presenting the current client certificate (interop);
# - an administrator logs in with a client certificate of a login profile (no password) and approves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
FE_MORE_INTS="int2:p256" fe_setup_backend # int2: the intermediate that replaces int at the end
fe_profiles
fe_profile_gated
fe_profile_gated gated-short 1 # approved after it would have expired (below)
cat >> "$T/profiles.conf" <<EOC

[profile operator]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .ops.example.com
max_sans = 1
max_validity_days = 7
key_usage = digitalSignature
eku = clientAuth
accounts = ops-admin2
login = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile svc-ops]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .ops.example.com
max_sans = 1
max_validity_days = 7
key_usage = digitalSignature
eku = clientAuth
accounts = ops-admin, ops-admin2
login = no
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile gated-overlong]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 1
max_validity_days = 500
key_usage = digitalSignature
eku = serverAuth
accounts = alice
needs_approval = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile gated-nokey]
issuer = nokey
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 1
max_validity_days = 7
key_usage = digitalSignature
eku = serverAuth
accounts = alice
needs_approval = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile gated-puppet]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 1
max_validity_days = 7
key_usage = digitalSignature
eku = serverAuth
accounts = puppet
needs_approval = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
CI="$(pg_conninfo "$T/pg" frontend)"
printf 'admin password 0001\n' > "$T/admin.pw"
printf 'second admin pw 02\n' > "$T/admin2.pw"
printf 'alice password 0002\n' > "$T/alice.pw"
printf 'auditor password 3\n' > "$T/aud.pw"
"$FRONTEND" bootstrap-admin --conninfo "$CI" --intent-key-file "$T/intent.key" --name ops-admin --password-file "$T/admin.pw" >/dev/null || fail "bootstrap"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name ops-admin2 --role admin --password-file "$T/admin2.pw" >/dev/null || fail "admin2"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" >/dev/null || fail "alice"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name audrey --role auditor --password-file "$T/aud.pw" >/dev/null || fail "auditor"
# the profiles against the running signer's keys at start-up (signerfit.c): gated-overlong allows more validity
# than key int's pin and gated-nokey names a key the signer does not hold, both on purpose (what the signer
# says when an approval reaches it is tested below): the frontend refuses to start unless told to warn
fe_conf "recover_after_seconds = 1"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -qF "profile gated-overlong: max_validity_days 500 above key int's 397" <<<"$OUT" \
	&& grep -qF "profile gated-nokey: issuer nokey is the label of no key of this signer" <<<"$OUT" \
	&& grep -q "event=startup_failed step=signer_keys" <<<"$OUT" || fail "profiles past the signer's keys: $OUT"
fe_conf "signer_profile_check = maybe"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -qF "bad value for signer_profile_check (refuse or warn)" <<<"$OUT" || fail "signer_profile_check = maybe: $OUT"
export FE_CONF_EXTRA="signer_profile_check = warn"
fe_start "recover_after_seconds = 1"
grep -q "pid=$FRONTEND_PID level=warn event=profile_unfit_signer why=\"profile gated-nokey: issuer nokey" "$T/frontend.log" \
	&& grep -q "pid=$FRONTEND_PID level=warn event=signer_keys keys=2 profiles=[0-9]* unfit=2 " "$T/frontend.log" \
	|| fail "signer_profile_check = warn: $(grep "pid=$FRONTEND_PID" "$T/frontend.log" | grep -i signer | head -5)"
pass "profiles the running signer's keys would refuse stop the frontend at start-up, naming them (signer_profile_check = warn: logged and served)"
ALICE=(-u "alice:$(cat "$T/alice.pw")")
ADMIN=(-u "ops-admin:$(cat "$T/admin.pw")")
ADMIN2=(-u "ops-admin2:$(cat "$T/admin2.pw")")
AUDITOR=(-u "audrey:$(cat "$T/aud.pw")")

# call METHOD PATH [curl args...]: sets STATUS and BODY (response in $T/resp.json)
call() {
	local m=$1 path=$2; shift 2
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X "$m" "$@" "$URL$path")
	BODY=$(cat "$T/resp.json")
}
audit_count() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = '$1'${2:+ and object = '$2'}"; }

# ---------------------------------------------------------------- approvals
csr gated ec:P-256 "DNS:gated.example.com"
issue_req "$T/gated.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "held request: $STATUS $BODY"
HELD=$(json_field '["serial"]'); AID=$(json_field '["approval"]')
[ "$(json_field '["status"]')" = held ] || fail "held status: $BODY"
[ "$(cert_rows "serial_hex = '$HELD' and status = 'held' and der is null")" = 1 ] || fail "held row"
[ "$(audit_count certificate.held "$HELD")" = 1 ] || fail "certificate.held audit row"
call GET "/api/v1/certificates/$HELD" "${ALICE[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = held ] && [ "$(json_field '["approval"]')" = "$AID" ] \
	&& [ "$(json_field '["certificate"]')" = None ] || fail "GET held: $STATUS $BODY"
# the recovery pass (every second here) must never sign a held row
sleep 2.5
[ "$(cert_rows "serial_hex = '$HELD' and status = 'held'")" = 1 ] || fail "recovery touched a held row"
pass "a gated request is held, unsigned, with an approval"

call GET /api/v1/approvals "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && grep -q "\"serial\": \"$HELD\"" <<<"$BODY" || fail "auditor lists approvals: $STATUS $BODY"
call POST "/api/v1/approvals/$AID/approve" "${AUDITOR[@]}"
[ "$STATUS" = 403 ] || fail "auditor approves: $STATUS $BODY"
call POST "/api/v1/approvals/$AID/approve" "${ALICE[@]}"
[ "$STATUS" = 403 ] || fail "requester approves: $STATUS $BODY"
call GET /api/v1/approvals "${ALICE[@]}"
[ "$STATUS" = 403 ] || fail "requester lists approvals: $STATUS $BODY"
call POST "/api/v1/approvals/$AID/approve" "${ADMIN[@]}" -d '{"reason": "x"}'
[ "$STATUS" = 400 ] || fail "approve with a reason body: $STATUS $BODY"
call POST "/api/v1/approvals/999999/approve" "${ADMIN[@]}"
[ "$STATUS" = 404 ] || fail "unknown approval: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$HELD' and status = 'held'")" = 1 ] || fail "refused decisions changed the row"
# each refused decision's audit row names the approval and the decision asked for (its object was "-")
for who in audrey alice ops-admin; do
	[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '$who' and object = '/api/v1/approvals/$AID/approve'")" -ge 1 ] \
		|| fail "$who's refused decision does not name the approval: $(pg_psql "$T/pg" owner -c "select actor, object from audit_log where action = 'certificate.refused'")"
done
pass "only administrators decide; auditors read; requesters neither; refusals audited with the approval's path"

# a refusal's object is a validated value: the path without its query (the query is the client's bytes, in the
# details, JSON-escaped). A query of invalid UTF-8 made PostgreSQL refuse the row (403, nothing audited, no
# audit_failed logged); control characters were stored raw in audit_log.object.
BEFORE=$(audit_count certificate.refused)
python3 - "$PORT" "$(printf 'alice:%s' "$(cat "$T/alice.pw")" | base64 -w0)" > "$T/rawq.out" <<'EOP' || fail "raw approvals queries: $(cat "$T/rawq.out")"
import socket, sys
from sockread import read_to_end
for q in (b"\xff", b"\x01\x1b[31mEVIL"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"GET /api/v1/approvals?" + q + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic "
              + sys.argv[2].encode() + b"\r\n\r\n")
    raw = read_to_end(s)
    s.close()
    assert raw.startswith(b"HTTP/1.1 403 "), "%r: %r" % (q, raw[:200])
EOP
[ "$(audit_count certificate.refused)" = $((BEFORE + 2)) ] \
	|| fail "refusals with a raw query were not both audited: $BEFORE then $(audit_count certificate.refused); $(grep audit_failed "$T/frontend.log" | tail -2)"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from (select * from audit_log where action = 'certificate.refused' order by id desc limit 2) r where actor = 'alice' and object = '/api/v1/approvals' and details::jsonb->>'request' like 'GET /api/v1/approvals?%'")" = 2 ] \
	|| fail "raw-query refusals' rows: $(pg_psql "$T/pg" owner -c "select actor, object, details from audit_log where action = 'certificate.refused' order by id desc limit 2")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where object ~ '[[:cntrl:]]' or object like '%EVIL%'")" = 0 ] \
	|| fail "control bytes in audit_log.object"
pass "a refusal with a query of invalid UTF-8 or control bytes is audited, its object the bare path"

# the scheme in lower case (RFC 9110: schemes are case-insensitive) is still a password, so it may decide
call POST "/api/v1/approvals/$AID/approve" -H "Authorization: basic $(printf 'ops-admin:%s' "$(cat "$T/admin.pw")" | base64 -w0)"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve: $STATUS $BODY"
json_field '["certificate"]' > "$T/gated.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/gated.pem" >/dev/null || fail "verify approved"
[ "$(audit_count approval.approved "$HELD")" = 1 ] && [ "$(audit_count certificate.issued "$HELD")" = 1 ] || fail "approval audit rows"
call GET "/api/v1/certificates/$HELD" "${ALICE[@]}"
# (the certificate compared: a missing field printed nothing, and "" != None held)
[ "$(json_field '["status"]')" = issued ] && json_field '["certificate"]' | cmp -s - "$T/gated.pem" || fail "requester polls: $BODY"
call POST "/api/v1/approvals/$AID/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] || fail "second approval of the same request: $STATUS $BODY"
pass "an administrator's approval signs it; the requester polls it; a decision is final"
# the list: pending approvals only, unless the query has all=1, wherever it stands among its parameters
# (before, only a query beginning with it counted)
call GET /api/v1/approvals "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && ! grep -q "\"serial\": \"$HELD\"" <<<"$BODY" || fail "a decided approval in the pending list: $STATUS $BODY"
for q in "all=1" "x=1&all=1"; do
	call GET "/api/v1/approvals?$q" "${AUDITOR[@]}"
	[ "$STATUS" = 200 ] && grep -q "\"serial\": \"$HELD\"" <<<"$BODY" || fail "?$q lists no decided approval: $STATUS $BODY"
done
call GET "/api/v1/approvals?all=10" "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && ! grep -q "\"serial\": \"$HELD\"" <<<"$BODY" || fail "?all=10 is not all=1: $STATUS $BODY"
# a URI longer than the job keeps (512 bytes) is refused, not cut: "?<pad>&all=10" cut after all=1 listed all
q="x=$(head -c 485 /dev/zero | tr '\0' x)&all=10" # the URI, /api/v1/approvals?$q, is 512 bytes: 511 end at all=1
call GET "/api/v1/approvals?$q" "${AUDITOR[@]}"
[ "$STATUS" = 414 ] && [ "$(json_field '["error"]["code"]')" = uri-too-long ] \
	|| fail "a URI of 512 bytes: $STATUS $(head -c 300 <<<"$BODY")"
call GET "/api/v1/approvals?${q%0}" "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && grep -q "\"serial\": \"$HELD\"" <<<"$BODY" || fail "the same URI of 511 bytes (all=1): $STATUS $BODY"
pass "the approval list holds decided approvals only with all=1 among its query's parameters"
# the list holds the newest 500 and says when older ones were left out (before, they were left out silently:
# an administrator's script never saw the oldest pending requests, those nearest their expiry)
listed() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d["approvals"]), str(d["truncated"]).lower())' "$BODY"; }
call GET /api/v1/approvals "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && [ "$(listed | cut -d' ' -f2)" = false ] || fail "the short list: $STATUS $BODY"
pg_psql "$T/pg" owner -c "INSERT INTO approvals (action, object, requested_by, expires_at)
	SELECT 'test.filler', 'filler-' || g, 'test', now() + interval '1 day' FROM generate_series(1, 501) g" >/dev/null
call GET /api/v1/approvals "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && [ "$(listed)" = "500 true" ] || fail "the list of 501+ pending approvals: $STATUS $(listed)"
pg_psql "$T/pg" owner -c "DELETE FROM approvals WHERE action = 'test.filler'" >/dev/null
call GET /api/v1/approvals "${AUDITOR[@]}"
[ "$STATUS" = 200 ] && [ "$(listed | cut -d' ' -f2)" = false ] || fail "the list after the fillers: $STATUS $BODY"
pass "the approval list holds the newest 500 and says truncated: true when there were more"

# an approval after the certificate it would give has expired: a 1-day profile approved two days later (the
# frontend's clock moved on, tests/tools/timeshim.c): 409 not-approvable, nothing signed, and a rejection
# still goes through (before, 200 with a certificate already expired)
csr gshort ec:P-256 "DNS:gshort.example.com"
issue_req "$T/gshort.csr" gated-short "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gated-short held: $STATUS $BODY"
GSH=$(json_field '["serial"]'); GSHA=$(json_field '["approval"]')
SHIM=$HSMCA_BUILD/tests/tools/libtimeshim.so
[ -f "$SHIM" ] || fail "no $SHIM"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
LD_PRELOAD=$SHIM HSMCA_TEST_CLOCK_OFFSET=$((2 * 86400)) fe_start "recover_after_seconds = 1"
call POST "/api/v1/approvals/$GSHA/approve" "${ADMIN[@]}"
[ "$STATUS" = 409 ] && grep -q '"not-approvable"' <<<"$BODY" && grep -q "expired while it waited" <<<"$BODY" \
	|| fail "approving a request whose certificate would have expired: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GSH' and status = 'held' and der is null")" = 1 ] || fail "the expired request's row changed"
call POST "/api/v1/approvals/$GSHA/reject" "${ADMIN[@]}"
[ "$STATUS" = 200 ] || fail "rejecting it: $STATUS $BODY"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
fe_start "recover_after_seconds = 1"
pass "an approval of a request whose certificate would already have expired: 409 not-approvable, nothing signed; it can be rejected"

# the signer's pinned rules (max_validity_days = 397) refuse what the profile (500) held: the approval gets
# direct issuance's answer, 502 with the signer's reason (it was 200 with the failed row); the row is failed
csr govl ec:P-256 "DNS:govl.example.com"
issue_req "$T/govl.csr" gated-overlong "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gated-overlong held: $STATUS $BODY"
GOVL=$(json_field '["serial"]')
call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN[@]}"
[ "$STATUS" = 502 ] && [ "$(json_field '["error"]["code"]')" = signer ] && grep -qi validity <<<"$(json_field '["error"]["message"]')" \
	|| fail "approval the signer refuses: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GOVL' and status = 'failed' and der is null")" = 1 ] || fail "the refused approval's row is not failed"
[ "$(audit_count approval.approved "$GOVL")" = 1 ] && [ "$(audit_count certificate.failed "$GOVL")" = 1 ] \
	|| fail "the refused approval's audit rows"
call GET "/api/v1/certificates/$GOVL" "${ALICE[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = failed ] || fail "requester polls the refused one: $STATUS $BODY"
pass "an approved request the signer refuses: 502 with the signer's reason (as direct issuance), the row failed, audited"

# an approval under a key label the signer does not hold (now: a half-started or misconfigured signer) is not
# thrown away: 503 naming the signer's reason, the row pending for the recovery pass (every second here), which
# leaves it pending while the key is missing; before, the row was failed for good (502), the decision lost
csr gnk ec:P-256 "DNS:gnk.example.com"
issue_req "$T/gnk.csr" gated-nokey "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gated-nokey held: $STATUS $BODY"
GNK=$(json_field '["serial"]')
call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN[@]}"
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = signer-unavailable ] \
	&& grep -q 'no key with this label' <<<"$(json_field '["error"]["message"]')" \
	|| fail "approval under a key the signer lacks: $STATUS $BODY"
# the recovery pass (every second here) tries it and leaves it pending
for _ in $(seq 200); do grepq "event=recovery_deferred serial=$GNK " "$T/frontend.log" && break; sleep 0.1; done
grepq "event=recovery_deferred serial=$GNK " "$T/frontend.log" || fail "the recovery pass did not try the row: $(tail -5 "$T/frontend.log")"
[ "$(cert_rows "serial_hex = '$GNK' and status = 'pending' and der is null")" = 1 ] \
	|| fail "the approved row under a missing key is not pending: $(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$GNK'")"
[ "$(audit_count approval.approved "$GNK")" = 1 ] && [ "$(audit_count certificate.failed "$GNK")" = 0 ] \
	|| fail "the approval under a missing key: its audit rows"
pass "an approval under a key label the signer lacks: 503 with the signer's reason, the row stays pending (recovery retries), the approval recorded"
# an operator's way out for a key that will not come back: failed by hand, with its audit row (else recovery
# would meet it first on every pass for the rest of this file, and a later test's signer stop would time out
# on it instead of on the row that test is about)
pg_psql "$T/pg" owner -c "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'no such key' WHERE serial_hex = '$GNK';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('operator', 'certificate.failed', '$GNK', '{}'); COMMIT" >/dev/null \
	|| fail "failing $GNK by hand"

# ---- an approval checks the request against the present: the approver's own row, the requester, the profile
# (it signed the held TBS as filed: for a requester disabled since, a profile narrowed since, and an approver
# disabled by another frontend while this one's account cache could not hear of it)
csr gq1 ec:P-256 "DNS:gq1.example.com"
issue_req "$T/gq1.csr" gated "${ALICE[@]}"; [ "$STATUS" = 202 ] || fail "gq1: $STATUS $BODY"
GQ1=$(json_field '["serial"]'); GQA1=$(json_field '["approval"]')
call POST /api/v1/accounts/alice/disable "${ADMIN[@]}"; [ "$STATUS" = 200 ] || fail "disable alice: $STATUS $BODY"
call POST "/api/v1/approvals/$GQA1/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] && grep -q '"not-approvable"' <<<"$BODY" && grep -q "requester alice is disabled" <<<"$BODY" \
	|| fail "approving the request of a disabled requester: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GQ1' and status = 'held'")" = 1 ] || fail "the refused approval changed the row"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = 'ops-admin2' and object = '/api/v1/approvals/$GQA1/approve' and details like '%not-approvable%'")" = 1 ] \
	|| fail "the refused approval is not audited"
call POST /api/v1/accounts/alice/enable "${ADMIN[@]}"; [ "$STATUS" = 200 ] || fail "enable alice: $STATUS $BODY"
# an unknown approval id is a refusal on the record too; a decision path with GET is 405 with its Allow
before=$(audit_count certificate.refused /api/v1/approvals/999998/approve)
call POST /api/v1/approvals/999998/approve "${ADMIN2[@]}"; [ "$STATUS" = 404 ] || fail "unknown approval: $STATUS $BODY"
[ "$(audit_count certificate.refused /api/v1/approvals/999998/approve)" = $((before + 1)) ] || fail "the unknown approval's refusal is not audited"
STATUS=$(curl -sS -o /dev/null -D "$T/h.txt" -w '%{http_code}' "$URL/api/v1/approvals/$GQA1/approve" "${ADMIN2[@]}")
[ "$STATUS" = 405 ] && grep -qi '^allow: POST' "$T/h.txt" || fail "GET of a decision: $STATUS $(cat "$T/h.txt")"
# the approver disabled by another frontend while this one's listener is stopped (its cache still says admin)
# (its last statement: a LISTEN, or its ping once quiet for 5 s; after its profile check at connect, a lookup
# of the audit log that workers make too, so wait for the ping)
for _ in $(seq 40); do
	LPID=$(pg_psql "$T/pg" owner -c "select pid from pg_stat_activity where query in ('LISTEN hsmca_accounts', 'LISTEN hsmca_schema', 'LISTEN hsmca_profiles', 'SELECT 1 AS listener_ping')")
	[ -n "$LPID" ] && break; sleep 0.25
done
[ -n "$LPID" ] && [ "$(wc -w <<<"$LPID")" = 1 ] || fail "the account listener's backend: '$LPID'"
call GET /api/v1/approvals "${ADMIN2[@]}"; [ "$STATUS" = 200 ] || fail "ops-admin2 lists: $STATUS" # cached
stop_pid "$LPID"
BPORT=$(free_ports 1)
sed "s/^listen = .*/listen = 127.0.0.1:$BPORT/" "$T/frontend.conf" > "$T/frontend-b.conf"
"$FRONTEND" run -c "$T/frontend-b.conf" > "$T/frontend-b.log" 2>&1 &
B_PID=$!; PIDS+=("$B_PID")
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$BPORT/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
st=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${ADMIN[@]}" "http://127.0.0.1:$BPORT/api/v1/accounts/ops-admin2/disable")
[ "$st" = 200 ] || fail "disable ops-admin2 through the second frontend: $st $(tail -3 "$T/frontend-b.log")"
call POST "/api/v1/approvals/$GQA1/approve" "${ADMIN2[@]}"; STALE=$STATUS STALE_BODY=$BODY
st=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${ADMIN[@]}" "http://127.0.0.1:$BPORT/api/v1/accounts/ops-admin2/enable")
kill -CONT "$LPID"
kill -TERM "$B_PID"; wait "$B_PID" 2>/dev/null || true
# refused at its login: a worker reads the account row at every password login (since ca23839; before, the
# cached row let it through to the decision's locked recheck, 403 "your account was changed meanwhile",
# which stays behind the login for a change between the two)
[ "$STALE" = 401 ] \
	|| fail "an approval by an administrator disabled elsewhere (this frontend's cache not told): $STALE $STALE_BODY"
[ "$st" = 200 ] || fail "enable ops-admin2 again: $st"
[ "$(cert_rows "serial_hex = '$GQ1' and status = 'held'")" = 1 ] || fail "the stale approver's approval changed the row"
for _ in $(seq 50); do call POST "/api/v1/approvals/$GQA1/approve" "${ADMIN2[@]}"; [ "$STATUS" != 401 ] && break; sleep 0.2; done
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approving gq1 once all is back: $STATUS $BODY"
# the profile narrowed after the filing (a restart found its definition changed: profile.changed): the held
# request is not approvable; one filed under the profile as it is now is
csr gq2 ec:P-256 "DNS:gq2.example.com"
issue_req "$T/gq2.csr" gated "${ALICE[@]}"; [ "$STATUS" = 202 ] || fail "gq2: $STATUS $BODY"
GQ2=$(json_field '["serial"]'); GQA2=$(json_field '["approval"]')
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
awk '/^\[profile gated\]/ { p = 1 } p && /^max_validity_days = 30$/ { $0 = "max_validity_days = 29" } /^$/ { p = 0 } 1' \
	"$T/profiles.conf" > "$T/profiles.new" && mv "$T/profiles.new" "$T/profiles.conf"
grep -q '^max_validity_days = 29$' "$T/profiles.conf" || fail "the gated profile was not changed"
fe_start "recover_after_seconds = 1"
[ "$(audit_count profile.changed gated)" = 1 ] || fail "the changed profile is not on the record"
call POST "/api/v1/approvals/$GQA2/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] && grep -q '"not-approvable"' <<<"$BODY" && grep -q "profile gated changed after this request was filed" <<<"$BODY" \
	|| fail "approving a request filed under the profile before its change: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GQ2' and status = 'held'")" = 1 ] || fail "the refused approval changed gq2's row"
call POST "/api/v1/approvals/$GQA2/reject" "${ADMIN2[@]}" -d '{"reason": "filed under the old profile"}'
[ "$STATUS" = 200 ] || fail "rejecting gq2: $STATUS $BODY"
issue_req "$T/gq2.csr" gated "${ALICE[@]}"; [ "$STATUS" = 202 ] || fail "gq2 again: $STATUS $BODY"
call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN2[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approving gq2 filed under the profile as it is: $STATUS $BODY"
pass "an approval re-checks under lock: a requester disabled since (409), an approver disabled by another frontend (401 at its login: the row is read at every worker login), a profile changed since the filing (409), an unknown approval (404, audited), GET of a decision (405)"

# an administrator's own gated request needs ANOTHER administrator
csr gated2 ec:P-256 "DNS:gated2.example.com"
issue_req "$T/gated2.csr" gated "${ADMIN[@]}"
[ "$STATUS" = 202 ] || fail "admin's held request: $STATUS $BODY"
S2=$(json_field '["serial"]'); A2=$(json_field '["approval"]')
call POST "/api/v1/approvals/$A2/approve" "${ADMIN[@]}"
[ "$STATUS" = 403 ] && grep -q second-person <<<"$BODY" || fail "self-approval: $STATUS $BODY"
# nor a second identity the requester made: an administrator it created, or whose password it set
call POST /api/v1/accounts -d '{"name": "sock", "role": "admin", "password": "sock password 0001"}' "${ADMIN[@]}"
[ "$STATUS" = 201 ] || fail "create sock: $STATUS $BODY"
call POST "/api/v1/approvals/$A2/approve" -u "sock:sock password 0001"
[ "$STATUS" = 403 ] && grep -q "ops-admin and sock changed each other's accounts lately" <<<"$BODY" \
	|| fail "approval by an administrator the requester created: $STATUS $BODY"
printf 'sock2 password 0001\n' > "$T/sock2.pw"
"$FRONTEND" create-account --conninfo "$CI" --intent-key-file "$T/intent.key" --name sock2 --role admin --password-file "$T/sock2.pw" >/dev/null || fail "sock2"
call POST /api/v1/accounts/sock2/password -d '{"password": "taken over 0001"}' "${ADMIN[@]}"
[ "$STATUS" = 200 ] || fail "set sock2's password: $STATUS $BODY"
call POST "/api/v1/approvals/$A2/approve" -u "sock2:taken over 0001"
[ "$STATUS" = 403 ] && grep -q second-person <<<"$BODY" || fail "approval by an administrator whose password the requester set: $STATUS $BODY"
# the other way round: the approver set the requester's password (and could file as it)
call POST /api/v1/accounts/alice/password -d '{"password": "'"$(cat "$T/alice.pw")"'"}' -u "sock2:taken over 0001"
[ "$STATUS" = 200 ] || fail "sock2 sets alice's password: $STATUS $BODY"
csr gated2b ec:P-256 "DNS:gated2b.example.com"
issue_req "$T/gated2b.csr" gated "${ALICE[@]}"
A2B=$(json_field '["approval"]')
call POST "/api/v1/approvals/$A2B/approve" -u "sock2:taken over 0001"
[ "$STATUS" = 403 ] && grep -q second-person <<<"$BODY" || fail "approval by the administrator who set the requester's password: $STATUS $BODY"
# changes older than a week before the request do not count (the first administrator's colleagues)
pg_psql "$T/pg" owner -c "set session_replication_role = replica;
	update approvals set created_at = now() + interval '8 days' where id = $A2B" >/dev/null
call POST "/api/v1/approvals/$A2B/approve" -u "sock2:taken over 0001"
[ "$STATUS" = 200 ] || fail "approval long after the password change: $STATUS $BODY"
call POST "/api/v1/approvals/$A2/reject" "${ADMIN2[@]}" -d '{"reason": "not this one"}'
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = failed ] || fail "reject: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$S2' and status = 'failed' and der is null")" = 1 ] || fail "rejected row"
[ "$(audit_count approval.rejected "$S2")" = 1 ] || fail "rejection audit row"
# nor by the administrator who created the requester (it chose its password; before, it approved its puppet's
# request: the rule looked only at password changes in that direction)
call POST /api/v1/accounts -d '{"name": "puppet", "role": "requester", "password": "puppet password 1"}' "${ADMIN2[@]}"
[ "$STATUS" = 201 ] || fail "create puppet: $STATUS $BODY"
csr puppet ec:P-256 "DNS:puppet.example.com"
issue_req "$T/puppet.csr" gated-puppet -u "puppet:puppet password 1"
[ "$STATUS" = 202 ] || fail "puppet's held request: $STATUS $BODY"
AP=$(json_field '["approval"]')
call POST "/api/v1/approvals/$AP/approve" "${ADMIN2[@]}"
[ "$STATUS" = 403 ] && grep -q "puppet and ops-admin2 changed each other's accounts lately" <<<"$BODY" \
	|| fail "approval by the administrator who created the requester: $STATUS $BODY"
call POST "/api/v1/approvals/$AP/approve" "${ADMIN[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approval by another administrator: $STATUS $BODY"
pass "no self-approval, nor by an administrator that the requester created or whose password it set, or that created the requester or set its password, in the week before the request or since; a rejection fails the request unsigned"

# expiry: an approval past its time fails its certificate (recovery pass), audited
csr gated3 ec:P-256 "DNS:gated3.example.com"
issue_req "$T/gated3.csr" gated "${ALICE[@]}"
S3=$(json_field '["serial"]'); A3=$(json_field '["approval"]')
pg_psql "$T/pg" owner -c "update approvals set expires_at = now() - interval '1 second' where id = $A3" >/dev/null
for _ in $(seq 50); do [ "$(cert_rows "serial_hex = '$S3' and status = 'failed'")" = 1 ] && break; sleep 0.2; done
[ "$(cert_rows "serial_hex = '$S3' and status = 'failed'")" = 1 ] || fail "expired approval did not fail the request"
[ "$(audit_count approval.expired "$S3")" = 1 ] || fail "expiry audit row"
call POST "/api/v1/approvals/$A3/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] || fail "approving an expired request: $STATUS $BODY"
pass "expired approvals fail their request"
# approvals the database role inserted for no held certificate (another serial, any text) expire audited too
NOSER=$(openssl rand -hex 16)
IDS=($(pg_psql "$T/pg" frontend -c "INSERT INTO approvals (action, object, requested_by, expires_at) VALUES
	('certificate.issue', '$NOSER', 'mallory', now() - interval '1 second'),
	('certificate.issue', repeat('not a serial ', 100), 'mallory', now() - interval '1 second') RETURNING id"))
AX=${IDS[0]}; AY=${IDS[1]}
for _ in $(seq 50); do [ "$(pg_psql "$T/pg" owner -c "select count(*) from approvals where id in ($AX, $AY) and status = 'expired'")" = 2 ] && break; sleep 0.2; done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from approvals where id in ($AX, $AY) and status = 'expired'")" = 2 ] || fail "the approvals of no held certificate did not expire"
[ "$(audit_count approval.expired "$NOSER")" = 1 ] || fail "no audit row for the expiry of approval $AX ($NOSER, no certificate)"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'approval.expired' and object = ''
	and (details::jsonb->>'approval')::bigint = $AY and details::jsonb->>'reason' = 'no held certificate of this serial'")" = 1 ] \
	|| fail "no audit row for the expiry of approval $AY (its object no serial)"
pass "an approval for no held certificate (a serial without a row, an object that is no serial) expires audited, its reason said"

# an approval whose signing waits on a stopped signer: the recovery passes (every second) leave its row to the
# approving worker, so its TBS is signed once (before, a pass claimed the row too and both signed it)
csr gated4 ec:P-256 "DNS:gated4.example.com"
issue_req "$T/gated4.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "held request 4: $STATUS $BODY"
S4=$(json_field '["serial"]'); A4W=$(json_field '["approval"]')
TBS4=$(pg_psql "$T/pg" owner -c "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$S4'")
stop_pid "$SIGNER_PID"
curl -sS -o "$T/approve4.json" -w '%{http_code}' "${ADMIN2[@]}" -X POST -H 'Content-Type: application/json' \
	--data-binary '' "$URL/api/v1/approvals/$A4W/approve" > "$T/approve4.status" 2>/dev/null &
APPROVER=$!
sleep 3.5 # three recovery passes while the approval waits on the signer
kill -CONT "$SIGNER_PID"
wait "$APPROVER" || true
[ "$(cat "$T/approve4.status")" = 200 ] && grep -q '"status": "issued"' "$T/approve4.json" \
	|| fail "approve with a stopped signer: $(cat "$T/approve4.status") $(cat "$T/approve4.json")"
sleep 1 # a pass that claimed the row would sign it as soon as the signer runs again
[ "$(grep -c "event=signed .*tbs_sha256=$TBS4" "$T/signer.log")" = 1 ] \
	|| fail "the approved TBS was signed $(grep -c "event=signed .*tbs_sha256=$TBS4" "$T/signer.log") times"
[ "$(audit_count certificate.issued "$S4")" = 1 ] || fail "issued audit rows of the approved request"
pass "an approval signing while the signer is stopped: recovery leaves the row alone, the TBS is signed once"

# ---------------------------------------------------------------- renewal (signed challenge)
challenge() { call POST /api/v1/certificates/renewal-challenge -d "{\"serial\": \"$1\"}"; }

for spec in ec:P-256 rsa:2048; do
	csr old ec:P-256 "DNS:svc.example.com" "IP:10.9.8.7"
	[ "$spec" = rsa:2048 ] && csr old rsa:2048 "DNS:svc.example.com" "IP:10.9.8.7"
	issue_req "$T/old.csr" server "${ALICE[@]}"
	[ "$STATUS" = 201 ] || fail "issue old ($spec): $STATUS $BODY"
	OLD=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/old.pem"
	challenge "$OLD"; [ "$STATUS" = 200 ] || fail "challenge: $STATUS $BODY"
	CH=$(json_field '["challenge"]')
	# the new CSR asks for other names: a renewal keeps the old certificate's names
	csr new ec:P-256 "DNS:other.example.com"
	renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 201 ] || fail "renew ($spec): $STATUS $BODY"
	NEW=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/new.pem"
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/new.pem" >/dev/null || fail "verify renewed"
	[ "$(openssl x509 -in "$T/new.pem" -noout -ext subjectAltName | tail -1 | tr -d ' ')" = "DNS:svc.example.com,IPAddress:10.9.8.7" ] \
		|| fail "renewed names: $(openssl x509 -in "$T/new.pem" -noout -ext subjectAltName)"
	[ "$(openssl x509 -in "$T/new.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/new.key" -pubout)" ] || fail "renewed key is not the CSR's"
	[ "$(cert_rows "serial_hex = '$NEW' and renews_serial = '$OLD' and status = 'issued' and requester = 'alice' and profile = 'server'")" = 1 ] \
		|| fail "renewal link in the database"
	call GET "/api/v1/certificates/$OLD" "${ALICE[@]}"
	[ "$(json_field '["renewed_by"]')" = "$NEW" ] || fail "renewed_by: $BODY"
	pg_psql "$T/pg" owner -c "select details from audit_log where action = 'certificate.requested' and object = '$NEW'" \
		| grepq "\"renews\": \"$OLD\", \"via\": \"challenge\"" || fail "renewal audit details"
	# once only: the holder sending it again (the same new key) collects that renewal (a key holder has no
	# account to GET it with), nothing new stored; a renewal for another key is 409
	before=$(cert_rows)
	challenge "$OLD"; CH=$(json_field '["challenge"]')
	renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 200 ] && [ "$(json_field '["serial"]')" = "$NEW" ] || fail "renewal sent again: $STATUS $BODY"
	json_field '["certificate"]' | cmp -s - "$T/new.pem" || fail "the renewal collected is not the one issued"
	csr other ec:P-256 "DNS:svc.example.com"
	challenge "$OLD"; CH=$(json_field '["challenge"]')
	renew_body "$T/other.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH" "$T/other.csr")"
	# (refusals after a proof count against the address: from one of its own, as the tests of failed proofs below)
	call POST /api/v1/certificates/renew --interface 127.0.0.52 --data-binary @"$T/renew.json"
	[ "$STATUS" = 409 ] && grep -q "already renewed by $NEW (issued, for another key)" <<<"$BODY" \
		|| fail "second renewal for another key: $STATUS $BODY"
	[ "$(cert_rows)" = "$before" ] || fail "a renewal sent again stored a certificate"
done
pass "renewal by signed challenge (P-256 and RSA keys): same names and profile, new key, linked, once (sent again: the same certificate)"

# the renewal revoked: the old certificate stays renewed (once only), and the answer no longer says to renew
# the revoked one (which cannot be renewed): a new certificate is needed
pg_psql "$T/pg" owner -c "$(revoke_sql "$NEW")" > /dev/null
challenge "$OLD"; CH=$(json_field '["challenge"]')
renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH")"
call POST /api/v1/certificates/renew --interface 127.0.0.52 --data-binary @"$T/renew.json"
[ "$STATUS" = 409 ] && grep -q "already renewed by $NEW (revoked); this certificate cannot be renewed again: request a new one" <<<"$BODY" \
	|| fail "renewing a certificate whose renewal was revoked: $STATUS $BODY"
pass "a certificate whose renewal was revoked: 409 saying a new certificate is needed (not to renew the revoked one)"
# a renewal of a certificate that renews one revoked since (keyCompromise): 403 chain-revoked, whoever stole that
# key may have made it (before: 201, and renewing went on past the revocation); superseded, the rotation's own
# revocation, stops nothing
for why in keyCompromise superseded; do
	csr ch0 ec:P-256 "DNS:chain-$why.example.com"
	issue_req "$T/ch0.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "chain $why: $STATUS $BODY"
	CH0=$(json_field '["serial"]')
	csr ch1 ec:P-256 "DNS:chain-$why.example.com"
	challenge "$CH0"; CH=$(json_field '["challenge"]')
	renew_body "$T/ch1.csr" "$CH0" "$CH" "$(renew_sig "$T/ch0.key" "$CH" "$T/ch1.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 201 ] || fail "chain $why, first renewal: $STATUS $BODY"
	CH1=$(json_field '["serial"]')
	pg_psql "$T/pg" owner -c "$(revoke_sql "$CH0" "$why")" > /dev/null
	csr ch2 ec:P-256 "DNS:chain-$why.example.com"
	challenge "$CH1"; CH=$(json_field '["challenge"]')
	renew_body "$T/ch2.csr" "$CH1" "$CH" "$(renew_sig "$T/ch1.key" "$CH" "$T/ch2.csr")"
	call POST /api/v1/certificates/renew --interface 127.0.0.53 --data-binary @"$T/renew.json"
	if [ "$why" = keyCompromise ]; then
		[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = chain-revoked ] && grepq "certificate $CH0, which this one renews, was revoked (keyCompromise)" <<<"$BODY" \
			|| fail "renewing a certificate whose predecessor was revoked for keyCompromise: $STATUS $BODY"
		[ "$(cert_rows "renews_serial = '$CH1'")" = 0 ] || fail "a refused chain renewal stored a row"
	else
		[ "$STATUS" = 201 ] || fail "renewing a certificate whose predecessor was superseded: $STATUS $BODY"
	fi
done
pass "a renewal of a certificate whose predecessor was revoked (keyCompromise): 403 chain-revoked; superseded: renewed"
# a renewal chain longer than the walk (100000) is not known to be clean: refused (before, the walk stopped at
# 1000 and a revocation below went unseen). The owner plants 100001 issued rows below a real certificate.
csr chl ec:P-256 "DNS:chain-long.example.com"
issue_req "$T/chl.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "chain-long: $STATUS $BODY"
CHL=$(json_field '["serial"]')
pg_psql "$T/pg" owner -c "begin; alter table certificates disable trigger user;
	insert into certificates (serial_hex, issuer, subject, sans, not_before, not_after, profile, requester, tbs, der,
		status, renews_serial, change_seq)
	select 'c0de' || lpad(to_hex(g), 8, '0'), issuer, subject, sans, not_before, not_after, profile, 'chainfill', tbs,
		der, 'issued', case g when 1 then null else 'c0de' || lpad(to_hex(g - 1), 8, '0') end, -g
	from certificates, generate_series(1, 100001) g where serial_hex = '$CHL';
	update certificates set renews_serial = 'c0de' || lpad(to_hex(100001), 8, '0') where serial_hex = '$CHL';
	alter table certificates enable trigger user; commit" >/dev/null
csr chl2 ec:P-256 "DNS:chain-long.example.com"
challenge "$CHL"; CH=$(json_field '["challenge"]')
renew_body "$T/chl2.csr" "$CHL" "$CH" "$(renew_sig "$T/chl.key" "$CH" "$T/chl2.csr")"
call POST /api/v1/certificates/renew --interface 127.0.0.55 --data-binary @"$T/renew.json"
[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = chain-revoked ] && grepq "renewal chain is longer than 100000" <<<"$BODY" \
	|| fail "renewing a certificate with a renewal chain of 100002: $STATUS $BODY"
pass "a renewal chain longer than the walk is refused (403 chain-revoked)"
# asked again and again, such a refusal (after a valid proof) counts against the address as a failed proof
# does: 429 without an audit row after five (before, every one was answered and audited in the owner's name)
n0=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and object = '$OLD'")
for i in 1 2 3 4 5 6; do
	challenge "$OLD"; CH=$(json_field '["challenge"]')
	renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/old.key" "$CH")"
	call POST /api/v1/certificates/renew --interface 127.0.0.51 --data-binary @"$T/renew.json"
	[ "$i" -le 5 ] && { [ "$STATUS" = 409 ] || fail "refusal $i after a proof: $STATUS $BODY"; }
done
[ "$STATUS" = 429 ] || fail "a sixth refusal after a proof from one address: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and object = '$OLD'")" = $((n0 + 5)) ] \
	|| fail "audit rows of the repeated refusals: $n0 then $(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and object = '$OLD'")"
pass "refusals after a valid proof (renewed already, account disabled, profile gone) are limited per address like failed proofs: 429 after five, unaudited"
# so are the profile's refusals of the new CSR after a valid proof (here an RSA key under svc-ops, which takes
# P-256 only), audited in the owner's name: before, they were answered and audited without end
csr fresh ec:P-256 "DNS:fresh.ops.example.com"
issue_req "$T/fresh.csr" svc-ops "${ADMIN[@]}"
[ "$STATUS" = 201 ] || fail "issue fresh: $STATUS $BODY"
FRESH=$(json_field '["serial"]')
csr rsanew rsa:2048 "DNS:fresh.ops.example.com"
refused_fresh() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = 'ops-admin'"; }
n0=$(refused_fresh)
for i in 1 2 3 4 5 6; do
	challenge "$FRESH"; CH=$(json_field '["challenge"]')
	renew_body "$T/rsanew.csr" "$FRESH" "$CH" "$(renew_sig "$T/fresh.key" "$CH" "$T/rsanew.csr")"
	call POST /api/v1/certificates/renew --interface 127.0.0.54 --data-binary @"$T/renew.json"
	[ "$i" -le 5 ] && { [ "$STATUS" = 403 ] && grep -q key-type <<<"$BODY" || fail "refusal $i of the new CSR after a proof: $STATUS $BODY"; }
done
[ "$STATUS" = 429 ] || fail "a sixth refusal of the new CSR after a proof from one address: $STATUS $BODY"
[ "$(refused_fresh)" = $((n0 + 5)) ] || fail "audit rows of the repeated refusals of the new CSR: $n0 then $(refused_fresh)"
pass "the profile's refusals of a renewal's new CSR after a valid proof count per address too: 429 after five, unaudited"

# a renewal while the signer is down: 503 telling the key holder to send it again, not to GET the certificate
# (that needs an account, which a key holder does not have); sent again once the signer is back, it collects
csr down ec:P-256 "DNS:down.example.com"
issue_req "$T/down.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue down: $STATUS $BODY"
DOWN=$(json_field '["serial"]')
csr downnew ec:P-256 "DNS:down.example.com"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
challenge "$DOWN"; CH=$(json_field '["challenge"]')
renew_body "$T/downnew.csr" "$DOWN" "$CH" "$(renew_sig "$T/down.key" "$CH" "$T/downnew.csr")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = signer-unavailable ] \
	&& json_field '["error"]["message"]' | grepq '^renewal [0-9a-f]* is not complete (signer-unavailable); send this renewal again with the same key to collect it$' \
	|| fail "a renewal with the signer down: $STATUS $BODY"
DNEW=$(json_field '["error"]["message"]' | awk '{ print $2 }')
signer_start
signer_unseal alice bob carol
for _ in $(seq 100); do
	challenge "$DOWN"; CH=$(json_field '["challenge"]')
	renew_body "$T/downnew.csr" "$DOWN" "$CH" "$(renew_sig "$T/down.key" "$CH" "$T/downnew.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 503 ] || break
	sleep 0.2
done
[ "$STATUS" = 200 ] && [ "$(json_field '["serial"]')" = "$DNEW" ] || fail "the renewal sent again after the signer came back: $STATUS $BODY"
pass "a renewal while the signer is down is told to send it again (not to GET it), and sent again it collects that renewal"

# a renewal while the certificate's row is locked (a revocation under way, schema 013's NOWAIT): 503 busy, to
# try again; nothing was recorded, so the answer names no renewal to collect (it named the serial drawn for
# it, "renewal X is not complete", and X never existed)
csr busy ec:P-256 "DNS:busy.example.com"
issue_req "$T/busy.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue busy: $STATUS $BODY"
BUSY=$(json_field '["serial"]')
csr busynew ec:P-256 "DNS:busy.example.com"
pg_psql "$T/pg" owner -c "BEGIN; SELECT 1 FROM certificates WHERE serial_hex = '$BUSY' FOR UPDATE; SELECT pg_sleep(60); COMMIT" \
	> /dev/null 2>&1 &
LOCKER=$!
locker_pid() { pg_psql "$T/pg" owner -c "select pid from pg_stat_activity where state = 'active' and query like '%FOR UPDATE; SELECT pg_sleep(60)%' and pid <> pg_backend_pid()"; }
for _ in $(seq 200); do [ -n "$(locker_pid)" ] && break; sleep 0.1; done
[ -n "$(locker_pid)" ] || fail "the row lock was not taken"
challenge "$BUSY"; CH=$(json_field '["challenge"]')
renew_body "$T/busynew.csr" "$BUSY" "$CH" "$(renew_sig "$T/busy.key" "$CH" "$T/busynew.csr")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
pg_psql "$T/pg" owner -c "select pg_terminate_backend($(locker_pid))" > /dev/null
wait "$LOCKER" 2>/dev/null || true
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = busy ] || fail "a renewal of a locked row: $STATUS $BODY"
json_field '["error"]["message"]' | grepq 'is not complete' && fail "a renewal never recorded is named as one to collect: $BODY"
[ "$(cert_rows "renews_serial = '$BUSY'")" = 0 ] || fail "the refused renewal left a row"
pass "a renewal of a row being changed: 503 busy, to try again, naming no renewal (none was recorded)"

csr third ec:P-256 "DNS:third.example.com"
issue_req "$T/third.csr" server "${ALICE[@]}"
S=$(json_field '["serial"]')
challenge "$S"; CH=$(json_field '["challenge"]')
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stranger.key" 2>/dev/null
renew_body "$T/new.csr" "$S" "$CH" "$(renew_sig "$T/stranger.key" "$CH")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] && grep -q bad-signature <<<"$BODY" || fail "wrong key: $STATUS $BODY"
# whoever only knows a serial writes no audit rows in its owner's name (it was audited as alice)
[ "$(pg_psql "$T/pg" owner -c "select actor from audit_log where action = 'certificate.refused' order by id desc limit 1")" = - ] \
	|| fail "a stranger's failed proof is audited in the holder's name"
# the proof covers the new key: a valid proof seen on the way cannot carry another CSR, and the bare challenge
# (which it used to be) is no proof (from an address of their own: failed proofs are limited per address)
csr swap ec:P-256 "DNS:third.example.com"
renew_body "$T/swap.csr" "$S" "$CH" "$(renew_sig "$T/third.key" "$CH" "$T/new.csr")"
call POST /api/v1/certificates/renew --interface 127.0.0.14 --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] && grep -q bad-signature <<<"$BODY" || fail "a proof for another CSR's key: $STATUS $BODY"
printf '%s' "$CH" > "$T/bare.txt"
renew_body "$T/new.csr" "$S" "$CH" "$(openssl dgst -sha256 -sign "$T/third.key" "$T/bare.txt" | base64 -w0)"
call POST /api/v1/certificates/renew --interface 127.0.0.14 --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] && grep -q bad-signature <<<"$BODY" || fail "the bare challenge signed: $STATUS $BODY"
[ "$(cert_rows "renews_serial = '$S'")" = 0 ] || fail "a refused proof renewed $S"
[ "${CH: -1}" = 0 ] && FORGED="${CH%?}1" || FORGED="${CH%?}0" # one MAC digit changed
renew_body "$T/new.csr" "$S" "$FORGED" "$(renew_sig "$T/third.key" "$FORGED")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] && grep -q bad-challenge <<<"$BODY" || fail "forged challenge: $STATUS $BODY"
renew_body "$T/new.csr" "$OLD" "$CH" "$(renew_sig "$T/third.key" "$CH")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] && grep -q bad-challenge <<<"$BODY" || fail "another certificate's challenge: $STATUS $BODY"
stale="v1.$S.$(( $(date +%s) - 3600 )).00000000000000000000000000000000.$(printf '0%.0s' $(seq 64))"
renew_body "$T/new.csr" "$S" "$stale" "$(renew_sig "$T/third.key" "$stale")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 401 ] || fail "stale/forged challenge: $STATUS $BODY"
# a challenge with this appliance's MAC but made more than 300 s ago, or more than 5 s ahead of the clock:
# expired (the stale one above fails on its MAC first: the time check was not reached by any test)
mac_of() { # BODY: the challenge MAC of BODY under the renewal key derived from $T/intent.key (renew.c, app.c)
	python3 - "$T/intent.key" "$1" <<'EOP'
import hashlib, hmac, sys
rk = hmac.new(bytes.fromhex(open(sys.argv[1]).read().strip()), b"hsmca-renewal-challenge-key-v1\0", hashlib.sha256).digest()
print(hmac.new(rk, b"hsmca-renewal-v1\0" + sys.argv[2].encode(), hashlib.sha256).hexdigest())
EOP
}
[ "$(mac_of "${CH%.*}")" = "${CH##*.}" ] || fail "the test's MAC of a challenge is not the frontend's: $CH"
a=58
for dt in -310 60; do
	made="v1.$S.$(( $(date +%s) + dt )).$(printf 'ab%.0s' $(seq 16))"
	made="$made.$(mac_of "$made")"
	renew_body "$T/new.csr" "$S" "$made" "$(renew_sig "$T/third.key" "$made")"
	call POST /api/v1/certificates/renew --interface 127.0.0.$a --data-binary @"$T/renew.json"; a=$((a + 1))
	[ "$STATUS" = 401 ] && grep -q 'bad-challenge' <<<"$BODY" && grep -q 'the challenge has expired' <<<"$BODY" ||
		fail "a challenge made $dt s from now: $STATUS $BODY"
done
[ "$(cert_rows "renews_serial = '$S'")" = 0 ] || fail "an expired challenge renewed $S"
# no proof and malformed bodies are refused before any proof: audited as "-" and counted against the address
# like a failed proof (they were neither: no trace, and never a 429), each from an address of its own here
anon_refusals() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-' and details like '%\"code\": \"$1\"%'"; }
n401=$(anon_refusals unauthorized); n400=$(anon_refusals bad-request)
call POST /api/v1/certificates/renew --interface 127.0.0.40 -d '{"csr": "x"}'
[ "$STATUS" = 401 ] || fail "no proof at all: $STATUS $BODY"
a=41
for bad in '{' '[]' '{"csr": 1}' '{"csr": "x", "serial": "zz", "challenge": "a", "signature": "AAAA"}' \
	'{"csr": "x", "serial": "ab", "challenge": "a", "signature": "!!"}' '{"csr": "x", "extra": 1}'; do
	call POST /api/v1/certificates/renew --interface 127.0.0.$a -d "$bad"; a=$((a + 1))
	[ "$STATUS" = 400 ] || fail "bad body $bad: $STATUS $BODY"
done
[ "$(anon_refusals unauthorized)" = $((n401 + 1)) ] && [ "$(anon_refusals bad-request)" = $((n400 + 6)) ] \
	|| fail "refusals before a proof audited: $(($(anon_refusals unauthorized) - n401)) of 1 without proof, $(($(anon_refusals bad-request) - n400)) of 6 malformed"
for i in 1 2 3 4 5; do call POST /api/v1/certificates/renew --interface 127.0.0.47 -d '{'; done
[ "$STATUS" = 400 ] || fail "the fifth malformed renewal from one address: $STATUS $BODY"
call POST /api/v1/certificates/renew --interface 127.0.0.47 -d '{'
[ "$STATUS" = 429 ] || fail "a sixth malformed renewal from one address: $STATUS $BODY"
call POST /api/v1/certificates/renewal-challenge --interface 127.0.0.50 -d '{"serial": "ffff"}'
[ "$STATUS" = 404 ] || fail "challenge for an unknown serial: $STATUS $BODY"
# challenges for unknown serials and malformed challenge requests count per address as failed proofs do:
# serials cannot be walked (nor the database flooded with lookups) from one address
ch_from() { call POST /api/v1/certificates/renewal-challenge --interface "$1" -d "$2"; }
for i in 1 2 3 4; do
	ch_from 127.0.0.48 "{\"serial\": \"ff0$i\"}"
	[ "$STATUS" = 404 ] || fail "challenge $i for an unknown serial from 127.0.0.48: $STATUS $BODY"
done
ch_from 127.0.0.48 '{"serial": 1}'; [ "$STATUS" = 400 ] || fail "a malformed challenge request: $STATUS $BODY"
ch_from 127.0.0.48 "{\"serial\": \"$S\"}"
[ "$STATUS" = 429 ] && grep -q rate-limited <<<"$BODY" \
	|| fail "a challenge after five failed ones from one address: $STATUS $BODY"
call POST /api/v1/certificates/renew --interface 127.0.0.48 -d '{"csr": "x"}'
[ "$STATUS" = 429 ] || fail "a renewal from an address limited by its challenge requests: $STATUS $BODY"
ch_from 127.0.0.49 "{\"serial\": \"$S\"}"; [ "$STATUS" = 200 ] || fail "a challenge from another address: $STATUS $BODY"
pass "challenge requests for unknown serials or malformed ones count per address (429 after five, renewals too); other addresses unaffected"
# revoked certificates are not renewed
pg_psql "$T/pg" owner -c "$(revoke_sql "$S")" >/dev/null
challenge "$S"; [ "$STATUS" = 403 ] && grep -q not-renewable <<<"$BODY" || fail "challenge for a revoked certificate (403 as /renew answers): $STATUS $BODY"
before=$(cert_rows)
renew_body "$T/new.csr" "$S" "$CH" "$(renew_sig "$T/third.key" "$CH")"
call POST /api/v1/certificates/renew --interface 127.0.0.16 --data-binary @"$T/renew.json"
[ "$STATUS" = 403 ] || fail "renewing a revoked certificate: $STATUS $BODY"
# the refusal names the certificate (it was object "-") and counts against the address as a failed proof
[ "$(pg_psql "$T/pg" owner -c "select actor || ' ' || object from audit_log where action = 'certificate.refused' order by id desc limit 1")" = "alice $S" ] \
	|| fail "the refused renewal of a revoked certificate is not audited under its serial"
[ "$(cert_rows)" = "$before" ] || fail "a refused renewal stored a certificate"
pass "renewal refuses other keys, forged, foreign and stale challenges, bad bodies, revoked certificates"

# rows written outside the frontend (the hsmca_frontend database password is all it takes) are not renewed:
# a made-up "issued" row of a login profile in an administrator's name, carrying a self-signed certificate of
# the writer's key, and a real certificate (whose key the writer holds) copied into a row of another serial
# with that profile and account. Before, the first was renewed into a real login certificate for ops-admin2.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/evil.key" 2>/dev/null
openssl req -x509 -new -key "$T/evil.key" -subj /CN=evil.ops.example.com -days 2 -outform DER -out "$T/evil.der" 2>/dev/null
tbs_hex() { python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
def hdr(i):
    l = d[i + 1]
    if l < 0x80: return i + 2, l
    n = l & 0x7f; return i + 2 + n, int.from_bytes(d[i + 2:i + 2 + n], "big")
s, _ = hdr(0); e, l = hdr(s); print(d[s:e + l].hex())' "$1"; }
forge_row() { # SERIAL DERFILE [ACCOUNT]: an issued row of profile operator for ops-admin2 (or ACCOUNT), written with the frontend's role
	pg_psql "$T/pg" frontend -c "BEGIN;
INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, profile, requester, tbs, intent_mac)
 VALUES ('$1', 'int', 'CN=evil.ops.example.com', 'DNS:evil.ops.example.com', now() - interval '1 hour',
 now() + interval '1 day', 'operator', '${3:-ops-admin2}', '\\x$(tbs_hex "$2")', '\\x$(openssl rand -hex 32)');
UPDATE certificates SET status = 'issued', der = '\\x$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$2")' WHERE serial_hex = '$1';
COMMIT;" >/dev/null || fail "writing a forged row with the frontend's role"
}
openssl req -new -key "$T/evil.key" -subj /CN=x -out "$T/evil.csr" 2>/dev/null
csr mine ec:P-256 "DNS:mine.example.com"
issue_req "$T/mine.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue mine: $STATUS $BODY"
json_field '["certificate"]' | openssl x509 -outform DER -out "$T/mine.der"
F1=$(openssl x509 -inform DER -in "$T/evil.der" -noout -serial | cut -d= -f2 | tr A-F a-f) # the row's serial is its own
F2=$(openssl rand -hex 16)
forge_row "$F1" "$T/evil.der"
forge_row "$F2" "$T/mine.der"
refused=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-'")
for f in "$F1:evil" "$F2:mine"; do
	challenge "${f%%:*}"; CH=$(json_field '["challenge"]')
	renew_body "$T/evil.csr" "${f%%:*}" "$CH" "$(renew_sig "$T/${f##*:}.key" "$CH" "$T/evil.csr")"
	call POST /api/v1/certificates/renew --interface 127.0.0.15 --data-binary @"$T/renew.json"
	[ "$STATUS" = 403 ] && grep -q not-genuine <<<"$BODY" || fail "renewal of a forged row (${f##*:}): $STATUS $BODY"
	[ "$(cert_rows "renews_serial = '${f%%:*}'")" = 0 ] || fail "a forged row (${f##*:}) was renewed"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-'")" = $((refused + 2)) ] \
	|| fail "the forged rows' renewals are not audited as \"-\""
grep -q "event=row_refused.*serial=$F1.*not signed by issuer int" "$T/frontend.log" \
	&& grep -q "event=row_refused.*serial=$F2.*has serial" "$T/frontend.log" || fail "the forged rows are not logged"
pass "rows written outside the frontend (a self-signed certificate, a real one under another serial) are not renewed (403 not-genuine, audited as \"-\", logged)"
# ... and a forged row marked revoked is not taken as this appliance's either: its certificate was checked only
# when the row said issued, so this renewal was refused as "not-renewable", audited in ops-admin2's name
F3=$(openssl rand -hex 16)
forge_row "$F3" "$T/evil.der"
challenge "$F3"; CH=$(json_field '["challenge"]') # (the challenge endpoint answers issued rows only)
pg_psql "$T/pg" owner -c "$(revoke_sql "$F3")" >/dev/null
renew_body "$T/evil.csr" "$F3" "$CH" "$(renew_sig "$T/evil.key" "$CH" "$T/evil.csr")"
call POST /api/v1/certificates/renew --interface 127.0.0.15 --data-binary @"$T/renew.json"
[ "$STATUS" = 403 ] && grep -q not-genuine <<<"$BODY" || fail "renewal of a forged revoked row: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where object = '$F3' and actor not in ('-', 'test')")" = 0 ] \
	|| fail "the forged revoked row's renewal was audited in its requester's name"
pass "a forged row marked revoked is refused as not genuine too (403, nothing audited in its requester's name)"

# a renewal whose certificate is revoked between its intent's commit and its signed result's (here by a
# trigger of the test, in the intent's own transaction) is not issued: 403 not-renewable, the row failed with
# the reason (it became issued: a new certificate for the holder of a key just revoked; schema 022)
csr old ec:P-256 "DNS:rv.example.com"
issue_req "$T/old.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue rv: $STATUS $BODY"
RV=$(json_field '["serial"]')
renew_revoking() { # RENEWED REVOKED: POSTs $T/renew.json (a renewal of RENEWED) while a trigger of the test
	# revokes REVOKED in the renewal's intent transaction, so before its signed result is written
	pg_psql "$T/pg" owner -c "CREATE FUNCTION test_revoke_renewed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = public, pg_temp AS \$\$ BEGIN
	$(revoke_sql "$2");
	RETURN NULL; END \$\$;
CREATE TRIGGER test_revoke_renewed AFTER INSERT ON certificates FOR EACH ROW
	WHEN (NEW.renews_serial = '$1') EXECUTE FUNCTION test_revoke_renewed()" >/dev/null || fail "the test's revoking trigger"
	call POST /api/v1/certificates/renew --interface 127.0.0.16 --data-binary @"$T/renew.json"
	pg_psql "$T/pg" owner -c "DROP TRIGGER test_revoke_renewed ON certificates; DROP FUNCTION test_revoke_renewed()" >/dev/null
}
csr new ec:P-256 "DNS:rv.example.com"
challenge "$RV"; CH=$(json_field '["challenge"]')
renew_body "$T/new.csr" "$RV" "$CH" "$(renew_sig "$T/old.key" "$CH")"
renew_revoking "$RV" "$RV"
[ "$STATUS" = 403 ] && grep -q '"not-renewable"' <<<"$BODY" && grep -q 'revoked while the renewal was signed' <<<"$BODY" \
	|| fail "a renewal of a certificate revoked while it was signed: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$RV'")" = revoked ] || fail "the test's trigger did not revoke $RV"
# the certificate the signer made for it is named by its hash (before: discarded without a trace in the
# database, which must know every certificate the HSM signed)
[ "$(cert_rows "renews_serial = '$RV' and status = 'failed' and failure_reason ~ '^renews $RV, which or a certificate down whose renewal chain was revoked while this renewal was signed; the certificate signed \(SHA-256 [0-9a-f]{64}\) was discarded\$' and der is null")" = 1 ] \
	|| fail "the renewal's row: $(pg_psql "$T/pg" owner -c "select status, failure_reason from certificates where renews_serial = '$RV'")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log a join certificates c on a.object = c.serial_hex where c.renews_serial = '$RV' and a.action = 'certificate.failed'")" = 1 ] \
	|| fail "the renewal's failure is not audited"
pass "a renewal whose certificate is revoked while it is signed is not issued (403 not-renewable, the row failed with the reason, audited)"
# the same one link further down the chain (schema 027): A renewed into B, and A revoked (keyCompromise) while
# B's renewal is signed: not issued (before, 022 looked at B alone)
chain_pair() { # NAME: an issued certificate NAME-a (server profile) renewed into NAME-b; sets CA_ (a) and CB_ (b)
	csr "$1-a" ec:P-256 "DNS:$1.example.com"
	issue_req "$T/$1-a.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "issue $1-a: $STATUS $BODY"
	CA_=$(json_field '["serial"]')
	csr "$1-b" ec:P-256 "DNS:$1.example.com"
	challenge "$CA_"; CH=$(json_field '["challenge"]')
	renew_body "$T/$1-b.csr" "$CA_" "$CH" "$(renew_sig "$T/$1-a.key" "$CH" "$T/$1-b.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 201 ] || fail "renew $1-a: $STATUS $BODY"
	CB_=$(json_field '["serial"]')
	csr "$1-c" ec:P-256 "DNS:$1.example.com"
	challenge "$CB_"; CH=$(json_field '["challenge"]')
	renew_body "$T/$1-c.csr" "$CB_" "$CH" "$(renew_sig "$T/$1-b.key" "$CH" "$T/$1-c.csr")"
}
chain_pair rvc
renew_revoking "$CB_" "$CA_"
[ "$STATUS" = 403 ] && grep -q '"not-renewable"' <<<"$BODY" || fail "a renewal whose chain was revoked while it was signed: $STATUS $BODY"
[ "$(cert_rows "renews_serial = '$CB_' and status = 'failed' and der is null")" = 1 ] \
	|| fail "the renewal's row: $(pg_psql "$T/pg" owner -c "select status, failure_reason from certificates where renews_serial = '$CB_'")"
# and the recovery pass: the renewal left pending by a signer outage, A revoked meanwhile, is failed with the
# reason when the signer is back (before: signed at every pass, its issued state refused by 027, pending for ever)
chain_pair rvr
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 503 ] || fail "a renewal with the signer down: $STATUS $BODY"
RVR=$(json_field '["error"]["message"]' | awk '{ print $2 }')
pg_psql "$T/pg" owner -c "$(revoke_sql "$CA_")" >/dev/null
signer_start
signer_unseal alice bob carol
for _ in $(seq 100); do [ "$(cert_rows "serial_hex = '$RVR' and status = 'pending'")" = 0 ] && break; sleep 0.1; done
[ "$(cert_rows "serial_hex = '$RVR' and status = 'failed' and der is null and failure_reason like '%down whose renewal chain $CA_ was revoked (keyCompromise)%'")" = 1 ] \
	|| fail "the pending renewal after recovery: $(pg_psql "$T/pg" owner -c "select status, failure_reason from certificates where serial_hex = '$RVR'")"
pass "a renewal whose chain is revoked while it is signed, or while it waits for the recovery pass, is not issued (schema 027), the row failed with the reason"

# a held renewal (its profile needs approval) whose certificate is revoked before the approval is refused by
# the approval (schema 013: held -> pending checks the renewed row), and nothing is signed
csr gold ec:P-256 "DNS:gold.example.com"
issue_req "$T/gold.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gated request: $STATUS $BODY"
GOLD=$(json_field '["serial"]')
call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve gold: $STATUS $BODY"
challenge "$GOLD"; CH=$(json_field '["challenge"]')
csr gnew ec:P-256 "DNS:gold.example.com"
renew_body "$T/gnew.csr" "$GOLD" "$CH" "$(renew_sig "$T/gold.key" "$CH" "$T/gnew.csr")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 202 ] && [ "$(json_field '["status"]')" = held ] || fail "held renewal: $STATUS $BODY"
GNEW=$(json_field '["serial"]'); RAID=$(json_field '["approval"]')
pg_psql "$T/pg" owner -c "$(revoke_sql "$GOLD")" >/dev/null
signed_before=$(grep -c 'event=signed ' "$T"/signer*.log)
call POST "/api/v1/approvals/$RAID/approve" "${ADMIN[@]}"
[ "$STATUS" = 409 ] && grep -q "renews $GOLD, which is revoked now: reject it" <<<"$BODY" \
	|| fail "approving a renewal of a revoked certificate: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GNEW' and status = 'held'")" = 1 ] || fail "the refused renewal's row is not held"
[ "$(grep -c 'event=signed ' "$T"/signer*.log)" = "$signed_before" ] || fail "something was signed"
pass "a held renewal whose certificate was revoked before its approval: the approval is refused (409), nothing signed"
# ... and one whose certificate is revoked after the approval released it, while it is signed (a test trigger
# revokes it in the release's transaction): 403 not-renewable, the row failed with the reason (schema 022;
# the approver got 503 "recording it failed and the recovery pass will complete it", which failed it later)
csr gold2 ec:P-256 "DNS:gold2.example.com"
issue_req "$T/gold2.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gated request gold2: $STATUS $BODY"
GOLD2=$(json_field '["serial"]')
call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve gold2: $STATUS $BODY"
challenge "$GOLD2"; CH=$(json_field '["challenge"]')
csr gnew2 ec:P-256 "DNS:gold2.example.com"
renew_body "$T/gnew2.csr" "$GOLD2" "$CH" "$(renew_sig "$T/gold2.key" "$CH" "$T/gnew2.csr")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 202 ] && [ "$(json_field '["status"]')" = held ] || fail "held renewal of gold2: $STATUS $BODY"
GNEW2=$(json_field '["serial"]'); RAID2=$(json_field '["approval"]')
pg_psql "$T/pg" owner -c "CREATE FUNCTION test_revoke_released() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = public, pg_temp AS \$\$ BEGIN
	$(revoke_sql "$GOLD2");
	RETURN NULL; END \$\$;
CREATE TRIGGER test_revoke_released AFTER UPDATE ON certificates FOR EACH ROW
	WHEN (OLD.status = 'held' AND NEW.status = 'pending' AND NEW.serial_hex = '$GNEW2')
	EXECUTE FUNCTION test_revoke_released()" >/dev/null || fail "the test's revoking trigger (release)"
call POST "/api/v1/approvals/$RAID2/approve" "${ADMIN[@]}"
pg_psql "$T/pg" owner -c "DROP TRIGGER test_revoke_released ON certificates; DROP FUNCTION test_revoke_released()" >/dev/null
[ "$STATUS" = 403 ] && grep -q '"not-renewable"' <<<"$BODY" && grep -q 'revoked while the renewal was signed' <<<"$BODY" \
	|| fail "approving a renewal whose certificate is revoked while it is signed: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$GOLD2'")" = revoked ] || fail "the test's trigger did not revoke $GOLD2"
[ "$(cert_rows "serial_hex = '$GNEW2' and status = 'failed' and failure_reason ~ '^renews $GOLD2, which or a certificate down whose renewal chain was revoked while this renewal was signed; the certificate signed \(SHA-256 [0-9a-f]{64}\) was discarded\$' and der is null")" = 1 ] \
	|| fail "the approved renewal's row: $(pg_psql "$T/pg" owner -c "select status, failure_reason from certificates where serial_hex = '$GNEW2'")"
pass "an approved renewal whose certificate is revoked while it is signed is not issued (403 not-renewable, the row failed with the reason)"

# before the proof nothing is audited in the holder's name: a challenge is free to get, so a bad CSR with one
# is refused as a failed proof by "-" (it was audited as alice's refusal, without limit)
csr vict ec:P-256 "DNS:vict.example.com"
issue_req "$T/vict.csr" server "${ALICE[@]}"
V=$(json_field '["serial"]')
challenge "$V"; CH=$(json_field '["challenge"]')
call POST /api/v1/certificates/renew --interface 127.0.0.15 -d "{\"csr\": \"x\", \"serial\": \"$V\", \"challenge\": \"$CH\", \"signature\": \"AAAA\"}"
[ "$STATUS" = 400 ] && grep -q bad-csr <<<"$BODY" || fail "a bad CSR with a valid challenge: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select actor from audit_log where action = 'certificate.refused' order by id desc limit 1")" = "-" ] \
	|| fail "a refusal before the proof was audited in the holder's name"
# an account that may no longer request certificates (demoted to auditor) cannot renew them either
call POST /api/v1/accounts/alice/role -H 'Content-Type: application/json' -d '{"role": "auditor"}' "${ADMIN[@]}"
[ "$STATUS" = 200 ] || fail "demote alice: $STATUS $BODY"
renew_body "$T/new.csr" "$V" "$CH" "$(renew_sig "$T/vict.key" "$CH")"
call POST /api/v1/certificates/renew --interface 127.0.0.53 --data-binary @"$T/renew.json"
[ "$STATUS" = 403 ] && grep -q '"forbidden"' <<<"$BODY" || fail "renewal by a demoted account: $STATUS $BODY"
[ "$(cert_rows "renews_serial = '$V'")" = 0 ] || fail "a demoted account's renewal stored a certificate"
call POST /api/v1/accounts/alice/role -H 'Content-Type: application/json' -d '{"role": "requester"}' "${ADMIN[@]}"
[ "$STATUS" = 200 ] || fail "restore alice: $STATUS $BODY"
pass "renewal: a bad CSR before the proof is refused as \"-\" (not in the holder's name); an account demoted to auditor cannot renew"

# failed proofs are limited per address (5, then 429 without touching the database); others unaffected
csr lim ec:P-256 "DNS:limit.example.com"
issue_req "$T/lim.csr" server "${ALICE[@]}"
L=$(json_field '["serial"]')
challenge "$L"; CH=$(json_field '["challenge"]')
renew_body "$T/new.csr" "$L" "$CH" "$(renew_sig "$T/stranger.key" "$CH")"
for i in 1 2 3 4 5; do
	call POST /api/v1/certificates/renew --interface 127.0.0.9 --data-binary @"$T/renew.json"
	[ "$STATUS" = 401 ] || fail "bad proof $i from 127.0.0.9: $STATUS $BODY"
done
refusals=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")
renew_body "$T/new.csr" "$L" "$CH" "$(renew_sig "$T/lim.key" "$CH")"
call POST /api/v1/certificates/renew --interface 127.0.0.9 --data-binary @"$T/renew.json"
[ "$STATUS" = 429 ] || fail "6th try from 127.0.0.9 (a good proof): $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")" = "$refusals" ] \
	|| fail "a rate-limited try wrote to the audit log"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 201 ] || fail "the same good proof from another address: $STATUS $BODY"
pass "failed renewal proofs are limited per address (429 after 5, nothing stored); other addresses unaffected"

# racing renewals of one certificate: the pre-check passes for all of them, the database's unique index
# lets exactly one through (the others' intents fail inside the committer's batch, which then runs its
# items one by one) and nothing else is lost
csr race ec:P-256 "DNS:race.example.com"
issue_req "$T/race.csr" server "${ALICE[@]}"
R=$(json_field '["serial"]')
challenge "$R"; CH=$(json_field '["challenge"]')
renew_body "$T/new.csr" "$R" "$CH" "$(renew_sig "$T/race.key" "$CH")"
csr other ec:P-256 "DNS:bystander.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/other.csr" > "$T/other.json"
cat > "$T/race.py" <<'EOP'
# 8 renewals and 8 other issuances sent at the same instant (a barrier), each on its own connection
import base64, http.client, sys, threading
port, T, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
renew, other = open(T + "/renew.json", "rb").read(), open(T + "/other.json", "rb").read()
go = threading.Barrier(16)
def one(kind, i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60); c.connect()
    hdr = {"Content-Type": "application/json"}
    if kind == "by": hdr["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    go.wait()
    c.request("POST", "/api/v1/certificates/renew" if kind == "race" else "/api/v1/certificates",
              body=renew if kind == "race" else other, headers=hdr)
    r = c.getresponse(); body = r.read()
    open("%s/%s-%d.status" % (T, kind, i), "w").write(str(r.status))
    open("%s/%s-%d.json" % (T, kind, i), "wb").write(body)
ts = [threading.Thread(target=one, args=(k, i)) for i in range(1, 9) for k in ("race", "by")]
for t in ts: t.start()
for t in ts: t.join()
EOP
python3 "$T/race.py" "$PORT" "$T" "alice:$(cat "$T/alice.pw")" || fail "race script"
[ "$(cat "$T"/race-*.status | grep -o 201 | wc -l)" = 1 ] || fail "racing renewals: $(cat "$T"/race-*.status) $(cat "$T"/race-*.json)"
# every loser sent the winner's key: it collects the winner's certificate (200), or gets 503 renewal-pending
# while it is being signed, also one that met the unique index (it was 409 already-renewed, with nothing to
# fetch, for a client that sent its renewal twice)
WIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' "$(grep -l 201 "$T"/race-*.status | sed 's/status$/json/')")
for i in $(seq 8); do
	case "$(cat "$T/race-$i.status")" in
	201) ;;
	200) grep -q "\"serial\": \"$WIN\"" "$T/race-$i.json" || fail "a loser collected another certificate: $(cat "$T/race-$i.json")" ;;
	503) grep -q "\"code\": \"renewal-pending\", \"message\": \"renewal $WIN is not signed yet" "$T/race-$i.json" \
		|| fail "a loser's error: $(cat "$T/race-$i.json")" ;;
	*) fail "racing renewals, the losers: $(cat "$T"/race-*.status)" ;;
	esac
done
[ "$(cat "$T"/by-*.status | grep -o 201 | wc -l)" = 8 ] || fail "requests batched with the racing renewals: $(cat "$T"/by-*.status)"
[ "$(cert_rows "renews_serial = '$R'")" = 1 ] && [ "$(cert_rows "renews_serial = '$R' and status = 'issued'")" = 1 ] \
	|| fail "renewal rows of the raced certificate: $(cert_rows "renews_serial = '$R'")"
[ "$(cert_rows "status in ('pending', 'held') and profile = 'server'")" = 0 ] || fail "rows left pending after the race"
echo "# renewal intents refused by the unique index inside a batch this run: $(grep -c "event=db_failed step=intent" "$T/frontend.log" || true)"
pass "8 racing renewals of one certificate: exactly one wins (unique index), 7 get 503 renewal-pending or the winner's certificate, concurrent issuance unaffected"

# renewing a certificate of a profile that needs approval: held (linked) until a second person approves
held_renewal() { # OLD_SERIAL OLD_KEY NEW_NAME: a renewal under the approval profile; sets HS (serial), HA (approval)
	challenge "$1"; CH=$(json_field '["challenge"]')
	csr "$3" ec:P-256 "DNS:ignored.example.com"
	renew_body "$T/$3.csr" "$1" "$CH" "$(renew_sig "$2" "$CH" "$T/$3.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 202 ] || fail "renewal of $1 under an approval profile: $STATUS $BODY"
	HS=$(json_field '["serial"]'); HA=$(json_field '["approval"]')
}
held_renewal "$HELD" "$T/gated.key" gnew
GN=$HS GA=$HA
[ "$(cert_rows "serial_hex = '$GN' and status = 'held' and renews_serial = '$HELD'")" = 1 ] || fail "held renewal row and link"
# sent again by the holder before and after the approval (a key holder has no account to GET it with;
# before, 409 already-renewed and a certificate it could never fetch): held, then the certificate
resend_gn() {
	challenge "$HELD"; CH=$(json_field '["challenge"]')
	renew_body "$T/gnew.csr" "$HELD" "$CH" "$(renew_sig "$T/gated.key" "$CH" "$T/gnew.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
}
resend_gn
[ "$STATUS" = 202 ] && [ "$(json_field '["serial"]')" = "$GN" ] && [ "$(json_field '["approval"]')" = "$GA" ] \
	|| fail "a held renewal sent again: $STATUS $BODY"
call POST "/api/v1/approvals/$GA/approve" "${ADMIN2[@]}"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] && [ "$(json_field '["renews"]')" = "$HELD" ] \
	|| fail "approving the held renewal: $STATUS $BODY"
# the old certificate expired while its renewal waited for the approval (the usual case: renewals are sent
# near the end of a validity): the holder still collects it (it was 403 not-renewable for ever)
validity_sql() { # SERIAL NOT_BEFORE NOT_AFTER (SQL expressions): the owner moves a row's validity, triggers off
	echo "alter table certificates disable trigger user; update certificates set not_before = $2, not_after = $3
		where serial_hex = '$1'; alter table certificates enable trigger user"
}
HELD_VALIDITY=$(pg_psql "$T/pg" owner -c "select quote_literal(not_before) || '|' || quote_literal(not_after) from certificates where serial_hex = '$HELD'")
pg_psql "$T/pg" owner -c "$(validity_sql "$HELD" "now() - interval '2 days'" "now() - interval '1 minute'")" >/dev/null
resend_gn
[ "$STATUS" = 200 ] && [ "$(json_field '["serial"]')" = "$GN" ] || fail "an approved renewal sent again after the old certificate expired: $STATUS $BODY"
pg_psql "$T/pg" owner -c "$(validity_sql "$HELD" "${HELD_VALIDITY%|*}" "${HELD_VALIDITY#*|}")" >/dev/null
json_field '["certificate"]' > "$T/gnew.pem"
[ "$(openssl x509 -in "$T/gnew.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/gnew.key" -pubout)" ] \
	|| fail "the collected renewal is not of the new key"
# an expired certificate never renewed gets no challenge (it was given one, and the signed renewal was then
# refused 403 and counted as a failed proof against the address)
csr expd ec:P-256 "DNS:expd.example.com"
issue_req "$T/expd.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issue expd: $STATUS $BODY"
EXPD=$(json_field '["serial"]')
pg_psql "$T/pg" owner -c "$(validity_sql "$EXPD" "now() - interval '2 days'" "now() - interval '1 minute'")" >/dev/null
challenge "$EXPD"
[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = not-renewable ] || fail "a challenge for an expired certificate: $STATUS $BODY"
pass "a renewal under an approval profile is held with its link, then approved; the holder collects it by sending the renewal again, also once the old certificate has expired (an expired certificate never renewed gets no challenge)"
# a held renewal of a certificate revoked meanwhile (its key compromised) is not approved: 409 naming it,
# the row still held, and rejecting it fails the row unsigned
held_renewal "$GN" "$T/gnew.key" gnew2
GN2=$HS GA2=$HA
pg_psql "$T/pg" owner -c "$(revoke_sql "$GN")" >/dev/null
call POST "/api/v1/approvals/$GA2/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] && grep -q "renews $GN, which is revoked now" <<<"$BODY" || fail "approving the renewal of a revoked certificate: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$GN2' and status = 'held' and der is null")" = 1 ] || fail "the refused approval changed the row"
call POST "/api/v1/approvals/$GA2/reject" "${ADMIN2[@]}" -d '{"reason": "old key compromised"}'
[ "$STATUS" = 200 ] && [ "$(cert_rows "serial_hex = '$GN2' and status = 'failed' and der is null")" = 1 ] \
	|| fail "rejecting the renewal of a revoked certificate: $STATUS $BODY"
pass "a held renewal whose certificate was revoked meanwhile is not approved (409, row still held), and can be rejected"
# a held renewal approved after a certificate further down its chain was revoked (the renewal of a renewal of a
# stolen key) is not approved: 409 naming it (before: approved and signed; a renewal requested then was refused
# 403 chain-revoked, an approval did not look); and schema 027 refuses it whoever releases the row
csr gx ec:P-256 "DNS:gx.example.com"
issue_req "$T/gx.csr" gated "${ALICE[@]}"
[ "$STATUS" = 202 ] || fail "gx held: $STATUS $BODY"
GX=$(json_field '["serial"]'); call POST "/api/v1/approvals/$(json_field '["approval"]')/approve" "${ADMIN2[@]}"
[ "$STATUS" = 200 ] || fail "approving gx: $STATUS $BODY"
held_renewal "$GX" "$T/gx.key" gy
GY=$HS; call POST "/api/v1/approvals/$HA/approve" "${ADMIN2[@]}"
[ "$STATUS" = 200 ] || fail "approving gy: $STATUS $BODY"
held_renewal "$GY" "$T/gy.key" g3
G3=$HS GA3=$HA
pg_psql "$T/pg" owner -c "$(revoke_sql "$GX")" >/dev/null
call POST "/api/v1/approvals/$GA3/approve" "${ADMIN2[@]}"
[ "$STATUS" = 409 ] && grep -q "renews $GY, down whose renewal chain $GX was revoked (keyCompromise)" <<<"$BODY" \
	|| fail "approving a renewal whose chain holds a revoked certificate: $STATUS $BODY"
[ "$(cert_rows "serial_hex = '$G3' and status = 'held' and der is null")" = 1 ] || fail "the refused approval changed the row"
if out=$(pg_psql "$T/pg" owner -c "begin;
	update approvals set status = 'approved', decided_by = 'test-admin', decided_at = now() where id = $GA3;
	insert into audit_log (actor, action, object, details) values ('test-admin', 'approval.approved', '$G3', '{\"approval\": \"$GA3\"}');
	update certificates set status = 'pending' where serial_hex = '$G3'; commit" 2>&1); then
	fail "the owner released a renewal whose chain holds a revoked certificate"
fi
grep -q "down its renewal chain, $GX, was revoked (keyCompromise)" <<<"$out" || fail "schema 027's refusal: $out"
call POST "/api/v1/approvals/$GA3/reject" "${ADMIN2[@]}" -d '{"reason": "chain compromised"}'
[ "$STATUS" = 200 ] || fail "rejecting the renewal: $STATUS $BODY"
pass "a held renewal whose chain holds a certificate revoked since is not approved (409), nor released by the owner (schema 027)"

# ---------------------------------------------------------------- renewal over mutual TLS (curl)
TLSPORT=$((PORT + 2)) NAME=tls.example.com
HTTPS=https://$NAME:$TLSPORT
TLSCURL=(--cacert "$T/ca/root.pem" --resolve "$NAME:$TLSPORT:127.0.0.1")
csr fe ec:P-256 "DNS:$NAME"
issue_req "$T/fe.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "the frontend's own certificate: $STATUS $BODY"
json_field '["certificate"]' > "$T/fe.pem"
cat "$T/fe.pem" "$T/ca/int.pem" > "$T/fe-chain.pem"
fe_restart_tls() { # CLIENT_CA: the frontend again, with HTTPS on $TLSPORT trusting CLIENT_CA for client certificates
	fe_kill
	# no failed logins or proofs counted: the sections before this one fail on purpose from 127.0.0.1, and the
	# database keeps their counts across restarts (schema 021; frontend_authshare.sh tests that)
	pg_psql "$T/pg" owner -c "delete from auth_failures" > /dev/null
	fe_conf "recover_after_seconds = 1
tls_listen = 127.0.0.1:$TLSPORT
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key
client_ca = $1"
	# max_body above the renewal body's cap (96 KiB), as an operator may set it: a CSR over its own cap then
	# reaches the renewal's checks (below)
	sed -i 's/^max_body = .*/max_body = 131072/' "$T/frontend.conf"
	fe_run
	for _ in $(seq 100); do curl -fsS "${TLSCURL[@]}" "$HTTPS/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
}
fe_restart_tls "$T/chain.pem"
# a client trickling its request over TLS gets 408 at the deadline (timeout_seconds = 5) as well
python3 - "$TLSPORT" "$T/ca/root.pem" "$NAME" > "$T/tls-slow.txt" <<'EOP' || fail "slow TLS client: $(cat "$T/tls-slow.txt")"
import socket, ssl, sys, time
port, ca, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=name)
s.settimeout(0.2); s.sendall(b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\n"); t0 = time.monotonic(); data = b""
while time.monotonic() - t0 < 12 and not data:
    try:
        data = s.recv(4096)
        if not data: break
    except socket.timeout:
        try: s.sendall(b"X")
        except OSError: break
        time.sleep(0.8)
    except (ssl.SSLError, OSError): break
secs = time.monotonic() - t0
print(secs, data[:40])
assert data.startswith(b"HTTP/1.1 408") and 4.0 <= secs <= 9, (secs, data[:80])  # t0 after the handshake, the deadline from the accept
EOP
# a client trickling its TLS handshake (a ClientHello byte by byte) is cut off at the deadline too
python3 - "$TLSPORT" > "$T/tls-hs.txt" <<'EOP' || fail "slow TLS handshake: $(cat "$T/tls-hs.txt")"
import socket, ssl, sys, time
port = int(sys.argv[1])
inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ssl.create_default_context().wrap_bio(inb, outb, server_hostname="x")
try: obj.do_handshake()
except ssl.SSLWantReadError: pass
hello = outb.read()
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(0.2); t0 = time.monotonic(); i = 0; closed = False
while time.monotonic() - t0 < 14 and i < len(hello):
    try:
        s.sendall(hello[i:i + 1]); i += 1
        if s.recv(4096) == b"": closed = True; break
    except socket.timeout: time.sleep(0.8)
    except OSError: closed = True; break
secs = time.monotonic() - t0
print(secs, i, len(hello), closed)
assert closed and secs <= 9, (secs, i, closed)
EOP
pass "a client trickling its request over TLS gets 408 at the deadline; one trickling its handshake is cut off"
mtls_renew() { # CERT KEY CSR [curl args]: POSTs {"csr"} to renew over HTTPS with that client certificate
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$3" > "$T/mtls.json"
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "${TLSCURL[@]}" ${1:+--cert "$1" --key "$2"} "${@:4}" \
		--data-binary @"$T/mtls.json" "$HTTPS/api/v1/certificates/renew")
	BODY=$(cat "$T/resp.json")
}
csr cli ec:P-256 "DNS:dev.clients.example.com"
issue_req "$T/cli.csr" client "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "client certificate: $STATUS $BODY"
CLI=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/cli.pem"
csr cli2 ec:P-256 "DNS:ignored.clients.example.com"
mtls_renew "$T/cli.pem" "$T/cli.key" "$T/cli2.csr"
[ "$STATUS" = 201 ] || fail "mTLS renewal: $STATUS $BODY"
CLI2=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/cli2.pem"
openssl verify -x509_strict -purpose sslclient -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/cli2.pem" >/dev/null || fail "verify mTLS-renewed"
[ "$(openssl x509 -in "$T/cli2.pem" -noout -ext subjectAltName | tail -1 | tr -d ' ')" = "DNS:dev.clients.example.com" ] || fail "mTLS-renewed names"
[ "$(cert_rows "serial_hex = '$CLI2' and renews_serial = '$CLI' and profile = 'client' and status = 'issued'")" = 1 ] || fail "mTLS renewal link"
pg_psql "$T/pg" owner -c "select details from audit_log where action = 'certificate.requested' and object = '$CLI2'" \
	| grepq '"via": "mtls"' || fail "mTLS renewal audit details"
# the renewed certificate renews the next time, the old one no more (for the same key: that renewal again)
mtls_renew "$T/cli.pem" "$T/cli.key" "$T/cli2.csr"
[ "$STATUS" = 200 ] && [ "$(json_field '["serial"]')" = "$CLI2" ] || fail "second mTLS renewal of the same certificate, same key: $STATUS $BODY"
csr cli2b ec:P-256 "DNS:ignored.clients.example.com"
mtls_renew "$T/cli.pem" "$T/cli.key" "$T/cli2b.csr"
[ "$STATUS" = 409 ] || fail "second mTLS renewal of the same certificate: $STATUS $BODY"
csr cli3 ec:P-256 "DNS:dev.clients.example.com"
mtls_renew "$T/cli2.pem" "$T/cli2.key" "$T/cli3.csr"
[ "$STATUS" = 201 ] || fail "renewing the renewed certificate: $STATUS $BODY"
CLI3=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/cli3.pem"
# without a client certificate the same body is not enough; a revoked certificate does not renew
mtls_renew "" "" "$T/cli3.csr"
[ "$STATUS" = 401 ] || fail "renew over HTTPS without a certificate: $STATUS $BODY"
pg_psql "$T/pg" owner -c "$(revoke_sql "$CLI3")" >/dev/null
# TLS does not look at revocation: the holder of a revoked (leaked) key is refused, audited with the serial,
# and counted as a failed proof, so it cannot fill the log in alice's name (it got 403 and a row each time)
refused_before=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and object = '$CLI3'")
codes=""
for _ in 1 2 3 4 5 6 7 8; do mtls_renew "$T/cli3.pem" "$T/cli3.key" "$T/cli2.csr" --interface 127.0.0.17; codes="$codes $STATUS"; done
[ "$codes" = " 403 403 403 403 403 429 429 429" ] || fail "mTLS renewals of a revoked certificate: $codes $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and object = '$CLI3' and actor = 'alice' and details like '%not-renewable%'")" = $((refused_before + 5)) ] \
	|| fail "the revoked certificate's refusals on the audit log: $(pg_psql "$T/pg" owner -c "select actor, object, details from audit_log where action = 'certificate.refused' order by id desc limit 3")"
pass "curl over mutual TLS renews the presented client certificate (linked, once, chainable), not a revoked one (audited with its serial, 429 after 5)"
# a CSR over its 64 KiB cap fits the renewal body's 96 KiB (max_body 128 KiB here): over mutual TLS it is
# refused after the proof (the certificate), 413 and audited in the owner's name, and counts against the address like the profile's refusals
# (before: never counted, so a leaked key wrote a refusal row in alice's name for every request without end)
csr cli4 ec:P-256 "DNS:dev4.clients.example.com"
issue_req "$T/cli4.csr" client "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "client certificate 4: $STATUS $BODY"
CLI4=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/cli4.pem"
python3 -c 'import json; print(json.dumps({"csr": "A" * 70000}))' > "$T/big-renew.json"
refused_before=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = 'alice' and details like '%too-large%'")
codes=""
for _ in 1 2 3 4 5 6 7; do
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "${TLSCURL[@]}" --cert "$T/cli4.pem" --key "$T/cli4.key" \
		--interface 127.0.0.56 --data-binary @"$T/big-renew.json" "$HTTPS/api/v1/certificates/renew")
	codes="$codes $STATUS"
done
[ "$codes" = " 413 413 413 413 413 429 429" ] || fail "oversized CSRs renewing over mutual TLS: $codes $(cat "$T/resp.json")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = 'alice' and details like '%too-large%'")" = $((refused_before + 5)) ] \
	|| fail "the oversized CSRs' refusals on the audit log"
pass "oversized CSRs renewing over mutual TLS: 413 (audited) five times from one address, then 429 unaudited"

# ---------------------------------------------------------------- administrators' login certificates
tls_call() { # METHOD PATH CERT KEY [curl args]: sets STATUS and BODY
	local m=$1 path=$2 cert=$3 key=$4; shift 4
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X "$m" "${TLSCURL[@]}" --cert "$cert" --key "$key" "$@" "$HTTPS$path")
	BODY=$(cat "$T/resp.json")
}
csr op ec:P-256 "DNS:admin2.ops.example.com"
issue_req "$T/op.csr" operator "${ADMIN2[@]}"
[ "$STATUS" = 201 ] || fail "operator certificate: $STATUS $BODY"
OP=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/op.pem"
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key"
[ "$STATUS" = 200 ] || fail "login certificate lists approvals: $STATUS $BODY"
# its holder cannot set its own password with it (a stolen key would buy a password that outlives the
# certificate's revocation): that takes the current password
tls_call POST /api/v1/accounts/ops-admin2/password "$T/op.pem" "$T/op.key" -d '{"password": "a new password 123"}'
[ "$STATUS" = 403 ] && grep -q '"password-required"' <<<"$BODY" || fail "own password set with a login certificate: $STATUS $BODY"
call GET /api/v1/accounts "${ADMIN2[@]}"
[ "$STATUS" = 200 ] || fail "ops-admin2's password changed by the refused request: $STATUS $BODY"
# a certificate requested through CFSSL authsign is a machine's, not a login, whatever its profile says now
# (a profile that had a cfssl_key and became a login profile: every certificate the key minted logged in)
authsign_mark() { # SERIAL true|false: the row as if requested through authsign, or not (owner, triggers off)
	pg_psql "$T/pg" owner -c "begin; alter table certificates disable trigger user; update certificates set
		authsign_token = case when $2 then decode(repeat('cd', 32), 'hex') end where serial_hex = '$1';
		alter table certificates enable trigger user; commit" >/dev/null
}
authsign_mark "$OP" true
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key" --interface 127.0.0.19
[ "$STATUS" = 401 ] || fail "a login-profile certificate requested through authsign logged in: $STATUS $BODY"
authsign_mark "$OP" false
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key"
[ "$STATUS" = 200 ] || fail "the login certificate again: $STATUS $BODY"
# an API key is a machine credential: it gets no login certificate (before, an administrator's key minted one
# and then managed accounts over mutual TLS as that person)
call POST /api/v1/accounts/ops-admin2/apikeys -d '{}' "${ADMIN2[@]}"
[ "$STATUS" = 201 ] || fail "API key for ops-admin2: $STATUS $BODY"
OPKEY=$(json_field '["key"]')
before=$(cert_rows)
issue_req "$T/op.csr" operator -H "Authorization: Bearer $OPKEY"
[ "$STATUS" = 403 ] && grep -q api-key-forbidden <<<"$BODY" || fail "an API key asked for a login certificate: $STATUS $BODY"
[ "$(cert_rows)" = "$before" ] || fail "an API key's login certificate request stored a row"
[ "$(pg_psql "$T/pg" owner -c "select details::jsonb->>'code' from audit_log where action = 'certificate.refused' order by id desc limit 1")" = api-key-forbidden ] \
	|| fail "the API key's refusal is not audited"
# a certificate an API key got under a profile that becomes a login profile later, and one that renews it, log
# nobody in (a machine's: "credential": "api-key" in its request's audit row); one got with the password does
call POST /api/v1/accounts/ops-admin/apikeys -d '{}' "${ADMIN[@]}"
[ "$STATUS" = 201 ] || fail "API key for ops-admin: $STATUS $BODY"
ADMKEY=$(json_field '["key"]')
# an administrator's API key bound to a profile reads that profile's approvals only, as it reads that profile's
# certificates only (before: every approval, of every profile); an unbound one reads them all
call POST /api/v1/accounts/ops-admin/apikeys -d '{"profile": "server"}' "${ADMIN[@]}"
[ "$STATUS" = 201 ] || fail "an API key for ops-admin bound to server: $STATUS $BODY"
SRVKEY=$(json_field '["key"]')
call GET "/api/v1/approvals?all=1" -H "Authorization: Bearer $ADMKEY"
[ "$STATUS" = 200 ] && grepq "\"serial\": \"$HELD\"" <<<"$BODY" || fail "the unbound key's approvals: $STATUS $(head -c 300 <<<"$BODY")"
call GET "/api/v1/approvals?all=1" -H "Authorization: Bearer $SRVKEY"
[ "$STATUS" = 200 ] && ! grepq "\"serial\": \"$HELD\"" <<<"$BODY" || fail "the server key listed a gated approval: $STATUS $(head -c 300 <<<"$BODY")"
call GET "/api/v1/approvals/$AID" -H "Authorization: Bearer $SRVKEY"
[ "$STATUS" = 404 ] || fail "the server key read a gated approval: $STATUS $BODY"
call GET "/api/v1/approvals/$AID" -H "Authorization: Bearer $ADMKEY"
[ "$STATUS" = 200 ] || fail "the unbound key read the gated approval: $STATUS $BODY"
# an approval id has one spelling: 0-padded (or past 18 digits) it names nothing (strtoll read "0$AID" as $AID,
# and a decision's log said "0$AID")
call GET "/api/v1/approvals/0$AID" -H "Authorization: Bearer $ADMKEY"
[ "$STATUS" = 404 ] || fail "an approval id with a leading zero: $STATUS $BODY"
call POST "/api/v1/approvals/0$AID/reject" "${ADMIN[@]}" -d '{}'
[ "$STATUS" = 404 ] || fail "a decision on an approval id with a leading zero: $STATUS $BODY"
call GET "/api/v1/approvals/1234567890123456789" -H "Authorization: Bearer $ADMKEY"
[ "$STATUS" = 404 ] || fail "an approval id of 19 digits: $STATUS $BODY"
csr mk ec:P-256 "DNS:mk.ops.example.com"
issue_req "$T/mk.csr" svc-ops -H "Authorization: Bearer $ADMKEY"
[ "$STATUS" = 201 ] || fail "svc-ops with an API key: $STATUS $BODY"
MK=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/mk.pem"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where object = '$MK' and action = 'certificate.requested'
	and details::jsonb->>'credential' = 'api-key'")" = 1 ] || fail "the API key's request is not recorded as one"
challenge "$MK"; CH=$(json_field '["challenge"]')
csr mkr ec:P-256 "DNS:ignored.ops.example.com"
renew_body "$T/mkr.csr" "$MK" "$CH" "$(renew_sig "$T/mk.key" "$CH" "$T/mkr.csr")"
call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
[ "$STATUS" = 201 ] || fail "renewing the API key's certificate: $STATUS $BODY"
json_field '["certificate"]' > "$T/mkr.pem"
csr mp ec:P-256 "DNS:mp.ops.example.com"
issue_req "$T/mp.csr" svc-ops "${ADMIN[@]}"
[ "$STATUS" = 201 ] || fail "svc-ops with the password: $STATUS $BODY"
json_field '["certificate"]' > "$T/mp.pem"; MP=$(json_field '["serial"]')
csr gated4 ec:P-256 "DNS:gated4.example.com"
issue_req "$T/gated4.csr" gated "${ALICE[@]}"
S4=$(json_field '["serial"]'); A4=$(json_field '["approval"]')
# cross-site request forgery: a page of another site, in the browser holding the login certificate, POSTs a form
# (or a "simple" fetch, no preflight) to approve or to make itself an administrator. Browsers say so: refused
# before anything is read or counted, and nothing is done
rows=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")
for h in "Origin: https://evil.example" "Origin: null" "Sec-Fetch-Site: cross-site" "Sec-Fetch-Site: same-site" \
	"Origin: https://$NAME:$TLSPORT.evil.example" "Origin: $HTTPS/"; do
	tls_call POST "/api/v1/approvals/$A4/approve" "$T/op.pem" "$T/op.key" -H "$h"
	[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = cross-site ] || fail "approve with $h: $STATUS $BODY"
	tls_call POST /api/v1/accounts "$T/op.pem" "$T/op.key" -H "$h" -H 'Content-Type: text/plain' \
		-d '{"name": "mallory", "role": "admin", "password": "a long enough password 43"}'
	[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = cross-site ] || fail "account created with $h: $STATUS $BODY"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")" = "$rows" ] || fail "a cross-site request was audited or acted on"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'mallory'")" = 0 ] || fail "mallory exists"
[ "$(curl -sS "$URL/metrics" | awk '$1 == "hsmca_cross_site_refused_total" {print $2}')" = 12 ] \
	|| fail "hsmca_cross_site_refused_total: $(curl -sS "$URL/metrics" | grep cross_site)"
# a decision that loses a race in the database (a deadlock with recovery, a serialization failure: made here by
# a trigger that raises one) is rolled back and said to be worth retrying, 503 retry, without the server's
# words; not the final 409 not-pending (before) a script stops at
pg_psql "$T/pg" owner -c "CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure'; END \$\$;
	CREATE TRIGGER test_race BEFORE UPDATE ON approvals FOR EACH ROW EXECUTE FUNCTION test_race()" >/dev/null
tls_call POST "/api/v1/approvals/$A4/approve" "$T/op.pem" "$T/op.key"
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = retry ] && ! grep -q serialize <<<"$BODY" \
	|| fail "a decision that lost a race: $STATUS $BODY"
pg_psql "$T/pg" owner -c "DROP TRIGGER test_race ON approvals; DROP FUNCTION test_race()" >/dev/null
[ "$(pg_psql "$T/pg" owner -c "select status from approvals where id = $A4")" = pending ] || fail "the raced decision stuck"
grepq "event=approval_retry approval=$A4 by=ops-admin2 why=.*40001" "$T/frontend.log" || fail "approval_retry not logged"
# a browser that says same-origin is believed over Host (a proxy that rewrites Host to its upstream's name)
tls_call POST /api/v1/accounts/cert-none/disable "$T/op.pem" "$T/op.key" -H "Origin: https://console.example" \
	-H "Sec-Fetch-Site: same-origin" -d '{}'
[ "$STATUS" = 404 ] || fail "same-origin by Sec-Fetch-Site, Host rewritten: $STATUS $BODY"
# a page of this very origin (a console behind a proxy that serves both) is no other site: by Origin alone (a
# browser that does not send Sec-Fetch-Site), then with both
tls_call POST /api/v1/accounts/cert-none/disable "$T/op.pem" "$T/op.key" -H "Origin: $HTTPS" -d '{}'
[ "$STATUS" = 404 ] || fail "same-origin by Origin alone: $STATUS $BODY"
# the scheme's default port written in Host and not in Origin (as a proxy may forward it) is the same origin;
# another port is not
tls_call POST /api/v1/accounts/cert-none/disable "$T/op.pem" "$T/op.key" -H "Origin: https://$NAME" -H "Host: $NAME:443" -d '{}'
[ "$STATUS" = 404 ] || fail "Origin without its default port, Host with it: $STATUS $BODY"
tls_call POST /api/v1/accounts/cert-none/disable "$T/op.pem" "$T/op.key" -H "Origin: https://$NAME:443" -H "Host: $NAME" -d '{}'
[ "$STATUS" = 404 ] || fail "Origin with its default port, Host without: $STATUS $BODY"
tls_call POST /api/v1/accounts/cert-none/disable "$T/op.pem" "$T/op.key" -H "Origin: https://$NAME" -H "Host: $NAME:80" -d '{}'
[ "$STATUS" = 403 ] || fail "Origin https's default port, Host port 80: $STATUS $BODY"
tls_call POST "/api/v1/approvals/$A4/approve" "$T/op.pem" "$T/op.key" -H "Origin: $HTTPS" -H "Sec-Fetch-Site: same-origin"
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve with a login certificate: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select actor from audit_log where action = 'approval.approved' and object = '$S4'")" = ops-admin2 ] \
	|| fail "the approval is not recorded as the certificate's account"
# the same certificate manages accounts (it used to get 401: that endpoint read only the Authorization header)
tls_call GET /api/v1/accounts "$T/op.pem" "$T/op.key"
[ "$STATUS" = 200 ] && grep -q '"ops-admin2"' <<<"$BODY" || fail "login certificate lists accounts: $STATUS $BODY"
# it reads and takes away; what grants a credential or a right that would outlive the certificate (an account,
# a password, a role, an enabled account, an API key) takes the password: a stolen certificate key, until
# revoked, bought an administrator account or an API key of its own (before: 201)
refused_before=$(audit_count account.refused)
call POST /api/v1/accounts "${ADMIN2[@]}" -d '{"name": "cert-made", "role": "auditor", "password": "a long enough password 42"}'
[ "$STATUS" = 201 ] || fail "ops-admin2 creates an account with its password: $STATUS $BODY"
for req in "/api/v1/accounts|{\"name\": \"cert-made2\", \"role\": \"admin\", \"password\": \"a long enough password 42\"}" \
	"/api/v1/accounts/cert-made/password|{\"password\": \"another long password 43\"}" \
	"/api/v1/accounts/cert-made/role|{\"role\": \"admin\"}" "/api/v1/accounts/ops-admin2/apikeys|{}" \
	"/api/v1/accounts/cert-made/enable|"; do
	tls_call POST "${req%%|*}" "$T/op.pem" "$T/op.key" -d "${req#*|}"
	[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = password-required ] \
		|| fail "${req%%|*} with a login certificate: $STATUS $BODY"
done
[ "$(audit_count account.refused)" = $((refused_before + 5)) ] || fail "the refusals are not audited: $(audit_count account.refused)"
# nor does it mint another login certificate, for a key of the caller's choosing, which would outlive its
# revocation (before: 201 and 200, a new administrator's login certificate)
csr op2 ec:P-256 "DNS:admin2.ops.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "operator"}))' "$T/op2.csr" > "$T/op2.json"
python3 -c 'import json,sys; print(json.dumps({"certificate_request": open(sys.argv[1]).read(), "profile": "operator"}))' "$T/op2.csr" > "$T/op2-cfssl.json"
rows_before=$(cert_rows "profile = 'operator'")
tls_call POST /api/v1/certificates "$T/op.pem" "$T/op.key" -H 'Content-Type: application/json' --data-binary @"$T/op2.json"
[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = password-required ] || fail "a login certificate for a login certificate: $STATUS $BODY"
tls_call POST /api/v1/cfssl/sign "$T/op.pem" "$T/op.key" --data-binary @"$T/op2-cfssl.json"
[ "$STATUS" = 403 ] && grep -q 'request a new one with your password' <<<"$BODY" || fail "cfssl sign of a login certificate over a login certificate: $STATUS $BODY"
[ "$(cert_rows "profile = 'operator'")" = "$rows_before" ] || fail "a certificate row was stored for a refused login certificate"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = 'ops-admin2' and details like '%password-required%'")" = 2 ] \
	|| fail "the two refusals are not audited"
# what a login certificate alone gets under a service profile (svc-ops, login = no) says so in its audit row
# ("credential": "login-certificate", plain and CFSSL /sign): should that profile become a login profile, it is
# no login (its key may be a stolen one; before, it logged in as the login certificate's account, past that
# certificate's revocation)
csr lc ec:P-256 "DNS:lc.ops.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "svc-ops"}))' "$T/lc.csr" > "$T/lc.json"
python3 -c 'import json,sys; print(json.dumps({"certificate_request": open(sys.argv[1]).read(), "profile": "svc-ops"}))' "$T/lc.csr" > "$T/lc-cfssl.json"
tls_call POST /api/v1/certificates "$T/op.pem" "$T/op.key" -H 'Content-Type: application/json' --data-binary @"$T/lc.json"
[ "$STATUS" = 201 ] || fail "svc-ops with a login certificate: $STATUS $BODY"
json_field '["certificate"]' > "$T/lc.pem"
tls_call POST /api/v1/cfssl/sign "$T/op.pem" "$T/op.key" --data-binary @"$T/lc-cfssl.json"
[ "$STATUS" = 200 ] || fail "cfssl sign under svc-ops with a login certificate: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.requested' and actor = 'ops-admin2'
	and details::jsonb->>'profile' = 'svc-ops' and details::jsonb->>'credential' = 'login-certificate'")" = 2 ] \
	|| fail "the login certificate's requests are not recorded as such"
sed -i '/^\[profile svc-ops\]/,/^$/s/^login = no$/login = yes/' "$T/profiles.conf"
fe_restart_tls "$T/chain.pem"
tls_call GET /api/v1/approvals "$T/lc.pem" "$T/lc.key"
[ "$STATUS" = 401 ] || fail "what a login certificate got, its profile a login profile now, logged in: $STATUS $BODY"
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key"
[ "$STATUS" = 200 ] || fail "the login certificate itself: $STATUS $BODY"
sed -i '/^\[profile svc-ops\]/,/^$/s/^login = yes$/login = no/' "$T/profiles.conf"
fe_restart_tls "$T/chain.pem"
pass "what a login certificate alone gets under a service profile is marked so, and no login once that profile is a login profile (401)"
# the password still gets one; a renewal of the login certificate logs in until the certificate it renews is
# revoked (whoever stole that key may have renewed it into theirs)
login_pair() { # OLD NEW: an operator certificate OLD got with the password (its CSR made already if it
	# exists), renewed into NEW by a signed challenge; sets OLD_SERIAL, writes $T/NEW.pem
	[ -f "$T/$1.csr" ] || csr "$1" ec:P-256 "DNS:admin2.ops.example.com"
	issue_req "$T/$1.csr" operator "${ADMIN2[@]}"
	[ "$STATUS" = 201 ] || fail "operator certificate $1 with the password: $STATUS $BODY"
	OLD_SERIAL=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/$1.pem"
	challenge "$OLD_SERIAL"; [ "$STATUS" = 200 ] || fail "challenge for $OLD_SERIAL: $STATUS $BODY"
	local ch; ch=$(json_field '["challenge"]')
	csr "$2" ec:P-256 "DNS:admin2.ops.example.com"
	renew_body "$T/$2.csr" "$OLD_SERIAL" "$ch" "$(renew_sig "$T/$1.key" "$ch" "$T/$2.csr")"
	call POST /api/v1/certificates/renew --data-binary @"$T/renew.json"
	[ "$STATUS" = 201 ] || fail "renewing operator certificate $1: $STATUS $BODY"
	json_field '["certificate"]' > "$T/$2.pem"
}
login_pair op2 op3
OP2=$OLD_SERIAL
tls_call GET /api/v1/approvals "$T/op3.pem" "$T/op3.key"
[ "$STATUS" = 200 ] || fail "the renewed login certificate logs in: $STATUS $BODY"
pg_psql "$T/pg" owner -c "$(revoke_sql "$OP2")" >/dev/null
tls_call GET /api/v1/approvals "$T/op3.pem" "$T/op3.key"
[ "$STATUS" = 401 ] || fail "the renewal of a revoked login certificate logged in: $STATUS $BODY"
# superseded is the rotation's own (renew, then revoke the old one), as for renewals: the new one still logs
# in (before: 401, so a routine rotation locked the administrator's certificate out)
login_pair op4 op5
pg_psql "$T/pg" owner -c "$(revoke_sql "$OLD_SERIAL" superseded)" >/dev/null
tls_call GET /api/v1/approvals "$T/op5.pem" "$T/op5.key"
[ "$STATUS" = 200 ] || fail "the renewal of a login certificate revoked as superseded: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from accounts where name = 'cert-made2'")" = 0 ] || fail "cert-made2 exists"
[ "$(pg_psql "$T/pg" owner -c "select role from accounts where name = 'cert-made'")" = auditor ] || fail "cert-made's role changed"
tls_call POST /api/v1/accounts/cert-made/disable "$T/op.pem" "$T/op.key" -d '{}'
[ "$STATUS" = 200 ] || fail "login certificate disables an account: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select actor from audit_log where action = 'account.disabled' and object = 'cert-made'")" = ops-admin2 ] \
	|| fail "the disabling is not recorded as the certificate's account"
tls_call GET /api/v1/accounts "$T/cli2.pem" "$T/cli2.key"
[ "$STATUS" = 401 ] || fail "a service certificate lists accounts: $STATUS $BODY"
# a service certificate (login = no) is not a login; a disabled account or revoked certificate logs in no more
tls_call GET /api/v1/approvals "$T/cli2.pem" "$T/cli2.key"
[ "$STATUS" = 401 ] || fail "a non-login client certificate logged in: $STATUS $BODY"
pg_psql "$T/pg" owner -c "update accounts set disabled = true where name = 'ops-admin2'" >/dev/null
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key"
[ "$STATUS" = 401 ] || fail "the login certificate of a disabled account: $STATUS $BODY"
# (the row changed in SQL is refused: the log names the certificate all the same; it said serial=- status=unknown)
grep -q "event=cert_login_refused serial=$OP status=issued" "$T/frontend.log" \
	|| fail "the refused login certificate is not named: $(grep cert_login_refused "$T/frontend.log" | tail -1)"
pg_psql "$T/pg" owner -c "update accounts set disabled = false where name = 'ops-admin2'" >/dev/null
pg_psql "$T/pg" owner -c "$(revoke_sql "$OP")" >/dev/null
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key"
[ "$STATUS" = 401 ] || fail "a revoked login certificate: $STATUS $BODY"
# refused login certificates count per address like wrong passwords: after 5, 429 without an audit row (the
# holder of a revoked one could otherwise fill the log)
for i in 1 2 3 4 5; do
	tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key" --interface 127.0.0.31
	[ "$STATUS" = 401 ] || fail "revoked login certificate, try $i from 127.0.0.31: $STATUS $BODY"
done
rows=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")
tls_call GET /api/v1/approvals "$T/op.pem" "$T/op.key" --interface 127.0.0.31
[ "$STATUS" = 429 ] || fail "the 6th refused login certificate from 127.0.0.31: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log")" = "$rows" ] || fail "a rate-limited certificate login was audited"
pass "an administrator's login certificate (mutual TLS, no password) lists and approves; not a service certificate, a disabled account or a revoked certificate (429 after 5 from one address, unaudited)"

# a client_ca that trusts more than this appliance's issuers (here a second CA beside them): a client
# certificate of that CA, under a serial this appliance never used, put in a login profile's row in an
# administrator's name by whoever can write the database, logs nobody in (before: it listed the accounts as ops-admin)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other-ca.key" -out "$T/other-ca.pem" \
	-subj /CN=another-ca -days 2 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/xop.key" -subj /CN=x.ops.example.com \
	-out "$T/xop.req" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$T/xop.ext"
openssl x509 -req -in "$T/xop.req" -CA "$T/other-ca.pem" -CAkey "$T/other-ca.key" -set_serial 0x5a5a5a5a5a5a5a5a5a5a \
	-days 1 -sha256 -extfile "$T/xop.ext" -out "$T/xop.pem" 2>/dev/null || fail "the other CA's client certificate"
openssl x509 -in "$T/xop.pem" -outform DER -out "$T/xop.der"
cat "$T/chain.pem" "$T/other-ca.pem" > "$T/client-ca.pem"
awk '/^\[profile svc-ops\]/ { p = 1 } p && /^login = no$/ { $0 = "login = yes" } /^$/ { p = 0 } 1' "$T/profiles.conf" > "$T/profiles.new"
mv "$T/profiles.new" "$T/profiles.conf"
grep -q '^login = yes$' <(sed -n '/^\[profile svc-ops\]/,/^$/p' "$T/profiles.conf") || fail "svc-ops is not a login profile now"
fe_restart_tls "$T/client-ca.pem"
tls_call GET /api/v1/accounts "$T/mp.pem" "$T/mp.key"
[ "$STATUS" = 200 ] || fail "a certificate got with the password, its profile a login profile now: $STATUS $BODY"
tls_call GET /api/v1/accounts "$T/mk.pem" "$T/mk.key" --interface 127.0.0.33
[ "$STATUS" = 401 ] || fail "a certificate an API key got, its profile a login profile now, logged in: $STATUS $BODY"
! grep -q "event=cert_login_refused serial=$MK" "$T/frontend.log" || fail "the API key's certificate was refused as a bad one, not as no login"
tls_call GET /api/v1/accounts "$T/mkr.pem" "$T/mkr.key" --interface 127.0.0.33
[ "$STATUS" = 401 ] || fail "the renewal of a certificate an API key got logged in: $STATUS $BODY"
pass "a profile that becomes a login profile: its certificates got with a password log in, those an API key got (and their renewals) do not"
# an account taken off a login profile's accounts logs in with its certificates no more (before: 200, though
# renewing them was refused), until it is put back
sed -i '/^\[profile svc-ops\]/,/^$/s/^accounts = ops-admin, ops-admin2$/accounts = ops-admin2/' "$T/profiles.conf"
grep -q '^accounts = ops-admin2$' <(sed -n '/^\[profile svc-ops\]/,/^$/p' "$T/profiles.conf") || fail "svc-ops still lists ops-admin"
fe_restart_tls "$T/client-ca.pem"
tls_call GET /api/v1/accounts "$T/mp.pem" "$T/mp.key" --interface 127.0.0.34
[ "$STATUS" = 401 ] || fail "a login certificate of an account its profile no longer lists logged in: $STATUS $BODY"
grepq "event=cert_login_refused serial=$MP status=issued" "$T/frontend.log" || fail "the refused login certificate is not named: $(grep cert_login_refused "$T/frontend.log" | tail -1)"
sed -i '/^\[profile svc-ops\]/,/^$/s/^accounts = ops-admin2$/accounts = ops-admin, ops-admin2/' "$T/profiles.conf"
fe_restart_tls "$T/client-ca.pem"
tls_call GET /api/v1/accounts "$T/mp.pem" "$T/mp.key"
[ "$STATUS" = 200 ] || fail "the login certificate, its account listed again: $STATUS $BODY"
pass "a login certificate of an account its profile no longer lists logs in no more (401), and again once listed"
forge_row 5a5a5a5a5a5a5a5a5a5a "$T/xop.der" ops-admin # (ops-admin2's row was changed in SQL above: refused anyway)
tls_call GET /api/v1/accounts "$T/xop.pem" "$T/xop.key"
[ "$STATUS" = 401 ] || fail "a forged row's client certificate logged in: $STATUS $BODY"
grep -q "event=row_refused.*serial=5a5a5a5a5a5a5a5a5a5a.*not signed by issuer int" "$T/frontend.log" || fail "the forged login row is not logged"
pass "a login certificate of another CA that client_ca trusts, in a row written outside the frontend, logs nobody in (401, row_refused)"

# ---- the issuing CA replaced: every profile moves from int to int2 ----
# the certificates int issued stay this appliance's: with int's certificate in former_issuers they renew (under
# int2); without it no profile names int, and every one of them was refused as written outside the frontend
csr rot ec:P-256 "DNS:rot.example.com"
issue_req "$T/rot.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "rot: $STATUS $BODY"
ROT=$(json_field '["serial"]'); json_field '["certificate"]' > "$T/rot.pem"
# and one renewed under int before the change, its renewal collected after it: sent with int's chain (before,
# with the one its profile has now, int2's, under which it does not verify)
csr rc1 ec:P-256 "DNS:rc1.example.com"
issue_req "$T/rc1.csr" server "${ALICE[@]}"; [ "$STATUS" = 201 ] || fail "rc1: $STATUS $BODY"
RC1=$(json_field '["serial"]')
csr rc1new ec:P-256 "DNS:ignored.example.com"
renew_rc1() {
	challenge "$RC1"; CH=$(json_field '["challenge"]')
	renew_body "$T/rc1new.csr" "$RC1" "$CH" "$(renew_sig "$T/rc1.key" "$CH" "$T/rc1new.csr")"
	call POST /api/v1/certificates/renew --interface 127.0.0.54 --data-binary @"$T/renew.json"
}
renew_rc1
[ "$STATUS" = 201 ] || fail "rc1 renewed under int: $STATUS $BODY"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
sed -i "s/^issuer = int$/issuer = int2/; s#^issuer_cert = $T/ca/int.pem\$#issuer_cert = $T/ca/int2.pem#" "$T/profiles.conf"
! grep -q "^issuer = int$" "$T/profiles.conf" && ! grep -q "/int.pem$" "$T/profiles.conf" || fail "a profile still names int"
cat "$T/ca/int2.pem" "$T/ca/root.pem" > "$T/chain.pem"
renew_rot() {
	challenge "$ROT"; CH=$(json_field '["challenge"]')
	csr rot2 ec:P-256 "DNS:ignored.example.com"
	renew_body "$T/rot2.csr" "$ROT" "$CH" "$(renew_sig "$T/rot.key" "$CH" "$T/rot2.csr")"
	call POST /api/v1/certificates/renew --interface 127.0.0.18 --data-binary @"$T/renew.json"
}
fe_start "recover_after_seconds = 1"
renew_rot
[ "$STATUS" = 403 ] && grep -q not-genuine <<<"$BODY" || fail "renewing int's certificate with no profile naming int: $STATUS $BODY"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
printf 'garbage\n' > "$T/not-ca.pem"
fe_conf "former_issuers = $T/not-ca.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf" # (a frontend that starts would serve until killed)
grep -q "former_issuers $T/not-ca.pem holds no PEM certificate" <<<"$OUT" || fail "former_issuers without a certificate: $OUT"
fe_conf "former_issuers = $T/rot.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf" # (a frontend that starts would serve until killed)
grep -q "former_issuers $T/rot.pem: certificate 1 is not a CA certificate" <<<"$OUT" || fail "a leaf in former_issuers: $OUT"
# a block that does not decode, in former_issuers or in chain, stops the start naming it (it ended the read
# quietly: the certificates after it were never looked at, those in chain served unchecked)
{ cat "$T/ca/int.pem"; printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n'; cat "$T/ca/root.pem"; } > "$T/broken.pem"
fe_conf "former_issuers = $T/broken.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "former_issuers $T/broken.pem: block 2 does not decode" <<<"$OUT" || fail "a broken block in former_issuers: $OUT"
fe_conf
sed -i "s|^chain = .*|chain = $T/broken.pem|" "$T/frontend.conf"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "chain $T/broken.pem: block 2 does not decode" <<<"$OUT" || fail "a broken block in chain: $OUT"
# a key in the chain file (a cert+key bundle named by mistake): refused, not skipped and then served with the
# file at /api/v1/ca/chain
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/stray.key" 2>/dev/null
cat "$T/ca/int.pem" "$T/stray.key" > "$T/withkey.pem"
sed -i "s|^chain = .*|chain = $T/withkey.pem|" "$T/frontend.conf"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "chain $T/withkey.pem: block 2 is a PRIVATE KEY, not a CERTIFICATE" <<<"$OUT" || fail "a key in chain: $OUT"
# an issuer_cert holding more than its certificate (a bundle with the root after it): refused, naming the file
# (the first certificate of the file was taken and the rest never looked at)
cat "$T/ca/int2.pem" "$T/ca/root.pem" > "$T/int2-bundle.pem"
cp "$T/profiles.conf" "$T/profiles.keep"
sed -i "s#^issuer_cert = $T/ca/int2.pem\$#issuer_cert = $T/int2-bundle.pem#" "$T/profiles.conf"
grep -q "int2-bundle" "$T/profiles.conf" || fail "no profile names the bundle"
fe_conf
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "issuer_cert $T/int2-bundle.pem: more than 1 certificate" <<<"$OUT" || fail "a bundle as issuer_cert: $OUT"
mv "$T/profiles.keep" "$T/profiles.conf"
fe_start "recover_after_seconds = 1
former_issuers = $T/ca/int.pem"
renew_rot
[ "$STATUS" = 201 ] || fail "renewing int's certificate with int in former_issuers: $STATUS $BODY"
json_field '["certificate"]' > "$T/rot2.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int2.pem" "$T/rot2.pem" >/dev/null \
	|| fail "the renewal under int2 does not verify"
[ "$(cert_rows "renews_serial = '$ROT' and issuer = 'int2'")" = 1 ] || fail "the renewal's row"
renew_rc1
[ "$STATUS" = 200 ] || fail "collecting a renewal int signed, after int was replaced: $STATUS $BODY"
json_field '["certificate"]' > "$T/rc1new.pem"; json_field '["chain"]' > "$T/rc1chain.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/rc1chain.pem" "$T/rc1new.pem" >/dev/null 2>&1 \
	|| fail "the collected renewal does not verify with the chain sent: $(grep -c BEGIN "$T/rc1chain.pem") certificates"
pass "an issuing CA replaced: its certificates renew under the new one with it in former_issuers (403 not-genuine without), a renewal it signed is collected with its chain, a former_issuers file without a certificate or with a leaf refused at start"

"$FRONTEND" audit-verify --conninfo "$CI" > "$T/verify.log" 2>&1 || fail "audit chain: $(cat "$T/verify.log")"
pass "the audit chain verifies"
