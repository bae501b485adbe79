#!/usr/bin/env bash
# The README's first command: ./quickstart.sh brings up the token (behind p11-kit server), the demo
# ceremony and an unsealed signer; a leaf signed through it verifies; stop and start again reuses
# everything (and unseals again). The frontend drops to hsmca-frontend itself and serves HTTPS with a
# certificate the appliance issued for it (on the audit log); a rerun keeps that certificate.
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export HSMCA_HOME=$T/home HSMCA_BUILD_DIR=$HSMCA_BUILD HSMCA_HTTP_PORT=$(free_ports 2)
export HSMCA_HTTPS_PORT=$((HSMCA_HTTP_PORT + 1))
extra_cleanup() { "$REPO/quickstart.sh" stop >/dev/null 2>&1 || true; }
# a home below a directory other users cannot pass (a clone under /root): refused at once, before packages
# and a build (it used to stop only after both)
mkdir -m 700 "$T/closed"
start=$(date +%s)
expect_rc 1 env HSMCA_HOME="$T/closed/home" "$REPO/quickstart.sh"
grep -q "below a directory other users cannot pass" <<<"$OUT" && [ $(($(date +%s) - start)) -lt 5 ] \
	&& ! grep -q "installing\|building" <<<"$OUT" || fail "a home other users cannot reach: $OUT"
[ ! -e "$T/closed/home" ] || fail "quickstart made the unreachable home"
# a relative HSMCA_HOME is the caller's (before: taken below the repository, past the check above, to fail
# after packages, build and ceremony with relative socket paths the signer refuses)
expect_rc 1 env -C "$T" HSMCA_HOME=closed/home "$REPO/quickstart.sh"
grep -qF "$T/closed/home is below a directory other users cannot pass" <<<"$OUT" || fail "a relative home: $OUT"
# white space and a length the sockets' paths cannot hold are refused at once (before: a ceremony split on
# the space; PostgreSQL "did not start")
expect_rc 1 env HSMCA_HOME="$T/a home" "$REPO/quickstart.sh"
grep -q "white space" <<<"$OUT" || fail "a home with a space: $OUT"
long=/$(printf 'h%.0s' {1..84}) # 85 characters: one more than $H/pg/sock/.s.PGSQL.NNNNN can hold
expect_rc 1 env HSMCA_HOME="$long" "$REPO/quickstart.sh"
grep -q "too long for its Unix sockets (85 characters, at most 84)" <<<"$OUT" || fail "a home too long for its sockets: $OUT"
[ ! -e "$long" ] || fail "quickstart made the home that is too long"
# stop with nothing started there says so (before: exit 0, silent, whatever kept running elsewhere)
expect_rc 1 env HSMCA_HOME="$T/none" "$REPO/quickstart.sh" stop
grep -q "nothing to stop in $T/none" <<<"$OUT" || fail "stop of an empty home: $OUT"
# a clone other users cannot reach (under /root) keeps its state in /var/lib/hsmca, and says so; stop finds
# the same home (only where no /var/lib/hsmca exists: this must not stop a real one)
if [ ! -e /var/lib/hsmca ]; then
	mkdir -p "$T/closed/clone" && cp "$REPO/quickstart.sh" "$T/closed/clone/"
	expect_rc 1 env -u HSMCA_HOME "$T/closed/clone/quickstart.sh" stop
	grep -q "the appliance's state goes to /var/lib/hsmca" <<<"$OUT" && grep -q "nothing to stop in /var/lib/hsmca" <<<"$OUT" \
		|| fail "a clone under a closed directory: $OUT"
	[ ! -e /var/lib/hsmca ] || fail "stop made /var/lib/hsmca"
fi
"$REPO/quickstart.sh" > "$T/qs1.log" 2>&1 || fail "quickstart: $(tail -5 "$T/qs1.log")"
grep -qF "Stop: HSMCA_HOME=$HSMCA_HOME ./quickstart.sh stop" "$T/qs1.log" || fail "the stop command printed: $(grep Stop: "$T/qs1.log")"
grep -q "profiles: within the signer's pinned keys (ok: [0-9]* keys, [0-9]* profiles)" "$T/qs1.log" \
	|| fail "quickstart did not check its profiles against the signer's pins: $(grep -i profiles "$T/qs1.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")" "$(cat "$HSMCA_HOME/pids/p11kit.pid")" "$(cat "$HSMCA_HOME/pids/frontend.pid")")
for f in ca/root.pem ca/intermediate.pem ca/chain.pem custodians/alice.share custodians/erin.share; do
	[ -s "$HSMCA_HOME/$f" ] || fail "$f missing"
done
openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" "$HSMCA_HOME/ca/intermediate.pem" >/dev/null || fail "chain"
leaf() {
	"$SGNTOOL" leaf socket="$HSMCA_HOME/run/signer.sock" label=hsmca-intermediate issuer="$HSMCA_HOME/ca/intermediate.pem" \
		crl="http://127.0.0.1:$HSMCA_HTTP_PORT/crl/intermediate.crl" ocsp="http://127.0.0.1:$HSMCA_HTTP_PORT/ocsp" \
		out="$T/$1.pem" > "$T/sgntool.log" 2>&1 || fail "leaf: $(cat "$T/sgntool.log")"
	openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" -untrusted "$HSMCA_HOME/ca/intermediate.pem" "$T/$1.pem" \
		>/dev/null || fail "leaf does not verify"
}
leaf first
# the audit checkpoints' key of its own (root-issued), the only key that signs them
openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" "$HSMCA_HOME/ca/checkpoint.pem" >/dev/null || fail "checkpoint certificate"
digest=$(head -c 32 /dev/urandom | xxd -p -c 64)
"$SGNTOOL" checkpoint socket="$HSMCA_HOME/run/signer.sock" label=hsmca-checkpoint digest="$digest" out="$T/cp.sig" > "$T/sgntool.log" 2>&1 \
	|| fail "checkpoint signature: $(cat "$T/sgntool.log")"
{ printf 'hsmca-audit-checkpoint-v1\0'; printf '%s' "$digest" | xxd -r -p; } > "$T/cp.msg"
openssl x509 -in "$HSMCA_HOME/ca/checkpoint.pem" -noout -pubkey > "$T/cp.pub"
openssl dgst -sha256 -verify "$T/cp.pub" -signature "$T/cp.sig" "$T/cp.msg" >/dev/null || fail "the checkpoint key's signature"
expect_rc 3 "$SGNTOOL" checkpoint socket="$HSMCA_HOME/run/signer.sock" label=hsmca-intermediate digest="$digest" out="$T/cp2.sig"
grep -q "event=audit_checkpoints_on key=hsmca-checkpoint certificate=$HSMCA_HOME/ca/checkpoint.pem" "$HSMCA_HOME/log/frontend.log" \
	|| fail "the frontend's checkpoints: $(grep checkpoint "$HSMCA_HOME/log/frontend.log")"
! grep -q 'checkpoint_key_shared\|ca_unpinned\|leaf_unpinned' "$HSMCA_HOME/log/signer.log" || fail "the demo signer config draws advice: $(grep warning "$HSMCA_HOME/log/signer.log")"
pass "audit checkpoints are signed by a dedicated root-issued key (the issuing CA's key refuses them), the frontend checks them under its certificate"
# shellcheck source=tests/integration/pg_lib.sh
source "$(dirname "$0")/pg_lib.sh"
pg_psql_qs() { pg_psql "$HSMCA_HOME/pg" owner -c "$1"; }
# the frontend: demo credentials, chain, issuance as the demo requester
python3 - "$HSMCA_HOME/demo-credentials.json" <<'PY' || fail "demo-credentials.json"
import json, sys
d = json.load(open(sys.argv[1]))
roles = [a["role"] for a in d["accounts"]]
assert roles.count("requester") >= 1 and roles.count("admin") >= 2, roles
assert all(len(a["password"]) >= 12 for a in d["accounts"])
PY
URL=http://127.0.0.1:$HSMCA_HTTP_PORT
curl -fsS "$URL/api/v1/ca/chain" | cmp -s - "$HSMCA_HOME/ca/chain.pem" || fail "chain endpoint"
pw=$(python3 -c 'import json,sys; print([a for a in json.load(open(sys.argv[1]))["accounts"] if a["role"]=="requester"][0]["password"])' "$HSMCA_HOME/demo-credentials.json")
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" -subj /CN=x \
	-addext subjectAltName=DNS:www.example.com -out "$T/r.csr" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/r.csr" > "$T/req.json"
st=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/req.json" "$URL/api/v1/certificates")
[ "$st" = 201 ] || fail "issuance through the quickstart frontend: $st $(cat "$T/resp.json")"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' "$T/resp.json" > "$T/issued.pem"
openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" -untrusted "$HSMCA_HOME/ca/intermediate.pem" "$T/issued.pem" >/dev/null \
	|| fail "issued certificate does not verify"
[ "$(ps -o user= -p "$(cat "$HSMCA_HOME/pids/frontend.pid")")" = hsmca-frontend ] || fail "frontend is not unprivileged"
grep -q 'event=privdrop user=hsmca-frontend' "$HSMCA_HOME/log/frontend.log" || fail "the frontend did not drop privileges itself"
grep -q "https://localhost:$HSMCA_HTTPS_PORT" "$T/qs1.log" || fail "quickstart did not print the HTTPS URL"
HTTPS=https://127.0.0.1:$HSMCA_HTTPS_PORT
[ "$(curl -sS --cacert "$HSMCA_HOME/ca/chain.pem" "$HTTPS/healthz")" = '{"status": "ok"}' ] || fail "HTTPS healthz (IP SAN)"
[ "$(curl -sS --cacert "$HSMCA_HOME/ca/chain.pem" "https://localhost:$HSMCA_HTTPS_PORT/healthz")" = '{"status": "ok"}' ] \
	|| fail "HTTPS healthz (DNS SAN localhost)"
fecert=$HSMCA_HOME/tls/frontend.pem
openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" -untrusted "$HSMCA_HOME/ca/intermediate.pem" "$fecert" >/dev/null \
	|| fail "the frontend's certificate does not verify"
[ "$(stat -c '%U %a' "$HSMCA_HOME/tls/frontend.key")" = "root 600" ] || fail "frontend key: $(stat -c '%U %a' "$HSMCA_HOME/tls/frontend.key")"
openssl x509 -in "$fecert" -noout -ext subjectAltName | grepq 'DNS:localhost, IP Address:127.0.0.1' || fail "frontend SANs"
openssl x509 -in "$fecert" -noout -text > "$T/fecert.txt"
grep -q 'NIST CURVE: P-256' "$T/fecert.txt" || fail "frontend key is not P-256"
feserial=$(openssl x509 -in "$fecert" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
st=$(pg_psql_qs "select status from certificates where ltrim(serial_hex, '0') = ltrim('$feserial', '0')")
[ "$st" = issued ] || fail "the frontend's certificate is not in the certificates table: '$st'"
openssl s_client -connect "127.0.0.1:$HSMCA_HTTPS_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' < /dev/null > "$T/s11.txt" 2>&1 \
	&& fail "TLS 1.1 accepted"
# the server's refusal, not the client's (as frontend_tls.sh checks it)
grep -Eqi 'alert protocol version|unsupported protocol|wrong version' "$T/s11.txt" \
	|| fail "TLS 1.1 failed for another reason: $(tail -5 "$T/s11.txt")"
! grep -q 'no protocols available' "$T/s11.txt" || fail "the client, not the server, refused TLS 1.1"
st=$(curl -sS -o "$T/resp2.json" -w '%{http_code}' --cacert "$HSMCA_HOME/ca/chain.pem" -u "demo-requester:$pw" \
	--data-binary @"$T/req.json" "$HTTPS/api/v1/certificates")
[ "$st" = 201 ] || fail "issuance over HTTPS: $st $(cat "$T/resp2.json")"
pass "quickstart HTTPS: the frontend's P-256 certificate for localhost/127.0.0.1 issued by the demo CA (on record), curl --cacert chain.pem works, TLS 1.1 refused"
# the README's first issuance, as written there (its home and port are the test's)
(
	cd "$T" && mkdir -p readme && cd readme
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -subj /CN=x \
		-addext subjectAltName=DNS:www.example.com -out r.csr 2>/dev/null
	python3 -c 'import json; print(json.dumps({"csr": open("r.csr").read(), "profile": "server"}))' |
		curl -sS -u "demo-requester:$pw" --data-binary @- "$URL/api/v1/certificates" > r.json
	python3 -c 'import json; print(json.load(open("r.json"))["certificate"], end="")' > cert.pem
	openssl verify -CAfile "$HSMCA_HOME/ca/root.pem" -untrusted "$HSMCA_HOME/ca/intermediate.pem" cert.pem
) > "$T/readme.log" 2>&1 || fail "the README's first issuance: $(cat "$T/readme.log")"
grepq 'cert.pem: OK' "$T/readme.log" || fail "the README's first issuance: $(cat "$T/readme.log")"
pass "the README's first-issuance commands work as written"
# the CRL at the URL the demo's certificates carry (its name, "intermediate", is not the key's label
# "hsmca-intermediate": the profiles' crl_url maps it), signed by the intermediate
crlurl=$(openssl x509 -in "$fecert" -noout -ext crlDistributionPoints | grep -o 'http://[^ ]*')
[ "$crlurl" = "$URL/crl/intermediate.crl" ] || fail "the demo certificates' CRL URL: $crlurl"
st=$(curl -sS -o "$T/demo.crl" -w '%{http_code}' "$crlurl")
[ "$st" = 200 ] && openssl crl -inform DER -in "$T/demo.crl" -CAfile "$HSMCA_HOME/ca/intermediate.pem" -noout 2>&1 | grepq 'verify OK' \
	|| fail "the demo CA's CRL at $crlurl: $st"
pass "quickstart: the CRL the demo's certificates name is served, signed by the intermediate"
# the demo approval profile: held for demo-requester, approved by a demo administrator
apw=$(python3 -c 'import json,sys; print([a for a in json.load(open(sys.argv[1]))["accounts"] if a["role"]=="admin"][0]["password"])' "$HSMCA_HOME/demo-credentials.json")
aname=$(python3 -c 'import json,sys; print([a for a in json.load(open(sys.argv[1]))["accounts"] if a["role"]=="admin"][0]["name"])' "$HSMCA_HOME/demo-credentials.json")
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "gated"}))' "$T/r.csr" > "$T/greq.json"
st=$(curl -sS -o "$T/g.json" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/greq.json" "$URL/api/v1/certificates")
[ "$st" = 202 ] || fail "demo gated profile: $st $(cat "$T/g.json")"
aid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["approval"])' "$T/g.json")
st=$(curl -sS -o "$T/ga.json" -w '%{http_code}' -X POST -u "$aname:$apw" "$URL/api/v1/approvals/$aid/approve")
[ "$st" = 200 ] && grep -q '"status": "issued"' "$T/ga.json" || fail "demo approval: $st $(cat "$T/ga.json")"
pass "quickstart: the demo gated profile holds a request until a demo administrator approves it"
# PostgreSQL: a local user connects only as the roles pg_ident.conf lists for it (peer authentication): the
# frontend's user as hsmca_frontend, never as the superuser, and any other user not at all (with trust any of
# them was the superuser, who may turn the audit log's triggers off)
PGCI="host=$HSMCA_HOME/pg/sock port=$(cat "$HSMCA_HOME/pg/port") dbname=hsmca"
pgas() { runuser -u "$1" -- "$PG_BIN/psql" -X -qAt "$PGCI user=$2" -c 'select current_user' 2>&1 || true; }
[ "$(pgas hsmca-frontend hsmca_frontend)" = hsmca_frontend ] || fail "the frontend's user as hsmca_frontend: $(pgas hsmca-frontend hsmca_frontend)"
for who in "hsmca-frontend postgres" "nobody postgres" "nobody hsmca_frontend"; do
	pgas $who | grepq 'Peer authentication failed' || fail "PostgreSQL let $who in: $(pgas $who)"
done
pass "quickstart's PostgreSQL: the frontend's OS user connects as hsmca_frontend only, other local users not at all"
grep -q 'p11-kit-client' /proc/"$(cat "$HSMCA_HOME/pids/signer.pid")"/maps || fail "signer does not use p11-kit-client"
# the server that holds SoftHSM runs as its user and that user's group (without -z p11-kit kept group root)
p11ids() { awk '/^Uid:/ {u = $3} /^Gid:/ {g = $3} END {print u, g}' /proc/"$(cat "$HSMCA_HOME/pids/p11kit.pid")"/status; }
[ "$(p11ids)" = "$(id -u hsmca-hsm) $(id -g hsmca-hsm)" ] || fail "p11-kit server runs as uid/gid $(p11ids)"
pass "quickstart: ceremony done, signer unsealed behind p11-kit server, frontend on PostgreSQL issues for the demo requester"
sum=$(sha256sum < "$HSMCA_HOME/ca/root.pem")
"$REPO/quickstart.sh" stop > "$T/stop.log" 2>&1 || fail "stop"
grep -q 'stopped signer' "$T/stop.log" || fail "stop did not stop the signer"
# without demo-credentials.json (deleted, or a run cut short before it was written) the rerun gives the demo
# accounts, which exist, the passwords it lists (it listed new ones the database never had before)
rm "$HSMCA_HOME/demo-credentials.json"
"$REPO/quickstart.sh" > "$T/qs2.log" 2>&1 || fail "second quickstart: $(tail -5 "$T/qs2.log")"
pw=$(python3 -c 'import json,sys; print([a for a in json.load(open(sys.argv[1]))["accounts"] if a["role"]=="requester"][0]["password"])' "$HSMCA_HOME/demo-credentials.json")
st=$(curl -sS -o "$T/resp2.json" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/req.json" "$URL/api/v1/certificates")
[ "$st" = 201 ] || fail "the rerun's demo password: $st $(cat "$T/resp2.json")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")" "$(cat "$HSMCA_HOME/pids/p11kit.pid")" "$(cat "$HSMCA_HOME/pids/frontend.pid")")
[ "$(sha256sum < "$HSMCA_HOME/ca/root.pem")" = "$sum" ] || fail "second run replaced the root"
! grep -q 'demo key ceremony' "$T/qs2.log" || fail "second run repeated the ceremony"
leaf second
[ "$(openssl x509 -in "$fecert" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')" = "$feserial" ] || fail "rerun replaced the frontend's certificate"
! grep -q 'frontend TLS: certificate' "$T/qs2.log" || fail "rerun issued a new frontend certificate"
curl -fsS --cacert "$HSMCA_HOME/ca/chain.pem" "$HTTPS/healthz" >/dev/null || fail "HTTPS after the rerun"
# a signer left sealed (a run cut short during the unseal) is started afresh and unsealed by the next run, and so
# is one whose p11-kit server had to be started again (its sessions went with the old server); before, each was
# reused as it was, and issuance failed (503) after a run that said all was well
issue_ok() { # LABEL: the demo requester gets a certificate
	st=$(curl -sS -o "$T/resp3.json" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/req.json" "$URL/api/v1/certificates")
	[ "$st" = 201 ] || fail "$1: $st $(cat "$T/resp3.json")"
}
old=$(cat "$HSMCA_HOME/pids/signer.pid")
kill "$old"; for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
rm -f "$HSMCA_HOME/run/control.sock" "$HSMCA_HOME/run/signer.sock"
nohup "$HSMCA_BUILD/signer/hsmca-signer" run -c "$HSMCA_HOME/config/signer.conf" >> "$HSMCA_HOME/log/signer.log" 2>&1 &
echo $! > "$HSMCA_HOME/pids/signer.pid"; PIDS+=("$!")
for _ in $(seq 100); do [ -S "$HSMCA_HOME/run/control.sock" ] && break; sleep 0.05; done
[ -S "$HSMCA_HOME/run/control.sock" ] && [ ! -S "$HSMCA_HOME/run/signer.sock" ] || fail "the sealed signer by hand"
"$REPO/quickstart.sh" > "$T/qs3.log" 2>&1 || fail "a rerun over a sealed signer: $(tail -5 "$T/qs3.log")"
grepq 'was not serving' "$T/qs3.log" || fail "the sealed signer was not started again: $(cat "$T/qs3.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")")
issue_ok "issuance after a rerun over a sealed signer"
kill "$(cat "$HSMCA_HOME/pids/p11kit.pid")"
for _ in $(seq 100); do [ ! -S "$HSMCA_HOME/p11/p11.sock" ] && break; sleep 0.05; done
"$REPO/quickstart.sh" > "$T/qs4.log" 2>&1 || fail "a rerun after the token server stopped: $(tail -5 "$T/qs4.log")"
grepq 'was not serving' "$T/qs4.log" || fail "the signer of the old token server was kept: $(cat "$T/qs4.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")" "$(cat "$HSMCA_HOME/pids/p11kit.pid")")
issue_ok "issuance after a rerun that started the token server again"
# an operator's edit of a configuration quickstart writes is kept by the next run (before, every run wrote
# them afresh), the generated one left beside it, and an edited profiles file restarts the frontend
sed -i 's/^max_sans = 20$/max_sans = 1/' "$HSMCA_HOME/config/profiles.conf"
grepq '^max_sans = 1$' "$HSMCA_HOME/config/profiles.conf" || fail "the test's edit of profiles.conf"
fe_old=$(cat "$HSMCA_HOME/pids/frontend.pid")
"$REPO/quickstart.sh" > "$T/qs5.log" 2>&1 || fail "a rerun over an edited profiles.conf: $(tail -5 "$T/qs5.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/frontend.pid")")
grepq "kept $HSMCA_HOME/config/profiles.conf as you edited it" "$T/qs5.log" || fail "the kept edit is not said: $(cat "$T/qs5.log")"
grepq '^max_sans = 1$' "$HSMCA_HOME/config/profiles.conf" || fail "the rerun undid the operator's edit"
grepq '^max_sans = 20$' "$HSMCA_HOME/config/profiles.conf.new" || fail "the generated profiles are not left beside it"
[ "$(cat "$HSMCA_HOME/pids/frontend.pid")" != "$fe_old" ] || fail "the frontend was not restarted on the edited profiles"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/two.key" -subj "/CN=a.example.com" \
	-addext subjectAltName=DNS:a.example.com,DNS:b.example.com -out "$T/two.csr" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/two.csr" > "$T/two.json"
st=$(curl -sS -o "$T/two.out" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/two.json" "$URL/api/v1/certificates")
[ "$st" = 403 ] && grepq "san-count" "$T/two.out" || fail "two names under the edited max_sans = 1: $st $(cat "$T/two.out")"
cp "$HSMCA_HOME/config/profiles.conf.new" "$HSMCA_HOME/config/profiles.conf" # the operator takes the generated one
"$REPO/quickstart.sh" > "$T/qs6.log" 2>&1 || fail "a rerun after the merge: $(tail -5 "$T/qs6.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/frontend.pid")")
! grepq 'as you edited it' "$T/qs6.log" && [ ! -e "$HSMCA_HOME/config/profiles.conf.new" ] || fail "after the merge: $(cat "$T/qs6.log")"
st=$(curl -sS -o "$T/two.out" -w '%{http_code}' -u "demo-requester:$pw" --data-binary @"$T/two.json" "$URL/api/v1/certificates")
[ "$st" = 201 ] || fail "two names after the merge: $st $(cat "$T/two.out")"
pass "a rerun keeps an operator's edit of profiles.conf (the generated one beside it as .new) and restarts the frontend on it"
"$REPO/quickstart.sh" stop >/dev/null
[ ! -e "$HSMCA_HOME/run/signer.sock" ] || fail "the signer's socket stayed after stop"
"$REPO/quickstart.sh" stop > "$T/stop3.log" 2>&1 || fail "a second stop: $(cat "$T/stop3.log")"
! grepq stopped "$T/stop3.log" || fail "a second stop says it stopped something: $(cat "$T/stop3.log")"
pass "quickstart stop / start reuses the token and CA and signs again; a rerun starts again and unseals a signer left sealed, or whose token server it started again"
# stop kills only what quickstart started: a pid file left behind (a reboot, a crash) may name any process now
sleep 300 >/dev/null 2>&1 & # (its output not the test's: ctest would wait on it after a failure)
OTHER=$!
PIDS+=("$OTHER")
echo "$OTHER" > "$HSMCA_HOME/pids/signer.pid"
"$REPO/quickstart.sh" stop > "$T/stop2.log" 2>&1 || fail "stop with a stale pid file: $(cat "$T/stop2.log")"
kill -0 "$OTHER" 2>/dev/null || fail "quickstart stop killed pid $OTHER, which it did not start"
kill "$OTHER"
[ ! -f "$HSMCA_HOME/pids/signer.pid" ] || fail "the stale pid file stayed"
pass "quickstart stop leaves alone the process a stale pid file names"
