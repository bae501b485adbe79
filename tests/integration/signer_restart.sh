#!/usr/bin/env bash
# SIGKILL the signer in the middle of a signing load: it restarts sealed (no signing socket answers),
# and signs again after m custodians unseal it.
source "$(dirname "$0")/lib.sh"
ensure_users
hsm_init_env
ceremony_init
ceremony_ca root root p256
ceremony_ca intermediate int p256 root
signer_conf "$SOFTHSM_MODULE"
signer_key int root "cert"
signer_start
signer_unseal alice bob carol
"$SGNTOOL" bench socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" threads=4 seconds=5 > "$T/bench.log" 2>&1 &
BENCH=$!
sleep 1.5
grep -c 'event=signed' "$T/signer.log" > "$T/before" || true
[ "$(cat "$T/before")" -gt 50 ] || fail "no load on the signer before the kill"
kill -9 "$SIGNER_PID"
wait "$SIGNER_PID" 2>/dev/null || true
set +e; wait $BENCH; brc=$?; set -e
[ $brc -ne 0 ] || fail "the load generator did not notice the signer's death"
pass "signer killed with SIGKILL after $(cat "$T/before") signatures under load"

: > "$T/signer.log"
signer_start
"$SIGNER" unseal --control "$T/run/control.sock" --status | grep -q '^sealed: no shares presented' || fail "restarted signer is not sealed"
expect_rc 4 "$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/x.pem"
pass "restarted signer is sealed and signs nothing"
signer_unseal bob dave erin
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf.pem" >/dev/null || fail "sign after unseal"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/leaf.pem" >/dev/null || fail "verify"
pass "after unseal by three other custodians it signs again"
