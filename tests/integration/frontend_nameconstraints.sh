#!/usr/bin/env bash
# Profiles against what the CAs above their certificates allow. The intermediate here permits DNS names only
# below example.com and the name example.net, and excludes those below secret.example.com. Before, the frontend
# issued whatever the profile allowed, and clients refused the result: a name under an excluded subtree, and an
# IP-only certificate whose CN (its address) OpenSSL and GnuTLS check as a DNS name. Now:
#   - a profile whose DNS suffixes reach outside the permitted subtrees, or whose EKU the issuer does not list,
#     stops the frontend at start-up, naming the profile, the name or EKU and the CA;
#   - a request for a name the constraints refuse gets 403 naming the rule, the name and the CA, and leaves
#     no certificate row;
#   - an IP-only certificate gets an empty subject (its subjectAltName critical) instead of a CN the
#     constraints refuse;
# and every certificate issued verifies with openssl and GnuTLS certtool. The signer's key is pinned to names
# too (leaf_permitted, narrower here than the profile): a request the frontend lets through for a name outside
# it is refused by the signer, and the client gets 502 naming the rule; the row is failed, not left pending.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
command -v certtool >/dev/null || fail "certtool (gnutls-bin) not installed"
export SIGNER_KEY_EXTRA="leaf_permitted = DNS:.example.com, DNS:example.net, IP:10.0.0.0/8, IP:fd00::/16"
FE_INT_CONF=$'permitted_dns = .example.com, example.net\nexcluded_dns = .secret.example.com' fe_setup_backend
openssl x509 -in "$T/ca/int.pem" -noout -ext nameConstraints | grepq 'Excluded' || fail "int has no name constraints"
fe_profiles
cp "$T/profiles.conf" "$T/profiles.base"
INT_NAME='/C=US/O=hsmca test/CN=hsmca Test int'

# ---- start-up: a profile reaching outside the issuer's permitted names, or an EKU it does not list ----
start_refused() { # start_refused WANT DESCRIPTION: the frontend does not start and says WANT
	fe_conf
	expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/frontend.conf"
	grep -qF "$1" <<<"$OUT" || fail "$2: $OUT"
}
extra_profile() { # extra_profile NAME ISSUER_LABEL ISSUER_CERT DNS_SUFFIXES EKU: the base profiles and this leaf one
	cp "$T/profiles.base" "$T/profiles.conf"
	cat >> "$T/profiles.conf" <<EOC

[profile $1]
issuer = $2
issuer_cert = $3
key_types = p256
dns_suffixes = $4
max_sans = 2
max_validity_days = 30
key_usage = digitalSignature
eku = $5
accounts = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
}
extra_profile wide int "$T/ca/int.pem" ".example.com, .example.org" serverAuth
start_refused "profile wide: DNS names below example.org are not all inside the permitted subtrees of the nameConstraints of its issuer $INT_NAME" \
	"a profile with a suffix outside the issuer's permitted names"
extra_profile wide int "$T/ca/int.pem" .secret.example.com serverAuth
start_refused "profile wide: DNS names below secret.example.com are all inside an excluded subtree of the nameConstraints of its issuer" \
	"a profile with a suffix inside the issuer's excluded names"
pass "a profile whose DNS suffixes reach outside its issuer's name constraints stops the frontend at start-up, saying which"

# a CA certificate that lists serverAuth alone (its key need not be in the signer: start-up stops before)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv-ca.key" -subj "/CN=server CAs only" \
	-days 30 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "extendedKeyUsage=serverAuth" -out "$T/srv-ca.pem" 2>/dev/null || fail "cannot make the serverAuth CA"
extra_profile clients srvca "$T/srv-ca.pem" .example.com clientAuth
start_refused "profile clients: extended key usage clientAuth is not among those of its issuer /CN=server CAs only" \
	"a clientAuth profile under a serverAuth-only CA"
pass "a profile with an extended key usage its issuer does not list stops the frontend at start-up"

# ---- the running signer's own pin (leaf_permitted: IP:fd00::/16, profile server fd00::/8) ----
cp "$T/profiles.base" "$T/profiles.conf"
start_refused "profile server: IP range fd00::/8 reaches past leaf_permitted of key int" \
	"a profile past the running signer key's leaf_permitted"
grep -q "event=startup_failed step=signer_keys" <<<"$OUT" || fail "the start-up refusal: $OUT"
# unchecked_start SOCKET WANT WHAT: a frontend with signer_socket SOCKET starts (ready), having logged WANT, then stops
unchecked_start() {
	fe_conf
	sed -i "s|^signer_socket = .*|signer_socket = $1|" "$T/frontend.conf"
	fe_run
	grepq "pid=$FRONTEND_PID level=warn event=signer_keys_unchecked why=\"$2" "$T/frontend.log" \
		|| fail "$3: $(grep "pid=$FRONTEND_PID" "$T/frontend.log" | tail -3)"
	kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
}
# a signer that does not answer (sealed, not started yet) does not stop it: the check is skipped, said so
unchecked_start "$T/run/no-signer.sock" "the signer did not answer" "no signer at start-up"
# nor does a signer of an earlier release, whose HELLO reply names its keys without pins (a frontend upgraded
# first, the signer left running rather than unsealed again): a stand-in answering as it did
python3 - "$T/run/old-signer.sock" <<'EOP' &
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)
c, _ = s.accept()
req = c.recv(65536)  # HELLO: version 1, type 0x01, flags, request id, body length, u16 version
body = struct.pack(">HB", 1, 1) + bytes([3]) + b"int" + bytes([1])  # version, one key: "int", certificates
data = struct.pack(">I", len(body)) + body
c.send(struct.pack(">BBH", 1, 0x80, 0) + req[4:8] + struct.pack(">I", len(data)) + data)
c.recv(65536)  # until the frontend hangs up
EOP
OLDSIG=$!
PIDS+=("$OLDSIG")
for _ in $(seq 100); do [ -S "$T/run/old-signer.sock" ] && break; sleep 0.05; done
unchecked_start "$T/run/old-signer.sock" "the signer's HELLO reply (8 bytes) carries no key pins" \
	"a signer of an earlier release at start-up"
kill "$OLDSIG" 2>/dev/null || true; wait "$OLDSIG" 2>/dev/null || true
pass "a profile past the running signer key's leaf_permitted stops the frontend at start-up (read from the signer's HELLO); a signer that does not answer, or answers as an earlier release did (no pins), leaves it unchecked, with a warning"

# ---- per request (profile server served anyway, its fd00::/8 past the key's pin: the signer's refusal below) ----
export FE_CONF_EXTRA="signer_profile_check = warn"
fe_start
fe_requester alice
verify_leaf() { # verify_leaf NAME: $T/NAME.pem verifies under int and root with openssl and certtool
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/$1.pem" > "$T/verify.txt" 2>&1 \
		|| fail "openssl verify $1: $(cat "$T/verify.txt")"
	cat "$T/$1.pem" "$T/ca/int.pem" > "$T/$1-chain.pem"
	certtool --verify --verify-profile medium --load-ca-certificate "$T/ca/root.pem" --infile "$T/$1-chain.pem" > "$T/ct.txt" 2>&1 || true
	grep -q 'Verified. The certificate is trusted' "$T/ct.txt" || fail "certtool $1: $(tail -3 "$T/ct.txt")"
}

csr ok ec:P-256 DNS:www.example.com DNS:example.net IP:10.1.2.3
issue_req "$T/ok.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "names inside the constraints: $STATUS $BODY"
json_field '["certificate"]' > "$T/ok.pem"
verify_leaf ok
openssl x509 -in "$T/ok.pem" -noout -subject | grepq 'CN *= *www.example.com' || fail "subject: $(openssl x509 -in "$T/ok.pem" -noout -subject)"
pass "names inside the issuer's constraints: issued as before, CN=<first name>, and openssl and certtool verify it"

rows=$(cert_rows)
refusals=$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")
csr secret ec:P-256 DNS:www.example.com DNS:db.secret.example.com
issue_req "$T/secret.csr" server "${AUTH[@]}"
[ "$STATUS" = 403 ] || fail "a name under an excluded subtree: $STATUS $BODY"
[ "$(json_field '["error"]["code"]')" = policy ] || fail "code: $BODY"
grep -qF "issuer-name-constraints: db.secret.example.com is outside the nameConstraints of the issuer $INT_NAME" <<<"$BODY" \
	|| fail "the refusal does not name the rule, the name and the CA: $BODY"
[ "$(cert_rows)" = "$rows" ] || fail "a refused request left a certificate row"
csr caps ec:P-256 DNS:WWW.example.com
issue_req "$T/caps.csr" server "${AUTH[@]}"
[ "$STATUS" = 403 ] && grepq 'WWW.example.com has upper-case letters' <<<"$BODY" || fail "a name in capitals: $STATUS $BODY"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.refused'")" = $((refusals + 2)) ] \
	|| fail "the refusal is not audited"
pass "a name under the issuer's excluded subtree (inside the profile's suffix), and one in capitals (GnuTLS compares bytes): 403 naming the rule, the name and the CA; no certificate row"

csr addr ec:P-256 IP:10.20.30.40
issue_req "$T/addr.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "an IP-only request: $STATUS $BODY"
json_field '["certificate"]' > "$T/addr.pem"
openssl x509 -in "$T/addr.pem" -noout -text > "$T/addr.txt"
grep -q 'Subject: *$' "$T/addr.txt" || fail "an IP-only certificate under DNS constraints has a subject: $(grep Subject: "$T/addr.txt")"
grep -A1 'Subject Alternative Name: critical' "$T/addr.txt" | grepq 'IP Address:10.20.30.40' \
	|| fail "its subjectAltName is not critical: $(grep -A1 'Alternative' "$T/addr.txt")"
verify_leaf addr
# IPv6 text is no DNS name to OpenSSL, but GnuTLS checks the CN of a leaf without DNS names whatever it holds
csr addr6 ec:P-256 IP:fd00::7
issue_req "$T/addr6.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "an IPv6-only request: $STATUS $BODY"
json_field '["certificate"]' > "$T/addr6.pem"
openssl x509 -in "$T/addr6.pem" -noout -subject | grepq -x 'subject=' || fail "an IPv6-only certificate has a subject"
verify_leaf addr6
pass "IP-only certificates (IPv4, IPv6) under DNS name constraints: empty subject, critical subjectAltName, and openssl and certtool verify them"

[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending"

# the signer's leaf pin: fd00::/8 is the profile's, only fd00::/16 the key's. check-config --profiles says so
# before any request does
expect_rc 1 "$SIGNER" check-config -c "$T/signer.conf" --profiles "$T/profiles.conf"
grepq 'error: profile server: IP range fd00::/8 reaches past leaf_permitted of key int' <<<"$OUT" || fail "check-config --profiles: $OUT"
grepq '1 profile mismatch(es)' <<<"$OUT" || fail "check-config --profiles counts: $OUT"
sed -i 's|^ip_ranges = 10.0.0.0/8, fd00::/8$|ip_ranges = 10.0.0.0/8, fd00::/16|' "$T/profiles.conf"
OUT=$("$SIGNER" check-config -c "$T/signer.conf" --profiles "$T/profiles.conf" 2>&1) || fail "check-config --profiles after the fix: $OUT"
grepq 'ok: 1 keys, 2 profiles' <<<"$OUT" || fail "check-config --profiles: $OUT"
cp "$T/profiles.base" "$T/profiles.conf"
expect_rc 1 "$SIGNER" check-config -c "$T/signer.conf" --profiles "$T/no-such-profiles.conf"
grepq "no-such-profiles.conf" <<<"$OUT" || fail "check-config --profiles of a missing file: $OUT"
pass "hsmca-signer check-config --profiles names a profile range past the key's leaf_permitted, passes once it is narrowed, and says which file it cannot read"
csr v6 ec:P-256 DNS:www.example.com IP:fd01::5
issue_req "$T/v6.csr" server "${AUTH[@]}"
[ "$STATUS" = 502 ] || fail "a name outside the signer key's leaf pin: $STATUS $BODY"
grep -qF "leaf-names: subjectAltName 1 is outside the key's leaf pin (leaf_permitted)" <<<"$BODY" || fail "the refusal: $BODY"
grep -q 'event=sign_refused .*leaf-names' "$T/signer.log" || fail "the signer did not log the refusal: $(grep refused "$T/signer.log" | tail -2)"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "the refused row was left pending"
pass "a name inside the profile but outside the signer key's leaf_permitted: the signer refuses, the client gets 502 naming the rule, no row left pending"

# ---- a signer restarted with other pins while the frontend runs: checked again on the next connection ----
metric() { curl -sS "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(metric hsmca_signer_profiles_unfit)" = 1 ] || fail "hsmca_signer_profiles_unfit at start-up: $(metric hsmca_signer_profiles_unfit)"
# signer_restart_with PIN: the signer again, its key's leaf_permitted IPv6 range PIN, then one request of profile
# server for fd01::5 (which reconnects to it); the status in $STATUS
signer_restart_with() {
	kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
	sed -i "s|IP:fd00::/[0-9]*$|IP:$1|" "$T/signer.conf"
	grepq "^leaf_permitted = .*IP:$1\$" "$T/signer.conf" || fail "signer.conf: $(grep leaf_permitted "$T/signer.conf")"
	signer_start
	signer_unseal alice bob carol
	csr v6 ec:P-256 DNS:www.example.com IP:fd01::5
	issue_req "$T/v6.csr" server "${AUTH[@]}"
}
fe_log() { grep "pid=$FRONTEND_PID " "$T/frontend.log"; }
signer_restart_with fd00::/8
[ "$STATUS" = 201 ] || fail "fd01::5 once the signer's pin takes fd00::/8: $STATUS $BODY"
[ "$(fe_log | grep -c 'event=signer_keys changed=yes keys=1 profiles=2 fit=yes')" = 1 ] \
	|| fail "the signer's wider pins were not checked once: $(fe_log | grep signer_keys)"
[ "$(metric hsmca_signer_profiles_unfit)" = 0 ] || fail "hsmca_signer_profiles_unfit once fit: $(metric hsmca_signer_profiles_unfit)"
unfit_before=$(fe_log | grep -c 'event=profile_unfit_signer')
signer_restart_with fd00::/16
[ "$STATUS" = 502 ] || fail "fd01::5 once the signer's pin is narrow again: $STATUS $BODY"
[ "$(fe_log | grep -c 'level=warn event=signer_keys changed=yes keys=1 profiles=2 unfit=1')" = 1 ] \
	|| fail "the signer's narrower pins were not checked once: $(fe_log | grep signer_keys)"
[ "$(fe_log | grep -c 'level=warn event=profile_unfit_signer why="profile server: IP range fd00::/8 reaches past leaf_permitted of key int"')" \
	= $((unfit_before + 1)) ] || fail "the unfit profile is not named once: $(fe_log | grep profile_unfit_signer)"
[ "$(metric hsmca_signer_profiles_unfit)" = 1 ] || fail "hsmca_signer_profiles_unfit once unfit: $(metric hsmca_signer_profiles_unfit)"
# several at once, so that the committer opens its second connection to the signer (it does for a batch of two
# or more; each new connection sends HELLO and hands the reply to signerfit_recheck): the same reply is not
# checked again. Bursts until that connection exists (batching is up to timing: under load five bursts of
# eight, each request forked from its own subshell, once all went one at a time), at most ten of sixteen
signer_conns() { awk -v p="$T/run/signer.sock" '$8 == p && $6 == "03"' /proc/net/unix | wc -l; }
OLDT=$T
for round in $(seq 10); do
	BURST=()
	for i in $(seq 16); do
		(T=$OLDT/b$i; mkdir -p "$T"; issue_req "$OLDT/v6.csr" server "${AUTH[@]}"; echo "$STATUS" > "$T/status") &
		BURST+=($!)
	done
	wait "${BURST[@]}"
	for i in $(seq 16); do [ "$(cat "$T/b$i/status")" = 502 ] || fail "burst $round request $i: $(cat "$T/b$i/status")"; done
	[ "$(signer_conns)" -lt 2 ] || break
done
[ "$(signer_conns)" -ge 2 ] || fail "only $(signer_conns) connection(s) to the signer after $round bursts: the recheck's de-duplication untested"
[ "$(fe_log | grep -c 'event=signer_keys changed=yes')" = 2 ] || fail "checked again without a change: $(fe_log | grep signer_keys)"
# two mismatches of one profile (its IPv4 range past the pin too): the gauge counts profiles, not mismatches
sed -i 's|, IP:10.0.0.0/8, |, |' "$T/signer.conf"
signer_restart_with fd00::/16
[ "$(fe_log | grep -c 'level=warn event=signer_keys changed=yes keys=1 profiles=2 unfit=1 mismatches=2 ')" = 1 ] \
	|| fail "two mismatches of one profile: $(fe_log | grep signer_keys | tail -1)"
[ "$(metric hsmca_signer_profiles_unfit)" = 1 ] || fail "hsmca_signer_profiles_unfit of one profile, two mismatches: $(metric hsmca_signer_profiles_unfit)"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending"
# a frontend started while the signer is down: unchecked (-1) until its first connection to the signer
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
fe_start
fe_log | grepq 'event=signer_keys_unchecked why="the signer did not answer' || fail "no signer at start-up: $(fe_log | tail -3)"
[ "$(metric hsmca_signer_profiles_unfit)" = -1 ] || fail "hsmca_signer_profiles_unfit unchecked: $(metric hsmca_signer_profiles_unfit)"
signer_start
signer_unseal alice bob carol
issue_req "$T/v6.csr" server "${AUTH[@]}"
[ "$STATUS" = 502 ] || fail "fd01::5 from a frontend started before the signer: $STATUS $BODY"
fe_log | grepq 'level=warn event=signer_keys changed=yes keys=1 profiles=2 unfit=1' \
	|| fail "the signer unsealed after the frontend started was not checked: $(fe_log | grep signer_keys)"
[ "$(metric hsmca_signer_profiles_unfit)" = 1 ] || fail "hsmca_signer_profiles_unfit once checked: $(metric hsmca_signer_profiles_unfit)"
pass "a signer restarted with other pins while the frontend runs, or unsealed after it started, is checked on the next connection, once per change: logged (fit, or the unfit profile named) and in /metrics (hsmca_signer_profiles_unfit)"
