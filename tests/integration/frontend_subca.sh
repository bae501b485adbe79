#!/usr/bin/env bash
# CA profiles (ca = yes): a subordinate CA certificate from a CSR, with basicConstraints cA and the profile's
# path_length, keyCertSign, and the profile's DNS suffixes and IP ranges as critical nameConstraints. Real
# clients check what it may do: openssl and GnuTLS certtool accept a leaf it signs inside its names, openssl
# refuses one outside them (permitted subtree) and a CA below it (path length). A profile whose path_length
# its issuer's pathLenConstraint does not leave room for stops the frontend at start-up. The signer's pinned
# profile for the key (ca_permitted) bounds the name constraints of every CA certificate it signs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
# a root with room for two CAs below it, an intermediate with room for one; the intermediate's pinned profile
# lets it sign CA certificates (no deeper than path length 0) as well as leaves
export CEREMONY_ROOT_PATHLEN=2 CEREMONY_INT_PATHLEN=1 SIGNER_KEY_CA=yes
# the intermediate named as an hsmca-issued sub-CA is, CN=<a DNS name>: a request for that name must not get a
# certificate whose subject is its issuer's name (self-issued, which path validation exempts from constraints)
export CEREMONY_INT_SUBJECT=/CN=int.team.example.com
export SIGNER_KEY_KU="digitalSignature, keyEncipherment, keyCertSign, cRLSign"
# and only within these names: every CA certificate it signs must carry name constraints inside them,
# subject names (directoryName) included
# (and every certificate it signs, the CAs' own names too, only for names under example.com and in 10.0.0.0/8:
# leaf_permitted, which the CA pin must lie within)
export SIGNER_KEY_EXTRA="ca_permitted = DNS:.team.example.com, DNS:.dns.example.com, IP:10.20.0.0/16
ca_permitted_dn = /C=US/O=Example
leaf_permitted = DNS:example.com, IP:10.0.0.0/8"
fe_setup_backend
fe_profiles
# the shared server profile within this key's leaf pin (the frontend refuses to start otherwise: signerfit.c)
sed -i 's/^dns_suffixes = .example.com, example.net$/dns_suffixes = .example.com/; s|^ip_ranges = 10.0.0.0/8, fd00::/8$|ip_ranges = 10.0.0.0/8|' "$T/profiles.conf"
ca_profile() { # ca_profile NAME PATH_LENGTH DNS_SUFFIXES [IP_RANGES]: appends a CA profile (p256, one name;
	# CA_EKU: its eku line, by default the signer key's pinned EKUs, which a CA certificate must carry too;
	# CA_DN: its dn_prefix, by default /C=US/O=Example/OU=Team, none if empty)
	cat >> "$T/profiles.conf" <<EOC

[profile $1]
issuer = int
issuer_cert = $T/ca/int.pem
ca = yes
path_length = $2
key_types = p256${4:+, p384}
dns_suffixes = $3
${4:+ip_ranges = $4}
$(dn="${CA_DN-/C=US/O=Example/OU=Team}"; [ -n "$dn" ] && echo "dn_prefix = $dn")
max_sans = 1
max_validity_days = 365
key_usage = keyCertSign, cRLSign${4:+, digitalSignature}
${CA_EKU-eku = serverAuth, clientAuth}
accounts = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
}
team_ca() { ca_profile team-ca "$1" .team.example.com 10.20.0.0/16; } # also P-384 keys and digitalSignature
fe_restart() { fe_kill; fe_start; }
cp "$T/profiles.conf" "$T/profiles.base"

# ---- a path_length its issuer has no room for: the frontend does not start ----
team_ca 1
fe_conf
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'profile team-ca: path_length 1 must be below the pathLenConstraint 1 of its issuer' <<<"$OUT" \
	|| fail "start-up with path_length 1 under an issuer with pathlen 1: $OUT"
pass "a CA profile whose path_length its issuer's pathLenConstraint does not allow stops the frontend at start-up, saying why"

cp "$T/profiles.base" "$T/profiles.conf"
team_ca 0
fe_start
fe_requester alice

# ---- the subordinate CA certificate ----
csr sub ec:P-256 "DNS:ca.team.example.com"
issue_req "$T/sub.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "issue the team CA: $STATUS $BODY"
json_field '["certificate"]' > "$T/sub.pem"
SUB_SERIAL=$(json_field '["serial"]')
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/sub.pem" >/dev/null || fail "verify the team CA"
openssl x509 -in "$T/sub.pem" -noout -text > "$T/sub.txt"
grep -A1 'X509v3 Basic Constraints: critical' "$T/sub.txt" | grepq 'CA:TRUE, pathlen:0' || fail "basicConstraints: $(cat "$T/sub.txt")"
grep -A1 'X509v3 Key Usage: critical' "$T/sub.txt" | grepq 'Digital Signature, Certificate Sign, CRL Sign' || fail "keyUsage"
grep -A10 'X509v3 Name Constraints: critical' "$T/sub.txt" | tr -d ' \n' | grepq 'Permitted:DNS:.team.example.comemail:.team.example.comURI:.team.example.comIP:10.20.0.0/255.255.0.0DirName:C=US,O=Example,OU=TeamExcluded:IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0' \
	|| fail "nameConstraints: $(grep -A9 'Name Constraints' "$T/sub.txt")"
grep -A1 'X509v3 Extended Key Usage' "$T/sub.txt" | grepq 'TLS Web Server Authentication, TLS Web Client Authentication' \
	|| fail "the CA's extendedKeyUsage: $(grep -A1 'Extended Key Usage' "$T/sub.txt")"
[ "$(pg_psql "$T/pg" owner -c "select profile || ' ' || status from certificates where serial_hex = '$SUB_SERIAL'")" = "team-ca issued" ] \
	|| fail "the team CA's row"
pass "a CA profile issues a subordinate CA: basicConstraints cA with pathlen 0 (critical), keyCertSign and cRLSign, nameConstraints from the DNS suffixes (DNS and email), IP ranges and dn_prefix (critical), IPv6 (no range) excluded, the EKUs the signer pins"

# ---- the team CA cannot be a frontend's issuer: its dn_prefix constraint would refuse the CN=<name> subjects
# the frontend writes, so the frontend does not start with it ----
cp "$T/profiles.conf" "$T/profiles.keep"
printf '\n[profile under-team]\nissuer = int\nissuer_cert = %s\nkey_types = p256\ndns_suffixes = .team.example.com\nmax_sans = 1\nmax_validity_days = 30\nkey_usage = digitalSignature\neku = serverAuth\naccounts = alice\ncrl_url = http://127.0.0.1/c.crl\nocsp_url = http://127.0.0.1/ocsp\n' \
	"$T/sub.pem" >> "$T/profiles.conf"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "profile under-team: issuer $T/sub.pem permits only subjects under a directory name" <<<"$OUT" \
	|| fail "start-up under a DN-constrained issuer: $OUT"
cp "$T/profiles.keep" "$T/profiles.conf"
# the same for such a CA anywhere in the chain the frontend serves (above an issuer, it binds it too)
cp "$T/chain.pem" "$T/chain.keep"
cat "$T/sub.pem" >> "$T/chain.pem"
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -q "a CA in chain $T/chain.pem permits only subjects under a directory name" <<<"$OUT" \
	|| fail "start-up with a DN-constrained CA in the chain: $OUT"
cp "$T/chain.keep" "$T/chain.pem"
pass "a profile whose issuer constrains directory names (a CA issued with dn_prefix), or such a CA in the chain, stops the frontend at start-up, saying why"

# ---- what clients make of certificates the team CA signs (the team CA's key is the CSR's) ----
cat "$T/ca/int.pem" "$T/sub.pem" > "$T/untrusted.pem"
sign_with() { # CA NAME SAN [BASIC-CONSTRAINTS] [MORE-KEY-USAGE]: a certificate for a new key, signed by $T/CA.pem
	# (SUBJ: its subject, by default /C=US/O=Example/OU=Team/CN=NAME, inside the CA profiles' dn_prefix)
	local ca=$1
	shift
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-subj "${SUBJ:-/C=US/O=Example/OU=Team/CN=$1}" \
		-out "$T/$1.req" 2>/dev/null
	printf 'subjectAltName = %s\nbasicConstraints = %s\nkeyUsage = critical, digitalSignature%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' \
		"$2" "${3:-critical, CA:FALSE}" "${4:-}" > "$T/$1.ext"
	openssl x509 -req -in "$T/$1.req" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" -CAcreateserial -days 30 -sha256 \
		-extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null || fail "sign $1 with $ca"
}
sign_with_team_ca() { sign_with sub "$@"; }
sign_with_team_ca inside "DNS:www.team.example.com, IP:10.20.1.2"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/inside.pem" > "$T/v.txt" 2>&1 \
	|| fail "a leaf inside the team CA's names: $(cat "$T/v.txt")"
command -v certtool >/dev/null || fail "certtool (gnutls-bin) not installed"
cat "$T/inside.pem" "$T/sub.pem" "$T/ca/int.pem" > "$T/inside-chain.pem"
certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root.pem" --infile "$T/inside-chain.pem" \
	> "$T/ct.txt" 2>&1 || true
grep -q 'Chain verification output: Verified' "$T/ct.txt" || fail "certtool: $(tail -5 "$T/ct.txt")"
# (an IPv6 address: the profile has only an IPv4 range, so IPv6 is excluded whole; GnuTLS constrains only the
# address families permitted subtrees name, so without the exclusion certtool took it)
for bad in "DNS:www.example.org" "DNS:team.example.com" "DNS:www.team.example.com, IP:10.21.0.1" \
	"DNS:www.team.example.com, IP:2001:db8::1" "DNS:www.team.example.com, email:someone@example.org"; do
	sign_with_team_ca outside "$bad"
	if openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/outside.pem" > "$T/v.txt" 2>&1; then
		fail "a leaf for $bad outside the team CA's names verified"
	fi
	grep -q 'permitted subtree violation' "$T/v.txt" || fail "$bad: not refused by the name constraints: $(cat "$T/v.txt")"
	cat "$T/outside.pem" "$T/sub.pem" "$T/ca/int.pem" > "$T/outside-chain.pem"
	certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root.pem" --infile "$T/outside-chain.pem" \
		> "$T/ct.txt" 2>&1 || true
	grep -q "Chain verification output: Not verified.*violates the signer's constraints" "$T/ct.txt" \
		|| fail "certtool on a leaf for $bad: $(tail -3 "$T/ct.txt")"
done
# Go's crypto/x509 (cfssl bundle) refuses the chain: it does not handle directoryName constraints, so the
# critical nameConstraints extension is unhandled; a CA profile without dn_prefix is for Go clients (below)
cfssl bundle -cert "$T/inside.pem" -ca-bundle "$T/ca/root.pem" -int-bundle "$T/untrusted.pem" > "$T/go.txt" 2>&1 || true
grep -q 'unhandled critical extension' "$T/go.txt" || fail "cfssl bundle under a dn_prefix CA: $(tail -3 "$T/go.txt")"
# a subject name outside dn_prefix, with names inside: what a service that authorizes peers by their subject
# would otherwise take for another team's (openssl enforces directoryName constraints; GnuTLS 3.7 ignores
# them, as it does URIs, so certtool is not asked)
SUBJ=/C=US/O=Example/OU=Payments/CN=payments sign_with_team_ca outside "DNS:www.team.example.com"
if openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/outside.pem" > "$T/v.txt" 2>&1; then
	fail "a leaf with a subject outside the team CA's dn_prefix verified"
fi
grep -q 'permitted subtree violation' "$T/v.txt" || fail "subject: not refused by the name constraints: $(cat "$T/v.txt")"
# a URI elsewhere: openssl enforces URI constraints (GnuTLS 3.7 ignores them, so certtool is not asked)
sign_with_team_ca outside "DNS:www.team.example.com, URI:spiffe://evil.example.org/workload"
if openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/outside.pem" > "$T/v.txt" 2>&1; then
	fail "a leaf with a URI outside the team CA's names verified"
fi
grep -q 'permitted subtree violation' "$T/v.txt" || fail "URI: not refused by the name constraints: $(cat "$T/v.txt")"
sign_with_team_ca inside-uri "DNS:www.team.example.com, URI:spiffe://w.team.example.com/workload"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/inside-uri.pem" > "$T/v.txt" 2>&1 \
	|| fail "a URI inside the team CA's names: $(cat "$T/v.txt")"
sign_with_team_ca deeper "DNS:deeper.team.example.com" "critical, CA:TRUE" ", keyCertSign"
cat "$T/deeper.pem" >> "$T/untrusted.pem"
sign_with deeper below "DNS:x.deeper.team.example.com"
if openssl verify -CAfile "$T/ca/root.pem" -untrusted "$T/untrusted.pem" "$T/below.pem" > "$T/v.txt" 2>&1; then
	fail "a CA below the team CA (pathlen 0) was accepted"
fi
grep -q 'path length constraint exceeded' "$T/v.txt" || fail "not refused for its path length: $(cat "$T/v.txt")"
pass "certificates the team CA signs: a leaf inside its names verifies (openssl, certtool); one outside them (another domain, the suffix's own name, another IP range, an IPv6 address, an email address elsewhere; openssl also a URI elsewhere and a subject outside dn_prefix) fails as a permitted subtree violation (certtool: a constraint); a CA below it fails on path length"

# ---- the signer's own pin: a CA profile wider than the names pinned for the key (ca_permitted) is refused
# by the signer, whatever the frontend's profiles say: 502 with its reason, the intent failed, both audited ----
ca_profile wide-ca 0 .example.com
# the frontend reads the pin from the running signer at start-up and refuses such a profile (signerfit.c)
fe_kill
fe_conf
expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
grep -qF "profile wide-ca: DNS suffix .example.com reaches past ca_permitted of key int" <<<"$OUT" \
	|| fail "a CA profile past the signer's ca_permitted at start-up: $OUT"
export FE_CONF_EXTRA="signer_profile_check = warn" # served anyway from here: the signer's own refusals
fe_start
csr wide ec:P-256 "DNS:ca.wide.example.com"
issue_req "$T/wide.csr" wide-ca "${AUTH[@]}"
[ "$STATUS" = 502 ] && [ "$(json_field '["error"]["code"]')" = signer ] || fail "a CA wider than the signer's pin: $STATUS $BODY"
grep -q 'name-constraints: permitted subtree 0 is outside the names pinned for this key' <<<"$BODY" || fail "the signer's reason: $BODY"
WSERIAL=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where profile = 'wide-ca'")
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$WSERIAL'")" = failed ] || fail "the wide CA's row is not failed"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where object = '$WSERIAL' and action in ('certificate.requested', 'certificate.failed')")" = 2 ] \
	|| fail "the wide CA's intent and failure are not both audited"
grep -q 'name-constraints' "$T/signer.log" || fail "the signer did not log its refusal"
# the signer refuses profile $1's CA for a SAN $2, answering 502 with reason $3; the row is failed
signer_refuses_ca() {
	fe_restart
	csr "$1" ec:P-256 "DNS:$2"
	issue_req "$T/$1.csr" "$1" "${AUTH[@]}"
	[ "$STATUS" = 502 ] && grep -q "$3" <<<"$BODY" || fail "$1: $STATUS $BODY"
	[ "$(pg_psql "$T/pg" owner -c "select status from certificates where profile = '$1'")" = failed ] \
		|| fail "$1: the row is not failed"
}
# the same for subject names: a dn_prefix above the pinned /C=US/O=Example
CA_DN=/C=US ca_profile widedn-ca 0 .team.example.com
signer_refuses_ca widedn-ca ca.widedn.team.example.com 'name-constraints: permitted subtree 3 is outside the names pinned for this key'
pass "a CA profile wider than the signer's ca_permitted pin (DNS suffix, or dn_prefix above ca_permitted_dn): the signer refuses (502, name-constraints), the row is failed, intent and failure audited"
# a CA profile without eku under a signer key that pins EKUs: a CA for any purpose, refused by the signer
CA_EKU="" ca_profile anyeku-ca 0 .team.example.com
signer_refuses_ca anyeku-ca any.team.example.com 'eku: extendedKeyUsage missing on a CA certificate'
pass "a CA profile without eku under a signer key that pins EKUs: refused by the signer (502 eku:), the row failed"
# a key that may sign CAs without a pin is pointed out by check-config and at start-up
OUT=$("$SIGNER" check-config -c "$T/signer.conf" 2>&1) || fail "check-config: $OUT"
[ "$OUT" = "ok: 1 keys" ] || fail "check-config of a pinned key: $OUT"
grep -v '^ca_permitted\|^leaf_permitted' "$T/signer.conf" > "$T/signer-unpinned.conf"
OUT=$("$SIGNER" check-config -c "$T/signer-unpinned.conf" 2>&1) || fail "check-config unpinned: $OUT"
grep -q 'warning: key int may sign CA certificates for any names (no ca_permitted)' <<<"$OUT" || fail "no warning: $OUT"
! grep -q 'ca_unpinned' "$T/signer.log" || fail "the pinned signer warned at start-up"
pass "hsmca-signer check-config warns about a key that may sign CA certificates without ca_permitted (and not about a pinned one)"

# ---- a CA profile that needs an administrator's approval: held, nothing signed, then issued on approval ----
ca_profile held-ca 0 .team.example.com
echo "needs_approval = yes" >> "$T/profiles.conf" # the last section is held-ca's
fe_restart
printf 'approver password 0001\n' > "$T/approver.pw"
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name approver --role admin \
	--password-file "$T/approver.pw" > /dev/null || fail "create the approver"
csr heldca ec:P-256 "DNS:held.team.example.com"
issue_req "$T/heldca.csr" held-ca "${AUTH[@]}"
[ "$STATUS" = 202 ] && [ "$(json_field '["status"]')" = held ] || fail "a held CA request: $STATUS $BODY"
HSERIAL=$(json_field '["serial"]') AID=$(json_field '["approval"]')
[ "$(cert_rows "serial_hex = '$HSERIAL' and status = 'held' and der is null")" = 1 ] || fail "the held CA's row"
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -X POST -u "approver:approver password 0001" "$URL/api/v1/approvals/$AID/approve")
BODY=$(cat "$T/resp.json")
[ "$STATUS" = 200 ] && [ "$(json_field '["status"]')" = issued ] || fail "approve the CA: $STATUS $BODY"
json_field '["certificate"]' > "$T/heldca.pem"
openssl x509 -in "$T/heldca.pem" -noout -text > "$T/heldca.txt"
grep -A1 'Basic Constraints: critical' "$T/heldca.txt" | grepq 'CA:TRUE, pathlen:0' && grep -q 'Name Constraints: critical' "$T/heldca.txt" \
	|| fail "the approved CA: $(cat "$T/heldca.txt")"
pass "a CA profile with needs_approval: the request is held unsigned and the CA certificate is issued when an administrator approves"

# ---- the profile's rules apply to the CA's own request ----
R0=$(cert_rows)
csr subbad ec:P-256 "DNS:ca.other.example.com"
issue_req "$T/subbad.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 403 ] && grep -q 'san-dns' <<<"$BODY" || fail "a team CA outside the suffix: $STATUS $BODY"
csr subtwo ec:P-256 "DNS:a.team.example.com" "DNS:b.team.example.com"
issue_req "$T/subtwo.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 403 ] || fail "a team CA with two names under max_sans 1: $STATUS $BODY"
csr subrsa rsa:2048 "DNS:r.team.example.com"
issue_req "$T/subrsa.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 403 ] && grep -q 'key-type' <<<"$BODY" || fail "a team CA with a key type the profile does not list: $STATUS $BODY"
# a CA's subject is CN=<its first SAN of 1..64 characters>, never empty (RFC 5280 4.1.2.6; openssl verify
# -x509_strict: "Subject name empty"): a CA request with only a longer name is refused
csr sublong ec:P-256 "DNS:$(printf 'a%.0s' {1..56}).team.example.com"
issue_req "$T/sublong.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = policy ] &&
	grep -q 'subject: a CA certificate needs a subject' <<<"$BODY" || fail "a team CA with only a 74-character name: $STATUS $BODY"
# a CA named as its issuer (CN=int.team.example.com) would be self-issued: exempt from the issuer's name
# constraints and path length in path validation (RFC 5280 6.1); refused before the signer is asked
csr subself ec:P-256 "DNS:int.team.example.com"
issue_req "$T/subself.csr" team-ca "${AUTH[@]}"
[ "$STATUS" = 403 ] && [ "$(json_field '["error"]["code"]')" = policy ] && grep -q "subject: .*issuer's name" <<<"$BODY" \
	|| fail "a team CA named as its issuer: $STATUS $BODY"
[ "$(cert_rows)" = "$R0" ] || fail "a refused CA request left a row"
# and the leaf profiles are unchanged: CA:FALSE under the same issuer and pinned profile
csr leaf ec:P-256 "DNS:www.example.com"
issue_req "$T/leaf.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "a leaf: $STATUS $BODY"
json_field '["certificate"]' > "$T/leaf.pem"
openssl x509 -in "$T/leaf.pem" -noout -text > "$T/leaf.txt"
grep -A1 'Basic Constraints: critical' "$T/leaf.txt" | grepq 'CA:FALSE' || fail "the leaf is not CA:FALSE"
pass "the CA profile's rules (DNS suffix, max_sans, key types; a CA without a SAN short enough to be its CN, or named as its issuer) refuse with 403 and leave no row; leaf profiles still issue CA:FALSE"

# ---- a CA profile without dn_prefix: a signer key pinned with ca_permitted_dn refuses it (subject names
# would be open); under a key pinned without one (its choice, for Go clients, warned about) it is issued, and
# without IP ranges every IP address is excluded, not left unconstrained ----
CA_DN="" ca_profile dns-ca 0 .dns.example.com
fe_restart
csr dnsca ec:P-256 "DNS:ca.dns.example.com"
issue_req "$T/dnsca.csr" dns-ca "${AUTH[@]}"
[ "$STATUS" = 502 ] && grep -q 'name-constraints: directory names must have a permitted subtree' <<<"$BODY" \
	|| fail "a CA without dn_prefix under ca_permitted_dn: $STATUS $BODY"
pass "a CA profile without dn_prefix under a signer key pinned with ca_permitted_dn: refused by the signer (502)"
! grep -q 'ca_dn_open' "$T/signer.log" || fail "the signer pinned with ca_permitted_dn warned about subject names"
kill "$SIGNER_PID"
wait "$SIGNER_PID" 2>/dev/null || true
sed -i '/^ca_permitted_dn/d' "$T/signer.conf"
OUT=$("$SIGNER" check-config -c "$T/signer.conf" 2>&1) || fail "check-config without ca_permitted_dn: $OUT"
grep -q 'warning: key int may sign CA certificates for any subject names (no ca_permitted_dn' <<<"$OUT" \
	|| fail "no warning without ca_permitted_dn: $OUT"
mv "$T/signer.log" "$T/signer-1.log"
signer_start
signer_unseal alice bob carol
grep -q 'ca_dn_open' "$T/signer.log" || fail "the signer did not warn at start-up without ca_permitted_dn"
fe_restart
issue_req "$T/dnsca.csr" dns-ca "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "issue the DNS-only CA: $STATUS $BODY"
json_field '["certificate"]' > "$T/dnsca.pem"
openssl x509 -in "$T/dnsca.pem" -noout -text | grep -A10 'Name Constraints: critical' | tr -d ' \n' \
	| grepq 'Permitted:DNS:.dns.example.comemail:.dns.example.comURI:.dns.example.comExcluded:IP:0.0.0.0/0.0.0.0IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0' \
	|| fail "DNS-only CA: $(openssl x509 -in "$T/dnsca.pem" -noout -text | grep -A8 'Name Constraints')"
sign_with dnsca ipleaf "DNS:a.dns.example.com, IP:192.0.2.7"
if openssl verify -CAfile "$T/ca/root.pem" -untrusted <(cat "$T/ca/int.pem" "$T/dnsca.pem") "$T/ipleaf.pem" > "$T/v.txt" 2>&1; then
	fail "the DNS-only CA's leaf with an IP address verified"
fi
grep -q 'excluded subtree violation' "$T/v.txt" || fail "not refused as an excluded subtree: $(cat "$T/v.txt")"
sign_with dnsca goleaf "DNS:go.dns.example.com"
cfssl bundle -cert "$T/goleaf.pem" -ca-bundle "$T/ca/root.pem" -int-bundle <(cat "$T/ca/int.pem" "$T/dnsca.pem") > "$T/go.txt" 2>&1 \
	|| fail "cfssl bundle (Go's crypto/x509) under a CA without dn_prefix: $(tail -3 "$T/go.txt")"
grep -q '"bundle"' "$T/go.txt" || fail "cfssl bundle gave no bundle: $(tail -3 "$T/go.txt")"
pass "a CA profile without IP ranges excludes every IP address (0.0.0.0/0, ::/0): a leaf it signs with an IP fails as an excluded subtree violation; without dn_prefix Go's crypto/x509 (cfssl bundle) takes its chain, with dn_prefix it refuses the unhandled critical extension"

# cfssl info of a CA profile with every key usage a CA may have and five EKUs: its usages in cfssl's words,
# the JSON whole (a 256-byte buffer cut it in the middle of a string once key usages were added)
CA_EKU="eku = serverAuth, clientAuth, codeSigning, emailProtection, timeStamping" ca_profile usage-ca 0 .usage.example.com
sed -i '/^\[profile usage-ca\]/,/^accounts/ s/^key_usage = .*/key_usage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly/' \
	"$T/profiles.conf"
fe_restart
STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -d '{"profile": "usage-ca"}' "$URL/api/v1/cfssl/info")
[ "$STATUS" = 200 ] || fail "cfssl info of usage-ca: $STATUS $(cat "$T/resp.json")"
python3 - "$T/resp.json" <<'PY' || fail "cfssl info of usage-ca: $(cat "$T/resp.json")"
import json, sys
u = json.load(open(sys.argv[1]))["result"]["usages"]
want = ["digital signature", "content commitment", "key encipherment", "data encipherment", "key agreement", "cert sign",
        "crl sign", "encipher only", "server auth", "client auth", "code signing", "email protection", "timestamping"]
sys.exit(0 if u == want else 1)
PY
pass "cfssl info gives a CA profile's thirteen usages in cfssl's words, in valid JSON"
