#!/usr/bin/env bash
# The README's first command: ./quickstart.sh brings up the token (behind p11-kit server), the demo
# ceremony and an unsealed signer; a leaf signed through it verifies; stop and start again reuses
# everything (and unseals again).
source "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export HSMCA_HOME=$T/home HSMCA_BUILD_DIR=$HSMCA_BUILD
"$REPO/quickstart.sh" > "$T/qs1.log" 2>&1 || fail "quickstart: $(tail -5 "$T/qs1.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")" "$(cat "$HSMCA_HOME/pids/p11kit.pid")")
for f in ca/root.pem ca/intermediate.pem ca/chain.pem custodians/alice.share custodians/erin.share; do
	[ -s "$HSMCA_HOME/$f" ] || fail "$f missing"
done
openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" "$HSMCA_HOME/ca/intermediate.pem" >/dev/null || fail "chain"
leaf() {
	"$SGNTOOL" leaf socket="$HSMCA_HOME/run/signer.sock" label=hsmca-intermediate issuer="$HSMCA_HOME/ca/intermediate.pem" \
		out="$T/$1.pem" > "$T/sgntool.log" 2>&1 || fail "leaf: $(cat "$T/sgntool.log")"
	openssl verify -x509_strict -CAfile "$HSMCA_HOME/ca/root.pem" -untrusted "$HSMCA_HOME/ca/intermediate.pem" "$T/$1.pem" \
		>/dev/null || fail "leaf does not verify"
}
leaf first
grep -q 'p11-kit-client' /proc/"$(cat "$HSMCA_HOME/pids/signer.pid")"/maps || fail "signer does not use p11-kit-client"
pass "quickstart: ceremony done, signer unsealed behind p11-kit server, a leaf verifies"
sum=$(sha256sum < "$HSMCA_HOME/ca/root.pem")
"$REPO/quickstart.sh" stop > "$T/stop.log" 2>&1 || fail "stop"
grep -q 'stopped signer' "$T/stop.log" || fail "stop did not stop the signer"
"$REPO/quickstart.sh" > "$T/qs2.log" 2>&1 || fail "second quickstart: $(tail -5 "$T/qs2.log")"
PIDS+=("$(cat "$HSMCA_HOME/pids/signer.pid")" "$(cat "$HSMCA_HOME/pids/p11kit.pid")")
[ "$(sha256sum < "$HSMCA_HOME/ca/root.pem")" = "$sum" ] || fail "second run replaced the root"
! grep -q 'demo key ceremony' "$T/qs2.log" || fail "second run repeated the ceremony"
leaf second
"$REPO/quickstart.sh" stop >/dev/null
pass "quickstart stop / start reuses the token and CA and signs again"
