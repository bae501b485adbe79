#!/usr/bin/env bash
# Issuance end to end: the frontend (HTTP, auth, profiles, PostgreSQL, audit) with the real signer on a
# fresh SoftHSM2 token and a private PostgreSQL cluster. Every refusal gets its 4xx and stores no
# certificate; the audit chain verifies, and names the row a manual UPDATE touched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
command -v certtool >/dev/null || fail "certtool (gnutls-bin) not installed"
FE_MORE_INTS="int-rsa:rsa2048 int-p384:p384" fe_setup_backend # leaves under an RSA and a P-384 intermediate too
# profile overlong is wider than its signer key on purpose (the signer's refusal is tested): served with a
# warning, where by default the frontend would refuse to start (signerfit.c; frontend_nameconstraints.sh)
export FE_CONF_EXTRA="signer_profile_check = warn"
fe_profiles
for ca in rsa p384; do # the server profile under the intermediate int-$ca
	{ echo; awk '/^\[profile server\]/ { p = 1 } p && /^$/ { exit } p' "$T/profiles.conf" \
		| sed "s/^\[profile server\]/[profile server-$ca]/; s/^issuer = int$/issuer = int-$ca/; s|/int.pem$|/int-$ca.pem|"; } >> "$T/profiles.conf"
done
grep -q "^issuer_cert = $T/ca/int-p384.pem" "$T/profiles.conf" || fail "no server-p384 profile"
# a profile the frontend allows but the signer's pinned key rules (max_validity_days = 397) refuse
cat >> "$T/profiles.conf" <<EOC

[profile overlong]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 1
max_validity_days = 500
key_usage = digitalSignature, keyEncipherment
eku = serverAuth
accounts = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
printf 'admin password 0001\n' > "$T/admin.pw"
printf 'alice password 0002\n' > "$T/alice.pw"
printf 'auditor password 3\n' > "$T/aud.pw"
"$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name ops-admin --password-file "$T/admin.pw" >/dev/null \
	|| fail "bootstrap-admin"
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw" >/dev/null \
	|| fail "create-account"
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name audrey --role auditor --password-file "$T/aud.pw" >/dev/null \
	|| fail "create-account auditor"
expect_rc 1 "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name alice --role requester --password-file "$T/alice.pw"
grep -q 'exists' <<<"$OUT" || fail "duplicate account: $OUT"
# a role that is none of the three is named, not answered with the whole usage text
expect_rc 2 "$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name bob --role superuser --password-file "$T/alice.pw"
[ "$OUT" = "hsmca-frontend: --role superuser: no such role (requester, admin or auditor)" ] || fail "create-account --role superuser: $OUT"
# the CLI checks the key's profile as the API does: in the profiles file, the account among its accounts (it
# stored a key for any profile name, one no request could then use); nothing is written for a refusal
AK=("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key")
KEYS0=$(pg_psql "$T/pg" owner -c "select count(*) from api_keys")
expect_rc 1 "${AK[@]}" --profiles "$T/profiles.conf" --account alice --profile nosuch
grep -qF -- "--profile nosuch: no such profile in $T/profiles.conf" <<<"$OUT" || fail "create-apikey, unknown profile: $OUT"
expect_rc 1 "${AK[@]}" --profiles "$T/profiles.conf" --account audrey --profile server
grep -qF -- "--profile server: account audrey may not use this profile" <<<"$OUT" || fail "create-apikey, account not listed: $OUT"
expect_rc 1 "${AK[@]}" --account alice --profile server
grep -qF -- "--profiles FILE (or -c CONFIG) required" <<<"$OUT" || fail "create-apikey without a profiles file: $OUT"
expect_rc 1 "${AK[@]}" --profiles "$T/nosuch.conf" --account alice --profile server
[ "$(pg_psql "$T/pg" owner -c "select count(*) from api_keys")" = "$KEYS0" ] || fail "a refused create-apikey stored a key"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'apikey.created'")" = 0 ] \
	|| fail "a refused create-apikey was audited as created"
pass "create-apikey refuses a profile not in the profiles file, an account the profile does not list, and no profiles file"
KEY=$("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account alice --profile server)
[[ $KEY =~ ^hsk_[0-9a-f]{64}$ ]] || fail "create-apikey printed '$KEY'"
# its audit row names the key and its profile, as the API's do (it said {})
KID=$(pg_psql "$T/pg" owner -c "select id from api_keys where key_hash = encode(sha256('$KEY'::bytea), 'hex')")
[ "$(pg_psql "$T/pg" owner -c "select details::jsonb = jsonb_build_object('id', $KID, 'profile', 'server', 'by', 'cli') from audit_log where action = 'apikey.created' and object = 'alice' order by id desc limit 1")" = t ] \
	|| fail "create-apikey's audit row: $(pg_psql "$T/pg" owner -c "select details from audit_log where action = 'apikey.created' order by id desc limit 1")"
fe_start
ALICE=(-u "alice:$(cat "$T/alice.pw")")

[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "healthz"
curl -fsS "$URL/api/v1/ca/chain" > "$T/got-chain.pem" && cmp -s "$T/got-chain.pem" "$T/chain.pem" || fail "chain"
pass "healthz and the CA chain"

for spec in ec:P-256 ec:P-384 rsa:2048 rsa:3072 rsa:4096; do
	csr "leaf" "$spec" "DNS:www.example.com" "DNS:example.net" "IP:10.1.2.3"
	issue_req "$T/leaf.csr" server "${ALICE[@]}"
	[ "$STATUS" = 201 ] || fail "issue $spec: $STATUS $BODY"
	json_field '["certificate"]' > "$T/leaf.pem"
	serial=$(json_field '["serial"]')
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/leaf.pem" >/dev/null || fail "verify $spec"
	cat "$T/leaf.pem" "$T/ca/int.pem" > "$T/leaf-chain.pem"
	certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root.pem" --infile "$T/leaf-chain.pem" > "$T/ct.txt" 2>&1 || true
	grep -q 'Verified. The certificate is trusted' "$T/ct.txt" || fail "certtool $spec: $(tail -3 "$T/ct.txt")"
	openssl x509 -in "$T/leaf.pem" -noout -text > "$T/leaf.txt"
	grep -q 'DNS:www.example.com, DNS:example.net, IP Address:10.1.2.3' "$T/leaf.txt" || fail "SANs $spec"
	grep -q 'OCSP - URI:http://127.0.0.1' "$T/leaf.txt" && grep -q 'URI:http://127.0.0.1:.*/crl/int.crl' "$T/leaf.txt" \
		|| fail "AIA/CDP $spec"
	# max_validity_days = 90 exactly, both ends counted (RFC 5280 4.1.2.5): it was 90 days and a second
	nb=$(date -d "$(openssl x509 -in "$T/leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$T/leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
	[ $((na - nb + 1)) = $((90 * 86400)) ] || fail "validity of $spec: notAfter - notBefore + 1 = $((na - nb + 1))"
	st=$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$serial'" 2>&1)
	[ "$st" = issued ] || fail "row $spec: serial $serial status '$st'"
	# the profile's key usages where the key permits them: no keyEncipherment on an EC key (RFC 5480)
	ku=$(grep -A1 'X509v3 Key Usage' "$T/leaf.txt" | tail -1)
	case $spec in
	ec:*) [ "$(echo $ku)" = "Digital Signature" ] || fail "key usage $spec: $ku" ;;
	rsa:*) [ "$(echo $ku)" = "Digital Signature, Key Encipherment" ] || fail "key usage $spec: $ku" ;;
	esac
	# 17-octet serials: 0x01 and 16 random bytes
	[[ $serial =~ ^01[0-9a-f]{32}$ ]] || fail "serial $spec: $serial"
	# the signer's log records what it signed by serial too (and the TBS's hash)
	grep -q "event=signed type=0x10 key=int worker=[0-9]* serial=$serial tbs_sha256=" "$T/signer.log" \
		|| fail "the signer's log does not name serial $serial"
done
pass "P-256, P-384, RSA-2048, RSA-3072 and RSA-4096 CSRs issued; openssl -x509_strict and certtool accept the chains; SANs, AIA, CDP; key usage by key type; 17-octet serials; rows issued"

# under an RSA-2048 and a P-384 intermediate (the root is P-384): the chain verifies, signed by that key
for ca in rsa p384; do
	csr "leaf-$ca" ec:P-256 "DNS:www.example.com"
	issue_req "$T/leaf-$ca.csr" "server-$ca" "${ALICE[@]}"
	[ "$STATUS" = 201 ] || fail "issue under int-$ca: $STATUS $BODY"
	json_field '["certificate"]' > "$T/leaf-$ca.pem"
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int-$ca.pem" "$T/leaf-$ca.pem" >/dev/null \
		|| fail "verify under int-$ca"
	# the reply's chain is this issuer's (it was the config's chain, int's, for every profile)
	json_field '["chain"]' > "$T/reply-chain-$ca.pem"
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/reply-chain-$ca.pem" "$T/leaf-$ca.pem" >/dev/null \
		|| fail "verify under int-$ca with the reply's chain: $(grep -c BEGIN "$T/reply-chain-$ca.pem") certificates"
	[ "$(openssl x509 -in "$T/reply-chain-$ca.pem" -noout -fingerprint -sha256)" = "$(openssl x509 -in "$T/ca/int-$ca.pem" -noout -fingerprint -sha256)" ] \
		&& [ "$(grep -c 'BEGIN CERTIFICATE' "$T/reply-chain-$ca.pem")" = 2 ] || fail "the reply's chain under int-$ca does not start with it or is not int-$ca, root"
	cat "$T/leaf-$ca.pem" "$T/ca/int-$ca.pem" > "$T/leaf-chain.pem"
	certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root.pem" --infile "$T/leaf-chain.pem" > "$T/ct.txt" 2>&1 || true
	grep -q 'Verified. The certificate is trusted' "$T/ct.txt" || fail "certtool under int-$ca: $(tail -3 "$T/ct.txt")"
	case $ca in rsa) alg=sha256WithRSAEncryption ;; p384) alg=ecdsa-with-SHA384 ;; esac
	openssl x509 -in "$T/leaf-$ca.pem" -noout -text | grepq "Signature Algorithm: $alg" || fail "the leaf under int-$ca is not signed with $alg"
done
pass "leaves under an RSA-2048 and a P-384 intermediate: openssl -x509_strict and certtool accept the chains, and each reply carries its own issuer's chain"

# a first SAN over 64 characters: the CN is the first SAN short enough; with none, the subject is empty and
# the subjectAltName critical (RFC 5280 4.2.1.6)
long=$(printf 'a%.0s' $(seq 61)).example.com
csr longfirst ec:P-256 "DNS:$long" "DNS:www.example.com"
issue_req "$T/longfirst.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "a long first SAN: $STATUS $BODY"
json_field '["certificate"]' > "$T/longfirst.pem"
openssl x509 -in "$T/longfirst.pem" -noout -subject -nameopt RFC2253 | grepq -x 'subject=CN=www.example.com' \
	|| fail "CN with a long first SAN: $(openssl x509 -in "$T/longfirst.pem" -noout -subject)"
csr longonly ec:P-256 "DNS:$long"
issue_req "$T/longonly.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "only a long SAN: $STATUS $BODY"
json_field '["certificate"]' > "$T/longonly.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/longonly.pem" >/dev/null \
	|| fail "verify the certificate with an empty subject"
openssl x509 -in "$T/longonly.pem" -noout -text > "$T/longonly.txt"
grep -q 'X509v3 Subject Alternative Name: critical' "$T/longonly.txt" && grep -qE '^ *Subject: *$' "$T/longonly.txt" \
	|| fail "empty subject and critical SAN: $(grep -E 'Subject:|Alternative' "$T/longonly.txt")"
# the database records the subject the certificate carries (it used to record CN=<the first SAN> always)
[ "$(pg_psql "$T/pg" owner -c "select subject from certificates where serial_hex = '$(openssl x509 -in "$T/longfirst.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)'")" = "CN=www.example.com" ] \
	|| fail "the stored subject of the long-first-SAN certificate"
[ "$(pg_psql "$T/pg" owner -c "select '[' || subject || ']' from certificates where serial_hex = '$(openssl x509 -in "$T/longonly.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)'")" = "[]" ] \
	|| fail "the stored subject of the empty-subject certificate"
pass "a first SAN over 64 characters: CN from the next short SAN, or an empty subject with a critical SAN (the signer signs it); the stored subject is the certificate's"

# the CSR in DER: the "csr" field carries it as base64 (standard, padded) or base64url without padding (as
# ACME's finalize does); the certificate is the same request's
csr derreq ec:P-256 "DNS:der.example.com"
openssl req -in "$T/derreq.csr" -outform DER -out "$T/derreq.der"
for form in base64 base64url; do
	python3 - "$T/derreq.der" "$form" > "$T/req.json" <<'PY'
import base64, json, sys
d = open(sys.argv[1], 'rb').read()
t = base64.b64encode(d).decode() if sys.argv[2] == 'base64' else base64.urlsafe_b64encode(d).decode().rstrip('=')
print(json.dumps({"csr": t, "profile": "server"}))
PY
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$T/req.json" \
		"${ALICE[@]}" "$URL/api/v1/certificates")
	[ "$STATUS" = 201 ] || fail "a DER CSR as $form: $STATUS $(cat "$T/resp.json")"
	json_field '["certificate"]' > "$T/der-$form.pem"
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/der-$form.pem" >/dev/null || fail "verify ($form)"
	[ "$(openssl x509 -in "$T/der-$form.pem" -noout -pubkey)" = "$(openssl req -in "$T/derreq.csr" -noout -pubkey)" ] \
		|| fail "the certificate of the DER CSR ($form) has another key"
	openssl x509 -in "$T/der-$form.pem" -noout -ext subjectAltName | grepq 'DNS:der.example.com' || fail "SAN ($form)"
done
pass "a CSR in DER (base64 or base64url in the csr field) is issued like its PEM"

csr apik ec:P-256 "DNS:api.example.com"
issue_req "$T/apik.csr" server -H "Authorization: Bearer $KEY"
[ "$STATUS" = 201 ] || fail "API key issue: $STATUS $BODY"
issue_req "$T/apik.csr" server -H "Authorization: Bearer hsk_0000000000000000000000000000000000"
[ "$STATUS" = 401 ] || fail "bad API key: $STATUS"
pass "Bearer API keys (stored as hashes) authenticate; a wrong key gets 401"
# a 401 carries its challenge (RFC 9110): a client that sends credentials only when asked (curl --anyauth, as
# wget, Java's Authenticator, urllib do) gets its certificate; without the header it stopped at the 401
curl -sS -o /dev/null -D "$T/hdr.txt" --interface 127.0.0.41 -X POST "$URL/api/v1/certificates" -d '{}'
grep -qi '^WWW-Authenticate: Basic realm="hsmca", charset="UTF-8", Bearer realm="hsmca"' "$T/hdr.txt" \
	|| fail "no challenge on a 401: $(cat "$T/hdr.txt")"
# not where credentials are not what is missing: a renewal without a proof
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$T/apik.csr" > "$T/renew0.json"
curl -sS -o /dev/null -D "$T/hdr.txt" --interface 127.0.0.42 -X POST "$URL/api/v1/certificates/renew" --data-binary @"$T/renew0.json"
grep -q '^HTTP/1.1 401' "$T/hdr.txt" && ! grep -qi '^WWW-Authenticate' "$T/hdr.txt" || fail "a renewal's 401: $(cat "$T/hdr.txt")"
csr anyauth ec:P-256 "DNS:anyauth.example.com"
issue_req "$T/anyauth.csr" server --interface 127.0.0.41 --anyauth "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "curl --anyauth: $STATUS $BODY"
pass "a 401 says WWW-Authenticate (Basic, Bearer): a client that waits for the challenge (curl --anyauth) gets its certificate"

# ---- the signer refuses what the frontend allowed: 502 with the signer's reason, the row failed, audited ----
csr over ec:P-256 "DNS:over.example.com"
issue_req "$T/over.csr" overlong "${ALICE[@]}"
[ "$STATUS" = 502 ] && [ "$(json_field '["error"]["code"]')" = signer ] || fail "signer refusal: $STATUS $BODY"
grep -qi "validity" <<<"$(json_field '["error"]["message"]')" || fail "the signer's reason is not passed on: $BODY"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where profile = 'overlong'")" = failed ] \
	|| fail "a refused request's row is not failed"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log a join certificates c on a.object = c.serial_hex
	where c.profile = 'overlong' and a.action in ('certificate.requested', 'certificate.failed')")" = 2 ] \
	|| fail "the refusal's intent and failure are not both audited"
pass "a TBS the signer's pinned rules refuse: 502 with its reason; the intent was committed first, the row is failed, both audited"

before=$(cert_rows)
refused0=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")
refuse() { # want-status want-code label: after issue_req
	[ "$STATUS" = "$1" ] || fail "$3: expected $1, got $STATUS $BODY"
	[ "$(json_field '["error"]["code"]')" = "$2" ] || fail "$3: expected code $2: $BODY"
}
csr good ec:P-256 "DNS:ok.example.com"
issue_req "$T/good.csr" server; refuse 401 unauthorized "no credentials"
issue_req "$T/good.csr" server -u "alice:wrong password"; refuse 401 unauthorized "wrong password"
issue_req "$T/good.csr" server -u "nobody:whatever password"; refuse 401 unauthorized "unknown user"
issue_req "$T/good.csr" server -u "audrey:$(cat "$T/aud.pw")"; refuse 403 forbidden "auditor"
issue_req "$T/good.csr" nosuch "${ALICE[@]}"; refuse 400 unknown-profile "unknown profile"
[ "$(json_field '["error"]["message"]')" = 'no such profile "nosuch"' ] || fail "the unknown profile is not named: $BODY"
csr cl ec:P-256 "DNS:dev1.clients.example.com"
issue_req "$T/cl.csr" client -u "ops-admin:$(cat "$T/admin.pw")"; refuse 403 profile-forbidden "profile not for this account"
csr r1 ec:P-256 "DNS:www.evil.org"; issue_req "$T/r1.csr" server "${ALICE[@]}"; refuse 403 policy "DNS suffix"
grep -q 'san-dns' <<<"$BODY" || fail "rule name missing: $BODY"
csr r2 ec:P-256 "DNS:*.example.com"; issue_req "$T/r2.csr" server "${ALICE[@]}"; refuse 403 policy "wildcard"
grep -q 'san-wildcard' <<<"$BODY" || fail "rule: $BODY"
# the message names the rule first (policy/profile.c)
rule() { [[ $(json_field '["error"]["message"]') == "$1: "* ]] || fail "$2: expected rule $1: $BODY"; }
csr r3 ec:P-256 "IP:192.168.1.1"; issue_req "$T/r3.csr" server "${ALICE[@]}"; refuse 403 policy "IP range"
rule san-ip "IP range"
csr r4 ec:P-256 "DNS:a.example.com" "DNS:b.example.com" "DNS:c.example.com" "DNS:d.example.com" "DNS:e.example.com"
issue_req "$T/r4.csr" server "${ALICE[@]}"; refuse 403 policy "SAN count"
rule san-count "SAN count"
csr r6 ec:P-256 "DNS:www.example.com" "email:someone@example.com"; issue_req "$T/r6.csr" server "${ALICE[@]}"
refuse 403 policy "email SAN"; rule san-email "email SAN (the profile has no allow_email)"
csr r7 ec:P-256 "DNS:www.example.com" "URI:https://www.example.com/"; issue_req "$T/r7.csr" server "${ALICE[@]}"
refuse 403 policy "URI SAN"; rule san-type "URI SAN"
csr r5 rsa:2048 "DNS:dev2.clients.example.com"; issue_req "$T/r5.csr" client "${ALICE[@]}"; refuse 403 policy "key type"
grep -q 'key-type' <<<"$BODY" || fail "rule: $BODY"
[[ $(json_field '["error"]["message"]') == "key-type: the key is rsa2048, which profile client does not allow (it allows p256"* ]] \
	|| fail "the key-type refusal does not name the key and what the profile allows: $BODY"
# keys no profile can allow are refused by the CSR parser, as policy too (they were 400 bad-csr, as if malformed)
csr r8 rsa:1024 "DNS:www.example.com"; issue_req "$T/r8.csr" server "${ALICE[@]}"; refuse 403 policy "RSA-1024 key"
rule "key" "RSA-1024 key"; grep -q 'RSA-1024 not accepted' <<<"$BODY" || fail "RSA-1024 key: $BODY"
csr r9 ec:P-521 "DNS:www.example.com"; issue_req "$T/r9.csr" server "${ALICE[@]}"; refuse 403 policy "P-521 key"
rule "key" "P-521 key"; grep -q 'secp521r1 not accepted' <<<"$BODY" || fail "P-521 key: $BODY"
printf 'not a csr' > "$T/junk.csr"; issue_req "$T/junk.csr" server "${ALICE[@]}"; refuse 400 bad-csr "malformed CSR"
head -c 200 "$T/good.csr" > "$T/trunc.csr"; issue_req "$T/trunc.csr" server "${ALICE[@]}"; refuse 400 bad-csr "truncated CSR"
# a CSR whose signature does not verify: flip one byte of the signature in the DER
openssl req -in "$T/good.csr" -outform DER -out "$T/good.der"
python3 - "$T/good.der" "$T/badsig.csr" <<'PY'
import sys, base64
d = bytearray(open(sys.argv[1], 'rb').read()); d[-5] ^= 1
open(sys.argv[2], 'w').write("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(d)).decode() + "-----END CERTIFICATE REQUEST-----\n")
PY
issue_req "$T/badsig.csr" server "${ALICE[@]}"; refuse 400 csr-signature "wrong-signature CSR"
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "${ALICE[@]}" --data-binary '{"csr": "x", "profile": ' "$URL/api/v1/certificates")
BODY=$(cat "$T/resp.json"); refuse 400 bad-request "bad JSON"
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' "${ALICE[@]}" --data-binary '{"csr": "x", "profile": "server", "x": 1}' "$URL/api/v1/certificates")
BODY=$(cat "$T/resp.json"); refuse 400 bad-request "unexpected field"
head -c 70000 /dev/zero | tr '\0' 'a' > "$T/big.json"
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' "${ALICE[@]}" --data-binary @"$T/big.json" "$URL/api/v1/certificates")
[ "$STATUS" = 413 ] || fail "oversized body: $STATUS"
[ "$(cert_rows)" = "$before" ] || fail "a refused request left a certificate row"
# one audit row for each refusal above but the oversized body's (413 from the HTTP layer, before any worker)
refused=$(($(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'") - refused0))
[ "$refused" = 20 ] || fail "the 20 refusals above left $refused certificate.refused audit rows"
pass "no/wrong credentials, unknown user, wrong role, unknown profile, profile not allowed, DNS suffix, wildcard, IP range, SAN count, email SAN, URI SAN, key type, RSA-1024 and P-521 keys (403 policy), malformed/truncated/wrong-signature CSR, bad JSON, unexpected field, oversized body: each its 4xx naming the rule; no certificate row; each refusal but the 413 audited"

# a request without credentials is audited (actor -) and counted per address like a wrong password (it was
# neither, so anonymous requests could be sent without end and leave no trace); a read is neither
nocred() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-' and details like '%no credentials%'"; }
[ "$(nocred)" = 3 ] || fail "the requests without credentials above (the challenge's two, the refusals' one): $(nocred) audit rows"
N0=$(nocred)
for i in 1 2 3 4 5; do issue_req "$T/good.csr" server --interface 127.0.0.26; refuse 401 unauthorized "no credentials ($i)"; done
[ "$(nocred)" = $((N0 + 5)) ] || fail "5 requests without credentials: $(($(nocred) - N0)) audit rows"
issue_req "$T/good.csr" server --interface 127.0.0.26 -D "$T/h429.txt"; refuse 429 rate-limited "a sixth request without credentials"
# its status line's reason is the standard one (every error said "Error") and it says when to ask again
grep -q $'^HTTP/1.1 429 Too Many Requests\r$' "$T/h429.txt" && grep -qi $'^Retry-After: 60\r$' "$T/h429.txt" \
	|| fail "the 429's head: $(cat "$T/h429.txt")"
[ "$(nocred)" = $((N0 + 5)) ] || fail "a rate-limited request without credentials was audited"
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.27 "$URL/api/v1/certificates/01")
[ "$STATUS" = 401 ] && [ "$(nocred)" = $((N0 + 5)) ] || fail "a read without credentials: $STATUS, $(($(nocred) - N0)) audit rows"
[ "$(cert_rows)" = "$before" ] || fail "a request without credentials left a certificate row"
pass "requests without credentials: 401, audited with actor - and counted per address (429 after 5, not audited); a read is neither"

for _ in 1 2 3 4 5 6; do issue_req "$T/good.csr" server -u "alice:wrong again"; done
refuse 429 rate-limited "rate limit"
# an administrator's account is limited after 5 failures from anywhere, but not at an address it logged in from
# (whoever guesses from elsewhere cannot lock the administrator out); that address has its own limit
accounts() { curl -sS -o "$T/resp.json" -w '%{http_code}' --interface "$1" -u "ops-admin:$2" "$URL/api/v1/accounts"; }
[ "$(accounts 127.0.0.21 "$(cat "$T/admin.pw")")" = 200 ] || fail "ops-admin from 127.0.0.21: $(cat "$T/resp.json")"
# a second address within the minute the verified password is cached (the issuance path checks it on the loop)
issue_req "$T/good.csr" server --interface 127.0.0.22 -u "ops-admin:$(cat "$T/admin.pw")"
[ "$STATUS" = 201 ] || fail "ops-admin from 127.0.0.22: $STATUS $BODY"
for i in 30 31 32 33 34; do # one wrong password from each of five addresses: the account's limit, not theirs
	[ "$(accounts 127.0.0.$i "a guess")" = 401 ] || fail "a wrong password from 127.0.0.$i: $(cat "$T/resp.json")"
done
[ "$(accounts 127.0.0.35 "$(cat "$T/admin.pw")")" = 429 ] || fail "the right password from a new address while the account is limited: $(cat "$T/resp.json")"
[ "$(accounts 127.0.0.21 "$(cat "$T/admin.pw")")" = 200 ] \
	|| fail "the right password from the address the account logged in from, while the account is limited: $(cat "$T/resp.json")"
[ "$(accounts 127.0.0.22 "$(cat "$T/admin.pw")")" = 200 ] || fail "the address the account's cached login came from: $(cat "$T/resp.json")"
for _ in 1 2 3 4 5; do accounts 127.0.0.21 "a guess at home" > /dev/null; done
[ "$(accounts 127.0.0.21 "$(cat "$T/admin.pw")")" = 429 ] || fail "a known address that failed 5 times: $(cat "$T/resp.json")"
pass "repeated failed logins are rate-limited (429): per address, and per account from addresses it has not logged in from; an administrator is not locked out of an address it logged in from by failures elsewhere"

# failures that name no account (unknown API keys, malformed Basic, an unknown scheme) count against the
# address: after 5, 429 without an audit row, so a flood cannot grow the audit log; other addresses unaffected
refusals=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")
for h in "Bearer $(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" "Bearer short" "Basic !!!!" \
	"Basic $(printf 'no colon' | base64)" "Digest x=1"; do
	issue_req "$T/good.csr" server --interface 127.0.0.10 -H "Authorization: $h"; refuse 401 unauthorized "bad credentials ($h)"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")" = $((refusals + 5)) ] \
	|| fail "the five refusals are not audited"
for h in "Bearer $(head -c 24 /dev/urandom | base64 | tr '+/' '-_')" "Basic !!!!" "Digest x=1"; do
	issue_req "$T/good.csr" server --interface 127.0.0.10 -H "Authorization: $h"; refuse 429 rate-limited "limited address ($h)"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")" = $((refusals + 5)) ] \
	|| fail "a rate-limited request wrote to the audit log"
# a valid API key is not held up by the other failures at its address (a NAT's one misconfigured client
# stopped every automated client behind it): it is 256 random bits, out of reach of any number of tries
issue_req "$T/good.csr" server --interface 127.0.0.10 -H "Authorization: Bearer $KEY"
[ "$STATUS" = 201 ] || fail "a valid API key from a limited address: $STATUS $BODY"
issue_req "$T/good.csr" server --interface 127.0.0.10 -H "Authorization: Basic $(printf 'alice:%s' "$(cat "$T/alice.pw")" | base64 -w0)"
refuse 429 rate-limited "a password (even the right one) from the limited address"
issue_req "$T/good.csr" server --interface 127.0.0.11 -H "Authorization: Bearer $(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"
refuse 401 unauthorized "another address"
pass "unknown API keys, malformed Basic and unknown schemes are limited per address (429 after 5, not audited); a valid API key still works there"

# parallel wrong passwords cannot outrun the limit: a verification reserves its attempt against the address's
# and the account's budget before scrypt runs, so of 30 guesses sent at once from one address, or from 30
# addresses at one account, at most 5 are verified (401) and the rest get 429 (before, every guess that
# found the limit not yet reached was verified: 8 with the 4 workers here, as many as there are workers)
fe_requester burst1
fe_requester burst2
metric() { curl -sS "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
burst() { # burst USER ADDR...: one wrong password (each its own) from each ADDR, all at once; sets B401, B429
	local user=$1 i=0 a pids=()
	shift
	rm -f "$T"/burst-*.status
	for a in "$@"; do
		i=$((i + 1))
		curl -sS -o /dev/null -w '%{http_code}\n' --interface "$a" -u "$user:guess $i" "$URL/api/v1/accounts" \
			> "$T/burst-$i.status" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	B401=$(cat "$T"/burst-*.status | grep -c '^401$' || true)
	B429=$(cat "$T"/burst-*.status | grep -c '^429$' || true)
	[ $((B401 + B429)) = $# ] || fail "burst at $user: not all 401 or 429: $(sort "$T"/burst-*.status | uniq -c)"
}
V0=$(metric hsmca_password_verifications_total)
burst burst1 $(printf '127.0.1.1 %.0s' $(seq 30))
V1=$(metric hsmca_password_verifications_total)
[ "$B401" -ge 1 ] && [ "$B401" -le 5 ] && [ $((V1 - V0)) -le 5 ] \
	|| fail "30 wrong passwords at once from one address: $B401 x 401, $B429 x 429, $((V1 - V0)) verifications (want at most 5)"
burst burst2 $(for i in $(seq 30); do printf '127.0.2.%d ' "$i"; done)
V2=$(metric hsmca_password_verifications_total)
[ "$B401" -ge 1 ] && [ "$B401" -le 5 ] && [ $((V2 - V1)) -le 5 ] \
	|| fail "30 wrong passwords at once at one account from 30 addresses: $B401 x 401, $B429 x 429, $((V2 - V1)) verifications (want at most 5)"
[ "$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.2.31 -u "burst2:burst2 password 0001" "$URL/api/v1/accounts")" = 429 ] \
	|| fail "the right password of the account just guessed at, from a new address: not 429"
pass "30 wrong passwords at once, from one address or at one account from 30: at most 5 verified (401, $((V1 - V0)) and $((V2 - V1)) scrypt runs), the rest 429"

# a Basic user name that is not UTF-8 cannot be an account's: refused like an unknown user (401, audited,
# verified against the dummy hash, counted: the sixth from one address gets 429) without a query (PostgreSQL
# refuses such bytes: it was 503, without a verification, a count or an audit row)
refusals=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-'")
V0=$(metric hsmca_password_verifications_total)
issue_req "$T/good.csr" server --interface 127.0.0.13 -H "Authorization: Basic $(printf '\xff\xfeuser:x' | base64)"
refuse 401 unauthorized "a user name that is not UTF-8"
[ "$(metric hsmca_password_verifications_total)" = $((V0 + 1)) ] || fail "a user name that is not UTF-8 was not verified against the dummy hash"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-'")" = $((refusals + 1)) ] \
	|| fail "the refusal of a user name that is not UTF-8 is not audited"
for n in 2 3 4 5; do
	issue_req "$T/good.csr" server --interface 127.0.0.13 -H "Authorization: Basic $(printf '\xc3\x28%d:x' "$n" | base64)"
	refuse 401 unauthorized "a user name that is not UTF-8 ($n)"
done
issue_req "$T/good.csr" server --interface 127.0.0.13 -H "Authorization: Basic $(printf '\xff\xfeuser:x' | base64)"
refuse 429 rate-limited "a sixth user name that is not UTF-8 from one address"
grep -q 'event=auth_failed user="\\xff\\xfeuser" peer=127.0.0.13' "$T/frontend.log" || fail "the refusal is not logged as an auth failure"
pass "a user name that is not UTF-8 is an unknown user: 401, audited, a dummy verification, counted (429 after 5); no query, no 503"

# a wrong password costs the same database work for an account that exists as for a name that does not: the
# account row is read for every password login (the account cache answered a name it had seen without a
# query, so an existing account's refusal came one round trip sooner than an unknown name's: a timing
# difference telling which names exist; found by review)
pg_psql "$T/pg" owner -c "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
pg_psql "$T/pg" owner -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
acct_reads() { grep -c 'FROM accounts a WHERE a.name = \$1$' "$T/pg/postgres.log" || true; }
for who in alice alice nobody-at-all nobody-at-all; do
	r0=$(acct_reads)
	st=$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.14 -u "$who:not the password" "$URL/api/v1/accounts")
	[ "$st" = 401 ] || fail "a wrong password for $who: $st"
	sleep 0.2
	[ "$(acct_reads)" = $((r0 + 1)) ] || fail "a wrong password for $who read its account row $(( $(acct_reads) - r0 )) times (want 1)"
done
pg_psql "$T/pg" owner -c "ALTER SYSTEM RESET log_statement" >/dev/null
pg_psql "$T/pg" owner -c "SELECT pg_reload_conf()" >/dev/null
pass "a wrong password reads the account row once, whether the account exists (also the second time) or not"

# a user name is logged as one quoted token: a line break or key=value text in it cannot forge a log line
lines=$(wc -l < "$T/frontend.log")
issue_req "$T/good.csr" server --interface 127.0.0.12 -u $'x\nts=1 level=info event=issued serial=dead:pw'
refuse 401 unauthorized "a user name with a line break"
sleep 0.2
tail -n +$((lines + 1)) "$T/frontend.log" > "$T/log-tail"
grep -q '^ts=1 ' "$T/log-tail" && fail "a user name started a log line of its own: $(cat "$T/log-tail")"
grep -q 'event=auth_failed user="x\\x0ats=1 level=info event=issued serial=dead" peer=127.0.0.12' "$T/log-tail" \
	|| fail "the user name is not quoted in the log: $(cat "$T/log-tail")"
pass "a user name with a line break and key=value text is logged as one quoted, escaped token"

"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
expect_rc 1 pg_psql "$T/pg" frontend -c "update audit_log set actor = 'mallory' where id = 3"
expect_rc 1 pg_psql "$T/pg" frontend -c "delete from audit_log where id = 3"
expect_rc 1 pg_psql "$T/pg" frontend -c "truncate audit_log"
pg_psql "$T/pg" owner -c "set session_replication_role = replica; update audit_log set actor = 'mallory' where id = 3" >/dev/null
expect_rc 1 "$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)"
grep -q 'BROKEN at row 3' <<<"$OUT" || fail "audit-verify did not name row 3: $OUT"
pass "audit chain verifies; the frontend role cannot UPDATE/DELETE/TRUNCATE it; after a manual UPDATE verify names row 3"
