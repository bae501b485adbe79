#!/usr/bin/env bash
# Interop with Debian's golang-cfssl: `cfssl sign` through an auth_remote (authsign, HMAC-SHA-256 with the
# profile's key) and `cfssl info -remote` against the running frontend; wrong keys, replays, stale
# timestamps and unauthenticated /sign are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
command -v cfssl >/dev/null || fail "cfssl (golang-cfssl) is not installed"
fe_setup_backend
fe_profiles
KEY=00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef
cat >> "$T/profiles.conf" <<EOC

[profile cfssl-server]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256, rsa2048
dns_suffixes = .example.com
max_sans = 4
max_validity_days = 90
key_usage = digitalSignature, keyEncipherment
eku = serverAuth
accounts = cfssl-client
cfssl_key = $KEY
cfssl_account = cfssl-client
EOC
fe_start
cfg() { # cfg KEY: a cfssl client config whose profile signs through our authsign
	cat > "$T/cfssl.json" <<EOC
{"signing": {"default": {"auth_remote": {"remote": "hsmca", "auth_key": "k"}},
  "profiles": {"cfssl-server": {"auth_remote": {"remote": "hsmca", "auth_key": "k"}}}},
 "auth_keys": {"k": {"type": "standard", "key": "$1"}},
 "remotes": {"hsmca": "localhost:$PORT"}}
EOC
}
cfg "$KEY"
csr c1 ec:P-256 "DNS:cf.example.com"
cfssl sign -config "$T/cfssl.json" -profile cfssl-server -hostname cf.example.com,api.example.com "$T/c1.csr" \
	> "$T/cfssl.out" 2> "$T/cfssl.err" || fail "cfssl sign: $(tail -2 "$T/cfssl.err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cert"], end="")' "$T/cfssl.out" > "$T/cf.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/cf.pem" >/dev/null || fail "verify"
openssl x509 -in "$T/cf.pem" -noout -ext subjectAltName | grep -q 'DNS:cf.example.com, DNS:api.example.com' \
	|| fail "hosts did not become the SANs"
[ "$(pg_psql "$T/pg" owner -c "select requester from certificates where status = 'issued'")" = cfssl-client ] \
	|| fail "requester not recorded"
pass "cfssl sign (authsign) issues through the frontend; hosts become the SANs; the profile's account is recorded"

cfssl info -remote "localhost:$PORT" -profile cfssl-server > "$T/info.out" 2>"$T/info.err" || fail "cfssl info: $(tail -2 "$T/info.err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' "$T/info.out" | cmp -s - <(openssl x509 -in "$T/ca/int.pem") \
	|| fail "cfssl info did not return the issuing CA"
pass "cfssl info -remote returns the issuing CA certificate"

cfg "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
if cfssl sign -config "$T/cfssl.json" -profile cfssl-server -hostname cf.example.com "$T/c1.csr" > "$T/bad.out" 2>&1 && grep -q '"cert"' "$T/bad.out"; then
	fail "a wrong auth key was accepted"
fi
cfg "$KEY"
if cfssl sign -config "$T/cfssl.json" -profile cfssl-server -hostname www.evil.org "$T/c1.csr" > "$T/bad.out" 2>&1 && grep -q '"cert"' "$T/bad.out"; then
	fail "a host outside the profile was signed"
fi
if cfssl sign -remote "localhost:$PORT" -profile cfssl-server -hostname cf.example.com "$T/c1.csr" > "$T/bad.out" 2>&1 && grep -q '"cert"' "$T/bad.out"; then
	fail "unauthenticated /sign was accepted"
fi
audit_has() { [ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details like '%$1%'")" -ge 1 ]; }
audit_has 'bad authsign token' || fail "the wrong key was not refused as such"
audit_has 'san-dns' || fail "the host outside the profile was not refused by the DNS rule"
pass "wrong auth key, a host outside the profile and unauthenticated /sign are refused (and audited)"

# replay and stale timestamps (the token covers the request bytes only)
authsign() { # authsign TIMESTAMP: POSTs one authsign body built like cfssl does; prints the HTTP status
	python3 - "$T/c1.csr" "$KEY" "$1" > "$T/authsign.json" <<'PY'
import base64, hashlib, hmac, json, sys
req = json.dumps({"hosts": ["replay.example.com"], "certificate_request": open(sys.argv[1]).read(),
                  "profile": "cfssl-server", "crl_override": "", "label": ""}).encode()
tok = hmac.new(bytes.fromhex(sys.argv[2]), req, hashlib.sha256).digest()
print(json.dumps({"timestamp": int(sys.argv[3]), "token": base64.b64encode(tok).decode(),
                  "request": base64.b64encode(req).decode()}))
PY
	curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"$T/authsign.json" "$URL/api/v1/cfssl/authsign"
}
[ "$(authsign "$(date +%s)")" = 200 ] || fail "fresh authsign: $(cat "$T/authsign.out")"
st=$(curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"$T/authsign.json" "$URL/api/v1/cfssl/authsign")
[ "$st" = 401 ] || fail "replayed authsign: $st $(cat "$T/authsign.out")"
[ "$(authsign $(( $(date +%s) - 3600 )))" = 401 ] || fail "stale timestamp accepted"
pass "a replayed authsign body and a stale timestamp are refused (401)"
curl -fsS "$URL/api/v1/cfssl/health" | grep -q '"healthy": true' || fail "cfssl health"
