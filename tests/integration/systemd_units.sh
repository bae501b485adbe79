#!/usr/bin/env bash
# The hardened units in systemd/: `systemd-analyze verify` must accept each one without a single warning (an
# unknown or misspelt directive is only a warning to systemd, and would silently drop a protection), and
# `systemd-analyze security` must rate each one's exposure at most its bound here (the signer and the
# frontend are the tightest: no network or only their sockets, no capabilities but the frontend's bind and
# privilege drop). ExecStart= paths are pointed at this build's binaries.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (tests/run.sh installs systemd)"
UNITS=$(cd "$(dirname "$0")/../../systemd" && pwd)
declare -A BOUND=([hsmca-signer]=2.5 [hsmca-frontend]=2.6 [hsmca-p11kit]=1.0)
n=0
for f in "$UNITS"/*.service; do
	u=$(basename "$f" .service)
	[ -n "${BOUND[$u]:-}" ] || fail "$u: no exposure bound in this test"
	sed -e "s#/usr/local/bin/hsmca-signer#$HSMCA_BUILD/signer/hsmca-signer#" \
	    -e "s#/usr/local/bin/hsmca-frontend#$HSMCA_BUILD/frontend/hsmca-frontend#" "$f" > "$T/$u.service"
	grep -q '/usr/local/bin' "$T/$u.service" && fail "$u: an ExecStart of a binary this build does not make"
	out=$(cd "$T" && systemd-analyze verify --man=no --recursive-errors=no "./$u.service" 2>&1) || fail "$u: verify: $out"
	[ -z "$out" ] || fail "$u: verify warned: $out"
	score=$(cd "$T" && systemd-analyze security --offline=true --no-pager "./$u.service" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || fail "$u: no exposure score"
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$score" "${BOUND[$u]}" ||
		fail "$u: exposure $score above ${BOUND[$u]}"
	echo "  $u: exposure $score (bound ${BOUND[$u]})"
	n=$((n + 1))
done
[ "$n" = 3 ] || fail "$n units checked, want 3"
# the frontend's stop timeout covers its drain on SIGTERM (timeout_seconds, at most 300)
grep -q '^TimeoutStopSec=310$' "$UNITS/hsmca-frontend.service" || fail "frontend: TimeoutStopSec below the 300 s drain"
# the signer's "signed" lines are never rate-limited away; the frontend may hold max_inflight connections
grep -q '^LogRateLimitIntervalSec=0$' "$UNITS/hsmca-signer.service" || fail "signer: journald may drop its signed lines"
grep -q '^LimitNOFILE=16384$' "$UNITS/hsmca-frontend.service" || fail "frontend: LimitNOFILE"
pass "systemd units: verify silent, exposure within bounds ($n units)"
