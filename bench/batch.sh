#!/usr/bin/env bash
# The group committer's statement alone (no HTTP, no signer): backend CPU and wall ms per statement and per
# certificate, for statements of N intents plus the previous statement's N results (db_test batch-bench), on a
# private PostgreSQL cluster. The committer is the issuance path's serial stage, and its backend's CPU time is
# steadier than bench/issue.sh's rate (which moves by +-20% between runs on a shared 2-vCPU machine).
#
# With BENCH_B_SQL, an A/B comparison of a schema change before writing its migration: database A is migrated
# as shipped, database B is migrated and then gets BENCH_B_SQL (run as the superuser); the runs alternate A, B,
# A, B, ... and each side's backend CPU ms per statement is printed sorted (compare the medians).
#
# Run as root on Debian 12 after a build: bench/batch.sh [BUILD_DIR]
# env: BENCH_SIZES ("6 14": ~6 is what 32 clients make), BENCH_ROUNDS (2000), BENCH_REPEAT (3; with
#      BENCH_B_SQL: 6 pairs), BENCH_FSYNC (off: CPU only; on: with each commit's WAL flush), BENCH_B_SQL
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$REPO/build}
DBT=$BUILD/tests/integration/db_test
FRONTEND=$BUILD/frontend/hsmca-frontend
ROUNDS=${BENCH_ROUNDS:-2000}
[ -x "$DBT" ] && [ -x "$FRONTEND" ] || { echo "bench/batch.sh: build first ($DBT)" >&2; exit 1; }
source "$REPO/tests/integration/pg_lib.sh"
T=$(mktemp -d /tmp/hsmca-batch.XXXXXX)
trap 'pg_stop "$T/pg" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
chmod 0755 "$T"
PG_EXTRA_CONF="fsync = ${BENCH_FSYNC:-off}" pg_start "$T/pg" $((20000 + RANDOM % 20000)) > "$T/pg.log" 2>&1 \
	|| { cat "$T/pg.log" >&2; exit 1; }
"$FRONTEND" migrate --conninfo "$(pg_conninfo "$T/pg" owner)" >/dev/null
A=$(pg_conninfo "$T/pg" frontend)
echo "committer statement: fsync ${BENCH_FSYNC:-off}, $ROUNDS statements per run, build $BUILD," \
	"$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -z "${BENCH_B_SQL:-}" ]; then
	for n in ${BENCH_SIZES:-6 14}; do
		for _ in $(seq "${BENCH_REPEAT:-3}"); do "$DBT" batch-bench "$A" "$n" "$ROUNDS"; done
	done
	exit 0
fi
pg_psql "$T/pg" owner -c "CREATE DATABASE hsmca_b"
OWNER_B=$(pg_conninfo "$T/pg" owner | sed 's/dbname=hsmca /dbname=hsmca_b /')
B=$(sed 's/dbname=hsmca /dbname=hsmca_b /' <<<"$A")
"$FRONTEND" migrate --conninfo "$OWNER_B" >/dev/null
"$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 "$OWNER_B" -c "$BENCH_B_SQL" >/dev/null
cpu() { "$DBT" batch-bench "$1" "$2" "$ROUNDS" | sed -n 's/.*backend CPU ms per statement \([0-9.]*\).*/\1/p'; }
for n in ${BENCH_SIZES:-6}; do
	ra=() rb=()
	for _ in $(seq "${BENCH_REPEAT:-6}"); do ra+=("$(cpu "$A" "$n")"); rb+=("$(cpu "$B" "$n")"); done
	echo "n=$n backend CPU ms per statement, sorted"
	echo "  A (as shipped): $(printf '%s\n' "${ra[@]}" | sort -n | tr '\n' ' ')"
	echo "  B (+ BENCH_B_SQL): $(printf '%s\n' "${rb[@]}" | sort -n | tr '\n' ' ')"
done
