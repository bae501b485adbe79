#!/usr/bin/env bash
# SIGKILL the signer in the middle of a signing load: it restarts sealed (no signing socket answers),
# and signs again after m custodians unseal it.
source "$(dirname "$0")/lib.sh"
# a fresh log, no stale sockets, a signer started and sealed
start_sealed() {
	: > "$T/signer.log"
	rm -f "$T/run/control.sock" "$T/run/signer.sock"
	signer_start
	for _ in $(seq 100); do grep -q 'event=sealed' "$T/signer.log" && break; sleep 0.05; done
}
# alice's and bob's shares accepted, carol's (the quorum) refused: its output in $OUT
quorum_refused() {
	local n
	for n in alice bob; do
		"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" --passphrase-file "$T/pass/$n.pass" >/dev/null || fail "$n"
	done
	expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/carol.share" --passphrase-file "$T/pass/carol.pass"
}
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
# started with a descriptor it did not open (a careless supervisor's, here the config file on fd 9): closed
# before anything else, so nothing inherited stays reachable from the sandbox. And by a supervisor that closed
# its stdout and allows core dumps: fd 1 is /dev/null (not the next file the signer opens, which its log lines
# would then go into), and the core limit is 0 before the unseal (fs.suid_dumpable = 2 writes a core of a
# non-dumpable process too, the HSM module's copy of the PIN in it)
core_hard=$(ulimit -H -c)
ulimit -S -c "$core_hard"
exec 9< "$T/signer.conf"
"$SIGNER" run -c "$T/signer.conf" 2>> "$T/signer.log" >&- &
SIGNER_PID=$!
PIDS+=("$SIGNER_PID")
exec 9<&-
ulimit -S -c 0
for _ in $(seq 200); do
	[ -S "$T/run/control.sock" ] && grep -q 'event=sealed' "$T/signer.log" && break
	sleep 0.05
done
grep -q 'event=sealed' "$T/signer.log" || fail "the signer started with stdout closed is not up: $(tail -3 "$T/signer.log")"
[ "$(readlink "/proc/$SIGNER_PID/fd/1")" = /dev/null ] || fail "the signer's fd 1: $(ls -l "/proc/$SIGNER_PID/fd/")"
core_checked="and a core limit of 0 before its unseal"
if [ "$core_hard" = 0 ]; then
	core_checked="(its core limit not checked: the hard limit is 0 here, so the signer's own cannot be told apart)"
else
	awk '/^Max core file size/ { exit !($5 == 0 && $6 == 0) }' "/proc/$SIGNER_PID/limits" \
		|| fail "the sealed signer may dump core: $(grep 'core file' "/proc/$SIGNER_PID/limits")"
fi
pass "a signer started with stdout closed has /dev/null there, $core_checked"
"$SIGNER" unseal --control "$T/run/control.sock" --status | grepq '^sealed: no shares presented' || fail "restarted signer is not sealed"
expect_rc 4 "$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/x.pem"
pass "restarted signer is sealed and signs nothing"
# the shares are read inside the sandbox: the sealed phase's filter is loaded before the control socket serves
# (until it was, a sealed signer ran with no filter at all: Seccomp 0)
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$SIGNER_PID/status" && grep -q "^Seccomp_filters:[[:space:]]*$((UNIT_FILTERS + 1))\$" "/proc/$SIGNER_PID/status" \
	|| fail "the sealed signer is not in its seccomp filter: $(grep Seccomp "/proc/$SIGNER_PID/status")"
pass "the sealed signer runs in the sealed phase's seccomp filter"
# (its descriptors must be readable here, or the check below proves nothing; the config file by name, as
# fd 9 could be reused for something else)
[ -e "/proc/$SIGNER_PID/fd/0" ] || fail "cannot read the signer's descriptors: the next check would prove nothing"
! ls -l "/proc/$SIGNER_PID/fd/" | grepq -F "$T/signer.conf" || fail "the signer kept an inherited descriptor: $(ls -l "/proc/$SIGNER_PID/fd/")"
pass "a descriptor the signer inherited is closed"
# a share whose (unauthenticated) header carries a quote and key=value text: refused, and logged as one
# quoted token (it used to close the why="..." field and add fields of its own)
python3 - "$T/shares/alice.share" "$T/forged.share" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read(); o = 8 + 4; n = d[o]
fake = b'x" event=pwn'
open(sys.argv[2], 'wb').write(d[:o] + bytes([len(fake)]) + fake + d[o + 1 + n:])
PY
expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/forged.share" --passphrase-file "$T/pass/alice.pass"
grep 'event=unseal_share_refused' "$T/signer.log" > "$T/refused.log" || fail "the forged share was not refused: $(tail -3 "$T/signer.log")"
grep -q 'x\\" event=pwn' "$T/refused.log" || fail "the forged header is not escaped: $(cat "$T/refused.log")"
grep -q '[^\\]" event=pwn' "$T/refused.log" && fail "the forged header closed the quoted field: $(cat "$T/refused.log")"
pass "a share header with a quote and key=value text is refused and logged as one quoted value"
# a control socket another user put where a custodian points the CLI (a directory anyone may write to): the CLI
# sends it nothing. Before, the share and its passphrase went to whoever listened there
# impostor DIR: another user's control socket DIR/control.sock, which writes what it receives to DIR/got
impostor() {
	runuser -u "$HSM_USER" -- python3 - "$1/control.sock" "$1/got" <<'EOP' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(5)
try:
    data = c.recv(65536)
except OSError:
    data = b""
open(sys.argv[2], "wb").write(data)
EOP
	IMPOSTOR=$!
	PIDS+=("$IMPOSTOR")
	for _ in $(seq 100); do [ -S "$1/control.sock" ] && break; sleep 0.05; done
	[ -S "$1/control.sock" ] || fail "the impostor's socket in $1"
}
mkdir -m 1777 "$T/pub"
impostor "$T/pub"
expect_rc 1 "$SIGNER" unseal --control "$T/pub/control.sock" --share "$T/shares/alice.share" --passphrase-file "$T/pass/alice.pass"
grep -q "unseal: $T/pub is writable by other users" <<<"$OUT" || fail "the impostor's socket: $OUT"
wait "$IMPOSTOR" || fail "the impostor did not finish"
[ -e "$T/pub/got" ] && [ ! -s "$T/pub/got" ] || fail "the impostor got $(wc -c < "$T/pub/got" 2>/dev/null) bytes"
pass "the unseal CLI sends nothing to a control socket in a directory other users may write to"
# the same one level up: the socket's own directory is the impostor's and closed, but it sits in a directory
# anyone may write to (not sticky), where another user can move the signer's directory aside for theirs
# impostor_refused DIR CONTROL OPEN WHAT: another user's socket served in DIR, reached as CONTROL, gets nothing
# from the CLI, which names OPEN as the directory anyone may write to
impostor_refused() {
	impostor "$1"
	expect_rc 1 "$SIGNER" unseal --control "$2" --share "$T/shares/alice.share" --passphrase-file "$T/pass/alice.pass"
	grep -q "unseal: $3 (above the control socket) is writable by other users" <<<"$OUT" || fail "$4: $OUT"
	wait "$IMPOSTOR" || fail "$4: the impostor did not finish"
	[ -e "$1/got" ] && [ ! -s "$1/got" ] || fail "$4: the impostor got $(wc -c < "$1/got" 2>/dev/null) bytes"
}
mkdir -m 0777 "$T/open"
mkdir -m 0755 "$T/open/run"
chown "$HSM_USER" "$T/open/run"
impostor_refused "$T/open/run" "$T/open/run/control.sock" "$T/open" "a socket under an open directory"
pass "the unseal CLI sends nothing to a control socket under a directory other users may write to"
# the same through a symlink: the directory that holds the link may be written by anyone, and the link pointed
# at another user's directory and socket (the directories above where it leads were all that was checked)
mkdir -m 0777 "$T/open2"
mkdir -m 0755 "$T/mallory" "$T/mallory/run"
chown "$HSM_USER" "$T/mallory" "$T/mallory/run"
ln -s "$T/mallory" "$T/open2/ctl"
impostor_refused "$T/mallory/run" "$T/open2/ctl/run/control.sock" "$T/open2" "a socket behind a symlink"
# a link met while following another: $T/chain -> $T/open3/hop, a link in a directory anyone may write to,
# which leads to another user's directory (the path as written and where it ends were all that was checked)
mkdir -m 0777 "$T/open3"
mkdir -m 0755 "$T/mallory3" "$T/mallory3/run"
chown "$HSM_USER" "$T/mallory3" "$T/mallory3/run"
ln -s "$T/mallory3" "$T/open3/hop"
ln -s "$T/open3/hop" "$T/chain"
impostor_refused "$T/mallory3/run" "$T/chain/run/control.sock" "$T/open3" "a link reached through another link"
pass "the unseal CLI sends nothing through a symlink that sits in a directory other users may write to"
# a passphrase file with a note on a second line: read as shares were sealed before the one-line rule (which
# such a share needs), and the custodian is told why the share is then refused
printf '%s\n# bob, desk 4\n' "$(cat "$T/pass/bob.pass")" > "$T/bob-note.pass"
expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/bob.share" --passphrase-file "$T/bob-note.pass"
grep -q 'unseal: warning: the passphrase is not one line' <<<"$OUT" || fail "a passphrase file of two lines: $OUT"
# the same file given as standard input (< file) is read as --passphrase-file reads it, whole
expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/bob.share" < "$T/bob-note.pass"
grep -q 'unseal: warning: the passphrase is not one line' <<<"$OUT" || fail "a passphrase file of two lines on stdin: $OUT"
pass "a passphrase file of more than one line is read as before, and the unseal CLI says so"
signer_unseal bob dave erin
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf.pem" >/dev/null || fail "sign after unseal"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/leaf.pem" >/dev/null || fail "verify"
pass "after unseal by three other custodians it signs again"

# nothing kept per signature: the signer's resident memory after a warm-up load stays put under a second one,
# within 16 bytes a signature or 256 kB (malloc's smallest chunk is 32: any leak per signature is at least twice that).
# Not in the ASan build, whose quarantine holds freed memory; LeakSanitizer cannot look inside the signer's
# sandbox (no tracer is let in).
if [ -n "$SANITIZED" ]; then
	echo "skip - the signer's memory under load (ASan build)"
else
	rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SIGNER_PID/status"; }
	"$SGNTOOL" bench socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" threads=4 seconds=2 > "$T/soak1.log" 2>&1 || fail "warm-up load: $(tail -2 "$T/soak1.log")"
	r1=$(rss)
	# rounds of 4 s until 20,000 signatures (a machine busy with another test may need more than one)
	n=0
	for round in 1 2 3 4; do
		"$SGNTOOL" bench socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" threads=4 seconds=4 > "$T/soak2.log" 2>&1 || fail "load: $(tail -2 "$T/soak2.log")"
		n=$((n + $(sed -n 's/.* signatures=\([0-9]*\) .*/\1/p' "$T/soak2.log")))
		[ "$n" -lt 20000 ] || break
	done
	r2=$(rss)
	[ "$n" -ge 20000 ] || fail "too few signatures to tell in $round rounds: $n, the last $(tail -1 "$T/soak2.log")"
	[ $((r2 - r1)) -le 256 ] || [ $(( (r2 - r1) * 1024 )) -le $((n * 16)) ] || fail "the signer grew by $((r2 - r1)) kB over $n signatures ($r1 -> $r2 kB)"
	pass "the signer's memory stays put under load: $r1 -> $r2 kB over $n signatures"
fi

# the signer's custodians (the init ceremony's custodians.roster): a share is taken only under the name the
# roster gives its index. A roster that swaps alice's and bob's indices stands in for shares sealed again
# under another's name (unit_seal makes those): both are refused, naming the roster's index; carol's is taken
grep -q '^custodians = alice:1, bob:2, ' "$T/signer.conf" || fail "the test signer has no custodians roster: $(grep custodians "$T/signer.conf")"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
cp "$T/signer.conf" "$T/signer.good"
sed -i 's/^custodians = alice:1, bob:2, /custodians = alice:2, bob:1, /' "$T/signer.conf"
start_sealed
for n in alice bob; do
	expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" --passphrase-file "$T/pass/$n.pass"
	grep -q "the roster gives $n index [12] (a share sealed again under another custodian's name?)" <<<"$OUT" || fail "$n's share under a swapped roster: $OUT"
done
"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/carol.share" --passphrase-file "$T/pass/carol.pass" > /dev/null \
	|| fail "carol's share under the roster"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
sed -i 's/^custodians = .*/custodians = alice:1, bob/' "$T/signer.conf"
expect_rc 1 "$SIGNER" check-config -c "$T/signer.conf"
grep -q 'custodians: bob is not NAME:INDEX' <<<"$OUT" || fail "a roster item without an index: $OUT"
sed -i 's/^custodians = .*/custodians = alice:1, bob:1/' "$T/signer.conf"
expect_rc 1 "$SIGNER" check-config -c "$T/signer.conf"
grep -q 'custodians: bob:1: the name or the index is listed twice' <<<"$OUT" || fail "a roster with one index twice: $OUT"
cp "$T/signer.good" "$T/signer.conf"
start_sealed
signer_unseal alice bob carol
pass "custodians: a share is taken only under the name the roster gives its index (swapped: refused, naming it); a roster item without an index, or with an index twice, is refused"

# the signer's pin_verifier (the init ceremony's): shares that rebuild another PIN are refused before C_Login.
# A verifier that does not match these shares stands in for made-up shares here (unit_seal makes those):
# the quorum is refused without a login attempt, and the same shares unseal under the right verifier.
grep -q '^pin_verifier = ' "$T/signer.conf" || fail "the test signer has no pin_verifier"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
cp "$T/signer.conf" "$T/signer.good"
sed -i 's/^pin_verifier = .*/pin_verifier = 0000000000000000000000000000000000000000000000000000000000000000/' "$T/signer.conf"
start_sealed
quorum_refused
grep -q 'no login was attempted' <<<"$OUT" || fail "the wrong verifier: $OUT"
grep -q 'event=unseal_login_failed why="the shares do not rebuild the PIN the ceremony recorded' "$T/signer.log" \
	|| fail "not logged: $(tail -2 "$T/signer.log")"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
# without one, made-up shares would each cost a failed C_Login on the token: the signer does not start
grep -v '^pin_verifier = ' "$T/signer.good" > "$T/signer.conf"
expect_rc 1 "$SIGNER" check-config -c "$T/signer.conf"
grep -q 'pin_verifier is required' <<<"$OUT" || fail "check-config without pin_verifier: $OUT"
lines=$(wc -l < "$T/signer.log")
expect_rc 1 "$SIGNER" run -c "$T/signer.conf"
tail -n +$((lines + 1)) "$T/signer.log" | grepq 'step=config why="pin_verifier is required' \
	|| grepq 'step=config why="pin_verifier is required' <<<"$OUT" || fail "run without pin_verifier: $OUT"
cp "$T/signer.good" "$T/signer.conf"
start_sealed
signer_unseal alice bob carol
pass "pin_verifier: shares that rebuild another PIN are refused before any C_Login; the ceremony's verifier lets them in; without one the signer does not start"

# Landlock: the in-process module's files are confined to module_dirs. The running signer says so; with
# module_dirs naming another directory SoftHSM cannot reread its token at C_Login, so no quorum unseals it: a
# failure of the token, not of the PIN, so the signer exits (3, hsm_lost) to be restarted, and says so to the
# custodian (sealed, it cannot reconnect to a token; it used to stay up and fail every later quorum alike)
grep -q 'event=landlock abi=[1-9][0-9]* module_dirs=1' "$T/signer.log" || fail "no Landlock: $(grep -E 'landlock|sealed' "$T/signer.log")"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
mkdir -p "$T/elsewhere"
sed -i "s|^module_dirs = .*|module_dirs = $T/elsewhere|" "$T/signer.conf"
start_sealed
quorum_refused
grep -q 'event=unseal_login_failed' "$T/signer.log" || fail "the confined module logged in: $(tail -3 "$T/signer.log")"
grepq 'the token is unavailable; the signer exits to be started again, sealed' <<<"$OUT" || fail "the custodian was not told: $OUT"
set +e; wait "$SIGNER_PID"; src=$?; set -e
[ "$src" = 3 ] || fail "the signer's exit after a token failure at C_Login: $src, $(tail -3 "$T/signer.log")"
grep -q 'event=hsm_lost why="C_Login failed with CKR_[A-Z_]* while sealed' "$T/signer.log" || fail "hsm_lost: $(tail -3 "$T/signer.log")"
[ ! -S "$T/run/signer.sock" ] || fail "a signing socket without the token's files"
sed -i "s|^module_dirs = .*|module_dirs = $T/nosuch|" "$T/signer.conf"
: > "$T/signer.log"
rm -f "$T/run/control.sock"
expect_rc 1 timeout 20 "$SIGNER" run -c "$T/signer.conf"
grep -q "event=startup_failed step=landlock why=\"landlock: $T/nosuch: No such file or directory\"" <<<"$OUT" || fail "a missing module_dirs: $OUT"
# the sockets' directory may lose files to the signer (Landlock's rules cover subtrees): one that holds
# anything else, here the test's own directory, stops the start
sed -e "s|^module_dirs = .*|module_dirs = $T/tokens|" -e "s|^control_socket = .*|control_socket = $T/control.sock|" \
	"$T/signer.good" > "$T/signer.conf"
expect_rc 1 timeout 20 "$SIGNER" run -c "$T/signer.conf"
grep -q "step=config why=\"$T/signer.conf: $T/control.sock: its directory holds module_dirs $T/tokens" <<<"$OUT" \
	|| fail "a sockets' directory holding the token: $OUT"
ln -sfn "$T" "$T/link" # the same directory under another name: the kernel's view decides
sed -i "s|^control_socket = .*|control_socket = $T/link/control.sock|" "$T/signer.conf"
expect_rc 1 timeout 20 "$SIGNER" run -c "$T/signer.conf"
grep -q "event=startup_failed step=landlock why=\"landlock: sockets' directory $T/link holds module directory $T/tokens" <<<"$OUT" \
	|| fail "a sockets' directory holding the token, through a symlink: $OUT"
mkdir -p "$T/sock2" && touch "$T/sock2/notes.txt"
sed -e "s|^control_socket = .*|control_socket = $T/sock2/control.sock|" "$T/signer.good" > "$T/signer.conf"
expect_rc 1 timeout 20 "$SIGNER" run -c "$T/signer.conf"
grep -q "landlock: $T/sock2 holds notes.txt, not a socket" <<<"$OUT" || fail "a sockets' directory holding a file: $OUT"
cp "$T/signer.good" "$T/signer.conf"
start_sealed
signer_unseal alice bob carol
pass "Landlock confines the in-process module to module_dirs: another directory and no C_Login succeeds (the signer exits 3 to be restarted, and tells the custodian); a missing one, or sockets in a directory that holds the token or other files, stops the start"

# shares presented without a quorum expire (unseal_timeout_seconds): a stray or planted share cannot hold the
# collection for ever; a quorum within the time still unseals
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
signer_conf "$SOFTHSM_MODULE" "unseal_timeout_seconds = 3"
signer_key int root "cert"
start_sealed
"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/alice.share" --passphrase-file "$T/pass/alice.pass" >/dev/null \
	|| fail "alice's share"
"$SIGNER" unseal --control "$T/run/control.sock" --status | grepq '^sealed: 1 of 3 shares presented' || fail "one share presented"
sleep 4.5
"$SIGNER" unseal --control "$T/run/control.sock" --status | grepq '^sealed: no shares presented' \
	|| fail "the share did not expire: $("$SIGNER" unseal --control "$T/run/control.sock" --status)"
grep -q 'event=unseal_shares_expired presented=1 need=3 seconds=3' "$T/signer.log" || fail "expiry not logged"
signer_unseal alice bob carol
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf2.pem" >/dev/null || fail "sign after unseal"
pass "shares without a quorum expire after unseal_timeout_seconds (wiped, logged); a quorum within it unseals"

# out of descriptors: a connection the signer cannot accept must not make its workers spin (the listening
# socket stays readable); they pause accepting, log it once, and serve again when descriptors are back
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
: > "$T/signer.log"
rm -f "$T/run/control.sock"
(ulimit -n 48; exec "$SIGNER" run -c "$T/signer.conf" >> "$T/signer.log" 2>&1) &
SIGNER_PID=$!
PIDS+=("$SIGNER_PID")
for _ in $(seq 400); do grep -q 'event=sealed' "$T/signer.log" && break; sleep 0.05; done
grep -q 'event=sealed' "$T/signer.log" || fail "the signer under ulimit -n 48 did not start: $(tail -3 "$T/signer.log")"
signer_unseal alice bob carol
python3 - "$T/run/signer.sock" > "$T/hold.log" 2>&1 <<'PY' &
import socket, sys, time
held = []
for _ in range(60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1]); held.append(s)
print("held", len(held), flush=True)
time.sleep(6)
PY
HOLD=$!
for _ in $(seq 50); do grep -q '^held' "$T/hold.log" && break; sleep 0.1; done
sleep 0.5
t0=$(awk '{print $14 + $15}' "/proc/$SIGNER_PID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$SIGNER_PID/stat")
[ $((t1 - t0)) -lt 40 ] || fail "the signer spun while out of descriptors: $((t1 - t0)) ticks in 2 s"
grep -q 'event=accept_failed' "$T/signer.log" || fail "the failed accepts were not logged: $(tail -2 "$T/signer.log") $(cat "$T/hold.log")"
kill "$HOLD" 2>/dev/null || true; wait "$HOLD" 2>/dev/null || true
sleep 0.3
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf3.pem" >/dev/null || fail "sign after the descriptors came back"
pass "out of descriptors, the signer pauses accepting ($((t1 - t0)) ticks of CPU in 2 s), logs it, and serves again afterwards"

# a stale pin_verifier (a resplit changed the PIN, signer.conf kept the old verifier) with the old shares: the
# old quorum passes the verifier and the token refuses its PIN. That costs one failed C_Login; the signer then
# takes no share until it is restarted (any quorum of the old split rebuilds the same PIN, and a real HSM locks
# after a few failures: it used to try again at every quorum)
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
mkdir -p "$T/shares2" "$T/pass2"
for n in alice bob carol; do echo "second passphrase of $n" > "$T/pass2/$n.pass"; done
printf 'custodians = alice, bob, carol\nthreshold = 2\npin_verifier = %s\n' "$(cat "$T/shares/pin.verifier")" > "$T/resplit.conf"
"$CEREMONY" resplit --module "$SOFTHSM_MODULE" --config "$T/resplit.conf" --out "$T/shares2" --passphrase-dir "$T/pass2" \
	--scrypt-log-n $LOGN $(shares_args alice bob carol) > "$T/resplit.log" 2>&1 || fail "resplit: $(cat "$T/resplit.log")"
cmp -s "$T/shares/pin.verifier" "$T/shares2/pin.verifier" && fail "the resplit kept the verifier"
grep -q "^pin_verifier = $(cat "$T/shares/pin.verifier")\$" "$T/signer.conf" || fail "signer.conf does not hold the old verifier"
start_sealed
quorum_refused
grepq 'token refused the reconstructed PIN: CKR_PIN_INCORRECT, though pin_verifier matches it: pin_verifier is stale' <<<"$OUT" \
	|| fail "the stale verifier's refusal: $OUT"
for n in alice bob carol; do
	expect_rc 1 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" --passphrase-file "$T/pass/$n.pass"
	grepq 'No share is taken now' <<<"$OUT" || fail "$n's share after the refused PIN: $OUT"
done
"$SIGNER" unseal --control "$T/run/control.sock" --status | grepq '^sealed: .*pin_verifier is stale' \
	|| fail "status: $("$SIGNER" unseal --control "$T/run/control.sock" --status)"
[ "$(grep -c 'event=unseal_login_failed' "$T/signer.log")" = 1 ] || fail "more than one login: $(grep unseal_ "$T/signer.log")"
grep -q 'event=unseal_stopped why="the token refused the verified PIN (CKR_PIN_INCORRECT)' "$T/signer.log" \
	|| fail "unseal_stopped not logged: $(tail -3 "$T/signer.log")"
# restarted with the new split's verifier, two of the new shares unseal it
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
sed -i "s/^pin_verifier = .*/pin_verifier = $(cat "$T/shares2/pin.verifier")/" "$T/signer.conf"
start_sealed
for n in alice carol; do
	"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares2/$n.share" --passphrase-file "$T/pass2/$n.pass" \
		>> "$T/unseal.log" 2>&1 || fail "the new split's $n: $(tail -2 "$T/unseal.log")"
done
for _ in $(seq 200); do [ -S "$T/run/signer.sock" ] && break; sleep 0.05; done
"$SGNTOOL" leaf socket="$T/run/signer.sock" label=int issuer="$T/ca/int.pem" out="$T/leaf4.pem" >/dev/null || fail "sign after the new split"
pass "a stale pin_verifier costs one failed C_Login: the signer then takes no share (status says why) until restarted with the new split's verifier"

# the unseal CLI at a terminal (a pty here): a passphrase over 1,024 bytes is refused as too long and nothing is
# sent (before, its first 1,024 bytes were sent as the passphrase and the rest was left for the shell to read as
# a command); exactly 1,024 bytes are sent whole (a wrong passphrase here, which the signer refuses)
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
start_sealed
tty_unseal() { # LENGTH: the unseal CLI with alice's new share; LENGTH bytes typed, then Enter
	python3 "$(dirname "$0")/ptytype.py" "passphrase:" "$1" enter "$SIGNER" unseal --control "$T/run/control.sock" \
		--share "$T/shares2/alice.share"
}
set +e; OUT=$(tty_unseal 1100 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grepq 'the passphrase is longer than 1024 bytes (none of it was sent)' <<<"$OUT" || fail "1,100 bytes at the terminal (rc $rc): $OUT"
! grepq 'yyyy' <<<"$OUT" || fail "the passphrase was echoed: $OUT"
"$SIGNER" unseal --control "$T/run/control.sock" --status | grepq '^sealed: no shares presented' || fail "something was sent"
! grep -q 'event=unseal_share_refused' "$T/signer.log" || fail "a share reached the signer: $(tail -2 "$T/signer.log")"
set +e; OUT=$(tty_unseal 1024 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && ! grepq 'longer than' <<<"$OUT" && grep -q 'event=unseal_share_refused' "$T/signer.log" \
	|| fail "1,024 bytes at the terminal (rc $rc): $OUT $(tail -2 "$T/signer.log")"
# piped from a pipe left open (ssh without a terminal): its first line is taken at once (it read to the pipe's
# end, and waited for it)
t0=$(date +%s)
set +e; OUT=$(timeout 15 "$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares2/alice.share" \
	< <(cat "$T/pass2/alice.pass"; exec sleep 30 2>/dev/null) 2>&1); rc=$?; set -e
[ "$rc" = 0 ] && [ $(($(date +%s) - t0)) -lt 10 ] && grepq '^sealed: 1 of 2 shares presented' <<<"$OUT" \
	|| fail "a passphrase piped from a pipe left open (rc $rc, $(($(date +%s) - t0)) s): $OUT"
"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares2/carol.share" --passphrase-file "$T/pass2/carol.pass" \
	>> "$T/unseal.log" 2>&1 || fail "the new split's carol: $(tail -2 "$T/unseal.log")"
pass "the unseal CLI at a terminal: a passphrase over 1,024 bytes is refused and nothing sent, none of it echoed; 1,024 bytes are sent whole; from a pipe left open its first line is taken at once"
