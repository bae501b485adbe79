#!/usr/bin/env bash
# The test command (README): installs what the tests need on Debian 12 (as root), builds twice
# (gcc; clang with ASan+UBSan and the libFuzzer targets) and runs the whole ctest suite in both.
# Exits non-zero on any failure. HSMCA_SKIP_APT=1 skips apt; HSMCA_TEST_BUILDS="normal" runs one build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Debian's tools before anything else on PATH: the suite depends on the packages below, not on what a machine
# adds in front of them (a pyenv shim before /usr/bin/python3 costs ~0.3 s per call; .ci/run installs none)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev libssl-dev openssl libseccomp-dev libp11-kit-dev
      softhsm2 p11-kit p11-kit-modules opensc gnutls-bin python3 xxd procps passwd libevent-dev libpq-dev
      postgresql-15 curl golang-cfssl systemd)
if [ "${HSMCA_SKIP_APT:-0}" != 1 ]; then
	missing=()
	# installed, not only known (dpkg -s says yes to a package removed with its config files kept)
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/hsmca-apt.log 2>&1 \
			|| { tail -n 30 /tmp/hsmca-apt.log; exit 1; }
	fi
fi
[ "$(id -u)" = 0 ] || { echo "tests/run.sh: the integration tests need root (users, privilege drop)" >&2; exit 1; }

# the signer's, the HSM's and the frontend's users, created once here (parallel tests must not race on
# useradd); the frontend reaches the signer's socket through the signer's group
for u in hsmca-signer hsmca-hsm hsmca-frontend; do
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
id -nG hsmca-frontend | grep -qw hsmca-signer || usermod -aG hsmca-signer hsmca-frontend

JOBS=$(nproc)
run_build() { # name cc cmake-args...
	local name=$1 cc=$2; shift 2
	local dir="$ROOT/build-test-$name"
	echo "== build $name ($cc $*)"
	CC=$cc cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$dir.cmake.log" 2>&1 \
		|| { cat "$dir.cmake.log"; return 1; }
	make -C "$dir" -j"$JOBS" > "$dir.make.log" 2>&1 || { tail -n 40 "$dir.make.log"; return 1; }
	echo "== test $name"
	( cd "$dir" && ctest --output-on-failure --timeout 900 -j"$JOBS" )
}

builds=${HSMCA_TEST_BUILDS:-"normal sanitize"}
for b in $builds; do
	case $b in
	normal) run_build normal gcc ;;
	sanitize)
		# ASan+UBSan over the whole suite; the libFuzzer targets are built here too (clang only)
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			run_build sanitize clang -DHSMCA_SANITIZE=ON -DHSMCA_FUZZ=ON ;;
	*) echo "unknown build $b" >&2; exit 2 ;;
	esac
done
echo "== all tests passed ($builds)"
