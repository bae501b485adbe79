#!/usr/bin/env bash
# The integration scripts run under pipefail, where `writer | grep -q ...` fails whenever grep exits at its
# first match while the writer still has bytes to write (SIGPIPE, 141): a flake CI met on a log's tail
# (frontend_checkpoint). They use lib.sh's grepq, which reads all of its input. This checks that no script
# pipes into grep -q again, and that grepq answers as grep -q does without failing the pipe.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
bad=$(grep -nE '\|[[:space:]]*grep[[:space:]]+-[a-zA-Z]*q' "$dir"/*.sh | grep -vE '^[^:]*/testlint\.sh:|^[^:]*:[0-9]+:[[:space:]]*#' || true)
[ -z "$bad" ] || { echo "FAIL: pipes into grep -q (use grepq):" >&2; echo "$bad" >&2; exit 1; }
echo "ok - no script pipes into grep -q"
eval "$(grep -E '^grepq\(\)' "$dir/lib.sh")"
declare -F grepq > /dev/null || { echo "FAIL: lib.sh defines no grepq" >&2; exit 1; }
seq 1 300000 | grepq -x 1 || { echo "FAIL: grepq failed a pipe whose writer had more to write" >&2; exit 1; }
! seq 1 300000 | grepq -x 0 || { echo "FAIL: grepq matched a line that is not there" >&2; exit 1; }
grepq -E '^b' <<<$'a\nb' || { echo "FAIL: grepq -E" >&2; exit 1; }
echo "ok - grepq matches, misses, and lets its writer finish"
