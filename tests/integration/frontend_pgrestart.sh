#!/usr/bin/env bash
# PostgreSQL restarted under a running frontend (a minor-version upgrade, a failover, an operator's restart).
# The server ends every session when it stops; the frontend's connections used to stay dead, and every
# request that needed a worker's connection got 503 "the account database is unavailable" until the frontend
# itself was restarted (the committer's first batch failed too). Now a worker notices a session the server
# ended at the start of its next job, and the committer at the start of its next batch, and both connect
# again: while the server is down requests get a prompt 503, nothing is left pending, and once it is back
# every request is served again without restarting the frontend. A restart in the middle of a burst leaves
# every client with a certificate the database holds (the same DER) or an error, and nothing pending.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
fe_requester alice
fe_start "recover_after_seconds = 2"
csr a ec:P-256 DNS:www.example.com
issue_req "$T/a.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "before the restart: $STATUS $BODY"
wait_locked() { # TABLE MODE: until another session holds that lock on TABLE (up to 5 s)
	for _ in $(seq 100); do
		[ "$(pg_psql "$T/pg" owner -c "select count(*) from pg_locks where relation = '$1'::regclass and mode = '$2' and granted")" = 1 ] && return 0
		sleep 0.05
	done
	fail "no $2 on $1"
}
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

# 3. a restart in the middle of a burst: 16 clients sending 20 requests each, one after another
client() { # N: requests N-1 .. N-20
	local k
	for k in $(seq 20); do
		curl -sS -o "$T/client-$1-$k.body" -w '%{http_code}' --max-time 30 "${AUTH[@]}" --data-binary @"$T/req.json" \
			"$URL/api/v1/certificates" > "$T/client-$1-$k.status" 2>/dev/null || true
	done
}
CLIENTS=()
for i in $(seq 16); do client "$i" & CLIENTS+=($!); done
for _ in $(seq 100); do [ "$(ls "$T"/client-*-3.status 2>/dev/null | wc -l)" -ge 8 ] && break; sleep 0.05; done
UPS=$(grep -c 'event=account_watch_up' "$T/frontend.log" || true) # (the earlier restarts logged theirs)
pg_stop "$T/pg" > /dev/null 2>&1 || fail "pg_stop"
pg_restart_same
wait "${CLIENTS[@]}"
for _ in $(seq 150); do [ "$(cert_rows "status = 'pending'")" = 0 ] && break; sleep 0.2; done
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows still pending after recovery: $(cert_rows "status = 'pending'")"
pg_psql "$T/pg" owner -c "select serial_hex || ' ' || encode(der, 'hex') from certificates where status = 'issued'" > "$T/issued-der"
# every 201 carries a certificate the database holds as issued with the same DER; every other answer is a
# JSON error (or a lost connection, 000)
python3 - "$T" > "$T/burst.counts" <<'EOP' || fail "burst: $(tail -3 "$T/burst.counts")"
import base64, glob, json, os, sys
t = sys.argv[1]
db = dict(l.split() for l in open(os.path.join(t, "issued-der")) if l.strip())
ok = errors = 0
for st_path in sorted(glob.glob(os.path.join(t, "client-*-*.status"))):
    name = os.path.basename(st_path)[:-len(".status")]
    st = open(st_path).read().strip()
    body = open(os.path.join(t, name + ".body"), "rb").read() if os.path.exists(os.path.join(t, name + ".body")) else b""
    if st == "201":
        d = json.loads(body)
        der = base64.b64decode("".join(l for l in d["certificate"].splitlines() if not l.startswith("-----")))
        if db.get(d["serial"]) != der.hex():
            print("%s got certificate %s, which the database does not hold as issued with the same DER" % (name, d["serial"]))
            sys.exit(1)
        ok += 1
    elif st == "000":
        errors += 1
    else:
        try:
            json.loads(body)["error"]["code"]
        except Exception:
            print("%s: status %s without a JSON error: %r" % (name, st, body[:200]))
            sys.exit(1)
        errors += 1
if ok + errors != 320:
    print("%d answers, want 320" % (ok + errors))
    sys.exit(1)
print(ok, errors)
EOP
read -r ok errors < "$T/burst.counts"
[ "$errors" -gt 0 ] || fail "the restart did not fall inside the burst (no request failed)"
for i in $(seq 3); do
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "request $i after the burst: $STATUS $BODY"
done
pass "PostgreSQL restarted during a burst of 320: $ok got certificates the database holds (same DER), $errors errors; none pending; served again"
fe_signed_are_issued
pass "every TBS the signer signed is an issued row"

# 4. nothing lost or half-done; the account watcher is listening again (accounts cached again)
ups() { grep -c 'event=account_watch_up' "$T/frontend.log" || true; }
for _ in $(seq 150); do [ "$(ups)" -gt "$UPS" ] && break; sleep 0.1; done
[ "$(ups)" -gt "$UPS" ] || fail "account watcher did not come back: $(grep account_watch "$T/frontend.log" | tail -2)"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending: $(cert_rows "status = 'pending'")"
[ "$(cert_rows "status = 'issued'")" -ge $((16 + ok)) ] || fail "issued rows: $(cert_rows "status = 'issued'"), want at least $((16 + ok))"
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
pass "none pending, audit chain intact, account watcher listening again"

# 5. a statement that cannot finish (a lock held by another session: an operator's open transaction, a long
#    migration): with db_timeout_seconds the request gets 503 after that long instead of waiting for the lock,
#    and once it is released the next request is issued and nothing is left pending. Without the limit the
#    worker waited for as long as the lock was held (here 25 s) and then answered 201. Six at once: the
#    committer fails a batch that ran out of time whole, where trying each item on its own again made a batch
#    of n wait n + 1 times the limit (the last of six requests answered after ~16 s).
fe_kill
fe_conf 'db_timeout_seconds = 3601'
expect_fail "$FRONTEND" run -c "$T/frontend.conf"
grep -q 'line [0-9]*: bad value for db_timeout_seconds' <<<"$OUT" || fail "db_timeout_seconds 3601: $OUT"
fe_start $'recover_after_seconds = 2\ndb_timeout_seconds = 2'
pg_psql "$T/pg" owner -c "BEGIN; LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(25); COMMIT" > /dev/null 2>&1 &
LOCKER=$!
wait_locked audit_log ShareRowExclusiveLock
locked_req() { # N: one request, its status and milliseconds in $T/locked-N.*
	local t0; t0=$(date +%s%N)
	curl -sS -o "$T/locked-$1.body" -w '%{http_code}' --max-time 40 -H 'Content-Type: application/json' \
		--data-binary @"$T/req.json" "${AUTH[@]}" "$URL/api/v1/certificates" > "$T/locked-$1.status" 2>/dev/null || true
	echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$T/locked-$1.ms"
}
LOCKED=()
for i in $(seq 6); do locked_req "$i" & LOCKED+=($!); done
wait "${LOCKED[@]}"
ms=0
for i in $(seq 6); do
	[ "$(cat "$T/locked-$i.status")" = 503 ] && grep -q "could not record the request" "$T/locked-$i.body" \
		|| fail "request $i while audit_log is locked: $(cat "$T/locked-$i.status") after $(cat "$T/locked-$i.ms") ms: $(cat "$T/locked-$i.body")"
	[ "$(cat "$T/locked-$i.ms")" -gt "$ms" ] && ms=$(cat "$T/locked-$i.ms")
done
[ "$ms" -lt 8000 ] || fail "the last 503 took $ms ms (db_timeout_seconds 2): $(cat "$T"/locked-*.ms | tr '\n' ' ')"
grep -q 'statement timeout' "$T/frontend.log" || fail "the timeout is not logged: $(grep -v level=info "$T/frontend.log" | tail -3)"
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "healthz while the lock is held"
kill "$LOCKER" 2>/dev/null; pg_psql "$T/pg" owner -c "select pg_terminate_backend(pid) from pg_locks where relation = 'audit_log'::regclass and mode = 'ShareRowExclusiveLock'" > /dev/null
wait "$LOCKER" 2>/dev/null || true
issue_req "$T/a.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "after the lock was released: $STATUS $BODY"
[ "$(cert_rows "status = 'pending'")" = 0 ] || fail "rows left pending after the timeout: $(cert_rows "status = 'pending'")"
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
pass "a lock held elsewhere: six requests at once get 503, the last after $ms ms (db_timeout_seconds 2), healthz ok; issued again once it is released, none pending"

# 6. a request that waits in the workers' queue longer than timeout_seconds (5 here) is answered 503 with
#    Retry-After, not done: its client has likely given up, and doing it would only hold up the next ones.
#    Twelve reads while the certificates table is locked: the four workers wait for the lock, the rest
#    are taken after it, past their time (15 s of lock: the reads need only reach the queue within 10 s of it,
#    loaded CI machine or not). Before, every one was done once the lock was released (a backlog of work for
#    clients long gone, issuance too)
fe_kill
fe_start "recover_after_seconds = 2"
SERIAL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' "$T/resp.json")
pg_psql "$T/pg" owner -c "BEGIN; LOCK TABLE certificates IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(15); COMMIT" > /dev/null 2>&1 &
LOCKER=$!
wait_locked certificates AccessExclusiveLock
queued_get() { # N
	curl -sS -D "$T/q-$1.hdr" -o "$T/q-$1.body" -w '%{http_code}' --max-time 40 "${AUTH[@]}" \
		"$URL/api/v1/certificates/$SERIAL" > "$T/q-$1.status" 2>/dev/null || true
}
Q=()
for i in $(seq 12); do queued_get "$i" & Q+=($!); done
wait "${Q[@]}"
wait "$LOCKER" 2>/dev/null || true
n200=0 n503=0
for i in $(seq 12); do
	case $(cat "$T/q-$i.status") in
	200) n200=$((n200 + 1)) ;;
	503) grepq 'waited longer than timeout_seconds for a worker' "$T/q-$i.body" && grepq -i '^Retry-After: 1' "$T/q-$i.hdr" \
		|| fail "read $i: $(cat "$T/q-$i.hdr" "$T/q-$i.body")"
		n503=$((n503 + 1)) ;;
	*) fail "read $i: $(cat "$T/q-$i.status") $(cat "$T/q-$i.body")" ;;
	esac
done
[ "$n503" -ge 8 ] && [ "$n200" -ge 1 ] || fail "reads past their time: $n200 answered, $n503 refused"
shed=$(curl -sS "$URL/metrics" | awk '$1 == "hsmca_requests_shed_total" {print $2}')
[ "${shed:-0}" -ge "$n503" ] || fail "not counted as shed: ${shed:-none}"
get_status=$(curl -sS -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$URL/api/v1/certificates/$SERIAL")
[ "$get_status" = 200 ] || fail "a read after the lock: $get_status"
pass "requests that waited in the workers' queue past timeout_seconds get 503 with Retry-After and are not done ($n503 of 12; $n200 answered); served again once the backlog is gone"
