#!/usr/bin/env bash
# Large certificates through the committer's pipelined signing: a burst of concurrent issuances whose TBS is
# ~15 kB (64 long DNS names). The signer drops a client whose reply does not fit the connection's socket
# buffer (~13 replies of 8 kB) after it has signed it, and the committer used to keep up to 32 requests in
# flight per connection whatever their size: the dropped items were sent again on a new connection and signed
# twice, and some clients got 503 signer-unavailable from a healthy signer. Now the replies in flight are
# bounded in bytes too: every TBS is signed exactly once, every client gets its certificate.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
NSANS=64 NREQ=${BIGSIGN_REQUESTS:-300}
fe_setup_backend
cat > "$T/profiles.conf" <<EOC
[profile big]
issuer = int
issuer_cert = $T/ca/int.pem
key_types = p256
dns_suffixes = .example.com
max_sans = $NSANS
max_validity_days = 90
key_usage = digitalSignature
eku = serverAuth
accounts = alice
crl_url = http://127.0.0.1:$PORT/crl/int.crl
ocsp_url = http://127.0.0.1:$PORT/ocsp
EOC
fe_requester alice
fe_start "max_inflight = 4096
max_connections_per_address = 0
max_connection_rate_per_address = 0"
sans=()
long=$(printf 'a%.0s' $(seq 60)).$(printf 'b%.0s' $(seq 60)).$(printf 'c%.0s' $(seq 60))
for i in $(seq "$NSANS"); do sans+=("DNS:n$i.$long.example.com"); done
csr big ec:P-256 "${sans[@]}"
python3 - "$T/big.csr" "$PORT" "$NREQ" "$T/results" <<'PY' || fail "burst: $(cat "$T/results" 2>/dev/null)"
import base64, collections, http.client, json, sys, threading
csr, port, n, out = open(sys.argv[1]).read(), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = json.dumps({"csr": csr, "profile": "big"})
hdr = {"Authorization": "Basic " + base64.b64encode(b"alice:alice password 0001").decode(),
       "Content-Type": "application/json"}
res, lock, tbs_len = collections.Counter(), threading.Lock(), []
go = threading.Barrier(n)
def one(wait):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120); c.connect()
    if wait: go.wait()
    c.request("POST", "/api/v1/certificates", body, hdr)
    r = c.getresponse(); d = json.loads(r.read())
    with lock:
        res[str(r.status) + ("" if r.status == 201 else " " + d.get("error", {}).get("code", "?"))] += 1
one(False) # the credential cached
ts = [threading.Thread(target=one, args=(True,)) for _ in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write(json.dumps(dict(res)))
assert res == {"201": n + 1}, dict(res)
PY
[ "$(cat "$T/results")" = "{\"201\": $((NREQ + 1))}" ] || fail "clients' answers: $(cat "$T/results")"
TBSLEN=$(pg_psql "$T/pg" owner -c "select max(length(tbs)) from certificates")
[ "$TBSLEN" -gt 12000 ] || fail "the TBS is only $TBSLEN bytes: not large enough to test anything"
signed=$(grep -c 'event=signed ' "$T"/signer*.log)
distinct=$(grep -ho 'event=signed .*tbs_sha256=[0-9a-f]*' "$T"/signer*.log | sed 's/.*tbs_sha256=//' | sort -u | wc -l)
rows=$(pg_psql "$T/pg" owner -c "select count(*) from certificates where status = 'issued'")
[ "$signed" = "$distinct" ] && [ "$distinct" = "$rows" ] && [ "$rows" = $((NREQ + 1)) ] \
	|| fail "signatures $signed of $distinct distinct TBS for $rows issued rows ($((NREQ + 1)) requests): a TBS signed twice"
! grep -q 'event=client_dropped' "$T"/signer*.log || fail "the signer dropped a client: $(grep -m1 event=client_dropped "$T"/signer*.log)"
! grep -q 'event=signer_connection_lost' "$T/frontend.log" || fail "the committer lost a signer connection: $(grep -m1 event=signer_connection_lost "$T/frontend.log")"
fe_signed_are_issued
fe_stop_checked
pass "$((NREQ + 1)) concurrent issuances of $TBSLEN-byte TBS: each signed exactly once, every client answered 201, no signer connection dropped"
