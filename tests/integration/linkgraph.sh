#!/usr/bin/env bash
# The signer must never link libpq or libevent (and nothing of ours links libp11: we use raw PKCS#11).
set -euo pipefail
b=$1
die() { echo "FAIL: $*" >&2; exit 1; }
# every library the binary loads (ldd: the ones its libraries pull in too); a binary that is missing or whose
# libraries cannot be read fails (the check passed then: an empty list names no forbidden library)
libs() {
	[ -x "$1" ] || die "$1 is missing"
	local l; l=$(ldd "$1") || die "ldd $1"
	grep -q 'libc\.so' <<<"$l" || die "ldd $1 names no libc: $l"
	printf '%s\n' "$l"
}
for bin in "$b/signer/hsmca-signer" "$b/hsm/ceremony/hsmca-ceremony"; do
	l=$(libs "$bin")
	! grep -E 'libpq|libevent|libp11\.so' <<<"$l" || die "$bin links a library outside its trust boundary"
	echo "ok - $(basename "$bin"): $(awk '{ print $1 }' <<<"$l" | tr '\n' ' ')"
done
fe="$b/frontend/hsmca-frontend"
l=$(libs "$fe")
! grep -E 'libp11\.so' <<<"$l" || die "the frontend links libp11"
syms=$(nm "$fe") || die "nm $fe"
[ "$(grep -c ' T ' <<<"$syms")" -gt 100 ] || die "nm $fe lists no code (stripped?): the next check would prove nothing"
[ "$(grep -cE ' T (p11_|C_GetFunctionList|shamir_|quorum_)' <<<"$syms")" = 0 ] || die "the frontend contains PKCS#11 / quorum code"
echo "ok - hsmca-frontend: no libp11, no PKCS#11 code"
# the test hook exists only in the test twin
# (grep -c, not -q: with pipefail an early exit of grep would fail the pipe)
[ "$(strings "$b/signer/hsmca-signer-testhook" | grep -c test_hook)" -gt 0 ] || { echo "FAIL: cannot recognise the hook" >&2; exit 1; }
if [ "$(strings "$b/signer/hsmca-signer" | grep -c test_hook)" -gt 0 ]; then
	echo "FAIL: hsmca-signer contains the test hook" >&2
	exit 1
fi
echo "ok - hsmca-signer has no test hook"
