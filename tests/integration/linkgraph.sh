#!/usr/bin/env bash
# The signer must never link libpq or libevent (and nothing of ours links libp11: we use raw PKCS#11).
set -euo pipefail
b=$1
needed() { readelf -d "$1" | awk '/NEEDED/ {print $5}'; }
for bin in "$b/signer/hsmca-signer" "$b/hsm/ceremony/hsmca-ceremony"; do
	if needed "$bin" | grep -E 'libpq|libevent|libp11\.so'; then
		echo "FAIL: $bin links a library outside its trust boundary" >&2
		exit 1
	fi
	echo "ok - $(basename "$bin"): $(needed "$bin" | tr '\n' ' ')"
done
fe="$b/frontend/hsmca-frontend"
if needed "$fe" | grep -E 'libp11'; then echo "FAIL: the frontend links libp11" >&2; exit 1; fi
if [ "$(nm "$fe" | grep -cE ' T (p11_|C_GetFunctionList|shamir_|quorum_)')" != 0 ]; then
	echo "FAIL: the frontend contains PKCS#11 / quorum code" >&2
	exit 1
fi
echo "ok - hsmca-frontend: no libp11, no PKCS#11 code"
# the test hook exists only in the test twin
# (grep -c, not -q: with pipefail an early exit of grep would fail the pipe)
[ "$(strings "$b/signer/hsmca-signer-testhook" | grep -c test_hook)" -gt 0 ] || { echo "FAIL: cannot recognise the hook" >&2; exit 1; }
if [ "$(strings "$b/signer/hsmca-signer" | grep -c test_hook)" -gt 0 ]; then
	echo "FAIL: hsmca-signer contains the test hook" >&2
	exit 1
fi
echo "ok - hsmca-signer has no test hook"
