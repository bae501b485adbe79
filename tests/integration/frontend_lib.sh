# Helpers for the frontend tests: a signer on a fresh token, a private PostgreSQL cluster, the frontend.
# Source after lib.sh.
source "$(dirname "${BASH_SOURCE[0]}")/pg_lib.sh"
# every run of the frontend, its commands too, with LeakSanitizer on (LEAK_ASAN, lib.sh): in the ASan build a
# command that leaks fails (LeakSanitizer's check at exit), and the daemon checks itself as it stops
FRONTEND=$T/bin/hsmca-frontend
PORT=$(free_ports 8) # PORT, PORT + 2..4 for the TLS tests, PORT + 7 for frontend_crash
URL=http://127.0.0.1:$PORT

# ASan builds: a frontend checks for leaks as it stops (frontend/main.c, FE_LEAK_CHECK). At the end of every
# frontend test, fe_stop_checked stops those in FE_PIDS still running (fe_start adds its own; a test that
# starts one by hand adds it) and fails the test on a failed stop; lib.sh's cleanup fails it on a report.
FE_PIDS=()
# (`run` under the unit's system-call filter in the build without sanitizers: unit_filter, lib.sh)
FRONTEND_FILTER=$(unit_filter hsmca-frontend)
printf '#!/bin/bash\nexport ASAN_OPTIONS=%q\n[ "${1:-}" = run ] || exec %q "$@"\nexec %s%q "$@"\n' "$LEAK_ASAN" \
	"$HSMCA_BUILD/frontend/hsmca-frontend" "$FRONTEND_FILTER" "$HSMCA_BUILD/frontend/hsmca-frontend" > "$FRONTEND"
chmod 755 "$FRONTEND"

# The frontend starts as root and drops to FE_USER (its config's `user`, default hsmca-frontend) after
# binding, as in production; the backend lets FE_USER in: the signer's socket gets group $SIGNER_USER (FE_USER
# joins it) and PostgreSQL's socket directory mode 0755. (With FE_USER= empty the config has no user line, and
# the frontend, started as root, refuses to start.)
FE_USER=${FE_USER-hsmca-frontend}
fe_user_setup() {
	id "$FE_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$FE_USER"
	id -nG "$FE_USER" | grepq -w "$SIGNER_USER" || usermod -aG "$SIGNER_USER" "$FE_USER"
}

# A token with a P-384 root and P-256 intermediate, an unsealed in-process signer, PostgreSQL migrated
# (FE_PG_CONF: more postgresql.conf lines; FE_SCHEMA: migrate from that directory instead of schema/;
# FE_MORE_INTS: "LABEL:KEYTYPE ...", more intermediates under the root, each a signer key like int; FE_INT_CONF:
# more ceremony config lines for int, such as its name constraints).
fe_setup_backend() {
	local x
	hsm_init_env
	fe_intent_key # before any account is made: account rows carry its MAC
	[ -z "$FE_USER" ] || fe_user_setup
	ceremony_init
	ceremony_ca root root p384
	ceremony_ca intermediate int p256 root "${FE_INT_CONF:-}"
	for x in ${FE_MORE_INTS:-}; do ceremony_ca intermediate "${x%%:*}" "${x#*:}" root; done
	signer_conf "$SOFTHSM_MODULE" "${FE_USER:+socket_group = $SIGNER_USER}"
	signer_key int root "${FE_SIGNER_OPS:-cert, crl}"
	for x in ${FE_MORE_INTS:-}; do signer_key "${x%%:*}" root "${FE_SIGNER_OPS:-cert, crl}"; done
	signer_start
	signer_unseal alice bob carol
	cat "$T/ca/int.pem" "$T/ca/root.pem" > "$T/chain.pem"
	mkdir -p "$T/pg" && chown postgres "$T/pg"
	PG_SOCK_MODE=${FE_USER:+0755} PG_EXTRA_CONF=$'fsync = off\n'"${FE_PG_CONF:-}" pg_start "$T/pg" $((PORT + 1)) > "$T/pg.log" 2>&1 || fail "postgres: $(tail -5 "$T/pg.log")"
	"$FRONTEND" migrate --conninfo "$(pg_conninfo "$T/pg" owner)" ${FE_SCHEMA:+--schema "$FE_SCHEMA"} > "$T/migrate.log" 2>&1 \
		|| fail "migrate: $(cat "$T/migrate.log")"
}

# fe_profile_gated: appends the profile "gated" (needs_approval; alice and ops-admin) to $T/profiles.conf
# fe_profile_gated [NAME [MAX_VALIDITY_DAYS]]: appends a profile that needs approval (gated, 30 days)
fe_profile_gated() {
	cat >> "$T/profiles.conf" <<EOC

[profile ${1:-gated}]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256, rsa2048
dns_suffixes = .example.com
max_sans = 2
max_validity_days = ${2:-30}
key_usage = digitalSignature
eku = serverAuth
accounts = alice, ops-admin
needs_approval = yes
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
}

fe_profiles() {
	cat > "$T/profiles.conf" <<EOC
[profile server]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256, p384, rsa2048, rsa3072, rsa4096
dns_suffixes = .example.com, example.net
ip_ranges = 10.0.0.0/8, fd00::/8
allow_wildcard = no
max_sans = 4
max_validity_days = 90
key_usage = digitalSignature, keyEncipherment
eku = serverAuth
accounts = alice, ops-admin
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp

[profile client]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .clients.example.com
max_sans = 1
max_validity_days = 30
key_usage = digitalSignature
eku = clientAuth
accounts = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
}

# fe_intent_key: $T/intent.key, the frontend's intent MAC key (made once per test directory; mode 600)
fe_intent_key() {
	[ -s "$T/intent.key" ] || ( umask 077 && openssl rand -hex 32 > "$T/intent.key" ) || fail "cannot make $T/intent.key"
}

# intent_mac_hex SERIAL ISSUER TBS_HEX [held]: the MAC as intent.h specifies it (held: of an intent stored held),
# computed independently of the frontend's C code, with $T/intent.key
intent_mac_hex() {
	python3 - "$T/intent.key" "$@" <<'PY'
import hashlib, hmac, struct, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
s, i, t = sys.argv[2].lower().encode(), sys.argv[3].encode(), bytes.fromhex(sys.argv[4])
d = b"hsmca-intent-held-v1\0" if sys.argv[5:] == ["held"] else b"hsmca-intent-v1\0"
m = d + struct.pack(">H", len(s)) + s + struct.pack(">H", len(i)) + i + struct.pack(">I", len(t)) + t
print(hmac.new(key, m, hashlib.sha256).hexdigest())
PY
}
# release_mac_hex SERIAL: an approval's release MAC as intent.h specifies it (schema 014), computed independently
release_mac_hex() {
	python3 - "$T/intent.key" "$1" <<'PY'
import hashlib, hmac, struct, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
s = sys.argv[2].lower().encode()
print(hmac.new(key, b"hsmca-release-v1\0" + struct.pack(">H", len(s)) + s, hashlib.sha256).hexdigest())
PY
}
# account_mac_hex ID NAME ROLE PW_HASH DISABLED(t|f) SEQ: an account row's MAC as rowmac.h specifies it,
# computed independently, with $T/intent.key
account_mac_hex() {
	python3 - "$T/intent.key" "$@" <<'PY'
import hashlib, hmac, struct, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
i, name, role, pw, dis, seq = sys.argv[2:8]
f = lambda s: struct.pack(">H", len(s.encode())) + s.encode()
m = b"hsmca-account-v1\0" + struct.pack(">q", int(i)) + f(name) + f(role) + f(pw) + bytes([dis in ("t", "true")]) + struct.pack(">q", int(seq))
print(hmac.new(key, m, hashlib.sha256).hexdigest())
PY
}
# fe_account_set_disabled NAME true|false: the change as another frontend process writes it (with the row's
# MAC over the next mac_seq, rowmac.h), in SQL
fe_account_set_disabled() {
	local id role pwh seq
	IFS='|' read -r id role pwh seq < <(pg_psql "$T/pg" owner -c "select id || '|' || role || '|' || pw_hash || '|' || mac_seq from accounts where name = '$1'")
	pg_psql "$T/pg" frontend -c "update accounts set disabled = $2, row_mac = '\\x$(account_mac_hex "$id" "$1" "$role" "$pwh" "${2:0:1}" $((seq + 1)))'
		where name = '$1' and mac_seq = $seq returning 'ok'" | grepq -x ok || fail "fe_account_set_disabled $1 $2"
}
# fe_conf [EXTRA]: writes $T/frontend.conf (4 threads, timeout_seconds 5; EXTRA: more lines; FE_CONF_EXTRA: more
# lines in every one a test writes)
fe_conf() {
	fe_intent_key
	cat > "$T/frontend.conf" <<EOC
[frontend]
listen = 127.0.0.1:$PORT
database = $(pg_conninfo "$T/pg" frontend)
signer_socket = $T/run/signer.sock
intent_key_file = $T/intent.key
profiles = $T/profiles.conf
chain = $T/chain.pem
threads = 4
max_body = 65536
timeout_seconds = 5
${FE_USER:+user = $FE_USER}
${FE_CONF_EXTRA:-}
${1:-}
EOC
}

fe_start() {
	fe_conf "${1:-}"
	fe_run
}

# fe_run: starts a frontend on $T/frontend.conf as it is (fe_conf's, edited) and waits until it is up (FRONTEND_PID)
fe_run() {
	"$FRONTEND" run -c "$T/frontend.conf" >> "$T/frontend.log" 2>&1 &
	FRONTEND_PID=$!
	PIDS+=("$FRONTEND_PID")
	FE_PIDS+=("$FRONTEND_PID")
	# up when this process says so (a /healthz alone could be another test's frontend on a port taken under it);
	# /healthz answers 503 while the signer is down, which some tests start the frontend without
	local up=
	for _ in $(seq 300); do
		kill -0 "$FRONTEND_PID" 2>/dev/null || break
		grep -q "pid=$FRONTEND_PID level=info event=ready " "$T/frontend.log" && curl -sS -o /dev/null "$URL/healthz" 2>/dev/null && up=1 && break
		sleep 0.05
	done
	[ -n "$up" ] || fail "frontend did not start: $(tail -5 "$T/frontend.log")"
	# under its unit's system-call filter (unit_filter, lib.sh), one filter and none of its own
	[ "$UNIT_FILTERS" = 0 ] || grepq '^Seccomp_filters:[[:space:]]*1$' "/proc/$FRONTEND_PID/status" ||
		fail "frontend not under its unit's filter: $(grep Seccomp "/proc/$FRONTEND_PID/status")"
}

# fe_kill: stops FRONTEND_PID (SIGTERM) and fails unless it exits 0, as a stopped frontend does; for the
# restarts in the middle of a test (their `wait || true` let a crash, or a sanitizer's report, at a stop pass)
fe_kill() {
	local rc=0
	kill "$FRONTEND_PID" 2>/dev/null || true
	wait "$FRONTEND_PID" 2>/dev/null || rc=$?
	[ "$rc" = 0 ] || fail "the frontend (pid $FRONTEND_PID) stopped with exit $rc: $(tail -5 "$T/frontend.log")"
}

# fe_requester NAME: an account NAME with role requester and password "NAME password 0001"; sets AUTH (curl -u)
fe_requester() {
	"$FRONTEND" create-account --conninfo "$(pg_conninfo "$T/pg" frontend)" --intent-key-file "$T/intent.key" --name "$1" --role requester \
		--password-file <(printf '%s password 0001\n' "$1") > /dev/null || fail "create-account $1"
	AUTH=(-u "$1:$1 password 0001")
}

# every TBS the signer logged as signed (all $T/signer*.log) is an issued row
fe_signed_are_issued() {
	grep -ho 'event=signed type=0x10 key=int worker=[0-9]* serial=[0-9a-f-]* tbs_sha256=[0-9a-f]*' "$T"/signer*.log | sed 's/.*tbs_sha256=//' | sort -u > "$T/signed"
	pg_psql "$T/pg" owner -c "select encode(sha256(tbs), 'hex') from certificates where status in ('issued', 'revoked')" | sort -u > "$T/issued"
	local missing; missing=$(comm -23 "$T/signed" "$T/issued" | wc -l)
	[ "$missing" = 0 ] || fail "$missing signed TBS are not issued rows: $(comm -23 "$T/signed" "$T/issued" | head -3)"
}

# Stops (SIGTERM) every frontend in FE_PIDS still running (this shell's child running the frontend: a pid
# already reaped may be another process's by now), then fails if one does not stop within 20 s, exits other
# than 0, or (ASan build) did not log its leak check.
fe_stop_checked() {
	local p st rc=0 live=() watchdog
	for p in "${FE_PIDS[@]:-}"; do
		# (its name, not /proc/PID/exe: that one needs ptrace rights over a process that is not dumpable)
		[ -n "$p" ] && [ "$(ps -o ppid=,comm= -p "$p" 2>/dev/null | awk '{ print $1, $2 }')" = "$$ hsmca-frontend" ] &&
			kill -TERM "$p" 2>/dev/null && live+=("$p")
	done
	if [ ${#live[@]} -gt 0 ]; then
		# its own output elsewhere: a sleep left holding the test's would keep ctest waiting for it
		( sleep 20; touch "$T/stop-watchdog"; kill -9 "${live[@]}" 2>/dev/null ) > /dev/null 2>&1 &
		watchdog=$!
		for p in "${live[@]}"; do
			st=0; wait "$p" 2>/dev/null || st=$?
			if [ "$st" != 0 ]; then
				echo "FAIL: frontend $p exited with status $st when stopped at the end of the test" >&2; rc=1
			elif [ -n "$SANITIZED" ] && ! grep -q "pid=$p level=[a-z]* event=leak_check" "$T"/*.log; then
				echo "FAIL: frontend $p stopped without its leak check" >&2; rc=1
			fi
		done
		kill "$watchdog" 2>/dev/null || true
		[ ! -e "$T/stop-watchdog" ] || { echo "FAIL: a frontend did not stop within 20 s of SIGTERM" >&2; rc=1; }
	fi
	return $rc # a report in the logs: lib.sh's cleanup
}

extra_cleanup() {
	local rc=0
	fe_stop_checked || rc=1
	[ -d "$T/pg/data" ] && pg_stop "$T/pg" >/dev/null 2>&1 || true
	return $rc
}

# csr NAME KEYSPEC SAN...: writes $T/NAME.csr (PEM) for a fresh key; KEYSPEC: ec:P-256 | ec:P-384 | rsa:2048
csr() {
	local name=$1 spec=$2; shift 2
	local san; san=$(IFS=,; echo "$*")
	case $spec in
	ec:*) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:"${spec#ec:}" -nodes -keyout "$T/$name.key" \
		-subj "/CN=ignored" -addext "subjectAltName=$san" -out "$T/$name.csr" 2>/dev/null ;;
	rsa:*) openssl req -new -newkey rsa:"${spec#rsa:}" -nodes -keyout "$T/$name.key" \
		-subj "/CN=ignored" -addext "subjectAltName=$san" -out "$T/$name.csr" 2>/dev/null ;;
	esac
}

# issue_req CSRFILE PROFILE [curl auth args...]: POSTs, sets STATUS and BODY
issue_req() {
	local csrf=$1 prof=$2; shift 2
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": sys.argv[2]}))' \
		"$csrf" "$prof" > "$T/req.json"
	STATUS=$(curl -sS -o "$T/resp.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/req.json" "$@" "$URL/api/v1/certificates")
	BODY=$(cat "$T/resp.json")
}

# renewal by a signed challenge (README): the SHA-256 of a CSR's public key, the signature, the request body
spki_sha256() { openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64; }
renew_sig() { # KEY CHALLENGE [CSR, default new.csr] -> base64 signature over "CHALLENGE.<hex SHA-256 of the CSR's SPKI>"
	printf '%s.%s' "$2" "$(spki_sha256 "${3:-$T/new.csr}")" > "$T/challenge.txt"
	openssl dgst -sha256 -sign "$1" "$T/challenge.txt" | base64 -w0
}
renew_body() { # CSRFILE SERIAL CHALLENGE SIG
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "serial": sys.argv[2], "challenge": sys.argv[3], "signature": sys.argv[4]}))' "$@" > "$T/renew.json"
}

# one write: with PYTHONUNBUFFERED (set in CI) print() writes the value and its newline separately, and a reader
# that stops at the PEM's END line (openssl x509) made the second write fail with EPIPE under pipefail
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.stdout.write(str(eval("d"+sys.argv[2])) + "\n")' "$T/resp.json" "$1"; }

cert_rows() { pg_psql "$T/pg" owner -c "select count(*) from certificates${1:+ where $1}"; }
