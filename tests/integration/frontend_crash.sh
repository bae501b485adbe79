#!/usr/bin/env bash
# Crashes around signing: SIGKILL the frontend between the pending insert and the signer's answer, and
# SIGKILL the signer during a burst. Afterwards every certificate the signer produced is in the database
# as issued (same TBS), no row is stuck pending, and every client got a certificate or an error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
printf 'alice password 0002\n' > "$T/alice.pw"
"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name alice --role requester \
	--password-file "$T/alice.pw" >/dev/null || fail "create-account"
fe_start "recover_after_seconds = 2"
AUTH="alice:$(cat "$T/alice.pw")"
csr burst ec:P-256 "DNS:burst.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/burst.csr" > "$T/req.json"

# client N: writes $T/client-N.status (HTTP code, 000 if the connection died) and the body
client() {
	curl -sS -o "$T/client-$1.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" \
		"$URL/api/v1/certificates" > "$T/client-$1.status" 2>/dev/null || true
}
# every TBS the signer signed is an issued row; nothing pending
check_db() {
	fe_signed_are_issued
	[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")" = 0 ] || fail "rows stuck pending"
}
wait_no_pending() {
	for _ in $(seq 150); do
		[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")" = 0 ] && return 0
		sleep 0.2
	done
	fail "rows still pending after recovery"
}

# 1. the frontend dies while requests wait for the (stopped) signer
stop_pid "$SIGNER_PID"
CLIENTS=()
for i in 1 2 3 4; do client "$i" & CLIENTS+=($!); done
for _ in $(seq 100); do
	[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")" = 4 ] && break
	sleep 0.1
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")" = 4 ] || fail "intents not committed"
signed_before=$(grep -c 'event=signed type=0x10 ' "$T/signer.log" || true)
kill -9 "$FRONTEND_PID"
kill -CONT "$SIGNER_PID"
wait "${CLIENTS[@]}"
for i in 1 2 3 4; do [ "$(cat "$T/client-$i.status")" != 201 ] || fail "client $i got a certificate from a dead frontend"; done
# what was queued on the dead connections is not signed: no one could receive it, and recovery signs each
# TBS again (two signatures of one intent). This kernel already refuses the recv of a closed SEQPACKET
# peer's queued messages; the signer drops a connection on POLLHUP besides, so it does not depend on that
sleep 1
[ "$(grep -c 'event=signed type=0x10 ' "$T/signer.log" || true)" = "$signed_before" ] \
	|| fail "the signer signed requests of a dead frontend: $(grep 'event=signed type=0x10 ' "$T/signer.log" | tail -4)"
fe_start "recover_after_seconds = 2"
wait_no_pending
check_db
[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'issued'")" = 4 ] || fail "recovery did not issue all 4"
grep -ho 'event=signed type=0x10 .*tbs_sha256=[0-9a-f]*' "$T/signer.log" | sed 's/.*tbs_sha256=//' | sort | uniq -d > "$T/twice"
[ ! -s "$T/twice" ] || fail "a TBS signed twice: $(head -2 "$T/twice")"
pass "frontend SIGKILLed between intent and signature: the signer signs nothing of the dead connections; after restart the 4 pending rows are issued, each TBS signed once; clients got errors"

# 2. the signer dies in the middle of a burst; it restarts sealed and is unsealed again. 8 clients send
# requests one after another until told to stop: the kill lands once the signer has signed 20 of them, and
# the clients go on through the outage until the new signer has signed 10 more, so requests are under way at
# the kill and after it (a burst of single requests had all its answers before a kill 0.4 s in)
signed_in() { grep -c 'event=signed type=0x10 key=int ' "$1" 2>/dev/null || true; }
burst_client() { # N: requests N-1, N-2, ... until $T/burst.stop (or the test's end); each its status, body, times
	local k=0 t0
	while [ ! -e "$T/burst.stop" ] && [ $k -lt 2000 ] && kill -0 $$ 2>/dev/null; do
		k=$((k + 1)); t0=$EPOCHREALTIME
		curl -sS -o "$T/burst-$1-$k.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" \
			"$URL/api/v1/certificates" > "$T/burst-$1-$k.status" 2>/dev/null || true
		echo "$t0 $EPOCHREALTIME" > "$T/burst-$1-$k.time"
	done
}
old0=$(signed_in "$T/signer.log")
CLIENTS=()
for i in $(seq 8); do burst_client "$i" & CLIENTS+=($!); done
for _ in $(seq 600); do [ "$(signed_in "$T/signer.log")" -ge $((old0 + 20)) ] && break; sleep 0.05; done
[ "$(signed_in "$T/signer.log")" -ge $((old0 + 20)) ] || { touch "$T/burst.stop"; fail "the burst did not start: $(signed_in "$T/signer.log") signed"; }
kill_at=$EPOCHREALTIME
kill -9 "$SIGNER_PID"
wait "$SIGNER_PID" 2>/dev/null || true
mv "$T/signer.log" "$T/signer-1.log"
signer_start
signer_unseal bob dave erin
for _ in $(seq 600); do [ "$(signed_in "$T/signer.log")" -ge 10 ] && break; sleep 0.05; done
touch "$T/burst.stop"
wait "${CLIENTS[@]}"
old_n=$(($(signed_in "$T/signer-1.log") - old0)); new_n=$(signed_in "$T/signer.log")
[ "$new_n" -ge 10 ] || fail "the burst did not go on after the restart: the new signer signed $new_n"
wait_no_pending
check_db
# who unsealed each signer process is on the audit log, once per process (the frontend's restart meets the
# first again), from its HELLO reply: the first by alice, bob and carol, the restarted one by bob, dave, erin
unseals() { pg_psql "$T/pg" owner -c "select string_agg(actor || ':' || (select string_agg(c->>'name' || '#' || (c->>'share'), ',')
	from jsonb_array_elements(details::jsonb->'custodians') c), ' ' order by id) from audit_log where action = 'signer.unsealed'"; }
want_unseals='signer:alice#1,bob#2,carol#3 signer:bob#2,dave#4,erin#5'
for _ in $(seq 100); do [ "$(unseals)" = "$want_unseals" ] && break; sleep 0.1; done
[ "$(unseals)" = "$want_unseals" ] || fail "the signer's unseals on the audit log: $(unseals)"
[ "$(pg_psql "$T/pg" owner -c "select count(distinct object) from audit_log where action = 'signer.unsealed' and details::jsonb->>'token' <> ''")" = 2 ] \
	|| fail "the two signer processes are not told apart"
pass "each signer process's unseal (custodians, shares, token) is on the audit log once"
pg_psql "$T/pg" owner -c "select serial_hex || ' ' || encode(der, 'hex') from certificates where status = 'issued'" > "$T/issued-der"
# every 201 carries a certificate the database holds as issued (same DER); every other answer is a clean error
# (503 or 502 with a JSON error body; a 503 that names a recorded certificate: that one is issued now) or a lost
# connection (000); some requests were under way at the kill
python3 - "$T" "$kill_at" > "$T/burst.counts" 2>&1 <<'EOP' || fail "burst: $(tail -3 "$T/burst.counts")"
import base64, collections, glob, json, os, re, sys
t, kill_at = sys.argv[1], float(sys.argv[2])
db = dict(l.split() for l in open(os.path.join(t, "issued-der")) if l.strip())
st_count = collections.Counter()
spanning = 0
for st_path in glob.glob(os.path.join(t, "burst-*-*.status")):
    name = st_path[:-len(".status")]
    st = open(st_path).read().strip()
    body = open(name + ".body", "rb").read() if os.path.exists(name + ".body") else b""
    t0, t1 = map(float, open(name + ".time").read().split())
    spanning += t0 < kill_at < t1
    if st == "201":
        d = json.loads(body)
        der = base64.b64decode("".join(l for l in d["certificate"].splitlines() if not l.startswith("-----")))
        if db.get(d["serial"]) != der.hex():
            sys.exit("%s got certificate %s, which the database does not hold as issued with the same DER" % (name, d["serial"]))
    elif st in ("502", "503"):
        try:
            msg = json.loads(body)["error"]["message"]
        except Exception:
            sys.exit("%s: status %s without a JSON error: %r" % (name, st, body[:200]))
        m = re.search(r"certificate ([0-9a-f]+) is recorded", msg)
        if m and m.group(1) not in db:
            sys.exit("%s: %s names certificate %s, which is not issued after recovery" % (name, st, m.group(1)))
        st_count[st + "-recorded" if m else st] += 1
        continue
    elif st != "000":
        sys.exit("%s: status %s: %r" % (name, st, body[:200]))
    st_count[st] += 1
if st_count["201"] == 0:
    sys.exit("no request of the burst got a certificate")
if spanning == 0:
    sys.exit("the kill did not fall inside the burst: no request was under way at it")
print(sum(st_count.values()), spanning, " ".join("%s:%d" % kv for kv in sorted(st_count.items())))
EOP
read -r total spanning counts < "$T/burst.counts"
pass "signer SIGKILLed during a burst of $total requests ($spanning under way at the kill; the old signer signed $old_n, the new one $new_n): answers $counts, every 201 the database's issued certificate, the rest clean errors; every signed TBS is an issued row, none pending"
# 3. a hung signer: recovery passes come every 2 s (recover_after_seconds) while requests wait for it; the
# rows are this process's own, in flight in the committer, so no pass touches them (before, each pass took
# the oldest pending row, blocked a worker on the stopped signer, and all of them signed it once it woke)
before=$(wc -l < "$T/signer.log")
stop_pid "$SIGNER_PID"
CLIENTS=()
for i in $(seq 60 65); do client "$i" & CLIENTS+=($!); done
sleep 9 # several passes
kill -CONT "$SIGNER_PID"
wait "${CLIENTS[@]}"
wait_no_pending
check_db
for i in $(seq 60 65); do [ "$(cat "$T/client-$i.status")" = 201 ] || fail "client $i: $(cat "$T/client-$i.status") $(cat "$T/client-$i.body")"; done
tail -n +"$((before + 1))" "$T/signer.log" | grep -o 'event=signed type=0x10 key=int worker=[0-9]* serial=[0-9a-f-]* tbs_sha256=[0-9a-f]*' \
	| sed 's/.*tbs_sha256=//' | sort > "$T/signed-hung"
[ "$(wc -l < "$T/signed-hung")" -ge 6 ] || fail "the signer signed $(wc -l < "$T/signed-hung") TBS for 6 requests"
[ -z "$(uniq -d "$T/signed-hung")" ] || fail "TBS signed more than once: $(uniq -d "$T/signed-hung" | head -3)"
twice=$(pg_psql "$T/pg" owner -c "select count(*) from (select object from audit_log where action = 'certificate.issued'
	group by object having count(*) > 1) x")
[ "$twice" = 0 ] || fail "$twice serials have more than one certificate.issued audit row"
pass "signer stopped for 9 s under recovery passes every 2 s: 6 clients got certificates, each TBS signed once, one issued audit row each"

# 3b. the same with a second frontend on the database, its recovery passes every second: the first's rows
# are owned by a live process (schema 008), so the second leaves them alone (before, its passes claimed
# them, waited on the stopped signer too, and signed them again once it woke)
PORT_B=$((PORT + 7))
fe_conf "recover_after_seconds = 1"
sed "s/^listen = .*/listen = 127.0.0.1:$PORT_B/" "$T/frontend.conf" > "$T/frontend-b.conf"
"$FRONTEND" run -c "$T/frontend-b.conf" >> "$T/frontend-b.log" 2>&1 &
FRONTEND_B=$!
PIDS+=("$FRONTEND_B")
FE_PIDS+=("$FRONTEND_B")
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT_B/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
# up, or what follows would pass with no second frontend at all (B's log silent, the counts one frontend's)
curl -fsS "http://127.0.0.1:$PORT_B/healthz" >/dev/null 2>&1 || fail "frontend B did not start: $(tail -3 "$T/frontend-b.log")"
before=$(wc -l < "$T/signer.log")
stop_pid "$SIGNER_PID"
CLIENTS=()
for i in $(seq 70 75); do client "$i" & CLIENTS+=($!); done
sleep 5 # four of the second frontend's passes
kill -CONT "$SIGNER_PID"
wait "${CLIENTS[@]}"
wait_no_pending
check_db
for i in $(seq 70 75); do [ "$(cat "$T/client-$i.status")" = 201 ] || fail "client $i: $(cat "$T/client-$i.status") $(cat "$T/client-$i.body")"; done
sleep 1 # a pass of the second that had claimed a row would sign it now
tail -n +"$((before + 1))" "$T/signer.log" | grep -o 'event=signed type=0x10 key=int worker=[0-9]* serial=[0-9a-f-]* tbs_sha256=[0-9a-f]*' \
	| sed 's/.*tbs_sha256=//' | sort > "$T/signed-two"
[ "$(wc -l < "$T/signed-two")" = 6 ] || fail "the signer signed $(wc -l < "$T/signed-two") TBS for 6 requests"
! grep -q 'event=recovery issued=[1-9]' "$T/frontend-b.log" || fail "the second frontend recovered the first's rows"
pass "a second frontend's recovery passes (every second) leave the rows a live first frontend is signing: each TBS signed once"

# 3d. the same across a restart of PostgreSQL, which ends every session of the first frontend: until it has
# connected again its rows look orphaned (their owner is not in pg_stat_activity), and the second's passes
# took them and signed them a second time. An owner not connected now counts as gone only once the server
# has been up for a minute. The first frontend is held (SIGSTOP) so that it cannot connect again meanwhile.
before=$(wc -l < "$T/signer.log"); before_b=$(wc -l < "$T/frontend-b.log")
pending() { pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'"; }
stop_pid "$SIGNER_PID"
CLIENTS=()
for i in $(seq 80 83); do client "$i" & CLIENTS+=($!); done
for _ in $(seq 100); do [ "$(pending)" = 4 ] && break; sleep 0.1; done
[ "$(pending)" = 4 ] || fail "4 intents were not committed: $(pending)"
sleep 0.5 # the committer's signing thread has sent them to the stopped signer
stop_pid "$FRONTEND_PID"
pg_stop "$T/pg" > /dev/null 2>&1 || fail "pg_stop"
PG_SOCK_MODE=${FE_USER:+0755} PG_EXTRA_CONF=$'fsync = off\n'"${FE_PG_CONF:-}" pg_start "$T/pg" $((PORT + 1)) > "$T/pg-restart.log" 2>&1 \
	|| fail "postgres restart: $(tail -3 "$T/pg-restart.log")"
sleep 4 # the second frontend's passes, every second
kill -CONT "$SIGNER_PID"
sleep 1.5 # what the second frontend claimed would be signed now
kill -CONT "$FRONTEND_PID"
wait "${CLIENTS[@]}"
wait_no_pending
check_db
tail -n +"$((before + 1))" "$T/signer.log" | grep -o 'event=signed type=0x10 key=int worker=[0-9]* serial=[0-9a-f-]* tbs_sha256=[0-9a-f]*' \
	| sed 's/.*tbs_sha256=//' | sort > "$T/signed-pgrestart"
[ -z "$(uniq -d "$T/signed-pgrestart")" ] || fail "TBS signed more than once across the restart: $(uniq -d "$T/signed-pgrestart" | head -3)"
[ "$(wc -l < "$T/signed-pgrestart")" = 4 ] || fail "the signer signed $(wc -l < "$T/signed-pgrestart") TBS for 4 requests"
! tail -n +"$((before_b + 1))" "$T/frontend-b.log" | grepq 'event=recovered ' || fail "the second frontend recovered the first's rows after the restart"
kill -TERM "$FRONTEND_B"; wait "$FRONTEND_B" 2>/dev/null || true
pass "across a restart of PostgreSQL, a second frontend's passes leave a live first frontend's rows until it has had time to connect again: each TBS signed once"

# 3c. a signer hung past the committer's 30 s timeout: the request waiting on it gets 503 after one timeout
# (its row pending for recovery), and the next gets 503 at once during the back-off instead of a timeout of
# its own (before, every batch waited 30 s, so a queue of intents could wait past the recovery lease); once
# the signer wakes, every row is completed
timed_client() { # timed_client N: client N with a longer limit; prints the seconds it took
	local t0 t1
	t0=$(date +%s.%N)
	curl -sS -o "$T/client-$1.body" -w '%{http_code}' --max-time 60 -u "$AUTH" --data-binary @"$T/req.json" \
		"$URL/api/v1/certificates" > "$T/client-$1.status" 2>/dev/null || true
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}
stop_pid "$SIGNER_PID"
took=$(timed_client 80)
[ "$(cat "$T/client-80.status")" = 503 ] && awk -v t="$took" 'BEGIN { exit !(t >= 25 && t < 45) }' \
	|| fail "the request on a hung signer: $(cat "$T/client-80.status") after $took s: $(cat "$T/client-80.body")"
took2=$(timed_client 81)
[ "$(cat "$T/client-81.status")" = 503 ] && awk -v t="$took2" 'BEGIN { exit !(t < 5) }' \
	|| fail "the next request during the back-off: $(cat "$T/client-81.status") after $took2 s: $(cat "$T/client-81.body")"
grep -q 'event=signer_hung' "$T/frontend.log" || fail "the hung signer was not logged"
kill -CONT "$SIGNER_PID"
wait_no_pending
check_db
pass "a signer hung past the 30 s timeout: the waiting request gets 503 after ${took} s, the next at once (${took2} s) during the back-off; both rows completed once it woke"

# 3e. a signer slower than the requests (here: stopped while they come): an intent waits at most
# sign_wait_seconds to be sent to it, then its client gets 503 and the row is left to the recovery pass, which
# signs it once. Before, intents waited in the signing queue without end (a slow signer that answers is never
# timed out), past the 600 s after which another frontend's pass takes a row and signs its TBS too.
fe_kill
fe_start $'recover_after_seconds = 2\nsign_wait_seconds = 2'
client 89 # one first, so that the committer's signer connections are open (opening one waits for the signer)
[ "$(cat "$T/client-89.status")" = 201 ] || fail "an issuance before the stall: $(cat "$T/client-89.status") $(cat "$T/client-89.body")"
before=$(wc -l < "$T/signer.log"); before_fe=$(wc -l < "$T/frontend.log")
stop_pid "$SIGNER_PID"
client 90 & first=$! # its intent is sent to the stopped signer and waits for the answer
for _ in $(seq 100); do [ "$(pending)" = 1 ] && break; sleep 0.05; done
[ "$(pending)" = 1 ] || fail "the first intent was not committed: $(pending)"
sleep 0.5
CLIENTS=()
for i in 91 92 93; do client "$i" & CLIENTS+=($!); done # queued behind it
for _ in $(seq 100); do [ "$(pending)" = 4 ] && break; sleep 0.05; done
[ "$(pending)" = 4 ] || fail "4 intents were not committed: $(pending)"
sleep 4
kill -CONT "$SIGNER_PID"
wait "$first" "${CLIENTS[@]}"
[ "$(cat "$T/client-90.status")" = 201 ] || fail "the request sent before the stop: $(cat "$T/client-90.status") $(cat "$T/client-90.body")"
for i in 91 92 93; do
	[ "$(cat "$T/client-$i.status")" = 503 ] && grep -q '"signer-unavailable"' "$T/client-$i.body" ||
		fail "client $i, queued past sign_wait_seconds: $(cat "$T/client-$i.status") $(cat "$T/client-$i.body")"
done
tail -n +"$((before_fe + 1))" "$T/frontend.log" | grepq 'event=sign_queue_expired intents=3 ' ||
	fail "no sign_queue_expired event: $(tail -n +"$((before_fe + 1))" "$T/frontend.log" | grep -v level=info | tail -3)"
wait_no_pending
check_db
tail -n +"$((before + 1))" "$T/signer.log" | grep -o 'event=signed type=0x10 key=int worker=[0-9]* serial=[0-9a-f-]* tbs_sha256=[0-9a-f]*' \
	| sed 's/.*tbs_sha256=//' | sort > "$T/signed-slow"
[ "$(wc -l < "$T/signed-slow")" = 4 ] && [ -z "$(uniq -d "$T/signed-slow")" ] ||
	fail "the signer signed $(wc -l < "$T/signed-slow") TBS ($(uniq -d "$T/signed-slow" | wc -l) twice) for 4 requests"
pass "intents queued for a stalled signer longer than sign_wait_seconds: 503 to their clients, left pending, then signed once by the recovery pass"

"$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)" | grepq 'audit chain intact' || fail "audit chain"
pass "audit chain intact after the crashes"

# 4. recovery meets a signer error that says nothing about the TBS (here: no key with the row's issuer label,
# as from a signer started without that key; FRAME_E_HSM from a dead HSM is treated alike): the row stays
# pending for the next pass instead of being marked failed for good
NOKEY=$(openssl rand -hex 16)
pg_psql "$T/pg" frontend -c "INSERT INTO certificates (serial_hex, issuer, subject, not_before, not_after, profile,
	requester, tbs, intent_mac) VALUES ('$NOKEY', 'nokey', 'CN=x', now(), now() + interval '1 day', 'server', 'alice',
	'\\x3000', '\\x$(intent_mac_hex "$NOKEY" nokey 3000)')" \
	>/dev/null || fail "insert a pending row under an unknown key"
for _ in $(seq 100); do
	[ "$(grep -c "event=recovery_deferred serial=$NOKEY" "$T/frontend.log")" -ge 2 ] && break
	sleep 0.1
done
st=$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$NOKEY'")
[ "$st" = pending ] || fail "a row the signer has no key for became '$st' in recovery"
[ "$(grep -c "event=recovery_deferred serial=$NOKEY" "$T/frontend.log")" -ge 2 ] || fail "recovery did not retry the row"
pass "recovery leaves a row pending on a signer error that is not a refusal of its TBS (unknown key), and retries it"

# 5. live issuance meets a signer error that says nothing about its TBS: here the signer's clock (the
# frontend's wall clock a day ahead, through tests/tools/timeshim.c, so every notBefore is ahead of the
# signer's): the client gets 503 naming the signer's reason and the row stays pending for recovery, on the
# worker's path (a password not yet cached) and on the loop's (cached); before, both answered 502 and marked
# the row failed for good. A key label the signer does not hold is a configuration mismatch instead: refused
# at once (502), the row failed.
SHIM=$HSMCA_BUILD/tests/tools/libtimeshim.so
[ -f "$SHIM" ] || fail "no $SHIM"
{ echo; awk '/^\[profile client\]/ { p = 1 } p && /^$/ { exit } p' "$T/profiles.conf" \
	| sed 's/^\[profile client\]/[profile nokey]/; s/^issuer = int$/issuer = nokey/; s/^accounts = .*/accounts = alice/'; } \
	>> "$T/profiles.conf" # the client profile under a key label the signer does not hold
grep -q '^issuer = nokey' "$T/profiles.conf" || fail "no nokey profile"
# served all the same: without signer_profile_check = warn the frontend refuses to start with it (signerfit.c)
export FE_CONF_EXTRA="signer_profile_check = warn"
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
LD_PRELOAD=$SHIM HSMCA_TEST_CLOCK_OFFSET=86400 fe_start "recover_after_seconds = 2"
pending0=$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")
for i in 1 2; do
	st=$(curl -sS -o "$T/ahead-$i.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" \
		"$URL/api/v1/certificates")
	[ "$st" = 503 ] || fail "request $i a day ahead of the signer's clock: $st $(cat "$T/ahead-$i.body")"
	grep -q '"signer-unavailable"' "$T/ahead-$i.body" && grep -q 'clock: notBefore is ahead' "$T/ahead-$i.body" \
		|| fail "request $i: $(cat "$T/ahead-$i.body")"
	# the 503 names the recorded certificate, so that its requester can fetch it once recovery completes it
	# (before, it said only "will be completed": asking again left that one issued and unclaimed)
	s=$(grep -o 'certificate [0-9a-f]* is recorded and will be completed by the recovery pass (GET /api/v1/certificates/[0-9a-f]*)' \
		"$T/ahead-$i.body" | cut -d' ' -f2)
	[ -n "$s" ] && [ "$(pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$s'")" = pending ] \
		|| fail "request $i's 503 does not name its pending certificate: $(cat "$T/ahead-$i.body")"
done
[ "$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'pending'")" = $((pending0 + 2)) ] \
	|| fail "rows a day ahead: $(pg_psql "$T/pg" owner -c "select status, count(*) from certificates group by 1")"
[ "$(pg_psql "$T/pg" owner -c "select count(*) from audit_log where action = 'certificate.failed'")" = 0 ] \
	|| fail "a certificate.failed audit row"
pass "live issuance on a signer error that is not a refusal of its TBS (its clock): 503 naming the signer's reason and the certificate's serial, both rows stay pending"
csr nokey ec:P-256 "DNS:nokey.clients.example.com"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "nokey"}))' "$T/nokey.csr" > "$T/nokey.json"
st=$(curl -sS -o "$T/nokey.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/nokey.json" "$URL/api/v1/certificates")
[ "$st" = 502 ] && grep -q 'no key with this label' "$T/nokey.body" || fail "a key the signer lacks: $st $(cat "$T/nokey.body")"
[ "$(pg_psql "$T/pg" owner -c "select status from certificates where profile = 'nokey'")" = failed ] \
	|| fail "the row under a key the signer lacks is not failed"
pass "a live request under a key label the signer does not hold: 502 with the signer's reason, the row failed"

# 6. a row the recovery pass cannot write (a server error on it alone, here a trigger of the test's) is logged
# and the pass goes on: before, it ended the pass as if the database were down, and every pending row after it
# (taken in id order) waited for ever behind it
row_status() { pg_psql "$T/pg" owner -c "select status from certificates where serial_hex = '$1'"; }
wait_row() { # SERIAL STATUS: up to 20 s
	for _ in $(seq 200); do [ "$(row_status "$1")" = "$2" ] && return 0; sleep 0.1; done
	fail "$1 is $(row_status "$1"), not $2"
}
wait_passes() { # SERIAL N: until the recovery pass has failed on the row N times
	for _ in $(seq 200); do [ "$(grep -c "event=recovery_failed serial=$1 " "$T/frontend.log")" -ge "$2" ] && return 0; sleep 0.1; done
	fail "fewer than $2 recovery passes failed on $1"
}
signed_count() { # SERIAL: signatures the signer logged for the row's TBS
	local h; h=$(pg_psql "$T/pg" owner -c "select encode(sha256(tbs), 'hex') from certificates where serial_hex = '$1'")
	grep -c "event=signed type=0x10 key=int .*tbs_sha256=$h" "$T/signer.log" || true
}
kill -TERM "$FRONTEND_PID"; wait "$FRONTEND_PID" 2>/dev/null || true
kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
fe_start "recover_after_seconds = 1"
S=()
for i in 1 2; do
	st=$(curl -sS -o "$T/down-$i.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" \
		"$URL/api/v1/certificates")
	[ "$st" = 503 ] && grepq '"signer-unavailable"' "$T/down-$i.body" || fail "request $i with the signer down: $st $(cat "$T/down-$i.body")"
	S+=("$(grep -o 'certificate [0-9a-f]* is recorded' "$T/down-$i.body" | cut -d' ' -f2 || true)")
done
S1=${S[0]} S2=${S[1]}
[ -n "$S1" ] && [ -n "$S2" ] || fail "the two pending serials: '$S1' '$S2'"
# health says the signer is gone (a load balancer takes this frontend out), and the log says it once
st=$(curl -sS -o "$T/h.json" -w '%{http_code}' "$URL/healthz")
[ "$st" = 503 ] && grepq '"signer": "unavailable"' "$T/h.json" || fail "/healthz with the signer down: $st $(cat "$T/h.json")"
st=$(curl -sS -o "$T/h.json" -w '%{http_code}' "$URL/api/v1/cfssl/health")
[ "$st" = 503 ] && grepq '"healthy": false' "$T/h.json" || fail "CFSSL health with the signer down: $st $(cat "$T/h.json")"
curl -s "$URL/metrics" | grepq '^hsmca_signer_up 0$' || fail "hsmca_signer_up with the signer down: $(curl -s "$URL/metrics" | grep signer_up)"
[ "$(grep -c "pid=$FRONTEND_PID level=warn event=signer_unavailable" "$T/frontend.log")" = 1 ] \
	|| fail "signer_unavailable logged $(grep -c "pid=$FRONTEND_PID level=warn event=signer_unavailable" "$T/frontend.log") times"
pg_psql "$T/pg" owner -c "CREATE FUNCTION public.test_fail_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF OLD.serial_hex = '$S1' AND NEW.status <> OLD.status THEN
		RAISE EXCEPTION 'test: this row cannot be written' USING ERRCODE = 'XX000'; END IF; RETURN NEW; END \$\$;
	CREATE TRIGGER test_fail_row BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION public.test_fail_row()" \
	> /dev/null || fail "the test's trigger"
signer_start
signer_unseal alice bob carol
wait_row "$S2" issued # (the row after the one recovery cannot write)
st=$(curl -sS -o "$T/h.json" -w '%{http_code}' "$URL/healthz")
[ "$st" = 200 ] && [ "$(cat "$T/h.json")" = '{"status": "ok"}' ] || fail "/healthz with the signer back: $st $(cat "$T/h.json")"
curl -s "$URL/metrics" | grepq '^hsmca_signer_up 1$' || fail "hsmca_signer_up with the signer back"
grepq "pid=$FRONTEND_PID level=info event=signer_available" "$T/frontend.log" || fail "signer_available not logged"
pass "/healthz, CFSSL's health and hsmca_signer_up follow the signer: 503 while it is down (logged once), 200 once it serves again"
[ "$(row_status "$S1")" = pending ] || fail "the row the trigger refuses is $(row_status "$S1")"
# (passes after the first store the certificate it signed then, not a new signature each: frontend/unrecorded.h)
wait_passes "$S1" 3
pg_psql "$T/pg" owner -c "DROP TRIGGER test_fail_row ON certificates; DROP FUNCTION public.test_fail_row()" > /dev/null
wait_row "$S1" issued
[ "$(signed_count "$S1")" = 1 ] || fail "the row recovery could not write was signed $(signed_count "$S1") times in its passes"
pass "a row the recovery pass cannot write is logged and passed over: the pending rows after it are recovered, and it is once it can be written, with the one certificate signed for it"

# 7. a live request whose issued state cannot be committed (a passing fault; here a trigger of the test's refuses
# every pending -> issued) gets 503 naming its certificate, and the recovery pass stores the certificate that
# was signed for it, not a second one (it signed the TBS again: the first certificate was thrown away)
pg_psql "$T/pg" owner -c "CREATE FUNCTION public.test_fail_issued() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF OLD.status = 'pending' AND NEW.status = 'issued' THEN
		RAISE EXCEPTION 'test: no row becomes issued' USING ERRCODE = 'XX000'; END IF; RETURN NEW; END \$\$;
	CREATE TRIGGER test_fail_issued BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION public.test_fail_issued()" \
	> /dev/null || fail "the test's second trigger"
st=$(curl -sS -o "$T/unrec.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" "$URL/api/v1/certificates")
S3=$(grep -o 'certificate [0-9a-f]* was signed but could not be confirmed as recorded' "$T/unrec.body" | cut -d' ' -f2 || true)
[ "$st" = 503 ] && [ -n "$S3" ] || fail "a request whose issued state cannot be committed: $st $(cat "$T/unrec.body")"
wait_passes "$S3" 2
curl -s "$URL/metrics" | grepq '^hsmca_certificates_unrecorded 1$' || fail "the kept certificate is not in /metrics: $(curl -s "$URL/metrics" | grep unrecorded)"
pg_psql "$T/pg" owner -c "DROP TRIGGER test_fail_issued ON certificates; DROP FUNCTION public.test_fail_issued()" > /dev/null
wait_row "$S3" issued
curl -s "$URL/metrics" | grepq '^hsmca_certificates_unrecorded 0$' || fail "a stored certificate is still kept: $(curl -s "$URL/metrics" | grep unrecorded)"
[ "$(signed_count "$S3")" = 1 ] || fail "the certificate whose issued state failed was signed $(signed_count "$S3") times"
grepq "event=recovery_unrecorded serial=$S3" "$T/frontend.log" || fail "recovery did not take the kept certificate"
pass "a live request whose issued state could not be committed: 503 naming it, and recovery stores the certificate signed for it (one signature)"

# 8. rows the database refuses one after another end the pass after three (each was signed, its write failed,
# and the next pass would sign the next ones, on and on), and a pass keeps the certificates it signed: with
# four such rows, the fourth is never signed while the refusals last, the first three once each
pending_rows() { # N: N new pending rows (the signer stopped), their serials in ROWS
	ROWS=()
	kill "$SIGNER_PID"; wait "$SIGNER_PID" 2>/dev/null || true
	for i in $(seq "$1"); do
		st=$(curl -sS -o "$T/p-$i.body" -w '%{http_code}' --max-time 30 -u "$AUTH" --data-binary @"$T/req.json" \
			"$URL/api/v1/certificates")
		[ "$st" = 503 ] || fail "request $i with the signer down: $st $(cat "$T/p-$i.body")"
		ROWS+=("$(grep -o 'certificate [0-9a-f]* is recorded' "$T/p-$i.body" | cut -d' ' -f2 || true)")
		[ -n "${ROWS[-1]}" ] || fail "request $i named no certificate: $(cat "$T/p-$i.body")"
	done
}
pending_rows 4
pg_psql "$T/pg" owner -c "CREATE FUNCTION public.test_fail_four() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF OLD.serial_hex IN ('${ROWS[0]}', '${ROWS[1]}', '${ROWS[2]}', '${ROWS[3]}') AND NEW.status <> OLD.status THEN
		RAISE EXCEPTION 'test: these rows cannot be written' USING ERRCODE = 'XX000'; END IF; RETURN NEW; END \$\$;
	CREATE TRIGGER test_fail_four BEFORE UPDATE ON certificates FOR EACH ROW EXECUTE FUNCTION public.test_fail_four()" \
	> /dev/null || fail "the test's trigger for four rows"
signer_start
signer_unseal alice bob carol
wait_passes "${ROWS[2]}" 3 # three passes, each ended at the third row
[ "$(signed_count "${ROWS[3]}")" = 0 ] || fail "the fourth refused row was signed ($(signed_count "${ROWS[3]}")): passes went past three refusals"
pg_psql "$T/pg" owner -c "DROP TRIGGER test_fail_four ON certificates; DROP FUNCTION public.test_fail_four()" > /dev/null
for s in "${ROWS[@]}"; do wait_row "$s" issued; done
for s in "${ROWS[@]}"; do [ "$(signed_count "$s")" = 1 ] || fail "$s signed $(signed_count "$s") times"; done
pass "three rows the database refuses in a row end a recovery pass (the fourth unsigned meanwhile), and each is stored with the one certificate signed for it"

# 9. a recovery whose COMMIT fails after its write (a deferred check of the test's, as a server restarting
# between the two would): the certificate signed is kept and stored by a later pass, not signed again
pending_rows 1
S9=${ROWS[0]}
pg_psql "$T/pg" owner -c "CREATE FUNCTION public.test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN IF NEW.serial_hex = '$S9' AND NEW.status = 'issued' THEN
		RAISE EXCEPTION 'test: this commit fails' USING ERRCODE = 'XX000'; END IF; RETURN NULL; END \$\$;
	CREATE CONSTRAINT TRIGGER test_fail_commit AFTER UPDATE ON certificates DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW EXECUTE FUNCTION public.test_fail_commit()" > /dev/null || fail "the test's deferred trigger"
signer_start
signer_unseal alice bob carol
wait_passes "$S9" 2
pg_psql "$T/pg" owner -c "DROP TRIGGER test_fail_commit ON certificates; DROP FUNCTION public.test_fail_commit()" > /dev/null
wait_row "$S9" issued
[ "$(signed_count "$S9")" = 1 ] || fail "the row whose COMMIT failed was signed $(signed_count "$S9") times"
pass "a recovery whose COMMIT fails after its write keeps the certificate, and a later pass stores it (one signature)"
