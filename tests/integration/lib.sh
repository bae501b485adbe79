# Shared helpers of the integration tests: a fresh SoftHSM2 token per test, the demo ceremony, and the
# real signer. Source it; needs HSMCA_BUILD (the build directory). Every test gets its own directory.
set -euo pipefail
# Debian's tools first, also when a test is run by hand (see tests/run.sh)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}" # sockread.py

: "${HSMCA_BUILD:?HSMCA_BUILD must point at the build directory}"
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
# p11-kit's client module where this host's architecture has it (/usr/lib/<multiarch>/pkcs11/)
P11KIT_CLIENT=${P11KIT_CLIENT:-$(dpkg -L p11-kit-modules 2>/dev/null | grep '/pkcs11/p11-kit-client\.so$' || true)}
P11KIT_CLIENT=${P11KIT_CLIENT%%$'\n'*}
CEREMONY_BIN=$HSMCA_BUILD/hsm/ceremony/hsmca-ceremony
SIGNER_BIN=$HSMCA_BUILD/signer/hsmca-signer
SGNTOOL=$HSMCA_BUILD/tests/tools/sgntool
SIGNER_USER=${HSMCA_SIGNER_USER:-hsmca-signer}
HSM_USER=${HSMCA_HSM_USER:-hsmca-hsm}
CUSTODIANS="alice bob carol dave erin"
LOGN=14 # scrypt cost in tests (the default for real shares is 15)

# grepq ARGS...: grep -q that reads all of its input. Under pipefail, `writer | grep -q` fails when grep exits
# at its first match while the writer has more to write (SIGPIPE, exit 141): a flake CI met on a log tail.
grepq() { grep -c "$@" > /dev/null; }

T=$(mktemp -d /tmp/hsmca-test.XXXXXX)
chmod 755 "$T"
# In the ASan build the ceremony tool and the signer's commands run with LeakSanitizer on, so a leak fails
# them (its check at exit); not `hsmca-signer run`: the signer never exits on its own, and its sandbox lets
# no tracer in. (The frontend: frontend_lib.sh.)
mkdir -p "$T/bin"
LEAK_ASAN="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1"
printf '#!/bin/bash\nASAN_OPTIONS=%q exec %q "$@"\n' "$LEAK_ASAN" "$CEREMONY_BIN" > "$T/bin/hsmca-ceremony"
# In the build without sanitizers, `hsmca-signer run` and `hsmca-frontend run` (frontend_lib.sh) run under
# their systemd units' SystemCallFilter= (tests/tools/sysfilter, unitfilter.py: what systemd loads), so a
# system call a unit does not allow fails the test that makes it instead of a production start. Not in the
# ASan build: LeakSanitizer's check uses ptrace, which no unit allows.
# SANITIZED: 1 in the ASan+UBSan build, else empty
SANITIZED=
grep -q '^HSMCA_SANITIZE:BOOL=ON$' "$HSMCA_BUILD/CMakeCache.txt" 2>/dev/null && SANITIZED=1
# unit_filter UNIT: the command words that run a program under UNIT's filter (none in the ASan build).
unit_filter() {
	[ -z "$SANITIZED" ] || return 0
	local unit dir list err
	dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	unit="$dir/../../systemd/$1.service"
	list="$T/sysfilter-$1.txt"
	[ -x "$HSMCA_BUILD/tests/tools/sysfilter" ] || { echo "FAIL: tests/tools/sysfilter not built" >&2; return 1; }
	python3 "$dir/unitfilter.py" "$unit" > "$list" && err=$(python3 "$dir/unitfilter.py" --errno "$unit") ||
		{ echo "FAIL: $1: cannot read its SystemCallFilter=" >&2; return 1; }
	printf '%q %q %q -- ' "$HSMCA_BUILD/tests/tools/sysfilter" "$list" "$err"
}
SIGNER_FILTER=$(unit_filter hsmca-signer) # (set -e: a failure ends the test here)
UNIT_FILTERS=$([ -n "$SIGNER_FILTER" ] && echo 1 || echo 0) # seccomp filters a running signer has before its own
printf '#!/bin/bash\n[ "${1:-}" = run ] || { export ASAN_OPTIONS=%q; exec %q "$@"; }\nexec %s%q "$@"\n' "$LEAK_ASAN" \
	"$SIGNER_BIN" "$SIGNER_FILTER" "$SIGNER_BIN" > "$T/bin/hsmca-signer"
chmod 755 "$T/bin" "$T/bin/hsmca-ceremony" "$T/bin/hsmca-signer"
CEREMONY=$T/bin/hsmca-ceremony # wrappers: "$CEREMONY" and "$SIGNER" exec the binaries above
SIGNER=$T/bin/hsmca-signer
PIDS=()
cleanup() {
	local rc=$?
	if declare -F extra_cleanup >/dev/null; then
		extra_cleanup || { [ $rc -ne 0 ] || rc=1; } # a check of its own (frontend_lib.sh: the frontends' stops)
	fi
	# ASan build: a sanitizer's report (a leak, a memory error, undefined behaviour) of anything whose output a
	# log kept (the wrappers above, the frontend's stop, a process stopped in the middle of a test), in any
	# directory of the test's (quickstart's daemons log under $T/home/log)
	local san='LeakSanitizer\|ERROR: AddressSanitizer\|runtime error:'
	local leaked; leaked=$(find "$T" -name '*.log' -type f -exec grep -l "$san" {} + 2>/dev/null || true)
	if [ -n "$leaked" ]; then
		echo "FAIL: a sanitizer reported in: $leaked" >&2
		grep -h -A40 "$san" $leaked | head -120 >&2
		[ $rc -ne 0 ] || rc=1
	fi
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	ports_release
	if [ $rc -ne 0 ]; then
		echo "--- test failed (rc=$rc); logs in $T:" >&2
		for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# free_ports N: a base port P (20000..31999, below Linux's ephemeral range, where a client's outgoing
# connection could hold a port) such that P..P+N-1 can be bound on 127.0.0.1 now (another test running in
# parallel may hold some); a random P that an outgoing connection held made a test fail with "Address already
# in use". The ports are also reserved for this test until it ends (a file per port in PORT_RESERVE_DIR naming
# the test's shell; one whose shell is gone is taken over): a test in parallel picked the same free range
# in the 10-30 s before this one bound it.
PORT_RESERVE_DIR=/tmp/hsmca-test-ports
free_ports() {
	mkdir -p "$PORT_RESERVE_DIR"
	python3 - "$1" "$$" "$PORT_RESERVE_DIR" "$T/ports.reserved" <<'PY'
import os, random, socket, sys
n, owner, rdir, record = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def reserve(p):
    path = os.path.join(rdir, str(p))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(open(path).read().strip() or "0")
                os.kill(pid, 0)
                return False  # a running test's
            except ProcessLookupError:
                os.unlink(path)  # its test is gone
                continue
            except (ValueError, OSError):
                return False
        os.write(fd, owner.encode() + b"\n")
        os.close(fd)
        return True
    return False

for _ in range(200):
    base = random.randrange(20000, 32000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    got = []
    for p in range(base, base + n):
        if not reserve(p):
            break
        got.append(p)
    if len(got) < n:
        for p in got:
            os.unlink(os.path.join(rdir, str(p)))
        continue
    with open(record, "a") as f:
        f.write("".join("%d\n" % p for p in got))
    print(base)
    sys.exit(0)
sys.exit("no free ports")
PY
}
# ports_release: this test's reservations (cleanup)
ports_release() {
	local p
	[ -f "$T/ports.reserved" ] || return 0
	while read -r p; do
		[ "$(cat "$PORT_RESERVE_DIR/$p" 2>/dev/null)" = "$$" ] && rm -f "$PORT_RESERVE_DIR/$p"
	done < "$T/ports.reserved"
	return 0
}

# expect_fail CMD...: CMD must refuse as a program does (exit 1..125, and no LeakSanitizer report: its exit
# code 23, or 134 under abort_on_error), not crash; its output is in $OUT. (`cmd && fail` took a crash or a
# leak on the error path as the refusal.)
expect_fail() {
	set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
	{ [ "$rc" -ge 1 ] && [ "$rc" -le 125 ] && ! grepq LeakSanitizer <<<"$OUT"; } || fail "expected a refusal, got exit $rc from: $* -- $OUT"
}

# expect_rc WANT CMD...: runs CMD, fails unless it exits with WANT; its output is in $OUT
expect_rc() {
	local want=$1; shift
	set +e; OUT=$("$@" 2>&1); local rc=$?; set -e
	[ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $* -- $OUT"
}

hsm_init_env() {
	ensure_users
	mkdir -p "$T/tokens" "$T/shares" "$T/pass" "$T/ca" "$T/run"
	chmod 711 "$T/tokens"
	chown "$SIGNER_USER" "$T/run" # the signer's sockets (it may create them after dropping privileges)
	cat > "$T/softhsm2.conf" <<EOC
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
EOC
	export SOFTHSM2_CONF=$T/softhsm2.conf
	for n in $CUSTODIANS; do echo "correct horse $n battery" > "$T/pass/$n.pass"; done
}

# shares_args NAME...: --share/--passphrase-file pairs
shares_args() {
	local a=() n
	for n in "$@"; do a+=(--share "$T/shares/$n.share" --passphrase-file "$T/pass/$n.pass"); done
	echo "${a[@]}"
}

ceremony_init() {
	cat > "$T/init.conf" <<EOC
token_label = ${1:-hsmca-test}
custodians = alice, bob, carol, dave, erin
threshold = 3
EOC
	"$CEREMONY" init --module "$SOFTHSM_MODULE" --config "$T/init.conf" --out "$T/shares" \
		--passphrase-dir "$T/pass" --scrypt-log-n $LOGN > "$T/init.log" 2>&1 || fail "init ceremony"
}

# ceremony_ca KIND NAME KEYTYPE [ISSUER_NAME] [extra config lines]: writes $T/ca/NAME.pem with key label NAME
# (env CEREMONY_ROOT_PATHLEN, CEREMONY_INT_PATHLEN: path lengths other than 1 and 0; CEREMONY_INT_SUBJECT: an
# intermediate's subject other than /C=US/O=hsmca test/CN=hsmca Test NAME)
ceremony_ca() {
	local kind=$1 name=$2 type=$3 issuer=${4:-} extra=${5:-} subject="/C=US/O=hsmca test/CN=hsmca Test $2"
	[ "$kind" != intermediate ] || subject=${CEREMONY_INT_SUBJECT:-$subject}
	{
		echo "key_label = $name"
		echo "key_type = $type"
		echo "subject = $subject"
		case $kind in
		root) echo "validity_days = 7300"; echo "path_length = ${CEREMONY_ROOT_PATHLEN:-1}" ;;
		intermediate) echo "validity_days = 1825"; echo "path_length = ${CEREMONY_INT_PATHLEN:-0}"
			echo "crl_url = http://127.0.0.1:8080/crl/$issuer.crl"; echo "ocsp_url = http://127.0.0.1:8080/ocsp" ;;
		ocsp) echo "validity_days = ${CEREMONY_OCSP_DAYS:-90}" ;;
		checkpoint) echo "validity_days = 1825" ;;
		esac
		if [ -n "$issuer" ]; then echo "issuer_cert = $T/ca/$issuer.pem"; echo "issuer_key_label = $issuer"; fi
		echo "pin_verifier = $(cat "$T/shares/pin.verifier")"
		[ -z "$extra" ] || printf '%s\n' "$extra"
	} > "$T/$name.conf"
	# shellcheck disable=SC2046
	"$CEREMONY" "$kind" --module "$SOFTHSM_MODULE" --config "$T/$name.conf" --out "$T/ca/$name.pem" \
		$(shares_args alice carol erin) >> "$T/ceremony.log" 2>&1 || fail "$kind ceremony for $name"
}

# signer_conf MODULE [extra [signer] lines] -- then key sections via signer_key (with the init ceremony's
# pin_verifier, as a deployment has it)
signer_conf() {
	cat > "$T/signer.conf" <<EOC
[signer]
module = $1
token_label = hsmca-test
socket = $T/run/signer.sock
control_socket = $T/run/control.sock
user = $SIGNER_USER
workers = 2
$([ -f "$T/shares/pin.verifier" ] && echo "pin_verifier = $(cat "$T/shares/pin.verifier")")
$([ -f "$T/shares/custodians.roster" ] && echo "custodians = $(cat "$T/shares/custodians.roster")")
$([ "$1" = "$SOFTHSM_MODULE" ] && echo "module_dirs = $T/tokens")
${2:-}
EOC
}

# signer_key NAME ISSUER OPERATIONS [extra lines] (env SIGNER_KEY_CA, SIGNER_KEY_KU: the pinned profile's ca and
# key_usage; SIGNER_KEY_EXTRA: extra lines when there is no 4th argument)
signer_key() {
	cat >> "$T/signer.conf" <<EOC

[key $1]
label = $1
cert = $T/ca/$1.pem
issuer_cert = $T/ca/$2.pem
operations = $3
ca = ${SIGNER_KEY_CA:-no}
key_usage = ${SIGNER_KEY_KU:-digitalSignature, keyEncipherment}
eku = serverAuth, clientAuth
max_validity_days = 397
max_crl_days = 7
${4:-${SIGNER_KEY_EXTRA:-}}
EOC
}

signer_start() {
	# the control socket is ready once this start logged event=sealed (after listen); the path alone could be
	# seen between the signer's bind and listen, and an unseal then was refused (a flake under load)
	local n0; n0=$(grep -c 'event=sealed' "$T/signer.log" 2>/dev/null || true)
	"$SIGNER" run -c "$T/signer.conf" >> "$T/signer.log" 2>&1 &
	SIGNER_PID=$!
	PIDS+=("$SIGNER_PID")
	for _ in $(seq 200); do
		[ -S "$T/run/control.sock" ] && [ "$(grep -c 'event=sealed' "$T/signer.log" 2>/dev/null)" -gt "${n0:-0}" ] && return 0
		sleep 0.05
	done
	fail "signer did not open its control socket"
}

signer_unseal() {
	local n
	for n in "$@"; do
		"$SIGNER" unseal --control "$T/run/control.sock" --share "$T/shares/$n.share" \
			--passphrase-file "$T/pass/$n.pass" >> "$T/unseal.log" 2>&1 || fail "unseal with $n's share"
	done
	# this signer's ready line (SIGNER_PID's): after a restart the log and the socket may still hold the last one's
	for _ in $(seq 200); do
		[ -S "$T/run/signer.sock" ] && grep -q "pid=$SIGNER_PID level=info event=ready " "$T/signer.log" && return 0
		sleep 0.05
	done
	fail "signer $SIGNER_PID not ready after unseal: $(tail -3 "$T/signer.log")"
}

# stop_pid PID: SIGSTOP PID and wait until every one of its threads is stopped (state T). The kernel stops the
# other threads only after one has taken the signal, so a thread may still run for a moment after kill returns:
# once, under two tests in parallel, a signer signed a request sent after the kill
stop_pid() {
	kill -STOP "$1"
	local t n
	for _ in $(seq 200); do
		n=0
		for t in /proc/"$1"/task/*/stat; do
			[ "$(cut -d' ' -f3 "$t" 2>/dev/null)" = T ] || n=$((n + 1))
		done
		[ "$n" = 0 ] && return 0
		sleep 0.01
	done
	fail "process $1's threads did not stop"
}

ensure_users() {
	id "$SIGNER_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SIGNER_USER"
	id "$HSM_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$HSM_USER"
}
