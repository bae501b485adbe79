#!/usr/bin/env bash
# Interop with Debian's golang-cfssl: `cfssl sign` through an auth_remote (authsign, HMAC-SHA-256 with the
# profile's key), `cfssl sign -remote` with a requester's own credentials (/sign, HTTP Basic from the remote's
# URL) and `cfssl info -remote` against the running frontend; wrong keys, replays, stale timestamps,
# unauthenticated /sign, wrong passwords, API keys bound to another profile, accounts not allowed on the
# profile and malformed bodies are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
command -v cfssl >/dev/null || fail "cfssl (golang-cfssl) is not installed"
fe_setup_backend
# profile cfssl-nokey names a key the signer does not hold on purpose (the signer's refusal is tested): served
# with a warning, where by default the frontend would refuse to start (signerfit.c; frontend_nameconstraints.sh)
export FE_CONF_EXTRA="signer_profile_check = warn"
fe_profiles
KEY=00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef
MKEY=ffeeddccbbaa99887766554433221100fedcba9876543210fedcba9876543210 # cfssl-mail's own key
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
accounts = cfssl-client, signreq, keyreq
cfssl_key = $KEY
cfssl_account = cfssl-client
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile cfssl-login]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 4
max_validity_days = 7
key_usage = digitalSignature
eku = clientAuth
accounts = keyreq
login = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile cfssl-held]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 4
max_validity_days = 90
key_usage = digitalSignature
eku = serverAuth
accounts = cfssl-client
needs_approval = yes
cfssl_key = $KEY
cfssl_account = cfssl-client
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile cfssl-mail]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
ip_ranges = 10.0.0.0/8, 2001:db8::/32
allow_email = yes
max_sans = 4
max_validity_days = 90
key_usage = digitalSignature
eku = serverAuth
accounts = cfssl-client
cfssl_key = $MKEY
cfssl_account = cfssl-client
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile cfssl-nokey]
issuer = nokey
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = 4
max_validity_days = 90
key_usage = digitalSignature
eku = serverAuth
accounts = cfssl-client
cfssl_key = $KEY
cfssl_account = cfssl-client
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
# cfssl-held-long: cfssl-held asking for more validity than the signer key's pin (397 days): approved, refused
{ echo; awk '/^\[profile cfssl-held\]/ { p = 1 } p && /^$/ { exit } p' "$T/profiles.conf" \
	| sed 's/^\[profile cfssl-held\]/[profile cfssl-held-long]/; s/^max_validity_days = .*/max_validity_days = 500/'; } \
	>> "$T/profiles.conf"
grep -q '^\[profile cfssl-held-long\]' "$T/profiles.conf" || fail "no cfssl-held-long profile"
# the file holds auth keys: refused while group or others may read it, as frontend.conf holding a password
# (whoever reads a key issues under its profile's account; quickstart's profiles file was 0644)
chmod 644 "$T/profiles.conf"
fe_conf
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -qF "$T/profiles.conf: profile cfssl-server has a cfssl_key, and group or others may read the file (chmod 600)" \
	<<<"$OUT" || fail "a profiles file with auth keys that others may read: $OUT"
chmod 600 "$T/profiles.conf"
pass "a profiles file holding cfssl_key that group or others may read: the frontend refuses to start"
fe_start
fe_requester cfssl-client # the account the auth key stands for: it must exist, be enabled and may request
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
openssl x509 -in "$T/cf.pem" -noout -ext subjectAltName | grepq 'DNS:cf.example.com, DNS:api.example.com' \
	|| fail "hosts did not become the SANs"
[ "$(pg_psql "$T/pg" owner -c "select requester from certificates where status = 'issued'")" = cfssl-client ] \
	|| fail "requester not recorded"
pass "cfssl sign (authsign) issues through the frontend; hosts become the SANs; the profile's account is recorded"

# errors the frontend's loop answers itself (here a wrong method) are CFSSL error bodies under /api/v1/cfssl/
st=$(curl -sS -o "$T/m.out" -w '%{http_code}' "$URL/api/v1/cfssl/sign")
[ "$st" = 405 ] && grep -q '^{"success": false, "result": null, "errors": \[{"code": 405, "message": ' "$T/m.out" \
	|| fail "GET /api/v1/cfssl/sign: $st $(cat "$T/m.out")"
cfssl info -remote "localhost:$PORT" -profile cfssl-server > "$T/info.out" 2>"$T/info.err" || fail "cfssl info: $(tail -2 "$T/info.err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' "$T/info.out" | cmp -s - <(openssl x509 -in "$T/ca/int.pem") \
	|| fail "cfssl info did not return the issuing CA"
# its usages in cfssl's words, which a cfssl signing config takes back ("serverAuth" is none of them)
python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["usages"]; sys.exit(0 if u == ["digital signature", "key encipherment", "server auth"] else 1)' "$T/info.out" \
	|| fail "cfssl info usages: $(cat "$T/info.out")"
pass "cfssl info -remote returns the issuing CA certificate and the profile's usages in cfssl's words"
# its -label names the signer: the profile's own issuer is answered, another is refused (it was ignored, and
# the profile's CA returned as if it were the one asked for); profile and label must be strings
cfssl info -remote "localhost:$PORT" -profile cfssl-server -label int > "$T/info.out" 2>"$T/info.err" \
	|| fail "cfssl info -label int: $(tail -2 "$T/info.err")"
if cfssl info -remote "localhost:$PORT" -profile cfssl-server -label other-ca > "$T/info.out" 2>"$T/info.err"; then
	fail "cfssl info -label other-ca answered: $(cat "$T/info.out")"
fi
st=$(curl -sS -o "$T/info.out" -w '%{http_code}' -d '{"label": "other-ca", "profile": "cfssl-server"}' "$URL/api/v1/cfssl/info")
[ "$st" = 400 ] && grep -q 'label other-ca is not profile cfssl-server' "$T/info.out" || fail "info, another label: $st $(cat "$T/info.out")"
for f in '{"profile": 5}' '{"label": ["int"]}'; do
	st=$(curl -sS -o "$T/info.out" -w '%{http_code}' -d "$f" "$URL/api/v1/cfssl/info")
	[ "$st" = 400 ] && grep -q 'must be strings' "$T/info.out" || fail "info $f: $st $(cat "$T/info.out")"
done
pass "cfssl info: -label other than the profile's issuer is refused (400), the issuer's own label answered; a non-string profile or label is 400"

# a body that is not valid JSON is refused with the parser's reason, as /api/v1/certificates does (the reason was
# thrown away: "info body is not a JSON object", "malformed authsign request (token, request)"), for authsign's
# outer document and the request inside it alike
st=$(curl -sS -o "$T/info.out" -w '%{http_code}' -d '{"profile": "a", "profile": "b"}' "$URL/api/v1/cfssl/info")
[ "$st" = 400 ] && grep -q 'info body is not valid JSON (offset [0-9]*: duplicate key)' "$T/info.out" \
	|| fail "info with a duplicate key: $st $(cat "$T/info.out")"
st=$(curl -sS -o "$T/as.out" -w '%{http_code}' --interface 127.0.0.41 --data-binary '{"token": "x", "token": "y"}' "$URL/api/v1/cfssl/authsign")
[ "$st" = 400 ] && grep -q 'authsign body is not valid JSON (offset [0-9]*: duplicate key)' "$T/as.out" \
	|| fail "authsign with a duplicate key: $st $(cat "$T/as.out")"
st=$(curl -sS -o "$T/as.out" -w '%{http_code}' --interface 127.0.0.41 --data-binary \
	"{\"token\": \"$(head -c 32 /dev/zero | base64 -w0)\", \"request\": \"$(printf '{"hosts": [], "hosts": []}' | base64 -w0)\"}" \
	"$URL/api/v1/cfssl/authsign")
[ "$st" = 400 ] && grep -q 'authsign request is not valid JSON (offset [0-9]*: duplicate key)' "$T/as.out" \
	|| fail "authsign whose request has a duplicate key: $st $(cat "$T/as.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details like '%authsign request is not valid JSON (offset%'")" -ge 1 ] \
	|| fail "the inner document's reason is not audited"
pass "cfssl info and authsign name the JSON parser's reason (outer and inner document)"

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
# (the unauthenticated /sign's row: until it was audited, this only printed "and audited")
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-'
	and details::jsonb->>'code' = 'unauthorized' and details like '%no credentials%'")" -ge 1 ] || fail "unauthenticated /sign was not audited"
pass "wrong auth key, a host outside the profile and unauthenticated /sign are refused (and audited)"

# replay and stale timestamps (the token covers the request bytes only)
authsign() { # authsign TIMESTAMP [REQUEST FIELDS (JSON)] [CURL ARGS...]: POSTs one authsign body built like cfssl
	# does; prints the HTTP status
	python3 - "$T/c1.csr" "${AKEY:-$KEY}" "$1" "${2:-{\}}" > "$T/authsign.json" <<'PY'
import base64, hashlib, hmac, json, sys
fields = {"hosts": ["replay.example.com"], "certificate_request": open(sys.argv[1]).read(),
          "profile": "cfssl-server", "crl_override": "", "label": ""}
fields.update(json.loads(sys.argv[4]))
req = json.dumps(fields).encode()
tok = hmac.new(bytes.fromhex(sys.argv[2]), req, hashlib.sha256).digest()
body = {"token": base64.b64encode(tok).decode(), "request": base64.b64encode(req).decode()}
if sys.argv[3] != "none": # (cfssl's client sends one; an older or another client may not)
    body["timestamp"] = int(sys.argv[3])
print(json.dumps(body))
PY
	curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"$T/authsign.json" "${@:3}" "$URL/api/v1/cfssl/authsign"
}
out_serial() { # the serial of the certificate in $T/authsign.out (CFSSL's answer), as the database writes it
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"]["certificate"])' "$T/authsign.out" \
		> "$T/authsign.pem" # a file: openssl may stop reading a pipe before python is done writing
	openssl x509 -in "$T/authsign.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'
}
replay() { curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"${1:-$T/authsign.json}" "${@:2}" "$URL/api/v1/cfssl/authsign"; }
tok_hex() { python3 -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["token"]).hex())' "$1"; }
token_certs() { # certificates requested with the token of body $1, and whether the rows carry it
	pg_psql "$T/pg" owner -c "select count(*) from certificates where authsign_token = decode('$(tok_hex "$1")', 'hex')"
}
age() { # age BODY [SECONDS]: as if SECONDS (700) had passed for the token of BODY: its hold over, its certificates that old
	local t s=${2:-700}; t=$(tok_hex "$1")
	pg_psql "$T/pg" owner -c "update authsign_tokens set seen_at = seen_at - interval '$s s',
		expires_at = expires_at - interval '$s s' where token = decode('$t', 'hex')" >/dev/null
	pg_psql "$T/pg" owner -c "begin; alter table certificates disable trigger user; update certificates set
		created_at = created_at - interval '$s s', updated_at = updated_at - interval '$s s'
		where authsign_token = decode('$t', 'hex'); alter table certificates enable trigger user; commit" >/dev/null
}
[ "$(authsign "$(date +%s)")" = 200 ] || fail "fresh authsign: $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/fresh.json"
S1=$(out_serial)
# a replay within the hold gets the certificate the first request produced, not a new one (a client that
# lost the answer retries); until schema 011 it got 401 and had no way to its certificate
st=$(replay)
[ "$st" = 200 ] && [ "$(out_serial)" = "$S1" ] || fail "replayed authsign: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/fresh.json")" = 1 ] || fail "the replay made another certificate, or the row lacks the token"
# the token on the row is set once: the frontend's role cannot change it, and certificates_guard refuses the owner
for role in frontend owner; do
	if pg_psql "$T/pg" $role -c "update certificates set authsign_token = NULL where serial_hex = '$S1'" >/dev/null 2>&1; then
		fail "$role changed a certificate's authsign token"
	fi
done
[ "$(authsign $(( $(date +%s) - 3600 )))" = 401 ] || fail "stale timestamp accepted"
[ "$(authsign $(( $(date +%s) + 3600 )))" = 401 ] || fail "a timestamp an hour ahead accepted: $(cat "$T/authsign.out")"
grep -q 'timestamp' "$T/authsign.out" || fail "the future timestamp's refusal does not name it: $(cat "$T/authsign.out")"
# no timestamp at all: the window is optional (the token alone, held against replays)
[ "$(authsign none '{"hosts": ["nots.example.com"]}')" = 200 ] || fail "an authsign without a timestamp: $(cat "$T/authsign.out")"
# a request that was refused leaves no certificate: its replay within the hold is refused as a replay
[ "$(authsign "$(date +%s)" '{"hosts": ["refused.evil.org"]}' --interface 127.0.0.23)" = 403 ] || fail "a refused authsign: $(cat "$T/authsign.out")"
st=$(replay "$T/authsign.json" --interface 127.0.0.23)
[ "$st" = 401 ] && grep -q 'produced no certificate' "$T/authsign.out" || fail "the refused request's replay: $st $(cat "$T/authsign.out")"
pass "a replayed authsign body gets the certificate its first request produced (200, no new row); a stale or future timestamp, or the replay of a refused request, is refused (401); no timestamp is taken"

# "hosts" entries are typed as cfssl types them (signer.OverrideHosts): an IP address, else an email address,
# else a URI, else a DNS name; every entry that was not an IP address was taken for a DNS name, so an email
# address was refused as a malformed DNS name even where the profile allows email names
cp "$T/authsign.json" "$T/hosts.keep"
# (each profile's key is its own: another profile's key signs nothing under it, either way)
st=$(authsign "$(date +%s)" '{"profile": "cfssl-mail", "hosts": ["mail.example.com"]}' --interface 127.0.0.30)
[ "$st" = 401 ] && grep -q 'invalid token' "$T/authsign.out" || fail "cfssl-mail under cfssl-server's key: $st $(cat "$T/authsign.out")"
st=$(AKEY=$MKEY authsign "$(date +%s)" '{"hosts": ["mail.example.com"]}' --interface 127.0.0.30)
[ "$st" = 401 ] && grep -q 'invalid token' "$T/authsign.out" || fail "cfssl-server under cfssl-mail's key: $st $(cat "$T/authsign.out")"
st=$(AKEY=$MKEY authsign "$(date +%s)" '{"profile": "cfssl-mail", "hosts": ["mail.example.com", "ops@mail.example.com", "10.0.0.7"]}' --interface 127.0.0.28)
[ "$st" = 200 ] || fail "authsign with an email host under a profile that allows email: $st $(cat "$T/authsign.out")"
out_serial >/dev/null
openssl x509 -in "$T/authsign.pem" -noout -ext subjectAltName > "$T/mail.san" || fail "the email host's certificate: no SAN"
grep -q 'DNS:mail.example.com, email:ops@mail.example.com, IP Address:10.0.0.7' "$T/mail.san" || fail "the hosts' types: $(cat "$T/mail.san")"
st=$(authsign "$(date +%s)" '{"hosts": ["ops@mail.example.com"]}' --interface 127.0.0.28)
[ "$st" = 403 ] && grep -q 'san-email: email names are not allowed by profile cfssl-server' "$T/authsign.out" \
	|| fail "an email host under a profile without email: $st $(cat "$T/authsign.out")"
st=$(authsign "$(date +%s)" '{"hosts": ["spiffe://example.com/web"]}' --interface 127.0.0.28)
[ "$st" = 403 ] && grep -q 'san-type: only DNS, IP and (if allowed) email names' "$T/authsign.out" \
	|| fail "a URI host: $st $(cat "$T/authsign.out")"
# an IPv6 host is written as the CSR path writes it (RFC 5952): before, "2001:DB8:0:0:0:0:0:1" was stored as
# typed, one address on record under two spellings
st=$(AKEY=$MKEY authsign "$(date +%s)" '{"profile": "cfssl-mail", "hosts": ["mail6.example.com", "2001:DB8:0:0:0:0:0:1"]}' --interface 127.0.0.28)
[ "$st" = 200 ] || fail "authsign with an IPv6 host: $st $(cat "$T/authsign.out")"
S6=$(out_serial)
[ "$(pg_psql "$T/pg" owner -c "select sans from certificates where serial_hex = '$S6'")" = "DNS:mail6.example.com,IP:2001:db8::1" ] \
	|| fail "the IPv6 host's stored names: $(pg_psql "$T/pg" owner -c "select sans from certificates where serial_hex = '$S6'")"
# an empty hosts list (cfssl: no names at all), a display-name address and an entry with white space are
# refused before the token is claimed, so the client's retry gets the same answer (before: 400, then 401
# "replay" for the retry, counted as a failed proof)
a=50 # (each from its own address: a refusal before the token counts against it as a failed proof)
for h in '[]' '["Ops <ops@mail.example.com>"]' '["a.example.com "]'; do
	a=$((a + 1))
	st=$(authsign "$(date +%s)" "{\"hosts\": $h}" --interface 127.0.0.$a)
	[ "$st" = 400 ] || fail "authsign with hosts $h: $st $(cat "$T/authsign.out")"
	st=$(replay "$T/authsign.json" --interface 127.0.0.$a)
	[ "$st" = 400 ] || fail "the retry of authsign with hosts $h: $st $(cat "$T/authsign.out")"
done
grep -q 'white space, a control character or an angle bracket' "$T/authsign.out" || fail "the refusal of a host with a space: $(cat "$T/authsign.out")"
cp "$T/hosts.keep" "$T/authsign.json"
pass "authsign hosts are typed as cfssl types them: an email address is an email name (issued where the profile allows email, else refused by the email rule), a URI is refused as a name type no profile allows; IPv6 in RFC 5952's form; an empty list or a malformed entry is 400, its retry too"

# the auth key stands for the profile's account: disabled (or gone, or no longer a requester) it issues
# nothing, and the refusal does not use the token up (it issued before, whatever the account's state)
cp "$T/authsign.json" "$T/authsign.keep"
fe_account_set_disabled cfssl-client true
st=$(authsign "$(date +%s)" '{"hosts": ["acct.example.com"]}' --interface 127.0.0.22)
[ "$st" = 403 ] && grep -q 'account is disabled, gone or may not request' "$T/authsign.out" \
	|| fail "authsign for a disabled account: $st $(cat "$T/authsign.out")"
fe_account_set_disabled cfssl-client false
st=$(curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"$T/authsign.json" "$URL/api/v1/cfssl/authsign")
[ "$st" = 200 ] || fail "the same body once the account is enabled again: $st $(cat "$T/authsign.out")"
# a signer label other than the profile's issuer is refused, not signed by the issuer anyway; the profile's
# own issuer is fine; profile, label and crl_override must be strings (Go's types), as cfssl would insist
st=$(authsign "$(date +%s)" '{"hosts": ["label.example.com"], "label": "other-ca"}' --interface 127.0.0.22)
[ "$st" = 400 ] && grep -q 'label other-ca is not profile cfssl-server' "$T/authsign.out" || fail "another label: $st $(cat "$T/authsign.out")"
st=$(authsign "$(date +%s)" '{"hosts": ["label.example.com"], "label": "int"}')
[ "$st" = 200 ] || fail "the profile's own issuer as label: $st $(cat "$T/authsign.out")"
for f in '{"profile": 123}' '{"label": true}' '{"crl_override": 5}'; do
	st=$(authsign "$(date +%s)" "$f" --interface 127.0.0.21)
	[ "$st" = 400 ] && grep -q 'must be a string' "$T/authsign.out" || fail "authsign with $f: $st $(cat "$T/authsign.out")"
done
cp "$T/authsign.keep" "$T/authsign.json"
pass "authsign: a disabled account's key issues nothing (403, the token not used up); a label other than the profile's issuer, or a non-string profile, label or crl_override, is refused (400)"

# the tokens seen are in the database: a restart (or another frontend of the database) still refuses the
# replay (until schema 006 a process's memory held them, and the restarted frontend issued again)
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where expires_at > now() + interval '590 s'")" -ge 1 ] \
	|| fail "the token is not held for 600 s: $(pg_psql "$T/pg" owner -c "select seen_at, expires_at from authsign_tokens")"
pg_psql "$T/pg" owner -c "insert into authsign_tokens (token, expires_at) values (decode(repeat('ab', 32), 'hex'), now() - interval '1 s')" >/dev/null
fe_kill; fe_start
st=$(replay "$T/fresh.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$S1" ] || fail "replayed authsign after a restart: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/fresh.json")" = 1 ] || fail "the replay after a restart made another certificate"
[ "$(authsign "$(date +%s)" '{"hosts": ["prune.example.com"]}')" = 200 ] || fail "a new authsign after the restart: $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode(repeat('ab', 32), 'hex')")" = 0 ] \
	|| fail "an expired token was not deleted (by the first token taken after the restart)"
# once its hold has expired the same body is taken again and gets a new certificate (cfssl clients renew by
# sending the same CSR again); within the new hold a replay gets that new one
age "$T/fresh.json"
st=$(replay "$T/fresh.json")
S2=$(out_serial)
[ "$st" = 200 ] && [ "$S2" != "$S1" ] || fail "an expired token was not taken again: $st $(cat "$T/authsign.out")"
st=$(replay "$T/fresh.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$S2" ] || fail "the token taken again does not answer with its certificate: $st"
[ "$(token_certs "$T/fresh.json")" = 2 ] || fail "two takes of one token: not two certificates"
pass "authsign tokens are held in the database for 600 s: a replay after a restart gets the same certificate, expired tokens are deleted, and a token whose hold expired is taken again"

# a certificate revoked (here by the owner: revocation has no API yet) refuses its request's bytes for good,
# within the hold or after it: a captured request must not get a compromised key certified again (until 011
# it did once the 600 s hold was over)
pg_psql "$T/pg" owner -c "$(revoke_sql "$S1")" >/dev/null
refused_for_good() { # BODY ADDRESS STATUS TEXT WHAT: replays of BODY from ADDRESS get STATUS and TEXT, within the
	# hold and after it
	for when in held expired; do
		[ "$when" = held ] || age "$1"
		st=$(replay "$1" --interface "$2")
		[ "$st" = "$3" ] && grep -q "$4" "$T/authsign.out" || fail "$5 ($when): $st $(cat "$T/authsign.out")"
	done
}
refused_for_good "$T/fresh.json" 127.0.0.24 409 "certificate $S1, issued for this exact request, is revoked" \
	"the request of a revoked certificate"
[ "$(token_certs "$T/fresh.json")" = 2 ] || fail "the request of a revoked certificate made another one"
audit_has 'is revoked: send a new CSR' || fail "the refusal of a revoked certificate's request is not audited"
pass "the request bytes of a revoked certificate are refused for good (409, audited), within the token's hold or after it"

# a request that failed for a reason of ours (the signer down: 503) does not use its token up: the row it left
# pending answers a retry as being signed (409), and once recovery has signed it, the retry gets that
# certificate (until now a retry got 401 "replayed" for 600 s)
fe_kill; fe_start "recover_after_seconds = 2"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
st=$(authsign "$(date +%s)" '{"hosts": ["outage.example.com"]}')
[ "$st" = 503 ] || fail "authsign with the signer down: $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/outage.json"
SP=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where authsign_token = decode('$(tok_hex "$T/outage.json")', 'hex') and status = 'pending'")
[ -n "$SP" ] || fail "no pending row for the failed request"
st=$(replay "$T/outage.json")
[ "$st" = 409 ] && grep -q "certificate $SP for this request is being signed" "$T/authsign.out" || fail "retry while pending: $st $(cat "$T/authsign.out")"
signer_start
signer_unseal alice bob carol
for _ in $(seq 150); do
	[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$SP'")" = issued ] && break
	sleep 0.1
done
st=$(replay "$T/outage.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$SP" ] || fail "retry once recovered: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/outage.json")" = 1 ] || fail "the retries made another certificate"
# failed before its intent (the database refusing the frontend's role for a moment): the token is not held
# at all, and the retry issues
pg_psql "$T/pg" owner -c "revoke insert on certificates from hsmca_frontend" >/dev/null
st=$(authsign "$(date +%s)" '{"hosts": ["dbdown.example.com"]}')
pg_psql "$T/pg" owner -c "grant insert on certificates to hsmca_frontend" >/dev/null
[ "${st:0:1}" = 5 ] || fail "authsign without INSERT on certificates: $st $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/authsign.json")', 'hex')")" = 0 ] \
	|| fail "the token of a request that failed before its intent is still held"
st=$(replay)
[ "$st" = 200 ] || fail "retry after a failure before the intent: $st $(cat "$T/authsign.out")"
# the same for bytes that got a certificate in an earlier hold: the old one does not keep the new claim's
# hold, nor answer it (the review found both: a client that renews with the same CSR got its old certificate)
age "$T/outage.json"
pg_psql "$T/pg" owner -c "revoke insert on certificates from hsmca_frontend" >/dev/null
st=$(replay "$T/outage.json")
pg_psql "$T/pg" owner -c "grant insert on certificates to hsmca_frontend" >/dev/null
[ "${st:0:1}" = 5 ] || fail "a second claim without INSERT on certificates: $st $(cat "$T/authsign.out")"
st=$(replay "$T/outage.json")
[ "$st" = 200 ] && [ "$(out_serial)" != "$SP" ] || fail "retry of a second claim: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/outage.json")" = 2 ] || fail "a second claim and its retry: not two certificates in all"
# a request held for approval: its replays are told so whatever the hold, and once approved the certificate
# is the answer (a cfssl client polling until then gets it; it did not before: a new held request)
printf 'cfssl admin password 1\n' > "$T/admin.pw"
"$FRONTEND" bootstrap-admin --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name ops-admin --password-file "$T/admin.pw" >/dev/null \
	|| fail "bootstrap-admin"
st=$(authsign "$(date +%s)" '{"profile": "cfssl-held", "hosts": ["held.example.com"]}')
[ "$st" = 202 ] || fail "authsign under a profile that needs approval: $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/held.json"
SH=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where authsign_token = decode('$(tok_hex "$T/held.json")', 'hex')")
for when in held expired; do
	[ "$when" = held ] || age "$T/held.json"
	st=$(replay "$T/held.json")
	[ "$st" = 202 ] && grep -q "held for approval: certificate $SH is issued once" "$T/authsign.out" \
		|| fail "replay of a held request ($when): $st $(cat "$T/authsign.out")"
done
# the cleanup of expired tokens (a process's first authsign, then once a minute) keeps a token whose request
# is still held or being signed: it deleted it, and the next replay filed the same request again (a second
# held row, and the approved one never delivered)
fe_kill; fe_start "recover_after_seconds = 2"
[ "$(authsign "$(date +%s)" '{"hosts": ["cleanup.example.com"]}')" = 200 ] || fail "a fresh authsign (the cleanup): $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/held.json")', 'hex')")" = 1 ] \
	|| fail "the cleanup deleted the token of a held request"
st=$(replay "$T/held.json")
[ "$st" = 202 ] && grep -q "held for approval: certificate $SH is issued once" "$T/authsign.out" \
	|| fail "replay of a held request after the cleanup: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/held.json")" = 1 ] || fail "a held request filed again after the cleanup"
AID=$(pg_psql "$T/pg" owner -c "select id from approvals where object = '$SH'")
st=$(curl -sS -o "$T/approve.out" -w '%{http_code}' -X POST -u "ops-admin:cfssl admin password 1" "$URL/api/v1/approvals/$AID/approve")
[ "$st" = 200 ] || fail "approve the held authsign request: $st $(cat "$T/approve.out")"
st=$(replay "$T/held.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$SH" ] || fail "poll after the approval: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/held.json")" = 1 ] || fail "polling a held request made another one"
# ... also after the next cleanup: a token whose certificate was issued within the hold's length stays (it was
# deleted, its request being neither held nor pending, and the next poll filed the same request again: 202)
fe_kill; fe_start "recover_after_seconds = 2"
[ "$(authsign "$(date +%s)" '{"hosts": ["cleanup2.example.com"]}')" = 200 ] || fail "a fresh authsign (the second cleanup): $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/held.json")', 'hex')")" = 1 ] \
	|| fail "the cleanup deleted the token of a request approved and issued just now"
st=$(replay "$T/held.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$SH" ] || fail "poll after the approval and a cleanup: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/held.json")" = 1 ] || fail "polling an approved request after a cleanup made another one"
# ... and, approved, for as long as an approval may take: a client polling less often than the hold still gets
# it (before, once it had been issued longer ago than 600 s, the poll filed the same request again for a new
# approval, and a client polling hourly never got a certificate); past that the cleanup deletes the token
age "$T/held.json"
age "$T/outage.json" # issued without an approval (by the recovery pass, above): its token goes after the hold
fe_kill; fe_start "recover_after_seconds = 2"
[ "$(authsign "$(date +%s)" '{"hosts": ["cleanup3.example.com"]}')" = 200 ] || fail "a fresh authsign (the third cleanup): $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/held.json")', 'hex')")" = 1 ] \
	|| fail "the cleanup deleted the token of an approved request issued 700 s ago"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/outage.json")', 'hex')")" = 0 ] \
	|| fail "the cleanup kept the token of a request issued 700 s ago without an approval"
st=$(replay "$T/held.json")
[ "$st" = 200 ] && [ "$(out_serial)" = "$SH" ] || fail "poll 700 s after the approval: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/held.json")" = 1 ] || fail "polling an approved request 700 s later filed it again"
age "$T/held.json" $((8 * 86400))
fe_kill; fe_start "recover_after_seconds = 2"
[ "$(authsign "$(date +%s)" '{"hosts": ["cleanup4.example.com"]}')" = 200 ] || fail "a fresh authsign (the fourth cleanup): $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from authsign_tokens where token = decode('$(tok_hex "$T/held.json")', 'hex')")" = 0 ] \
	|| fail "the cleanup kept the token of an approved request issued 8 days ago"
# a cleanup that fails (here the role may not DELETE for a moment) costs the request that ran it nothing: it is
# logged and the request issues (before: 503, the database named as unavailable)
fe_kill; fe_start "recover_after_seconds = 2"
pg_psql "$T/pg" owner -c "revoke delete on authsign_tokens from hsmca_frontend" >/dev/null
st=$(authsign "$(date +%s)" '{"hosts": ["prunefail.example.com"]}')
pg_psql "$T/pg" owner -c "grant delete on authsign_tokens to hsmca_frontend" >/dev/null
[ "$st" = 200 ] || fail "authsign whose cleanup failed: $st $(cat "$T/authsign.out")"
grep -q "pid=$FRONTEND_PID level=warn event=authsign_prune_failed " "$T/frontend.log" || fail "the failed cleanup was not logged"
# a held request an administrator rejects stays rejected: its replays get 403 naming it, also once the hold has
# ended (before: 502 with the reason within the hold, then the same request filed again for a new approval)
st=$(authsign "$(date +%s)" '{"profile": "cfssl-held", "hosts": ["rejected.example.com"]}')
[ "$st" = 202 ] || fail "authsign held (to be rejected): $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/rej.json"
SR=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where authsign_token = decode('$(tok_hex "$T/rej.json")', 'hex')")
AR=$(pg_psql "$T/pg" owner -c "select id from approvals where object = '$SR'")
st=$(curl -sS -o "$T/approve.out" -w '%{http_code}' -X POST -u "ops-admin:cfssl admin password 1" \
	-d '{"reason": "not for this host"}' "$URL/api/v1/approvals/$AR/reject")
[ "$st" = 200 ] || fail "reject the held authsign request: $st $(cat "$T/approve.out")"
refused_for_good "$T/rej.json" 127.0.0.29 403 "certificate $SR, requested with this exact request, was rejected by an administrator" \
	"replay of a rejected request"
for i in 1 2 3 4 5 6; do # an answer from a row: a client may poll it (not counted as a failed proof: no 429)
	st=$(replay "$T/rej.json" --interface 127.0.0.29)
	[ "$st" = 403 ] || fail "poll $i of a rejected request: $st $(cat "$T/authsign.out")"
done
[ "$(token_certs "$T/rej.json")" = 1 ] || fail "a rejected request was filed again"
pass "a held authsign request an administrator rejected is refused for good (403 naming it, polls not limited), never filed again"
approve_token() { # approve_token BODY: approves the held request of BODY's token (the approval's status in $st)
	local s a; s=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where authsign_token = decode('$(tok_hex "$1")', 'hex')")
	a=$(pg_psql "$T/pg" owner -c "select id from approvals where object = '$s'")
	st=$(curl -sS -o "$T/approve.out" -w '%{http_code}' -X POST -u "ops-admin:cfssl admin password 1" "$URL/api/v1/approvals/$a/approve")
	TOK_SERIAL=$s
}
# approved, then refused by the signer: polls are told so (502, the reason) for as long as an approval may
# take, not only within the hold (after it, the same request was filed again for a new approval)
st=$(authsign "$(date +%s)" '{"profile": "cfssl-held-long", "hosts": ["long.example.com"]}')
[ "$st" = 202 ] || fail "authsign held (cfssl-held-long): $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/long.json"
approve_token "$T/long.json"
[ "$st" = 502 ] || fail "approving what the signer refuses: $st $(cat "$T/approve.out")"
age "$T/long.json"
st=$(replay "$T/long.json" --interface 127.0.0.31)
[ "$st" = 502 ] && grep -q "certificate $TOK_SERIAL for this exact request failed" "$T/authsign.out" \
	|| fail "poll 700 s after an approval the signer refused: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/long.json")" = 1 ] || fail "polling an approved request the signer refused filed it again"
# an approved certificate that has expired is no answer: the same bytes are a new request then
st=$(authsign "$(date +%s)" '{"profile": "cfssl-held", "hosts": ["gone.example.com"]}')
[ "$st" = 202 ] || fail "authsign held (to expire): $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/gone.json"
approve_token "$T/gone.json"
[ "$st" = 200 ] || fail "approve (to expire): $st $(cat "$T/approve.out")"
pg_psql "$T/pg" owner -c "begin; alter table certificates disable trigger user; update certificates set
	not_after = now() - interval '1 s' where serial_hex = '$TOK_SERIAL'; alter table certificates enable trigger user; commit" >/dev/null
age "$T/gone.json"
st=$(replay "$T/gone.json" --interface 127.0.0.31)
[ "$st" = 202 ] && [ "$(token_certs "$T/gone.json")" = 2 ] || fail "poll of an approved certificate since expired: $st $(cat "$T/authsign.out")"
pass "an approved authsign request is answered for as long as an approval may take: refused by the signer, 502 with the reason; issued, its certificate until it expires, then the same bytes are a new request"
# a request the signer refuses (here a key label it does not hold: 502, the row failed) is told so again on
# every retry within the hold (502 with the reason); it was refused as a replay (401, audited) and counted
# as a failed proof, so that a client retrying a few times locked its address out (429)
refused_replays() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details like '%produced no certificate%'"; }
st=$(authsign "$(date +%s)" '{"profile": "cfssl-nokey", "hosts": ["nokey.example.com"]}' --interface 127.0.0.27)
[ "$st" = 502 ] && grep -q 'no key with this label' "$T/authsign.out" || fail "authsign under a key the signer lacks: $st $(cat "$T/authsign.out")"
cp "$T/authsign.json" "$T/nokey.json"
SN=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where authsign_token = decode('$(tok_hex "$T/nokey.json")', 'hex') and status = 'failed'")
[ -n "$SN" ] || fail "no failed row for the refused request"
r0=$(refused_replays)
for i in 1 2 3 4 5 6; do
	st=$(replay "$T/nokey.json" --interface 127.0.0.27)
	[ "$st" = 502 ] && grep -q "certificate $SN for this exact request failed: .*no key with this label" "$T/authsign.out" \
		|| fail "retry $i of a request the signer refused: $st $(cat "$T/authsign.out")"
done
[ "$(refused_replays)" = "$r0" ] || fail "a retry of a request the signer refused was audited as a replay"
[ "$(token_certs "$T/nokey.json")" = 1 ] || fail "the retries of a request the signer refused made more rows"
# once its hold is over, the same bytes are a new request (they were told the old failure for as long as the
# token's row lasted, which on a quiet appliance was for ever: only another request's claim prunes)
age "$T/nokey.json"
st=$(replay "$T/nokey.json" --interface 127.0.0.27)
[ "$st" = 502 ] && grep -q 'no key with this label' "$T/authsign.out" && ! grep -q "certificate $SN for this exact request failed" "$T/authsign.out" \
	|| fail "the same bytes after the hold of a refused request: $st $(cat "$T/authsign.out")"
[ "$(token_certs "$T/nokey.json")" = 2 ] || fail "the same bytes after the hold were not taken as a new request"
pass "an authsign that failed for a reason of ours does not use its token up (a retry is told the pending row is being signed, 409, then gets the recovered certificate; one that failed before its intent issues on retry, also for bytes an earlier hold certified); a held request's replays are told so (202, also after the cleanup of expired tokens) until it is approved, then get its certificate, also after a cleanup of expired tokens; a request the signer refused is told so again on retry (502, not a replay) until its hold ends, then taken anew"

# failed authsign proofs are limited per address like logins: 5 refusals (audited), then 429 unaudited,
# even for a good body; another address is unaffected
refused() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'"; }
python3 - "$T/authsign.json" "$T/badtoken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["token"] = "A" + d["token"][1:] if d["token"][0] != "A" else "B" + d["token"][1:]
json.dump(d, open(sys.argv[2], "w"))
PY
r0=$(refused)
for i in 1 2 3 4 5; do
	st=$(curl -sS -o "$T/authsign.out" -w '%{http_code}' --interface 127.0.0.13 --data-binary @"$T/badtoken.json" "$URL/api/v1/cfssl/authsign")
	[ "$st" = 401 ] || fail "bad token $i from 127.0.0.13: $st $(cat "$T/authsign.out")"
done
[ "$(refused)" = $((r0 + 5)) ] || fail "the five bad tokens were not audited"
python3 - "$T/c1.csr" "$KEY" > "$T/good-authsign.json" <<'PY'
import base64, hashlib, hmac, json, sys
req = json.dumps({"hosts": ["limited.example.com"], "certificate_request": open(sys.argv[1]).read(),
                  "profile": "cfssl-server", "crl_override": "", "label": ""}).encode()
tok = hmac.new(bytes.fromhex(sys.argv[2]), req, hashlib.sha256).digest()
print(json.dumps({"token": base64.b64encode(tok).decode(), "request": base64.b64encode(req).decode()}))
PY
st=$(curl -sS -o "$T/authsign.out" -w '%{http_code}' --interface 127.0.0.13 --data-binary @"$T/good-authsign.json" "$URL/api/v1/cfssl/authsign")
[ "$st" = 429 ] || fail "a good authsign body from a limited address: $st $(cat "$T/authsign.out")"
grep -q '"success": *false' "$T/authsign.out" || fail "429 not in CFSSL's error form: $(cat "$T/authsign.out")"
[ "$(refused)" = $((r0 + 5)) ] || fail "a rate-limited authsign wrote to the audit log"
st=$(curl -sS -o "$T/authsign.out" -w '%{http_code}' --data-binary @"$T/good-authsign.json" "$URL/api/v1/cfssl/authsign")
[ "$st" = 200 ] || fail "the same good body from another address: $st $(cat "$T/authsign.out")"
pass "failed authsign proofs are limited per address (429 after 5, not audited); other addresses unaffected"

# refusals before the token is taken name no account: a bad token proves no key, and a good one may be a
# captured request sent again (a stale timestamp, a replay, the bytes of a revoked certificate's request, a
# request for a disabled account or with another label); their actor is "-" (it was the profile's account, so
# anyone without the key could write rows in its name)
refused_by() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details like '%$1%' and actor $2"; }
for what in "bad authsign token" "stale timestamp or replayed token" "issued for this exact request, is revoked" \
	"cfssl_account cfssl-client is disabled" "label other-ca is not profile"; do
	[ "$(refused_by "$what" "= '-'")" -ge 1 ] && [ "$(refused_by "$what" "<> '-'")" = 0 ] \
		|| fail "refusal '$what': actors $(pg_psql "$T/pg" owner -c "select string_agg(distinct actor, ',') from audit_log where details like '%$what%'")"
done
pass "authsign refusals before the token is taken (bad token, stale or replayed, revoked request, disabled account, another label) are audited with actor -, not the profile's account"
curl -fsS "$URL/api/v1/cfssl/health" | grepq '"healthy": true' || fail "cfssl health"

# ---- /sign with the caller's own credentials (cfssl_sign): `cfssl sign -remote` sends HTTP Basic from the
# user information of the remote's URL (Go's HTTP client); the requester is the caller's account ----
fe_requester signreq
fe_requester outsider # a requester the cfssl-server profile does not list
BASIC_URL="http://signreq:signreq%20password%200001@localhost:$PORT"
csr c2 ec:P-256 "DNS:ignored.example.com"
cfssl sign -remote "$BASIC_URL" -profile cfssl-server -hostname basic.example.com "$T/c2.csr" \
	> "$T/basic.out" 2> "$T/basic.err" || fail "cfssl sign -remote with credentials: $(tail -2 "$T/basic.err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cert"], end="")' "$T/basic.out" > "$T/basic.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/basic.pem" >/dev/null || fail "verify /sign certificate"
openssl x509 -in "$T/basic.pem" -noout -ext subjectAltName | grepq 'DNS:basic.example.com' || fail "/sign: hosts did not become the SANs"
BSERIAL=$(openssl x509 -in "$T/basic.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
[ "$(pg_psql "$T/pg" owner -c "select requester || ' ' || profile || ' ' || status from certificates where ltrim(serial_hex, '0') = '$BSERIAL'")" = "signreq cfssl-server issued" ] \
	|| fail "/sign: the row of $BSERIAL is not signreq's issued certificate"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.issued' and actor = 'signreq' and ltrim(object, '0') = '$BSERIAL'")" = 1 ] \
	|| fail "/sign: no audit row of the issuance by signreq"
pass "cfssl sign -remote with a requester's HTTP Basic credentials issues through /sign, recorded and audited as that requester"
# a request file as `openssl req -text` writes it, its dump before the PEM block: cfssl's client sends the file
# as it is, and cfssl serve takes it (Go's pem.Decode skips text before the block; RFC 7468 5.2)
openssl req -new -text -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/c3.key" -subj "/CN=ignored" \
	-out "$T/c3.csr" 2>/dev/null || fail "openssl req -text"
grep -q '^Certificate Request:' "$T/c3.csr" || fail "openssl req -text wrote no text before the block"
cfssl sign -remote "$BASIC_URL" -profile cfssl-server -hostname text.example.com "$T/c3.csr" \
	> "$T/text.out" 2> "$T/text.err" || fail "cfssl sign -remote of a request with text before its PEM: $(tail -2 "$T/text.err")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cert"], end="")' "$T/text.out" > "$T/text.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/text.pem" >/dev/null || fail "verify the text request's certificate"
pass "cfssl sign -remote of a request file from \`openssl req -text\` (text before the PEM block) issues"

cfssl_sign() { # cfssl_sign BODY-FILE [curl args]: POSTs to /sign, prints the HTTP status, the body in $T/sign.out
	local body=$1
	shift
	curl -sS -o "$T/sign.out" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$body" "$@" "$URL/api/v1/cfssl/sign"
}
sign_body() { # sign_body CSR PROFILE HOST > file
	python3 -c 'import json,sys; print(json.dumps({"hosts": [sys.argv[3]], "certificate_request": open(sys.argv[1]).read(), "profile": sys.argv[2], "label": "", "crl_override": ""}))' "$@"
}
cfssl_err() { # cfssl_err STATUS WHAT: the last /sign answer was that status with a CFSSL error body naming WHAT
	[ "$ST" = "$1" ] || fail "$2: status $ST, want $1: $(cat "$T/sign.out")"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["success"] is False and d["result"] is None and d["errors"][0]["code"] == int(sys.argv[2]) and d["errors"][0]["message"]' \
		"$T/sign.out" "$1" || fail "$2: not a CFSSL error body: $(cat "$T/sign.out")"
}
rows() { pg_psql "$T/pg" owner -c "select count(*) from certificates"; }
sign_body "$T/c2.csr" cfssl-server sign.example.com > "$T/sign.json"
R0=$(rows)
ST=$(cfssl_sign "$T/sign.json"); cfssl_err 401 "no credentials"
grep -q 'unauthenticated signing is disabled' "$T/sign.out" || fail "no credentials: the refusal does not say why: $(cat "$T/sign.out")"
# each refusal without credentials is audited (actor -) and counted against the address like malformed
# credentials: after 5, 429 without an audit row, so they cannot flood the audit log (none was audited before)
nocred() { pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and actor = '-' and details like '%no credentials%'"; }
N0=$(nocred)
for i in 1 2 3 4 5; do ST=$(cfssl_sign "$T/sign.json" --interface 127.0.0.25); cfssl_err 401 "no credentials ($i) from 127.0.0.25"; done
[ "$(nocred)" = $((N0 + 5)) ] || fail "5 refusals without credentials: $(($(nocred) - N0)) audit rows"
ST=$(cfssl_sign "$T/sign.json" --interface 127.0.0.25); cfssl_err 429 "a sixth request without credentials from one address"
ST=$(cfssl_sign "$T/sign.json" --interface 127.0.0.25 -u "signreq:signreq password 0001"); cfssl_err 429 "the right password from that address"
[ "$(nocred)" = $((N0 + 5)) ] || fail "a rate-limited request without credentials was audited"
ST=$(cfssl_sign "$T/sign.json" -u "signreq:wrong password"); cfssl_err 401 "a wrong password"
ST=$(cfssl_sign "$T/sign.json" -u "outsider:outsider password 0001"); cfssl_err 403 "an account the profile does not list"
grep -q 'may not use this profile' "$T/sign.out" || fail "outsider: $(cat "$T/sign.out")"
printf '{"certificate_request": 7' > "$T/bad.json"
ST=$(cfssl_sign "$T/bad.json" -u "signreq:signreq password 0001"); cfssl_err 400 "malformed JSON"
printf '{"certificate_request": "x", "subject": {}}' > "$T/bad.json"
ST=$(cfssl_sign "$T/bad.json" -u "signreq:signreq password 0001"); cfssl_err 400 "an unsupported field"
grep -q 'unsupported request field subject' "$T/sign.out" || fail "unsupported field: $(cat "$T/sign.out")"
sign_body "$T/c2.csr" nosuch sign.example.com > "$T/bad.json"
ST=$(cfssl_sign "$T/bad.json" -u "signreq:signreq password 0001"); cfssl_err 400 "an unknown profile"
[ "$(rows)" = "$R0" ] || fail "a refused /sign left a certificate row"
for why in 'wrong credentials' 'may not use this profile' 'malformed sign request' 'unsupported request field subject' 'no such profile'; do
	[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details like '%$why%'")" -ge 1 ] \
		|| fail "/sign refusal not audited: $why"
done
pass "/sign without credentials (counted per address: 429 after 5, not audited), with a wrong password, for an account the profile does not list, with bad JSON, an unknown field or an unknown profile: CFSSL error bodies (401/403/400), audited, no certificate row"

# API keys: one bound to another profile (one keyreq may use: create-apikey checks that) is refused; one bound
# to this profile issues
fe_requester keyreq
SKEY=$("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account keyreq --profile cfssl-login)
CKEY=$("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account keyreq --profile cfssl-server)
ST=$(cfssl_sign "$T/sign.json" -H "Authorization: Bearer $SKEY"); cfssl_err 403 "an API key bound to another profile"
grep -q 'bound to another profile' "$T/sign.out" || fail "bound key: $(cat "$T/sign.out")"
ST=$(cfssl_sign "$T/sign.json" -H "Authorization: Bearer $CKEY")
[ "$ST" = 200 ] || fail "/sign with an API key: $ST $(cat "$T/sign.out")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["success"] is True; print(d["result"]["certificate"], end="")' "$T/sign.out" > "$T/key.pem" \
	|| fail "/sign with an API key: $(cat "$T/sign.out")"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/key.pem" >/dev/null || fail "verify the API key's certificate"
# its request is on the record as a machine's (a login certificate it renews into never logs in: frontend_lifecycle)
[ "$(pg_psql "$T/pg" owner -c "select details::jsonb->>'credential' from audit_log where action = 'certificate.requested'
	and actor = 'keyreq' and details::jsonb->>'via' = 'cfssl-sign' order by id desc limit 1")" = api-key ] \
	|| fail "/sign with an API key is not recorded as one"
# a login profile's certificate logs a person in: never for an API key, even one bound to that profile
LKEY=$("$FRONTEND" create-apikey --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --profiles "$T/profiles.conf" --account keyreq --profile cfssl-login)
sign_body "$T/c2.csr" cfssl-login sign.example.com > "$T/login.json"
R1=$(rows)
ST=$(cfssl_sign "$T/login.json" -H "Authorization: Bearer $LKEY"); cfssl_err 403 "an API key asking for a login certificate"
grep -q 'not with an API key' "$T/sign.out" || fail "login by key: $(cat "$T/sign.out")"
[ "$(rows)" = "$R1" ] || fail "an API key's login certificate request stored a row"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused' and details::jsonb->>'code' = 'api-key-forbidden'")" = 1 ] \
	|| fail "the API key's login refusal is not audited"
pass "/sign with an API key: refused when the key is bound to another profile, issued when bound to this one; never a login profile's certificate"

# the body newer cfssl clients (1.4+) marshal: Go's zero values of NotBefore, NotAfter, ReturnPrecert and
# metadata are accepted; values that ask for something this CA does not do are refused, naming the field
newer() { # newer FIELD=JSON...: the sign body with cfssl 1.6's extra fields, some overridden
	python3 - "$T/c2.csr" "$@" > "$T/newer.json" <<'PY'
import json, sys
d = {"hosts": ["sign.example.com"], "certificate_request": open(sys.argv[1]).read(), "profile": "cfssl-server",
     "crl_override": "", "label": "", "NotBefore": "0001-01-01T00:00:00Z", "NotAfter": "0001-01-01T00:00:00Z",
     "ReturnPrecert": False, "metadata": None}
for a in sys.argv[2:]:
    k, v = a.split("=", 1); d[k] = json.loads(v)
print(json.dumps(d))
PY
	cfssl_sign "$T/newer.json" -H "Authorization: Bearer $CKEY"
}
ST=$(newer); [ "$ST" = 200 ] || fail "/sign with cfssl 1.6's zero-valued fields: $ST $(cat "$T/sign.out")"
ST=$(newer 'metadata={}'); [ "$ST" = 200 ] || fail "/sign with empty metadata: $ST $(cat "$T/sign.out")"
R1=$(rows)
ST=$(newer 'NotAfter="2030-01-01T00:00:00Z"'); cfssl_err 400 "NotAfter set"
grep -q 'NotAfter is not supported' "$T/sign.out" || fail "NotAfter: $(cat "$T/sign.out")"
ST=$(newer 'NotBefore=0'); cfssl_err 400 "NotBefore not a time"
ST=$(newer 'ReturnPrecert=true'); cfssl_err 400 "ReturnPrecert set"
grep -q 'ReturnPrecert is not supported' "$T/sign.out" || fail "ReturnPrecert: $(cat "$T/sign.out")"
ST=$(newer 'metadata={"owner": "x"}'); cfssl_err 400 "metadata set"
[ "$(rows)" = "$R1" ] || fail "a refused newer-client body left a certificate row"
# cfssl's sign handler takes "bundle" (false) and "hostname", names split at commas that win over hosts
ST=$(newer 'bundle=false'); [ "$ST" = 200 ] || fail "/sign with bundle false: $ST $(cat "$T/sign.out")"
R1=$(rows)
ST=$(newer 'bundle=true'); cfssl_err 400 "bundle set"
grep -q 'bundle is not supported' "$T/sign.out" || fail "bundle: $(cat "$T/sign.out")"
ST=$(newer 'hosts=[]'); cfssl_err 400 "an empty hosts list"
grep -q 'an empty list' "$T/sign.out" || fail "hosts []: $(cat "$T/sign.out")"
ST=$(newer 'hostname="a,,b.example.com"'); cfssl_err 400 "an empty name in hostname"
[ "$(rows)" = "$R1" ] || fail "a refused newer-client body left a certificate row"
ST=$(newer 'hostname="h1.example.com,h2.example.com"'); [ "$ST" = 200 ] || fail "/sign with hostname: $ST $(cat "$T/sign.out")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"]["certificate"])' "$T/sign.out" > "$T/hostname.pem"
openssl x509 -in "$T/hostname.pem" -noout -ext subjectAltName | grepq '^ *DNS:h1\.example\.com, DNS:h2\.example\.com$' \
	|| fail "hostname's names: $(openssl x509 -in "$T/hostname.pem" -noout -ext subjectAltName)"
R1=$(rows)
pass "/sign takes newer cfssl clients' bodies (zero NotBefore/NotAfter, ReturnPrecert false, metadata null or {}); set, each is refused by name; bundle false and hostname (split at commas, over hosts) as cfssl's handler takes them"

# a signer's refusal whose failed state cannot be recorded (the database connection lost at that statement,
# libpqshim) is 503 naming the row, which stays pending for the recovery pass (an unknown key label is final
# for a live request only: recovery signs it once the signer has the key); before, 502 "refused", so a client
# asked again and two certificates could come of one request. The async path (POST, a password) and
# issue_core's (authsign)
fe_kill
LD_PRELOAD="$HSMCA_BUILD/tests/tools/libpqshim.so" HSMCA_TEST_PQ_DROP_TIMES=1000 \
	HSMCA_TEST_PQ_DROP_BEFORE="UPDATE certificates SET status = 'failed', failure_reason = \$2 WHERE serial_hex = \$1 AND status = 'pending'" \
	fe_start
csr unrec ec:P-256 "DNS:unrec.example.com"
issue_req "$T/unrec.csr" cfssl-nokey -u "cfssl-client:cfssl-client password 0001" --interface 127.0.0.41
[ "$STATUS" = 503 ] && [ "$(json_field '["error"]["code"]')" = unavailable ] && grep -q 'but that could not be recorded' <<<"$BODY" \
	|| fail "a refusal not recorded (POST): $STATUS $BODY"
US=$(sed -n 's/.*certificate \([0-9a-f]*\) stays pending.*/\1/p' <<<"$BODY")
[ -n "$US" ] && [ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$US'")" = pending ] \
	|| fail "the unrecorded refusal's row (POST): '$US' $(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$US'")"
st=$(authsign "$(date +%s)" '{"profile": "cfssl-nokey", "hosts": ["unrec2.example.com"]}' --interface 127.0.0.41)
[ "$st" = 503 ] && grep -q 'but that could not be recorded' "$T/authsign.out" || fail "a refusal not recorded (authsign): $st $(cat "$T/authsign.out")"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where authsign_token = decode('$(tok_hex "$T/authsign.json")', 'hex')")" = pending ] \
	|| fail "the unrecorded refusal's row (authsign) is not pending"
fe_kill
fe_start
pass "a signer's refusal whose failed state cannot be recorded: 503 naming the row, left pending (POST and authsign)"

# repeated wrong passwords on /sign are limited like any login: 429 in CFSSL's error form (last: it limits this address)
for _ in 1 2 3 4 5 6; do ST=$(cfssl_sign "$T/sign.json" -u "outsider:not the password"); done
cfssl_err 429 "the sixth wrong password in a row"
ST=$(cfssl_sign "$T/sign.json" -u "outsider:outsider password 0001"); cfssl_err 429 "the right password while limited"
pass "/sign: repeated wrong passwords get 429 (CFSSL error body), the right one too while the limit holds"
