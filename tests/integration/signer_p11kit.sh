#!/usr/bin/env bash
# The recommended deployment: SoftHSM2 runs inside `p11-kit server` under its own user; the signer loads
# p11-kit-client, so no key material is ever in the signer's memory (the SoftHSM module is not even mapped).
source "$(dirname "$0")/lib.sh"
command -v p11-kit >/dev/null && [ -f "$P11KIT_CLIENT" ] || fail "p11-kit server/client not installed"
ensure_users
hsm_init_env
ceremony_init
ceremony_ca root root p256
ceremony_ca intermediate int p256 root
ceremony_ca ocsp ocsp p256 int
mkdir -p "$T/p11"
chown -R "$HSM_USER" "$T/tokens" "$T/p11"
p11-kit server -f -p "$SOFTHSM_MODULE" -n "$T/p11/p11.sock" -u "$SIGNER_USER" -a "$HSM_USER" "pkcs11:token=hsmca-test" \
	> "$T/p11kit.log" 2>&1 &
P11_PID=$!
PIDS+=("$P11_PID")
for _ in $(seq 100); do [ -S "$T/p11/p11.sock" ] && break; sleep 0.05; done
[ -S "$T/p11/p11.sock" ] || fail "p11-kit server did not start"
# p11-kit server creates its socket after dropping to -a, so it cannot hand it to -u: give the signer's group
# write access (the server still checks that the peer's uid is the signer's)
chgrp "$SIGNER_USER" "$T/p11/p11.sock" && chmod 0660 "$T/p11/p11.sock"
signer_conf "$P11KIT_CLIENT" "p11kit_server_address = unix:path=$T/p11/p11.sock"
signer_key int root "cert, crl"
signer_key ocsp int "ocsp" "ocsp_delegated = yes"
signer_start
grep -q "^Seccomp_filters:[[:space:]]*$((UNIT_FILTERS + 1))\$" "/proc/$SIGNER_PID/status" || fail "sealed, no filter: $(grep Seccomp "/proc/$SIGNER_PID/status")"
signer_unseal carol dave erin
grep -q "^Seccomp_filters:[[:space:]]*$((UNIT_FILTERS + 2))\$" "/proc/$SIGNER_PID/status" || fail "unsealed, not both filters: $(grep Seccomp "/proc/$SIGNER_PID/status")"
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf.pem" > "$T/sgntool.log" 2>&1 || fail "leaf through p11-kit: $(cat "$T/sgntool.log")"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/leaf.pem" >/dev/null || fail "verify"
"$SGNTOOL" ocsp socket="$T/run/signer.sock" label=ocsp responder="$T/ca/ocsp.pem" issuer="$T/ca/int.pem" cert="$T/leaf.pem" \
	out="$T/resp.der" >/dev/null || fail "OCSP through p11-kit"
cat "$T/ca/int.pem" "$T/ca/root.pem" > "$T/chain.pem"
openssl ocsp -respin "$T/resp.der" -CAfile "$T/chain.pem" -issuer "$T/ca/int.pem" -cert "$T/leaf.pem" 2>&1 \
	| grepq 'Response verify OK' || fail "OCSP response does not verify"
pass "signing through p11-kit server (SoftHSM as $HSM_USER) works inside the sandbox"
grep -q 'p11-kit-client' /proc/$SIGNER_PID/maps || fail "p11-kit-client not loaded"
! grep -q 'libsofthsm2' /proc/$SIGNER_PID/maps || fail "SoftHSM is mapped into the signer"
ps -eo user:32,args | grep '[p]11-kit-remote' > "$T/ps.log" || fail "no p11-kit-remote process serves the token"
! grep -v "^$HSM_USER " "$T/ps.log" || fail "a p11-kit-remote process runs as another user"
pass "the signer maps p11-kit-client only; SoftHSM (and the keys) live in a process of $HSM_USER"
# the frontend's user belongs to the signer's group (to reach the signing socket), so the token's socket lets it
# connect too: p11-kit server's peer check (-u) is what turns it away (a compromised frontend would otherwise
# open sessions on the token and guess the PIN at will). The signer's user, as the control, sees the token
p11list() { runuser -u "$1" -- env P11_KIT_SERVER_ADDRESS="unix:path=$T/p11/p11.sock" pkcs11-tool --module "$P11KIT_CLIENT" -L 2>&1; }
id -nG hsmca-frontend | grepq -w "$SIGNER_USER" || fail "hsmca-frontend is not in $SIGNER_USER's group: the check below would prove nothing"
p11list "$SIGNER_USER" | grepq 'token label *: hsmca-test' || fail "the signer's user does not see the token: $(p11list "$SIGNER_USER")"
! p11list hsmca-frontend | grepq 'hsmca-test' || fail "hsmca-frontend reached the token through p11-kit server: $(p11list hsmca-frontend)"
pass "p11-kit server serves the token to the signer's user only: hsmca-frontend, in the signer's group, is refused"

# socket_group: the signing socket is made 0660 in that group without chmod or chown as root (umask and the
# effective gid at bind); dropped before the token as here, the signer can only give it one of its user's
# groups, and says so when it cannot
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
cp "$T/signer.conf" "$T/signer.good"
sed -i "/^\[signer\]$/a socket_group = $SIGNER_USER" "$T/signer.conf"
rm -f "$T/run/control.sock" "$T/run/signer.sock"
signer_start
signer_unseal carol dave erin
[ "$(stat -c '%a %G %U' "$T/run/signer.sock")" = "660 $SIGNER_USER $SIGNER_USER" ] || fail "socket_group: $(stat -c '%a %G %U' "$T/run/signer.sock")"
[ "$(stat -c '%a' "$T/run/control.sock" 2>/dev/null || echo gone)" = gone ] || fail "the control socket outlived the unseal"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
sed -i "/^\[signer\]$/a socket_group = $HSM_USER" "$T/signer.good"
cp "$T/signer.good" "$T/signer.conf"
: > "$T/signer.log"
rm -f "$T/run/control.sock" "$T/run/signer.sock"
signer_start
for n in carol dave erin; do
	"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" --passphrase-file "$T/pass/$n.pass" >> "$T/unseal.log" 2>&1 || true
done
for _ in $(seq 50); do kill -0 "$SIGNER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SIGNER_PID" 2>/dev/null && fail "the signer runs with a socket group it cannot give"
grep -q "event=startup_failed step=socket why=\"cannot create $T/run/signer.sock with group $HSM_USER (dropped first behind p11-kit: only the signer's user's primary group)\"" "$T/signer.log" \
	|| fail "socket_group not the signer's: $(tail -2 "$T/signer.log")"
[ ! -e "$T/run/signer.sock" ] || fail "a signing socket left behind"
sed -i "/^socket_group = /d" "$T/signer.good"
cp "$T/signer.good" "$T/signer.conf"
: > "$T/signer.log"
rm -f "$T/run/control.sock"
signer_start
signer_unseal carol dave erin
pass "socket_group: 0660 in the signer's own group; a group the unprivileged signer is not in stops it with the reason, no socket left"
# Landlock behind p11-kit too (no module directories: only the two socket directories): the sealed filter
# refuses open, but unlink, bind and chown took any path the signer's user may write
grep -q 'event=landlock abi=[1-9][0-9]* module_dirs=0' "$T/signer.log" || fail "no Landlock behind p11-kit: $(grep -E 'landlock|sealed' "$T/signer.log")"
pass "behind p11-kit the signer confines its files with Landlock as well (module_dirs=0)"

# the HSM side goes away under a running signer (here: the p11-kit server and the process serving the signer's
# connection die): the signer answers with an HSM error, logs hsm_lost and exits, so that its supervisor
# restarts it sealed (it used to stay up answering every request with an HSM error for ever)
REMOTES=$(pgrep -P "$P11_PID" || true)
kill "$P11_PID" $REMOTES 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$P11_PID" 2>/dev/null || break; sleep 0.1; done
set +e; "$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf2.pem" > "$T/sgntool2.log" 2>&1; set -e
for _ in $(seq 50); do kill -0 "$SIGNER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SIGNER_PID" 2>/dev/null && fail "the signer stays up without its HSM: $(tail -3 "$T/signer.log")"
grep -q 'event=hsm_lost' "$T/signer.log" || fail "hsm_lost not logged: $(tail -3 "$T/signer.log")"
[ ! -s "$T/leaf2.pem" ] || fail "a certificate without an HSM"
pass "the HSM gone under a running signer: an HSM error, hsm_lost logged, the signer exits (to be restarted sealed)"
