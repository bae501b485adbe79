#!/usr/bin/env bash
# Stopping the frontend (SIGTERM from systemd, an upgrade, an operator). It used to leave its event loop at
# once: requests under way lost their connections (their intents stayed pending for the next start's
# recovery pass). Now the first signal closes the listeners and answers new requests on open connections
# with 503 "stopping", waits until every request under way is answered, at most timeout_seconds, and exits
# 0; what is still under way at that deadline stays pending for recovery, as after a crash; a second
# signal stops at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
fe_requester alice
csr a ec:P-256 DNS:www.example.com
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/a.csr" > "$T/req.json"
client() {
	curl -sS -o "$T/client-$1.body" -w '%{http_code}' --max-time 30 "${AUTH[@]}" --data-binary @"$T/req.json" \
		"$URL/api/v1/certificates" > "$T/client-$1.status" 2>/dev/null || true
}
pending() { cert_rows "status = 'pending'"; }
stop_signer() { stop_pid "$SIGNER_PID"; }
wait_pending() { # N: until N rows are pending (intents committed, waiting for the stopped signer)
	for _ in $(seq 100); do [ "$(pending)" = "$1" ] && return 0; sleep 0.1; done
	fail "want $1 pending rows, have $(pending)"
}
start_warm() { # the frontend, and one issuance (the login's scrypt is done before the clients come); rows
	# pending for 2 s are recovered (at start-up too: younger ones may be another frontend's, under way)
	fe_start "recover_after_seconds = 2"
	issue_req "$T/a.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "warm-up: $STATUS $BODY"
}
# every 201 carries a certificate the database holds as issued with the same DER
check_201() {
	local i serial der
	for i in "$@"; do
		[ "$(cat "$T/client-$i.status")" = 201 ] || fail "client $i: $(cat "$T/client-$i.status") $(cat "$T/client-$i.body")"
		read -r serial der < <(python3 -c 'import base64,json,sys; d=json.load(open(sys.argv[1]));
print(d["serial"], base64.b64decode("".join(l for l in d["certificate"].splitlines() if not l.startswith("-----"))).hex())' "$T/client-$i.body")
		[ "$(pg_psql "$T/pg" owner -c "select encode(der, 'hex') from certificates where serial_hex = '$serial' and status = 'issued'")" = "$der" ] ||
			fail "client $i: certificate $serial is not the database's"
	done
}

# 1. SIGTERM with six requests waiting for the (stopped) signer: they are answered, then the frontend exits 0
start_warm
stop_signer
CLIENTS=()
for i in 1 2 3 4 5 6; do client "$i" & CLIENTS+=($!); done
wait_pending 6
kill -TERM "$FRONTEND_PID"
# the listeners close at once: polled (a loaded machine may take a moment to deliver the signal)
for _ in $(seq 50); do
	rc=0; curl -sS -o /dev/null --max-time 3 "$URL/healthz" 2>/dev/null || rc=$?
	[ "$rc" = 7 ] && break
	sleep 0.1
done
kill -0 "$FRONTEND_PID" 2>/dev/null || fail "the frontend exited with six requests under way"
[ "$rc" = 7 ] || fail "a new connection while stopping: curl exit $rc, want 7 (refused)"
kill -CONT "$SIGNER_PID"
wait "${CLIENTS[@]}"
check_201 1 2 3 4 5 6
rc=0; wait "$FRONTEND_PID" || rc=$?
[ "$rc" = 0 ] || fail "frontend exit status $rc after stopping"
grep -q 'event=stopped unanswered=0' "$T/frontend.log" || fail "no clean stop logged: $(tail -2 "$T/frontend.log")"
[ "$(pending)" = 0 ] || fail "rows left pending: $(pending)"
pass "SIGTERM with six requests under way: listeners closed at once, all six get their certificates, exit 0, none pending"

# 2. requests that cannot finish: the frontend waits timeout_seconds (5), exits, and the next start completes them
start_warm
stop_signer
CLIENTS=()
for i in 7 8 9; do client "$i" & CLIENTS+=($!); done
wait_pending 3
t0=$(date +%s%N)
kill -TERM "$FRONTEND_PID"
rc=0; wait "$FRONTEND_PID" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 0 ] || fail "frontend exit status $rc at the deadline"
[ "$ms" -ge 4500 ] && [ "$ms" -le 9000 ] || fail "stopped after $ms ms, want about 5000 (timeout_seconds)"
grep -q 'event=stopped unanswered=3' "$T/frontend.log" || fail "deadline stop not logged: $(grep event=stop "$T/frontend.log" | tail -2)"
wait "${CLIENTS[@]}"
for i in 7 8 9; do [ "$(cat "$T/client-$i.status")" != 201 ] || fail "client $i got a certificate from a stopped frontend"; done
kill -CONT "$SIGNER_PID"
start_warm
for _ in $(seq 100); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
[ "$(pending)" = 0 ] || fail "recovery left $(pending) pending"
pass "three requests stuck behind a stopped signer: exit after timeout_seconds ($ms ms), their rows completed by the next start"

# 3. a second signal stops at once
stop_signer
CLIENTS=()
for i in 10 11; do client "$i" & CLIENTS+=($!); done
wait_pending 2
t0=$(date +%s%N)
kill -TERM "$FRONTEND_PID"
sleep 0.3
kill -TERM "$FRONTEND_PID"
rc=0; wait "$FRONTEND_PID" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# (the first waits up to 5 s; ASan adds its leak check at exit)
[ "$ms" -le "$([ -n "$SANITIZED" ] && echo 4500 || echo 3000)" ] || fail "a second SIGTERM took $ms ms"
grep -q 'event=stopping_now' "$T/frontend.log" || fail "second signal not logged"
wait "${CLIENTS[@]}"
kill -CONT "$SIGNER_PID"
start_warm
for _ in $(seq 100); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
[ "$(pending)" = 0 ] || fail "recovery left $(pending) pending"
fe_signed_are_issued
"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
pass "a second SIGTERM stops at once ($ms ms); the next start completes the rest; every signed TBS is an issued row; audit chain intact"

# 4. a client that goes away while its request waits for the (stopped) signer: its certificate is still
# issued, nothing of it stays counted or open, the next client is served, and the frontend's stop at the end
# of the test finds nothing leaked (ASan build: fe_stop_checked). evhttp does not read a connection whose
# request awaits its reply, so it sees the close only when the reply is written, and frees the request then.
stop_signer
issued0=$(cert_rows "status = 'issued'")
python3 - "$PORT" "$T/req.json" "$(printf 'alice:alice password 0001' | base64 -w0)" <<'EOP' &
import socket, sys, time
body = open(sys.argv[2], "rb").read()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Basic "
          + sys.argv[3].encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
time.sleep(60)
EOP
GONE=$!
PIDS+=("$GONE")
wait_pending 1
kill "$GONE"; wait "$GONE" 2>/dev/null || true # its socket closes with it
sleep 0.3
kill -CONT "$SIGNER_PID"
for _ in $(seq 100); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
[ "$(pending)" = 0 ] || fail "the gone client's row is still pending"
[ "$(cert_rows "status = 'issued'")" = $((issued0 + 1)) ] || fail "the gone client's certificate was not issued"
m=
for _ in $(seq 40); do
	m=$(curl -s "$URL/metrics")
	grep -q '^hsmca_requests_in_progress 0$' <<< "$m" && grep -q '^hsmca_connections_open 1$' <<< "$m" && break
	sleep 0.05
done
grep -q '^hsmca_requests_in_progress 0$' <<< "$m" && grep -q '^hsmca_connections_open 1$' <<< "$m" ||
	fail "the gone client is still counted: $(grep -E 'in_progress|connections_open' <<< "$m")"
issue_req "$T/a.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "the next client: $STATUS $BODY"
fe_signed_are_issued
pass "a client gone while its request waited: its certificate issued, nothing left counted or open, the next one served"

# 5. a row completed another way while its request waited for the signer (here failed by an operator, on the
# record): the request gets 409 not-pending naming the serial, so its client can GET what is stored (the
# message said "{serial}" and the reply carried none)
stop_signer
client 20 & C=$!
wait_pending 1
S=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where status = 'pending'")
pg_psql "$T/pg" owner -c "BEGIN; UPDATE certificates SET status = 'failed', failure_reason = 'failed by hand' WHERE serial_hex = '$S';
	INSERT INTO audit_log (actor, action, object, details) VALUES ('operator', 'certificate.failed', '$S', '{}'); COMMIT" >/dev/null \
	|| fail "failing $S by hand"
kill -CONT "$SIGNER_PID"
wait "$C"
[ "$(cat "$T/client-20.status")" = 409 ] && python3 - "$T/client-20.body" "$S" <<'EOP' || fail "a row failed meanwhile: $(cat "$T/client-20.status") $(cat "$T/client-20.body")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
s = sys.argv[2]
assert e["code"] == "not-pending", e
assert e["message"].startswith("certificate %s was completed another way meanwhile; GET /api/v1/certificates/%s " % (s, s)), e
EOP
curl -fsS "${AUTH[@]}" "$URL/api/v1/certificates/$S" > "$T/got.json" || fail "GET $S"
grep -q '"status": "failed"' "$T/got.json" || fail "GET $S: $(cat "$T/got.json")"
pass "a request whose row was failed meanwhile gets 409 not-pending naming its serial, which GET returns"

# 6. a recovery pass signing a row when SIGTERM comes: the stop waits for that row (signed, then committed
# issued) instead of exiting under it. Before, nothing was under way as far as the drain could tell, the process
# exited between the signature and the commit, and the next start signed the same TBS again. The row: a request
# made with the signer gone (503, its intent pending, the TBS never sent); the pass takes it once it is 5 s old
# and waits on the signer, stopped meanwhile
fe_kill
fe_start "recover_after_seconds = 5"
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
issue_req "$T/a.csr" server "${AUTH[@]}"
[ "$STATUS" = 503 ] || fail "a request with the signer gone: $STATUS $BODY"
t_row=$(date +%s)
R=$(pg_psql "$T/pg" owner -c "select serial_hex from certificates where status = 'pending'")
[ -n "$R" ] || fail "no pending row"
H=$(pg_psql "$T/pg" owner -c "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$R'")
signed_times() { cat "$T"/signer*.log | grep -c "event=signed .*tbs_sha256=$H" || true; }
rm -f "$T/run/control.sock"
signer_start
signer_unseal alice bob carol
stop_signer
[ $(($(date +%s) - t_row)) -lt 5 ] || fail "the signer took too long to come back: the pass may have signed the row already"
# the pass runs every 5 s: by 11 s the row has been taken and sent to the stopped signer
sleep $((t_row + 11 - $(date +%s)))
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$R'")" = pending ] || fail "$R is not pending"
lines=$(wc -l < "$T/frontend.log")
kill -TERM "$FRONTEND_PID"
sleep 1
kill -0 "$FRONTEND_PID" 2>/dev/null || fail "the frontend exited under its recovery pass: $(tail -n +$((lines + 1)) "$T/frontend.log" | tail -3)"
kill -CONT "$SIGNER_PID"
rc=0; wait "$FRONTEND_PID" || rc=$?
[ "$rc" = 0 ] || fail "frontend exit status $rc"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=recovered serial=$R outcome=issued" \
	|| fail "the pass did not complete $R before the exit: $(tail -n +$((lines + 1)) "$T/frontend.log" | tail -4)"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq 'event=stopped unanswered=0' || fail "no clean stop logged"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$R'")" = issued ] || fail "$R is not issued"
fe_start "recover_after_seconds = 1"
sleep 2.5
[ "$(signed_times)" = 1 ] || fail "the TBS of $R was signed $(signed_times) times"
pass "SIGTERM during a recovery pass: the stop waits for the row it is signing (issued, committed), which is signed once"
