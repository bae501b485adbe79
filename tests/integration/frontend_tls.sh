#!/usr/bin/env bash
# HTTPS with a server certificate the appliance issued for itself, client certificates, and the frontend's
# own privilege drop, proven with real clients (curl, openssl s_client): TLS 1.1 refused, the served chain
# verifies, a client certificate from an unrelated CA fails the handshake while one the appliance issued
# under the clientAuth profile is accepted (and reaches the request as a verified certificate); the process
# runs as hsmca-frontend with the signer's group; bad or mismatched keys stop start-up with a clear message.
FE_USER=hsmca-frontend # (the default of frontend_lib.sh, named here because the checks below use it)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
TLSPORT=$((PORT + 2))
NAME=tls.example.com # a SAN the test's server profile allows; curl --resolve maps it to 127.0.0.1
HTTPS=https://$NAME:$TLSPORT
RESOLVE=(--resolve "$NAME:$TLSPORT:127.0.0.1")
fe_setup_backend
fe_profiles
printf 'alice password 0002\n' > "$T/alice.pw"
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name alice --role requester \
	--password-file "$T/alice.pw" >/dev/null || fail "create-account"
ALICE=(-u "alice:$(cat "$T/alice.pw")")

# 1. plain HTTP only, as hsmca-frontend: the appliance issues the frontend's own server certificate
fe_start
csr fe ec:P-256 "DNS:$NAME" "IP:10.0.0.1"
issue_req "$T/fe.csr" server "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "issuing the frontend's certificate: $STATUS $BODY"
json_field '["certificate"]' > "$T/fe.pem"
cat "$T/fe.pem" "$T/ca/int.pem" > "$T/fe-chain.pem"
chown "$FE_USER" "$T/fe.key" && chmod 600 "$T/fe.key"
pass "the frontend's server certificate issued through its own HTTP API"

# 2. HTTPS beside HTTP, asking for client certificates issued under the appliance's chain
restart() { # extra config lines
	fe_kill
	fe_start "$1"
	# this process's ready line (an earlier one's in the log would match at once)
	for _ in $(seq 100); do grep -q "pid=$FRONTEND_PID level=info event=ready .*tls_listen=127.0.0.1:$TLSPORT" "$T/frontend.log" && return 0; sleep 0.05; done
	fail "the frontend did not report its HTTPS listener"
}
TLSCONF="tls_listen = 127.0.0.1:$TLSPORT
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key
client_ca = $T/chain.pem"
restart "$TLSCONF"
[ "$(curl -sS --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "$HTTPS/healthz")" = '{"status": "ok"}' ] || fail "healthz over HTTPS"
curl -sS --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "$HTTPS/api/v1/ca/chain" | cmp -s - "$T/chain.pem" || fail "chain over HTTPS"
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "plain HTTP beside HTTPS"
! curl -s --cacert "$T/ca/root.pem" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 || fail "TLS on the plain port"
! curl -s --max-time 5 "http://127.0.0.1:$TLSPORT/healthz" >/dev/null 2>&1 || fail "plain HTTP served on the TLS port"
csr over ec:P-256 "DNS:over-tls.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/over.csr" > "$T/req.json"
st=$(curl -sS -o "$T/resp.json" -w '%{http_code}' --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "${ALICE[@]}" \
	-H 'Content-Type: application/json' --data-binary @"$T/req.json" "$HTTPS/api/v1/certificates")
[ "$st" = 201 ] || fail "issuance over HTTPS: $st $(cat "$T/resp.json")"
json_field '["certificate"]' > "$T/over.pem"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/over.pem" >/dev/null || fail "over.pem"
pass "curl --cacert: healthz, chain and issuance over HTTPS; plain HTTP still served on its own port only"
# evhttp's own refusals over TLS are the same JSON errors as on plain HTTP (deadline.c, httperr.c): a method
# other than GET, HEAD and POST, a header block over max_header_size, and a malformed request after a served one on
# the same TLS connection
st=$(curl -sS -o "$T/m.json" -w '%{http_code} %{content_type}' --cacert "$T/ca/root.pem" "${RESOLVE[@]}" -X DELETE "$HTTPS/healthz")
[ "$st" = "405 application/json" ] && grep -q '"code": "method"' "$T/m.json" || fail "DELETE over HTTPS: $st $(cat "$T/m.json")"
st=$(curl -sS -o "$T/m.json" -w '%{http_code} %{content_type}' --cacert "$T/ca/root.pem" "${RESOLVE[@]}" \
	-H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$HTTPS/healthz")
[ "$st" = "431 application/json" ] && grep -q '"code": "header-too-large"' "$T/m.json" || fail "20 kB header over HTTPS: $st $(cat "$T/m.json")"
python3 - "$TLSPORT" "$NAME" "$T/ca/root.pem" > "$T/tlsbad.out" <<'EOP' || fail "malformed request over TLS: $(cat "$T/tlsbad.out")"
import socket, ssl, sys
from sockread import read_to_end
ctx = ssl.create_default_context(cafile=sys.argv[3])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname=sys.argv[2])
s.settimeout(5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n")
raw = read_to_end(s)
print(raw.decode(errors="replace"))
first, _, rest = raw.partition(b'{"status": "ok"}\n')
assert first.startswith(b"HTTP/1.1 200 ") and rest.startswith(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n") \
    and rest.endswith(b'"code": "bad-request", "message": "the request is not well-formed HTTP/1.1"}}\n')
EOP
pass "over HTTPS too, evhttp's own refusals are JSON: DELETE 405, a 20 kB header 431, a malformed request after a served one 400"

# a kept-alive TLS connection that, after its answer, sends part of a TLS record a byte at a time: evhttp saw
# no request (OpenSSL gives it nothing until the record is whole) while every byte renewed libevent's
# per-read timeout, so the connection (and its fd) was held for ever; now the next request's clock starts at
# the answer and the connection is shut down at timeout_seconds (5)
python3 - "$TLSPORT" "$NAME" "$T/ca/root.pem" > "$T/trickle.out" <<'EOP' || fail "TLS trickle: $(cat "$T/trickle.out")"
import os, select, socket, ssl, sys, time
port, name, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = ssl.create_default_context(cafile=ca).wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=name)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + name.encode() + b"\r\n\r\n")
buf = b""
while b'{"status": "ok"}' not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("closed before the answer")
    buf += d
fd, t0 = s.fileno(), time.monotonic()
os.write(fd, b"\x17\x03\x03\x40\x00") # an application-data record of 16 KiB, never finished
while time.monotonic() - t0 < 15:
    if select.select([fd], [], [], 0.5)[0]:
        try:
            if os.read(fd, 65536):
                continue # the 408's record: the end follows
        except OSError:
            pass
        break
    try:
        os.write(fd, b"\x00")
    except OSError:
        break
took = time.monotonic() - t0
print("%.1f s" % took)
sys.exit(0 if 3 < took < 8 else 1)
EOP
[ "$(curl -sS --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "$HTTPS/healthz")" = '{"status": "ok"}' ] || fail "healthz over HTTPS after the trickle"
pass "a kept-alive TLS connection trickling a partial record after its answer is shut down at the deadline ($(cat "$T/trickle.out"))"

# the served chain: leaf then issuing CA, verifying to the root with the name checked
sclient() { openssl s_client -connect "127.0.0.1:$TLSPORT" -servername "$NAME" "$@" < /dev/null 2>&1; }
sclient -CAfile "$T/ca/root.pem" -verify_return_error -verify_hostname "$NAME" -showcerts > "$T/sclient.txt" || fail "s_client"
grep -q 'Verify return code: 0 (ok)' "$T/sclient.txt" || fail "served chain does not verify: $(grep -i verify "$T/sclient.txt")"
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/sclient.txt")" = 2 ] || fail "served chain is not leaf + issuing CA"
awk '/BEGIN CERT/{n++} n==2{print} /END CERT/ && n==2{exit}' "$T/sclient.txt" | cmp -s - "$T/ca/int.pem" \
	|| fail "second certificate served is not the issuing CA"
sclient -CAfile "$T/ca/root.pem" -verify_return_error -verify_hostname other.example.com > "$T/sclient-name.txt" \
	&& fail "s_client accepted the wrong host name"
grep -q 'Verify return code: 0 (ok)' "$T/sclient-name.txt" && fail "wrong host name verified"
for v in tls1_2 tls1_3; do
	sclient "-$v" -CAfile "$T/ca/root.pem" -verify_return_error > "$T/s-$v.txt" || fail "$v refused: $(tail -3 "$T/s-$v.txt")"
done
# the client is made willing (seclevel 0) so that the refusal is the server's
sclient -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' > "$T/s-tls1_1.txt" && fail "TLS 1.1 accepted"
grep -Eqi 'alert protocol version|unsupported protocol|no protocols available|wrong version' "$T/s-tls1_1.txt" \
	|| fail "TLS 1.1 failed for another reason: $(tail -5 "$T/s-tls1_1.txt")"
grep -q 'no protocols available' "$T/s-tls1_1.txt" && fail "the client, not the server, refused TLS 1.1"
grep -q 'Acceptable client certificate CA names' "$T/sclient.txt" || fail "no client certificate requested"
# no TLS 1.2 session ticket: resuming from one skips ECDHE, sealed by a key the process keeps for good
grepq 'Protocol *: TLSv1.2' "$T/s-tls1_2.txt" || fail "the TLS 1.2 session: $(grep -i protocol "$T/s-tls1_2.txt")"
! grepq 'TLS session ticket' "$T/s-tls1_2.txt" || fail "a TLS 1.2 session ticket was issued: $(grep -i -A1 'session ticket' "$T/s-tls1_2.txt")"
pass "openssl s_client: leaf + issuing CA verify to the root for $NAME; TLS 1.2 and 1.3 served, TLS 1.1 refused; no TLS 1.2 session ticket"

# client certificates: an unrelated self-signed CA is refused in the handshake; the appliance's own is used
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil-ca.key" -subj "/CN=Evil CA" \
	-days 30 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign \
	-out "$T/evil-ca.pem" 2>/dev/null || fail "evil CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/evil.key" -subj "/CN=dev.clients.example.com" \
	-out "$T/evil.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:dev.clients.example.com\n' > "$T/evil.ext"
openssl x509 -req -in "$T/evil.csr" -CA "$T/evil-ca.pem" -CAkey "$T/evil-ca.key" -CAcreateserial -days 30 \
	-extfile "$T/evil.ext" -out "$T/evil.pem" 2>/dev/null || fail "evil leaf"
csr cli ec:P-256 "DNS:dev.clients.example.com"
issue_req "$T/cli.csr" client "${ALICE[@]}"
[ "$STATUS" = 201 ] || fail "client certificate: $STATUS $BODY"
json_field '["certificate"]' > "$T/cli.pem"
openssl x509 -in "$T/cli.pem" -noout -ext extendedKeyUsage | grepq 'TLS Web Client Authentication' || fail "cli EKU"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/over.csr" > "$T/req.json"
viatls() { # curl args...: POSTs $T/req.json over HTTPS as alice, prints the status
	curl -sS -o "$T/resp.json" -w '%{http_code}' --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "${ALICE[@]}" \
		-H 'Content-Type: application/json' --data-binary @"$T/req.json" "$@" "$HTTPS/api/v1/certificates"
}
fp() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
set +e; st=$(viatls --cert "$T/evil.pem" --key "$T/evil.key" 2> "$T/curl-evil.txt"); rc=$?; set -e
[ "$rc" != 0 ] || fail "a client certificate from an unrelated CA was accepted: $st"
sclient -tls1_2 -cert "$T/evil.pem" -key "$T/evil.key" -CAfile "$T/ca/root.pem" > "$T/s-evil.txt" || true
grep -Eqi 'alert (unknown ca|certificate unknown|bad certificate)' "$T/s-evil.txt" || fail "no alert for the unrelated CA: $(tail -5 "$T/s-evil.txt")"
! grep -q "sha256=$(fp "$T/evil.pem")" "$T/frontend.log" || fail "the unrelated certificate reached a request"
# a server (serverAuth-only) certificate of the right CA is not a client certificate either
set +e; st=$(viatls --cert "$T/over.pem" --key "$T/over.key" 2>/dev/null); rc=$?; set -e
[ "$rc" != 0 ] || fail "a serverAuth-only certificate was accepted as a client certificate: $st"
sclient -tls1_2 -cert "$T/over.pem" -key "$T/over.key" -CAfile "$T/ca/root.pem" > "$T/s-over.txt" || true
grep -Eqi 'alert (unsupported certificate|certificate unknown|bad certificate)' "$T/s-over.txt" \
	|| fail "no alert for the serverAuth-only certificate: $(tail -5 "$T/s-over.txt")"
! grep -q "sha256=$(fp "$T/over.pem")" "$T/frontend.log" || fail "the serverAuth-only certificate reached a request"
st=$(viatls --cert "$T/cli.pem" --key "$T/cli.key") || fail "appliance client certificate refused"
[ "$st" = 201 ] || fail "issuance with a client certificate: $st $(cat "$T/resp.json")"
grep -q "event=tls_client_cert sha256=$(fp "$T/cli.pem")" "$T/frontend.log" || fail "the verified client certificate did not reach the request"
n=$(grep -c 'event=tls_client_cert' "$T/frontend.log")
st=$(viatls) && [ "$st" = 201 ] || fail "no client certificate (optional) over HTTPS: $st"
[ "$(grep -c 'event=tls_client_cert' "$T/frontend.log")" = "$n" ] || fail "a request without a client certificate got one"
pass "client certificates: unrelated CA and serverAuth-only refused in the handshake; the appliance's clientAuth one verified and attached; none is fine"

# 3. the process: hsmca-frontend's uid and gid everywhere, the signer's group as a supplementary group
grep -q "event=privdrop user=$FE_USER" "$T/frontend.log" || fail "no privdrop log line"
st=/proc/$FRONTEND_PID/status
uid=$(id -u "$FE_USER") gid=$(id -g "$FE_USER") sgid=$(getent group "$SIGNER_USER" | cut -d: -f3)
[ "$(awk '/^Uid:/{print $2,$3,$4,$5}' "$st")" = "$uid $uid $uid $uid" ] || fail "uids: $(grep ^Uid: "$st")"
[ "$(awk '/^Gid:/{print $2,$3,$4,$5}' "$st")" = "$gid $gid $gid $gid" ] || fail "gids: $(grep ^Gid: "$st")"
grep -qE "^Groups:.*\b$sgid\b" "$st" || fail "supplementary groups lack $SIGNER_USER: $(grep ^Groups: "$st")"
grep -qE '^Groups:.*(^|\s)0(\s|$)' "$st" && fail "still in group root"
grep -q '^NoNewPrivs:[[:space:]]*1' "$st" || fail "no_new_privs not set"
grep -q '^CapEff:[[:space:]]*0000000000000000' "$st" || fail "capabilities left: $(grep ^CapEff: "$st")"
[ "$(ps -o user= -p "$FRONTEND_PID")" = "$FE_USER" ] || fail "ps user"
pass "the frontend runs as $FE_USER (uid $uid gid $gid, supplementary group $SIGNER_USER), no capabilities, no_new_privs"

# 4. start-up refuses bad TLS material with a clear message (its own ports: the running one holds ours)
badconf() { # name extra-lines: writes $T/NAME.conf
	fe_intent_key
	cat > "$T/$1.conf" <<EOC
[frontend]
listen = 127.0.0.1:$((PORT + 3))
database = $(pg_conninfo "$T/pg" frontend)
signer_socket = $T/run/signer.sock
profiles = $T/profiles.conf
chain = $T/chain.pem
user = $FE_USER
$2
intent_key_file = $T/intent.key
EOC
}
expect_start_failure() { # name pattern
	expect_rc 1 timeout 20 "$FRONTEND" run -c "$T/$1.conf"
	grep -q "$2" <<<"$OUT" || fail "$1: expected '$2' in: $OUT"
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key" 2>/dev/null
printf 'not a key\n' > "$T/garbage.key"
openssl pkey -in "$T/other.key" -aes256 -passout pass:secret -out "$T/enc.key" 2>/dev/null
for k in other rsa; do
	badconf "mismatch-$k" "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem
tls_key = $T/$k.key"
	expect_start_failure "mismatch-$k" "tls_key $T/$k.key does not match the certificate in tls_cert $T/fe-chain.pem"
done
badconf garbage "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem
tls_key = $T/garbage.key"
expect_start_failure garbage "tls_key $T/garbage.key: not an unencrypted PEM private key"
badconf encrypted "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem
tls_key = $T/enc.key"
expect_start_failure encrypted "tls_key $T/enc.key: not an unencrypted PEM private key"
badconf nocert "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/missing.pem
tls_key = $T/fe.key"
expect_start_failure nocert "tls_cert $T/missing.pem: cannot read a PEM certificate chain"
badconf badca "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key
client_ca = $T/garbage.key"
expect_start_failure badca "client_ca $T/garbage.key: no PEM certificates"
badconf nokey "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem"
expect_start_failure nokey "line 8: tls_listen needs tls_key"
badconf nolisten "tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key"
expect_start_failure nolisten "line 8: tls_cert without tls_listen"
badconf ca-only "client_ca = $T/chain.pem"
expect_start_failure ca-only "line 8: client_ca needs tls_listen"
# an empty value is refused, not taken as "not set" (an empty client_ca would turn mutual TLS off in silence)
badconf empty-ca "tls_listen = 127.0.0.1:$((PORT + 4))
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key
client_ca ="
expect_start_failure empty-ca "line 11: key client_ca has an empty value"
badconf same "tls_listen = 127.0.0.1:$((PORT + 3))
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key"
expect_start_failure same "line 8: tls_listen is the same address as listen (line 2)"
badconf nouser "" && sed -i "s/^user = .*/user = no-such-user-hsmca/" "$T/nouser.conf"
expect_start_failure nouser "event=privdrop_failed user=no-such-user-hsmca why=\"no such user\""
badconf rootuser "" && sed -i "s/^user = .*/user = root/" "$T/rootuser.conf"
expect_start_failure rootuser "user= must not be root"
badconf nouserline "" && sed -i '/^user = /d' "$T/nouserline.conf"
expect_start_failure nouserline 'event=privdrop_failed why="started as root without user= in the config'
pass "mismatched (EC and RSA), garbage, encrypted or missing TLS material, bad listener combinations and bad or missing users stop start-up with a clear message"
# the intent key (frontend/intent.h): required, 64 hex digits and at most one line end, not all zero, a regular
# file without group or other access
badconf nointent "" && sed -i '/^intent_key_file = /d' "$T/nointent.conf"
expect_start_failure nointent "intent_key_file is required"
( umask 077
  printf '%s\n\n' "$(openssl rand -hex 32)" > "$T/ik-twolines"; openssl rand -hex 31 > "$T/ik-short"
  printf '%s\n' "$(openssl rand -hex 33)" > "$T/ik-long"; printf '%064d\n' 0 > "$T/ik-zero"
  printf 'g%s\n' "$(openssl rand -hex 32 | cut -c2-)" > "$T/ik-nothex"; printf '%s \n' "$(openssl rand -hex 32)" > "$T/ik-space"
  openssl rand -hex 32 > "$T/ik-group"; openssl rand -hex 32 > "$T/ik-other" )
chmod 640 "$T/ik-group"
chown nobody "$T/ik-other"
mkfifo -m 600 "$T/ik-fifo"
intentconf() { badconf "$1" "" && sed -i "s|^intent_key_file = .*|intent_key_file = $2|" "$T/$1.conf"; }
for k in twolines short long nothex space; do
	intentconf "ik-$k" "$T/ik-$k"
	expect_start_failure "ik-$k" "intent_key_file $T/ik-$k: not 64 hex digits and at most one line end"
	! grep -qF "$(head -c 40 "$T/ik-$k" | tr -d '\r\n ')" <<<"$OUT" || fail "ik-$k: the key file's bytes were printed: $OUT"
done
intentconf ik-zero "$T/ik-zero"
expect_start_failure ik-zero "intent_key_file $T/ik-zero: the key is all zero"
intentconf ik-group "$T/ik-group"
expect_start_failure ik-group "intent_key_file $T/ik-group: group or others may access it (mode 640; chmod 600)"
intentconf ik-other "$T/ik-other"
expect_start_failure ik-other "intent_key_file $T/ik-other: owned by uid $(id -u nobody), neither root nor this process's user"
intentconf ik-fifo "$T/ik-fifo"
expect_start_failure ik-fifo "intent_key_file $T/ik-fifo: not a regular file"
badconf ik-accept "intent_key_accept_file = $T/ik-group"
expect_start_failure ik-accept "intent_key_accept_file $T/ik-group: group or others may access it (mode 640; chmod 600)"
intentconf ik-missing "$T/ik-missing"
expect_start_failure ik-missing "intent_key_file $T/ik-missing: No such file or directory"
intentconf ik-dir "$T"
expect_start_failure ik-dir "intent_key_file $T: not a regular file"
pass "intent_key_file: missing, a second line, 62 or 66 digits, a non-hex digit, a space, all zero, group-readable, another user's, absent, a directory or a FIFO: start-up refused, naming the file and why"

# 4b. a client reconnecting over TLS faster than max_connection_rate_per_address is shut before OpenSSL reads
# its ClientHello (every handshake runs on the loop thread): a burst from 127.0.0.1 completes handshakes until
# its bucket is empty, and its refused attempts add nothing to the ClientHellos the server read; 127.0.0.2
# completes one meanwhile, and 127.0.0.1 again once the bucket has refilled
restart "$TLSCONF
max_connection_rate_per_address = 2"
python3 - "$TLSPORT" "$PORT" "$NAME" "$T/ca/root.pem" > "$T/tlsrate.out" <<'EOP' || fail "TLS rate: $(cat "$T/tlsrate.out")"
import socket, ssl, sys, time
port, plain, name, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
m = socket.socket(); m.bind(("127.0.0.3", 0)); m.settimeout(5); m.connect(("127.0.0.1", plain)) # kept alive
def metrics():
    m.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
            [l for l in data.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1]):
        d = m.recv(65536)
        assert d, "metrics: %r" % data
        data += d
    return {l.split()[0]: int(l.split()[1]) for l in data.decode().split("\r\n\r\n", 1)[1].splitlines()
            if l.startswith("hsmca_")}
def handshake(src):
    s = socket.socket(); s.bind((src, 0)); s.settimeout(5); s.connect(("127.0.0.1", port))
    try:
        with ctx.wrap_socket(s, server_hostname=name) as t:
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return t.recv(4096).startswith(b"HTTP/1.1 200 ")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        return e
m0 = metrics()
t0 = time.monotonic()
served, err = 0, None
for _ in range(20):
    r = handshake("127.0.0.1")
    if r is not True:
        err = r
        break
    served += 1
burst = time.monotonic() - t0
# a bucket of 4 (restart's plain health check took one), plus what refilled meanwhile at 2 a second
assert err is not None and 2 <= served <= 5 + 2 * burst, "served %d in %.2f s, then %r" % (served, burst, err)
more = [handshake("127.0.0.1") for _ in range(5)]
m1 = metrics()
ok = served + more.count(True)
refused = 1 + len(more) - more.count(True)
assert m1["hsmca_connections_rate_limited_total"] - m0["hsmca_connections_rate_limited_total"] == refused, (m0, m1)
assert m1["hsmca_tls_client_hellos_total"] - m0["hsmca_tls_client_hellos_total"] == ok, \
    "%d ClientHellos read for %d handshakes served and %d refused" % (
        m1["hsmca_tls_client_hellos_total"] - m0["hsmca_tls_client_hellos_total"], ok, refused)
assert handshake("127.0.0.2") is True, "127.0.0.2 not served"
time.sleep(0.7)
assert handshake("127.0.0.1") is True, "127.0.0.1 not served again after 0.7 s"
print("%d handshakes in a burst, then %d refused without OpenSSL reading their ClientHello (%s); 127.0.0.2 served,"
      " 127.0.0.1 again after 0.7 s" % (served, refused, type(err).__name__))
EOP
grep -q 'event=connection_refused tls=yes refused=1 why="max_connection_rate_per_address"' "$T/frontend.log" \
	|| fail "the TLS rate refusal was not logged"
pass "max_connection_rate_per_address over TLS: $(cat "$T/tlsrate.out")"

# 5. HTTPS only (no plain listener), with the same certificate and the drop
fe_kill
badconf httpsonly "tls_listen = 127.0.0.1:$TLSPORT
tls_cert = $T/fe-chain.pem
tls_key = $T/fe.key" && sed -i '/^listen = /d' "$T/httpsonly.conf"
"$FRONTEND" run -c "$T/httpsonly.conf" >> "$T/frontend.log" 2>&1 &
FRONTEND_PID=$!
PIDS+=("$FRONTEND_PID")
FE_PIDS+=("$FRONTEND_PID")
for _ in $(seq 100); do curl -fsS --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "$HTTPS/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
[ "$(curl -sS --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "$HTTPS/healthz")" = '{"status": "ok"}' ] || fail "HTTPS-only frontend"
! curl -s "$URL/healthz" >/dev/null 2>&1 || fail "plain HTTP served without listen"
sclient -cert "$T/cli.pem" -key "$T/cli.key" > "$T/s-nocs.txt" || true
grep -q 'Acceptable client certificate CA names' "$T/s-nocs.txt" && fail "client certificates requested without client_ca"
grep -q 'No client certificate CA names sent' "$T/s-nocs.txt" || fail "no handshake to look for a request in: $(tail -5 "$T/s-nocs.txt")"
pass "HTTPS only (no listen): served; without client_ca no client certificate is requested"

# the last request of a recycled HTTPS connection with max_headers (64) fields is served and closes (before:
# 431 on this listener, whose entry stopped the request's clock first and so counted the Connection: close the
# frontend adds to it as the client's)
restart "$TLSCONF
max_requests_per_connection = 2"
python3 - "$TLSPORT" "$T/ca/root.pem" "$NAME" > "$T/tls-recycle.txt" <<'EOP' || fail "a recycled HTTPS connection's last request: $(cat "$T/tls-recycle.txt")"
import socket, ssl, sys
port, ca, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=name)
s.settimeout(5)
def reply():
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    n = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(body) < n:
        body += s.recv(65536)
    return head, body
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
h1, b1 = reply()
assert h1.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in h1, h1
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: y\r\n" % i for i in range(63)) + b"\r\n")
h2, b2 = reply()
assert h2.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in h2 and b2 == b'{"status": "ok"}\n', (h2, b2)
print("the second (last) request with 64 fields: 200, Connection: close")
EOP
restart "$TLSCONF"
pass "HTTPS: $(cat "$T/tls-recycle.txt")"

# 6. a password sent over TLS does not stay in the frontend's memory: OpenSSL wipes the records it decrypted
# (SSL_OP_CLEANSE_PLAINTEXT), libevent's freed buffers are wiped (wipealloc.c), and so are the frontend's own
for i in 1 2 3; do
	curl -sS -o /dev/null --cacert "$T/ca/root.pem" "${RESOLVE[@]}" "${ALICE[@]}" "$HTTPS/api/v1/certificates/0$i" || fail "a request over TLS"
done
sleep 0.5
# and the TLS key's PEM is not either (read through stdio, its freed buffer held the file for good): a line
# of its base64 (the key itself lives on in OpenSSL's own form, not this one)
KEYLINE=$(sed -n 2p "$T/fe.key")
[ "${#KEYLINE}" -ge 40 ] || fail "the key file's second line: $KEYLINE"
python3 "$(dirname "$0")/memscan.py" "$FRONTEND_PID" "$(cat "$T/alice.pw")" "$(printf 'alice:%s' "$(cat "$T/alice.pw")" | base64 -w0)" \
	"$KEYLINE" > "$T/memscan.txt" 2>&1 || fail "the password sent over TLS, or the key's PEM, is in the frontend's memory: $(head -c 1500 "$T/memscan.txt")"
pass "a password sent over TLS is not left in the frontend's memory, nor the TLS key file's PEM"
