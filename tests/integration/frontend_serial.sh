#!/usr/bin/env bash
# A serial drawn twice (two of 128 random bits alike: a broken RNG or astronomically bad luck) meets the
# certificates table's unique index in the real database: the request that collides gets a new serial and its
# certificate, the first keeps its own; after ISSUE_SERIAL_DRAWS collisions the request is refused with 503 and
# leaves no row. The collisions are made by tests/tools/randshim.c, preloaded into the frontend only: its first
# HSMCA_TEST_SERIAL_REPEAT serial draws return the same bytes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
SHIM=$HSMCA_BUILD/tests/tools/librandshim.so
[ -f "$SHIM" ] || fail "no $SHIM"
# the intermediate permits DNS names alone (below example.com, example.net): an IP-only leaf gets no CN (issuerfit.c)
FE_INT_CONF='permitted_dns = .example.com, example.net' fe_setup_backend
fe_profiles
fe_requester alice
OWNER() { pg_psql "$T/pg" owner -c "$1"; }
FIXED=$(printf '5a%.0s' $(seq 16))
issue_ok() { # NAME: issues a P-256 certificate for NAME.example.com, prints its serial
	csr "$1" ec:P-256 "DNS:$1.example.com"
	issue_req "$T/$1.csr" server "${AUTH[@]}"
	[ "$STATUS" = 201 ] || fail "issue $1: $STATUS $BODY"
	json_field '["certificate"]' > "$T/$1.pem"
	openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/$1.pem" > /dev/null \
		|| fail "$1 does not verify"
	json_field '["serial"]'
}
collisions() { # collisions: serial_collision lines for serial $A since the last restart_repeat
	tail -n +$((lines + 1)) "$T/frontend.log" | grep "event=serial_collision serial=$A"
}
restart_repeat() { # restart_repeat N: the frontend again, its first N serial draws the same
	fe_kill
	lines=$(wc -l < "$T/frontend.log")
	LD_PRELOAD=$SHIM HSMCA_TEST_SERIAL_REPEAT=$1 fe_start
}

# ---- the second request draws the first one's serial, and draws again ----
LD_PRELOAD=$SHIM HSMCA_TEST_SERIAL_REPEAT=2 fe_start
A=$(issue_ok first)
grep -qi "$FIXED" <<<"$A" || fail "the shim did not fix the first serial: $A"
B=$(issue_ok second)
[ "$A" != "$B" ] || fail "two certificates with serial $A"
grep -q "event=serial_collision serial=$A draws=1" "$T/frontend.log" || fail "the collision is not logged: $(grep serial_collision "$T/frontend.log")"
[ "$(OWNER "select string_agg(status, ',' order by status) from certificates")" = "issued,issued" ] \
	|| fail "rows: $(OWNER "select serial_hex, status from certificates")"
[ "$(openssl x509 -in "$T/first.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" = "$(tr A-F a-f <<<"$A")" ] || fail "first.pem's serial"
[ "$(openssl x509 -in "$T/second.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)" = "$(tr A-F a-f <<<"$B")" ] || fail "second.pem's serial"
[ "$(OWNER "select count(*) from certificates where sans like '%second%'")" = 1 ] \
	|| fail "the second certificate's row: $(OWNER "select serial_hex, sans from certificates")"
pass "a serial drawn twice: the second request gets a fresh serial (logged), both certificates are issued and verify"

# ---- a serial that keeps coming back: refused after ISSUE_SERIAL_DRAWS (4) draws, nothing stored ----
restart_repeat 1000
csr third ec:P-256 "DNS:third.example.com"
issue_req "$T/third.csr" server "${AUTH[@]}"
[ "$STATUS" = 503 ] || fail "a serial that always collides: $STATUS $BODY"
[ "$(json_field '["error"]["code"]')" = unavailable ] || fail "error: $BODY"
[ "$(collisions | wc -l)" = 4 ] || fail "collisions: $(collisions)"
[ "$(OWNER "select count(*) from certificates")" = 2 ] || fail "a row for the refused request: $(OWNER "select serial_hex, status from certificates")"
fe_kill
fe_start
C=$(issue_ok fourth)
[ "$C" != "$A" ] && [ "$C" != "$B" ] || fail "the real RNG repeated a serial"
OUT=$("$FRONTEND" audit-verify --conninfo "$(pg_conninfo "$T/pg" frontend)") || fail "audit-verify: $OUT"
[ "$(OWNER "select count(*) from certificates where status <> 'issued'")" = 0 ] || fail "rows left pending or failed"
pass "a serial that collides 4 times in a row is refused with 503 and leaves no row; the audit chain verifies"

# ---- a serial drawn again keeps the subject issue_check chose: an IP-only leaf under the intermediate's DNS
# constraints has no CN (verifiers would check it as a DNS name), also when its TBS is built again ----
restart_repeat 2
csr addr ec:P-256 "IP:10.9.8.7"
issue_req "$T/addr.csr" server "${AUTH[@]}"
[ "$STATUS" = 201 ] || fail "an IP-only leaf whose serial is drawn again: $STATUS $BODY"
[ "$(collisions | wc -l)" -ge 1 ] || fail "no collision"
json_field '["certificate"]' > "$T/addr.pem"
openssl x509 -in "$T/addr.pem" -noout -subject | grepq -x 'subject=' \
	|| fail "the TBS built again has a subject: $(openssl x509 -in "$T/addr.pem" -noout -subject)"
openssl verify -x509_strict -CAfile "$T/ca/root.pem" -untrusted "$T/ca/int.pem" "$T/addr.pem" > "$T/verify.txt" 2>&1 \
	|| fail "the redrawn IP-only leaf does not verify: $(cat "$T/verify.txt")"
pass "a serial drawn again: the TBS built again keeps the empty subject of an IP-only leaf under DNS name constraints, and it verifies"

# ---- a collision whose row cannot be looked at: the connection lost after the intent's INSERT failed on the
# unique index (its own row, committed by a statement whose reply was lost, for all the frontend can tell):
# not drawn again (that would make two certificates of one request), 503 and no row; the next request is served
PQSHIM=$HSMCA_BUILD/tests/tools/libpqshim.so
[ -f "$PQSHIM" ] || fail "no $PQSHIM"
fe_kill
lines=$(wc -l < "$T/frontend.log")
rows=$(OWNER "select count(*) from certificates")
LD_PRELOAD="$SHIM $PQSHIM" HSMCA_TEST_SERIAL_REPEAT=1 HSMCA_TEST_PQ_DROP_BEFORE="ROLLBACK TO SAVEPOINT hsmca_item" fe_start
csr lost ec:P-256 "DNS:lost.example.com"
issue_req "$T/lost.csr" server "${AUTH[@]}"
[ "$STATUS" = 503 ] || fail "a collision whose savepoint could not be rolled back: $STATUS $BODY"
[ "$(OWNER "select count(*) from certificates")" = "$rows" ] || fail "a row for it: $(OWNER "select serial_hex, status, sans from certificates")"
[ "$(collisions | wc -l)" = 0 ] || fail "drawn again as a collision: $(collisions)"
tail -n +$((lines + 1)) "$T/frontend.log" | grepq "event=db_failed step=intent serial=$A rc=-2" \
	|| fail "the intent did not fail unavailable (rc -2): $(tail -n +$((lines + 1)) "$T/frontend.log" | tail -5)"
D=$(issue_ok after-lost)
[ "$D" != "$A" ] || fail "serial $A again"
[ "$(OWNER "select count(*) from certificates where status <> 'issued'")" = 0 ] || fail "rows left pending or failed"
pass "a serial collision whose savepoint cannot be rolled back (connection lost) is not drawn again: 503, no row; the next request is served"
