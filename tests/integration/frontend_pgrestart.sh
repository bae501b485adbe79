#!/usr/bin/env bash
# PostgreSQL restarted under a running frontend (a minor-version upgrade, a failover, an operator's restart).
# The server ends every session when it stops; the frontend's connections used to stay dead, and every
# request that needed a worker's connection got 503 "the account database is unavailable" until the frontend
# itself was restarted (the committer's first batch failed too). Now a worker notices a session the server
# ended at the start of its next job, and the committer at the start of its next batch, and both connect
# again: while the server is down requests get a prompt 503, nothing is left pending, and once it is back
# every request is served again without restarting the frontend.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --name alice --role requester \
	--password-file <(printf 'alice password 0001\n') > /dev/null || fail "create-account"
AUTH=(-u "alice:alice password 0001")
fe_start
csr a ec:P-256 DNS:www.example.com
issue_req "$T/a.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "before the restart: $STATUS $BODY"
pg_restart_same() { PG_SOCK_MODE=${FE_USER:+0755} PG_EXTRA_CONF="fsync = off" pg_start "$T/pg" $((PORT + 1)) > "$T/pg2.log" 2>&1 || fail "postgres restart: $(tail -3 "$T/pg2.log")"; }

# 1. a restart between requests: the very next request is served
pg_stop "$T/pg" > /dev/null 2>&1 || fail "pg_stop"
pg_restart_same
for i in $(seq 6); do
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "request $i after the restart: $STATUS $BODY; $(grep -v level=info "$T/frontend.log" | tail -2)"
done
pass "PostgreSQL restarted between requests: the next six are issued (workers and committer reconnect)"

# 2. the server down for a while: prompt 503s, then served again once it is back
pg_stop "$T/pg" > /dev/null 2>&1 || fail "pg_stop"
for i in 1 2 3; do
	t0=$(date +%s%N)
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
		--data-binary @"$T/req.json" "${AUTH[@]}" "$URL/api/v1/certificates")
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$STATUS" = 503 ] || fail "request $i with the server down: $STATUS $(cat "$T/resp.json")"
	[ "$ms" -lt 5000 ] || fail "request $i with the server down took $ms ms"
done
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "healthz while the database is down"
pg_restart_same
for i in $(seq 6); do
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "request $i after the server came back: $STATUS $BODY"
done
pass "server down: 503 at once, the frontend keeps running; back: issued again without a frontend restart"

# 3. nothing lost or half-done; the account watcher is listening again (accounts cached again)
for _ in $(seq 150); do grep -q 'event=account_watch_up' "$T/frontend.log" && break; sleep 0.1; done
grep -q 'event=account_watch_up' "$T/frontend.log" || fail "account watcher did not come back: $(grep account_watch "$T/frontend.log" | tail -2)"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending: $(cert_rows "status = 'pending'")"
[ "$(cert_rows "status = 'issued'")" = 13 ] || fail "issued rows: $(cert_rows "status = 'issued'"), want 13"
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grep -q 'audit chain intact' || fail "audit chain"
pass "13 certificates issued, none pending, audit chain intact, account watcher listening again"
