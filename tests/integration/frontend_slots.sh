#!/usr/bin/env bash
# The committer's connection when PostgreSQL is short of connection slots. Every issuance is committed
# through the committer's one connection; it used to be opened at the first batch, after the workers had
# taken their connections, so a server with fewer slots than the frontend's threads left it without one:
# the frontend started, answered /healthz, and failed every issuance (503) for as long as it ran. Now the
# committer connects at start-up, before anything else, and a frontend that cannot get that connection
# refuses to start and says why.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
# 3 slots are reserved for superusers: 5 left for the frontend's role, which with 4 threads wants 6
# (committer, account watcher, 4 workers)
FE_PG_CONF="max_connections = 8" fe_setup_backend
fe_profiles
fe_requester alice

# 1. every slot taken: the frontend refuses to start, naming the database's reason
# hold connections as the frontend's role until the server refuses one more
fe_psql() { "$PG_BIN/psql" -X -qAt "$(pg_conninfo "$T/pg" frontend)" "$@"; }
held() { pg_psql "$T/pg" owner -c "select count(*) from pg_stat_activity where query = 'select pg_sleep(120)'"; }
# A backend that has answered takes a moment to give its slot back: a holder started right after the probe
# could be refused for the probe's slot (under load it was, every time, and the slots were never filled).
# So the probe's backend is waited out first, and a holder that did not get a slot is dropped.
gone() { pg_psql "$T/pg" owner -c "select count(*) from pg_stat_activity where backend_type = 'client backend' and query = 'select 1'"; }
HOLDERS=()
for _ in $(seq 12); do
	fe_psql -c "select 1" > "$T/probe.log" 2>&1 || break
	for _ in $(seq 100); do [ "$(gone)" = 0 ] && break; sleep 0.05; done
	fe_psql -c "select pg_sleep(120)" > /dev/null 2>&1 &
	h=$!
	PIDS+=("$h")
	for _ in $(seq 200); do
		[ "$(held)" -ge $((${#HOLDERS[@]} + 1)) ] && { HOLDERS+=("$h"); break; }
		kill -0 "$h" 2>/dev/null || break
		sleep 0.05
	done
done
grep -q 'remaining connection slots' "$T/probe.log" || fail "slots not exhausted by ${#HOLDERS[@]} sessions: $(cat "$T/probe.log")"
fe_conf
rc=0; timeout 20 "$FRONTEND" run -c "$T/frontend.conf" > "$T/refused.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "frontend with no connection slot: exit $rc, want 1: $(tail -3 "$T/refused.log")"
grep -q 'event=startup_failed step=committer why=".*remaining connection slots' "$T/refused.log" ||
	fail "no clear start-up error: $(tail -3 "$T/refused.log")"
pass "no connection slot for the committer: the frontend refuses to start and says why"
pg_psql "$T/pg" owner -c "select count(pg_terminate_backend(pid)) from pg_stat_activity where query = 'select pg_sleep(120)'" > /dev/null
for _ in $(seq 100); do [ "$(held)" = 0 ] && break; sleep 0.1; done
wait "${HOLDERS[@]}" 2>/dev/null || true

# 2. fewer slots than threads: the committer has its connection; issuance works (a worker left without a
# connection fails a login that lands on it, and is named in the log; the client may retry)
fe_start
csr a ec:P-256 DNS:www.example.com
ok=0
for _ in $(seq 12); do
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] && { ok=1; break; }
done
[ "$ok" = 1 ] || fail "no certificate issued with fewer slots than threads: $STATUS $BODY; $(grep -v level=info "$T/frontend.log" | tail -3)"
for i in $(seq 10); do
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "issuance $i after the first: $STATUS $BODY"
done
! grep -q 'event=commit_db_unavailable' "$T/frontend.log" || fail "the committer had no connection: $(grep commit_db_unavailable "$T/frontend.log" | head -1)"
[ "$(cert_rows "status = 'issued'")" -ge 11 ] || fail "issued rows: $(cert_rows "status = 'issued'")"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending"
pass "fewer connection slots than threads: the committer is connected, every issuance after the first success succeeds"
