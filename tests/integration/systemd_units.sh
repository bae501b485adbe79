#!/usr/bin/env bash
# The hardened units in systemd/: `systemd-analyze verify` must accept each one without a single warning (an
# unknown or misspelt directive is only a warning to systemd, and would silently drop a protection), and
# `systemd-analyze security` must rate each one's exposure at most its bound here (the signer and the
# frontend are the tightest: no network or only their sockets, no capabilities but the frontend's bind and
# privilege drop). ExecStart= paths are pointed at this build's binaries.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (tests/run.sh installs systemd)"
UNITS=$(cd "$(dirname "$0")/../../systemd" && pwd)
declare -A BOUND=([hsmca-signer]=1.0 [hsmca-frontend]=2.6 [hsmca-p11kit]=1.0)
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

# The other tests run `hsmca-signer run` and `hsmca-frontend run` under their units' SystemCallFilter= (lib.sh,
# unit_filter) in the build without sanitizers: the tool that loads a unit's filter filters. chroot is in no
# unit's list: refused with the unit's SystemCallErrorNumber (EPERM), or the process killed without one.
if [ "$UNIT_FILTERS" = 1 ]; then
	for u in hsmca-signer hsmca-frontend; do
		python3 "$(dirname "$0")/unitfilter.py" "$UNITS/$u.service" > "$T/$u.calls"
		! grepq -x chroot "$T/$u.calls" || fail "$u: its unit allows chroot: the checks below prove nothing"
		out=$("$HSMCA_BUILD/tests/tools/sysfilter" "$T/$u.calls" 1 -- /usr/bin/python3 -c 'import os; os.chroot("/")' 2>&1) &&
			fail "$u: chroot allowed under its filter"
		[[ $out == *PermissionError* ]] || fail "$u: chroot under its filter: $out"
		rc=0
		{ "$HSMCA_BUILD/tests/tools/sysfilter" "$T/$u.calls" 0 -- /usr/bin/python3 -c 'import os; os.chroot("/")'; } 2>/dev/null || rc=$?
		[ "$rc" = 159 ] || fail "$u: chroot under its filter without an errno: exit $rc, not SIGSYS (159)"
		"$HSMCA_BUILD/tests/tools/sysfilter" "$T/$u.calls" 1 -- /usr/bin/python3 -c 'import os; os.getpid()' ||
			fail "$u: python3 does not run under its filter"
	done
	grepq -x seccomp "$T/hsmca-signer.calls" && grepq -x landlock_restrict_self "$T/hsmca-signer.calls" ||
		fail "the signer's unit does not let it load its own seccomp filters and Landlock ruleset"
	pass "sysfilter loads a unit's filter: chroot refused (EPERM) or killed (SIGSYS)"
fi

# what the units expect is what `cmake --install` puts in place (docs/deploy.md): each unit's programs, the
# migrations an installed `hsmca-frontend migrate` applies, the units, and the users (systemd-sysusers into a
# scratch root: the three users, hsmca-frontend in hsmca-signer's group). Before, nothing was installed.
DEST=$T/inst
DESTDIR=$DEST cmake --install "$HSMCA_BUILD" --prefix /usr/local > "$T/install.log" 2>&1 || fail "cmake --install: $(tail -3 "$T/install.log")"
for f in "$UNITS"/*.service; do
	for prog in $(sed -n 's/^Exec[A-Za-z]*=[-@+!]*\(\/[^ ]*\).*/\1/p' "$f"); do
		case $prog in
		/usr/local/*) [ -x "$DEST$prog" ] || fail "$(basename "$f"): $prog is not installed" ;;
		*) [ -x "$prog" ] || fail "$(basename "$f"): $prog is not on this system" ;;
		esac
	done
	[ -f "$DEST/usr/local/lib/systemd/system/$(basename "$f")" ] || fail "$(basename "$f") is not installed"
done
[ -x "$DEST/usr/local/bin/hsmca-ceremony" ] || fail "hsmca-ceremony is not installed"
[ "$(ls "$DEST/usr/local/share/hsmca/schema" | wc -l)" = "$(ls "$(dirname "$0")/../../schema/"*.sql | wc -l)" ] \
	|| fail "installed migrations: $(ls "$DEST/usr/local/share/hsmca/schema")"
grep -qa /usr/local/share/hsmca/schema "$DEST/usr/local/bin/hsmca-frontend" || fail "hsmca-frontend does not know the installed migrations"
mkdir -p "$T/sysroot/etc"
systemd-sysusers --root="$T/sysroot" "$DEST/usr/local/lib/sysusers.d/hsmca.conf" > "$T/sysusers.log" 2>&1 \
	|| fail "systemd-sysusers: $(cat "$T/sysusers.log")"
for u in hsmca-hsm hsmca-signer hsmca-frontend; do
	grep -q "^$u:" "$T/sysroot/etc/passwd" || fail "sysusers: no user $u"
done
grep -q '^hsmca-signer:x:[0-9]*:hsmca-frontend$' "$T/sysroot/etc/group" || fail "sysusers: $(grep hsmca-signer "$T/sysroot/etc/group")"
# the token the p11-kit unit serves is the one the deployment guide tells the init ceremony to make
token=$(sed -n 's/^ExecStart=.* pkcs11:token=\([^ ]*\)$/\1/p' "$UNITS/hsmca-p11kit.service")
[ -n "$token" ] && grep -q "token labelled \*\*\`$token\`\*\*" "$(dirname "$0")/../../docs/deploy.md" \
	|| fail "the p11-kit unit's token ($token) is not the one docs/deploy.md names"
pass "cmake --install puts every unit's program, the migrations, the units and the users (systemd-sysusers) where the units expect them"
