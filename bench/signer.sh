#!/usr/bin/env bash
# bench/signer.sh: signatures/s of hsmca-signer on one fresh SoftHSM2 token (P-256 and RSA-2048 intermediates),
# through the signer socket and directly through PKCS#11, with SoftHSM in-process and inside `p11-kit server`,
# against `openssl speed` on the same machine. See bench/README.md.
#
#   bench/signer.sh [-s SECONDS] [BUILD_DIR]      (root, Debian 12, after a build)
#   env: HSMCA_BUILD (default ./build), BENCH_SECONDS (per measurement, default 5)
#
# Exits non-zero only when something fails to run; a missed target is reported, not fatal.
set -euo pipefail

usage() { echo "usage: $0 [-s SECONDS] [BUILD_DIR]   (env: HSMCA_BUILD, BENCH_SECONDS)" >&2; exit 2; }
SECS=${BENCH_SECONDS:-5}
while getopts "s:h" o; do
	case $o in
	s) SECS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
BUILD=${1:-${HSMCA_BUILD:-./build}}
[[ $SECS =~ ^[1-9][0-9]*$ ]] || usage # whole seconds: openssl speed -seconds takes an integer
[ "$(id -u)" = 0 ] || { echo "bench/signer.sh: run as root (users, privilege drop, p11-kit server -a)" >&2; exit 2; }
[ -d "$BUILD" ] || { echo "bench/signer.sh: no build directory $BUILD" >&2; exit 2; }
HSMCA_BUILD=$(cd "$BUILD" && pwd)
export HSMCA_BUILD

# fresh token dir ($T), users, ceremony and signer helpers shared with the integration tests
# shellcheck source=../tests/integration/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../tests/integration/lib.sh"

WORKERS=2         # signer workers (lib.sh's signer_conf)
CLIENTS=4         # client threads through the socket
DIRECT_THREADS=2  # threads of the direct PKCS#11 runs
TARGET=0.80       # socket / direct, in-process module
TYPES="p256 rsa2048"
declare -A NAME=([p256]="P-256" [rsa2048]="RSA-2048")
declare -A SPEED_ALG=([p256]=ecdsap256 [rsa2048]=rsa2048)
declare -A R      # rates, key "<measurement>:<type>"
declare -A SPLIT  # per-worker split of the socket runs
P11_SOCK=$T/p11/p11.sock
P11KIT_PID=

for f in "$CEREMONY" "$SIGNER" "$SGNTOOL" "$SOFTHSM_MODULE" "$P11KIT_CLIENT"; do
	[ -e "$f" ] || fail "missing $f (build first; packages softhsm2, p11-kit, p11-kit-modules)"
done
for c in p11-kit openssl runuser softhsm2-util; do command -v "$c" >/dev/null || fail "missing command $c"; done

# --- processes and clean-up ---------------------------------------------------------------------------------

stop_pid() { # stop_pid PID: TERM, then KILL after 2 s; reaps our own children
	local p=$1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

signer_stop() {
	[ -n "${SIGNER_PID:-}" ] || return 0
	stop_pid "$SIGNER_PID"
	SIGNER_PID=
}

p11kit_stop() { # the server and the p11-kit-remote processes it forked (one per client connection)
	[ -n "$P11KIT_PID" ] || return 0
	local kids
	kids=$(ps -o pid= --ppid "$P11KIT_PID" 2>/dev/null || true)
	stop_pid "$P11KIT_PID"
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
	P11KIT_PID=
}

bench_cleanup() {
	local rc=$?
	set +e
	signer_stop
	p11kit_stop
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && stop_pid "$p"; done
	if [ $rc -ne 0 ]; then
		echo "--- benchmark failed (rc=$rc); last log lines:" >&2
		for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $(basename "$f")" >&2; tail -n 15 "$f" >&2; }; done
	fi
	rm -rf "$T"
	exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- measurements -------------------------------------------------------------------------------------------

# measure KEY CMD...: runs one sgntool bench, keeps its rate in R[KEY]
measure() {
	local key=$1 out rate
	shift
	out=$("$@" 2>&1) || fail "$key: $out"
	rate=$(sed -n 's/^mode=.* rate=\([0-9.]*\)$/\1/p' <<<"$out")
	[ -n "$rate" ] || fail "$key: no rate in: $out"
	R[$key]=$rate
	printf '  %-22s %s\n' "$key" "$out"
}

# measure_socket KEY TYPE CLIENTS: through the signer socket; SPLIT[KEY] = signatures per worker (signer log)
measure_socket() { # KEY TYPE CLIENTS [DEPTH: requests in flight per connection, default 1]
	local key=$1 t=$2 n=$3 depth=${4:-1} before
	before=$(wc -l < "$T/signer.log")
	measure "$key" "$SGNTOOL" bench socket="$T/run/signer.sock" label="int-$t" issuer="$T/ca/int-$t.pem" \
		threads="$n" depth="$depth" seconds="$SECS"
	SPLIT[$key]=$(tail -n +"$((before + 1))" "$T/signer.log" | grep 'event=signed' | grep -o 'worker=[0-9]*' \
		| sort | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=" "}')
}

SHARES="$T/shares/alice.share,$T/shares/bob.share,$T/shares/carol.share"
PASSES="$T/pass/alice.pass,$T/pass/bob.pass,$T/pass/carol.pass"

direct_args() { # direct_args MODULE TYPE SHARES PASSES
	echo "module=$1 token=hsmca-test shares=$3 passes=$4 label=int-$2 issuer=$T/ca/int-$2.pem" \
		"threads=$DIRECT_THREADS seconds=$SECS session_copy=1"
}

# speed_sign ALG: sign/s of `openssl speed -multi 2 ALG` (the sign/s column of the summary table)
speed_sign() {
	local out v
	out=$(openssl speed -seconds "$SECS" -multi 2 "$1" 2>&1) || fail "openssl speed $1: $out"
	v=$(awk '/sign\/s/ { hdr = NF; for (i = 1; i <= NF; i++) if ($i == "sign/s") back = NF - i; next }
		 hdr && NF > back && $(NF - back) ~ /^[0-9.]+$/ { v = $(NF - back) } END { print v }' <<<"$out")
	[ -n "$v" ] || fail "openssl speed $1: no sign/s column in: $out"
	echo "$v"
}

# cpu_busy: percent of all CPUs busy over the next second (other sessions' work makes every rate lower and noisy)
cpu_busy() {
	local a b
	read -ra a < /proc/stat
	sleep 1
	read -ra b < /proc/stat
	awk -v t0="$(( a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] ))" -v i0="$(( a[4] + a[5] ))" \
	    -v t1="$(( b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] ))" -v i1="$(( b[4] + b[5] ))" \
	    'BEGIN { d = t1 - t0; printf "%.0f", (d > 0 ? 100 * (d - (i1 - i0)) / d : 0) }'
}

# cpu_ticks: "busy total" clock ticks of all CPUs since boot
cpu_ticks() {
	local a
	read -ra a < /proc/stat
	echo "$(( a[1] + a[2] + a[3] + a[6] + a[7] + a[8] )) $(( a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] ))"
}

# cpu_others BUSY0 TOTAL0 TIMES_FILE: percent of the CPUs used since then by processes that are not ours. All ours
# have been reaped, so the main shell's `times` (written to TIMES_FILE: in a subshell it would count nothing) holds
# them: signer, p11-kit server with its p11-kit-remote children, sgntool, openssl, the ceremony.
cpu_others() {
	local now ours
	now=$(cpu_ticks)
	ours=$(awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] }; print n }' "$3")
	awk -v b0="$1" -v t0="$2" -v now="$now" -v ours="$ours" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(now, n, " "); d = n[2] - t0; o = (n[1] - b0) - ours * hz
		printf "%.0f", (d > 0 && o > 0 ? 100 * o / d : 0) }'
}
BUSY_MAX=10 # percent

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

# --- 0. one token: P-256 and RSA-2048 roots and intermediates ----------------------------------------------

START=$(date +%s)
echo "hsmca signer benchmark: $(nproc) CPUs, $SECS s per measurement, build $HSMCA_BUILD"
BUSY_BEFORE=$(cpu_busy)
echo "machine before the run: ${BUSY_BEFORE}% CPU busy, load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r TICKS_BUSY0 TICKS_TOTAL0 <<<"$(cpu_ticks)"
echo "setup: fresh SoftHSM2 token, demo ceremony (3 of 5), roots and intermediates: $TYPES"
hsm_init_env
ceremony_init
for t in $TYPES; do
	ceremony_ca root "root-$t" "$t"
	ceremony_ca intermediate "int-$t" "$t" "root-$t"
done

# --- 1. socket, in-process SoftHSM; 2. direct, in-process ---------------------------------------------------

echo "1. signer socket, SoftHSM in-process, session_copy = yes, $WORKERS workers"
signer_conf "$SOFTHSM_MODULE" "session_copy = yes"
for t in $TYPES; do signer_key "int-$t" "root-$t" "cert"; done
signer_start
signer_unseal alice bob carol
for t in $TYPES; do
	measure_socket "sock-inproc-$CLIENTS:$t" "$t" "$CLIENTS"
	measure_socket "sock-inproc-1:$t" "$t" 1
	measure_socket "sock-inproc-pipe:$t" "$t" "$CLIENTS" 8
done
signer_stop
mv "$T/signer.log" "$T/signer-inproc.log"

echo "2. direct PKCS#11, SoftHSM in-process, $DIRECT_THREADS threads, session_copy=1"
for t in $TYPES; do
	# shellcheck disable=SC2046
	measure "direct-inproc:$t" "$SGNTOOL" bench-direct $(direct_args "$SOFTHSM_MODULE" "$t" "$SHARES" "$PASSES")
done

# --- 3. socket, p11-kit server; 4. direct through p11-kit-client --------------------------------------------

echo "3. signer socket, SoftHSM in \`p11-kit server\` as $HSM_USER, signer on p11-kit-client.so"
mkdir -p "$T/p11"
chown -R "$HSM_USER" "$T/tokens" "$T/p11"
p11-kit server -f -p "$SOFTHSM_MODULE" -n "$P11_SOCK" -u "$SIGNER_USER" -a "$HSM_USER" "pkcs11:token=hsmca-test" \
	> "$T/p11kit.log" 2>&1 &
P11KIT_PID=$!
for _ in $(seq 100); do [ -S "$P11_SOCK" ] && break; sleep 0.05; done
[ -S "$P11_SOCK" ] || fail "p11-kit server did not start"
# the server creates its socket after dropping to -a: let the signer's group in (the server checks the peer uid)
chgrp "$SIGNER_USER" "$P11_SOCK" && chmod 0660 "$P11_SOCK"
rm -f "$T/run/signer.sock" # the in-process signer's socket; signer_unseal waits for a new one
signer_conf "$P11KIT_CLIENT" "p11kit_server_address = unix:path=$P11_SOCK"
for t in $TYPES; do signer_key "int-$t" "root-$t" "cert"; done
signer_start
signer_unseal alice bob carol
grep -q libsofthsm2 "/proc/$SIGNER_PID/maps" && fail "SoftHSM is mapped into the p11-kit signer"
for t in $TYPES; do
	measure_socket "sock-p11kit-$CLIENTS:$t" "$t" "$CLIENTS"
	measure_socket "sock-p11kit-pipe:$t" "$t" "$CLIENTS" 8
done
signer_stop

echo "4. direct PKCS#11 through p11-kit-client (as $SIGNER_USER), $DIRECT_THREADS threads, session_copy=1"
mkdir -p "$T/creds"
for n in alice bob carol; do cp "$T/shares/$n.share" "$T/pass/$n.pass" "$T/creds/"; done
chown -R "$SIGNER_USER" "$T/creds" && chmod -R go-rwx "$T/creds"
CSHARES="$T/creds/alice.share,$T/creds/bob.share,$T/creds/carol.share"
CPASSES="$T/creds/alice.pass,$T/creds/bob.pass,$T/creds/carol.pass"
for t in $TYPES; do
	# shellcheck disable=SC2046
	measure "direct-p11kit:$t" runuser -u "$SIGNER_USER" -- env P11_KIT_SERVER_ADDRESS="unix:path=$P11_SOCK" \
		"$SGNTOOL" bench-direct $(direct_args "$P11KIT_CLIENT" "$t" "$CSHARES" "$CPASSES")
done
p11kit_stop

# --- 5. openssl speed ---------------------------------------------------------------------------------------

echo "5. openssl speed -seconds $SECS -multi 2 (sign/s)"
for t in $TYPES; do
	R[openssl:$t]=$(speed_sign "${SPEED_ALG[$t]}")
	printf '  %-22s sign/s=%s\n' "openssl:$t" "${R[openssl:$t]}"
done

# --- report -------------------------------------------------------------------------------------------------

ROWS=("sock-inproc-$CLIENTS" "sock-inproc-pipe" "sock-inproc-1" "direct-inproc" "sock-p11kit-$CLIENTS" "sock-p11kit-pipe"
      "direct-p11kit" "openssl")
declare -A LABEL=(
	[sock-inproc-$CLIENTS]="1  socket, in-process, $CLIENTS clients"
	[sock-inproc-pipe]="1p socket, in-process, $CLIENTS x depth 8"
	[sock-inproc-1]="1b socket, in-process, 1 client"
	[direct-inproc]="2  direct, in-process, $DIRECT_THREADS thr"
	[sock-p11kit-$CLIENTS]="3  socket, p11-kit, $CLIENTS clients"
	[sock-p11kit-pipe]="3p socket, p11-kit, $CLIENTS x depth 8"
	[direct-p11kit]="4  direct, p11-kit, $DIRECT_THREADS thr"
	[openssl]="5  openssl speed -multi 2"
)
echo
echo "signatures/s ($SECS s each; $(nproc) CPUs; signer: $WORKERS workers, session_copy = yes)"
printf '%-36s' ""
for t in $TYPES; do printf '%12s %8s' "${NAME[$t]}" "/openssl"; done
printf '   %s\n' "signer worker split (P-256 | RSA-2048)"
for row in "${ROWS[@]}"; do
	printf '%-36s' "${LABEL[$row]}"
	for t in $TYPES; do printf '%12.0f %8s' "${R[$row:$t]}" "$(ratio "${R[$row:$t]}" "${R[openssl:$t]}")"; done
	if [ -n "${SPLIT[$row:p256]+x}" ]; then printf '   %s | %s' "${SPLIT[$row:p256]}" "${SPLIT[$row:rsa2048]}"; fi
	echo
done

echo
echo "ratios                                         P-256  RSA-2048"
MET=yes
line() { # line LABEL NUM DEN
	printf '%-44s' "$1"
	for t in $TYPES; do printf '%8s' "$(ratio "${R[$2:$t]}" "${R[$3:$t]}")"; done
	echo
}
line "socket/direct, in-process (target >= $TARGET)" "sock-inproc-$CLIENTS" direct-inproc
line "  pipelined (depth 8), in-process" sock-inproc-pipe direct-inproc
line "socket/direct, p11-kit" "sock-p11kit-$CLIENTS" direct-p11kit
line "  pipelined (depth 8), p11-kit" sock-p11kit-pipe direct-p11kit
line "p11-kit socket / in-process socket" "sock-p11kit-$CLIENTS" "sock-inproc-$CLIENTS"
line "in-process direct / openssl speed" direct-inproc openssl
line "in-process socket / openssl speed" "sock-inproc-$CLIENTS" openssl
line "p11-kit socket / openssl speed" "sock-p11kit-$CLIENTS" openssl
echo
for t in $TYPES; do
	for mode in "sock-inproc-$CLIENTS:one request at a time" "sock-inproc-pipe:pipelined, depth 8"; do
		r=$(ratio "${R[${mode%%:*}:$t]}" "${R[direct-inproc:$t]}")
		if awk -v r="$r" -v m="$TARGET" 'BEGIN { exit !(r >= m) }'; then
			echo "TARGET MET    ${NAME[$t]} (${mode#*:}): socket is $r of direct PKCS#11 (>= $TARGET)"
		else
			[ "${mode%%:*}" = "sock-inproc-$CLIENTS" ] && MET=no
			echo "TARGET MISSED ${NAME[$t]} (${mode#*:}): socket is $r of direct PKCS#11 (< $TARGET)"
		fi
	done
done
echo "20% target (one request at a time per connection, as the frontend uses the signer): $([ $MET = yes ] && echo met for all key types || echo NOT met)"
times > "$T/times.txt"
OTHERS=$(cpu_others "$TICKS_BUSY0" "$TICKS_TOTAL0" "$T/times.txt")
echo "other processes: ${BUSY_BEFORE}% of the CPUs in the second before the run, ${OTHERS}% during it"
if [ "$BUSY_BEFORE" -gt $BUSY_MAX ] || [ "$OTHERS" -gt $BUSY_MAX ]; then
	echo "WARNING: the machine was not idle: rates are low and noisy, ratios unreliable; rerun on an idle machine"
fi
echo "total run time: $(($(date +%s) - START)) s"
