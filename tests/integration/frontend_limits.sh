#!/usr/bin/env bash
# Request limits against the running frontend: a whole-request deadline (clients that trickle their
# headers or body get 408 and lose the connection, however often they send a byte) while other clients
# keep being served at once; an idle keep-alive connection is closed without a 408; too many header
# fields get 431, an oversized header block and body are refused; the timeouts are counted in /metrics.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/frontend_lib.sh"
fe_setup_backend
fe_profiles
fe_start # timeout_seconds = 5
cat > "$T/slow.py" <<'EOP'
import socket, sys, threading, time, json, urllib.request
port, url = int(sys.argv[1]), sys.argv[2]
HEAD = b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(0.2); return s
def reply(s):
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d: return data, True
            data += d
    except socket.timeout:
        return data, False
results = {}
def trickle(name, first, drip):
    s = conn(); s.sendall(first); t0 = time.monotonic()
    while time.monotonic() - t0 < 12:
        data, closed = reply(s)
        if data or closed:
            results[name] = (time.monotonic() - t0, data.split(b"\r\n")[0].decode(errors="replace"), closed); return
        try: s.sendall(drip)
        except OSError: results[name] = (time.monotonic() - t0, "send failed", True); return
        time.sleep(0.8)
    results[name] = (99, "still open", False)
threads = [threading.Thread(target=trickle, args=("headers%d" % i, HEAD, b"X")) for i in range(30)]
threads += [threading.Thread(target=trickle, args=("body%d" % i, HEAD + b"Content-Length: 4000\r\n\r\n{", b" "), ) for i in range(10)]
for t in threads: t.start()
time.sleep(1)
# others are served at once while 40 slow clients hold connections
lat = []
for _ in range(10):
    t0 = time.monotonic(); urllib.request.urlopen(url + "/healthz", timeout=3).read(); lat.append(time.monotonic() - t0)
# an idle connection (no byte sent): closed by the idle timeout, without a 408
idle = conn(); t0 = time.monotonic(); idle_res = None
while time.monotonic() - t0 < 14:
    data, closed = reply(idle)
    if data or closed: idle_res = (time.monotonic() - t0, data.decode(errors="replace"), closed); break
for t in threads: t.join()
print(json.dumps({"lat_max": max(lat), "results": results, "idle": idle_res}))
EOP
python3 "$T/slow.py" "$PORT" "$URL" > "$T/slow.json" || fail "slow client script"
python3 - "$T/slow.json" <<'EOP' || fail "deadline: $(cat "$T/slow.json")"
import json, sys
d = json.load(open(sys.argv[1]))
# well before the 5 s deadline the slow clients hold (a loaded 2-core CI machine under ASan took over 1 s)
assert d["lat_max"] < 3.0, "healthz took %.2fs while slow clients were connected" % d["lat_max"]
for name, (secs, line, closed) in d["results"].items():
    assert line.startswith("HTTP/1.1 408"), "%s: %r" % (name, line)
    assert 4.5 <= secs <= 9, "%s: 408 after %.1fs (deadline 5s)" % (name, secs)
assert len(d["results"]) == 40
secs, data, closed = d["idle"]
assert closed and data == "" and secs <= 11, "idle connection: %r" % (d["idle"],)
EOP
pass "40 trickling clients (headers and body) get 408 at the 5 s deadline; others served meanwhile; idle connections closed quietly"
curl -s "$URL/metrics" | grepq '^hsmca_request_timeouts_total 40$' || fail "metrics: $(curl -s "$URL/metrics" | grep timeouts)"
pass "timeouts counted in /metrics"

hdrs=(); for i in $(seq 70); do hdrs+=(-H "X-Filler-$i: $i"); done
st=$(curl -s -o "$T/h.json" -w '%{http_code}' "${hdrs[@]}" "$URL/healthz")
[ "$st" = 431 ] && grep -q too-many-headers "$T/h.json" || fail "70 header fields: $st $(cat "$T/h.json")"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/healthz")
[ "$st" = 431 ] || fail "20 kB header block: $st"
head -c 70000 /dev/zero | tr '\0' ' ' > "$T/big.json"
st=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big.json" "$URL/api/v1/certificates")
[ "$st" = 413 ] || fail "70 kB body: $st"
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "served after the refusals"
st=$(curl -s -o "$T/h.json" -w '%{http_code}' -H "Authorization: Basic $(head -c 1500 /dev/zero | tr '\0' A)" \
	--data-binary '{}' "$URL/api/v1/certificates")
[ "$st" = 431 ] && grep -q header-too-large "$T/h.json" || fail "a 1.5 kB Authorization header: $st $(cat "$T/h.json")"
pass "too many header fields 431, oversized header block and body refused, an Authorization header too long for a job 431 (it was dropped: a request without credentials), still serving"

# a client that sends its whole body before it reads (Python's requests, Java's HttpURLConnection): a 5 MB
# upload over max_body gets its 413, read after the upload. Before, the frontend closed with the upload
# unread, the kernel answered with a reset, and such a client saw "connection reset" instead of the 413
python3 - "$PORT" > "$T/upload.out" 2>&1 <<'EOP' || fail "a 5 MB upload sent whole before reading: $(cat "$T/upload.out")"
import socket, sys
from sockread import read_to_end
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(10)
body = b" " * 5000000
s.sendall(b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body))
err = None
try:
    s.sendall(body)
except OSError as e:
    err = e
data = read_to_end(s) # (a reset ends it: what came before it is what the client could read)
assert data.startswith(b"HTTP/1.1 413") and b"too-large" in data, "reply %r, error %r" % (data[:200], err)
EOP
pass "a client that uploads 5 MB whole before reading gets the 413 (not a reset)"

# HEAD (monitors probe with it): the loop's own paths answer with a GET's headers and no body, on a kept-alive
# connection whose next request is then answered as usual; a routed path that does not take it is 405 with its
# Allow, without a body either. Before, HEAD was 405 everywhere (with a JSON body)
python3 - "$PORT" > "$T/head.out" 2>&1 <<'EOP' || fail "HEAD: $(cat "$T/head.out")"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(5)
def req(method, path):
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method, path))
buf = b""
def head_block():
    global buf
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        assert d, "closed early: %r" % buf
        buf += d
    h, _, buf = buf.partition(b"\r\n\r\n")
    lines = h.decode().split("\r\n")
    return int(lines[0].split()[1]), {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
def body(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        assert d, "closed in a body"
        buf += d
    b, buf = buf[:n], buf[n:]
    return b
req(b"HEAD", b"/healthz"); req(b"GET", b"/healthz"); req(b"HEAD", b"/api/v1/ca/chain"); req(b"GET", b"/api/v1/ca/chain")
st, h = head_block()
assert st == 200 and h["content-length"] == "17" and h["content-type"] == "application/json", (st, h)
st, h = head_block()   # the next reply starts right after the HEAD's headers: no body came between
assert st == 200 and body(int(h["content-length"])) == b'{"status": "ok"}\n', (st, h)
st, h = head_block()
n = int(h["content-length"])
assert st == 200 and n > 500 and h["content-type"] == "application/pem-certificate-chain", (st, h)
st, h = head_block()
assert st == 200 and int(h["content-length"]) == n and body(n).startswith(b"-----BEGIN CERTIFICATE-----"), (st, h)
req(b"HEAD", b"/api/v1/accounts"); req(b"GET", b"/healthz")
st, h = head_block()
assert st == 405 and h.get("allow") == "GET, POST", (st, h)
if h.get("connection", "").lower() != "close":
    st, h = head_block()
    assert st == 200 and body(int(h["content-length"])) == b'{"status": "ok"}\n', (st, h)
time.sleep(0.3)
s.settimeout(0.5)
try:
    extra = s.recv(65536)
except socket.timeout:
    extra = b""
assert buf == b"" and extra == b"", "bytes after the replies: %r %r" % (buf, extra)
# a HEAD refused before routing (a body on it: 400, the connection closed) has no body either
from sockread import read_to_end
s2 = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s2.settimeout(5)
s2.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
raw = read_to_end(s2)
head, sep, rest = raw.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 400 ") and sep and rest == b"", "HEAD refused before routing: %r" % raw
print("ok")
EOP
st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/healthz")
[ "$st" = 405 ] || fail "PUT /healthz: $st"
pass "HEAD on the loop's paths: a GET's headers (Content-Length too), no body, the connection kept; elsewhere 405 with its Allow and no body"

# the replies evhttp makes itself, before the router sees the request (libevent 2.1 writes them as HTML
# pages and has no hook), are JSON errors like every other: a malformed request line or header 400, an
# oversized declared body 413 (with "Expect: 100-continue" too), a header block over max_header_size 431 (evhttp
# says 400), a method other than GET and
# POST (evhttp: 501) 405 with Allow; on a kept-alive connection after a routed request as well, and a 100
# Continue is let through
python3 - "$PORT" > "$T/evherr.out" <<'EOP' || fail "evhttp's own errors: $(cat "$T/evherr.out")"
import json, socket, sys
from sockread import read_to_end
port = int(sys.argv[1])
def exchange(data):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.sendall(data)
    buf = read_to_end(s)
    s.close()
    return buf
def parse(raw):
    """replies in raw, each (status, headers dict, body)"""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdr = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(hdr.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), hdr, rest[:n]))
        raw = rest[n:]
    return out
def json_error(raw, status, code, what):
    r = parse(raw)
    assert len(r) == 1, "%s: %d replies: %r" % (what, len(r), raw[:300])
    st, hdr, body = r[0]
    assert st == status, "%s: status %d, want %d: %r" % (what, st, status, raw[:300])
    assert hdr.get("content-type") == "application/json", "%s: %r" % (what, raw[:300])
    assert hdr.get("connection") == "close", "%s: %r" % (what, raw[:300])
    try:
        err = json.loads(body)["error"]
    except ValueError:
        raise AssertionError("%s: not JSON: %r" % (what, raw[:400]))
    assert err["code"] == code and err["message"], "%s: %r" % (what, body)
    return "%s %d %s" % (what, st, code)
H = b"Host: x\r\n"
done = []
done.append(json_error(exchange(b"GARBAGE\r\n\r\n"), 400, "bad-request", "request line"))
done.append(json_error(exchange(b"GET /healthz HTTP/1.1\r\n" + H + b"no colon here\r\n\r\n"), 400, "bad-request", "header line"))
done.append(json_error(exchange(b"GET /healthz HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n"), 431, "header-too-large", "20 kB header"))
done.append(json_error(exchange(b"GET /healthz HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20000), 431, "header-too-large", "20 kB header line without end"))
big = b"POST /api/v1/certificates HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\nContent-Length: 70000\r\n"
done.append(json_error(exchange(big + b"\r\n" + b" " * 70000), 413, "too-large", "70 kB body"))
done.append(json_error(exchange(big + b"Expect: 100-continue\r\n\r\n"), 413, "too-large", "70 kB with Expect"))
done.append(json_error(exchange(b"DELETE /api/v1/certificates/00 HTTP/1.1\r\n" + H + b"\r\n"), 405, "method", "DELETE"))
# evhttp serves any HTTP/1.N and echoes it in its own replies, which were let through as HTML then
done.append(json_error(exchange(b"DELETE /healthz HTTP/1.9\r\n" + H + b"\r\n"), 405, "method", "HTTP/1.9 DELETE"))
done.append(json_error(exchange(big.replace(b"HTTP/1.1", b"HTTP/1.9") + b"\r\n" + b" " * 70000), 413, "too-large", "HTTP/1.9 70 kB body"))
done.append(json_error(exchange(b"GET /healthz HTTP/1.9\r\n" + H + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n"), 431, "header-too-large", "HTTP/1.9 20 kB header"))
assert parse(exchange(b"PUT /healthz HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n"))[0][1].get("allow") == "GET, HEAD, POST", "no Allow on the 405"
# a request line over max_header_size is 414, not 431 (evhttp says 400 to both), ended or not
done.append(json_error(exchange(b"GET /healthz?" + b"a" * 20000 + b" HTTP/1.1\r\n" + H + b"\r\n"), 414, "uri-too-long", "20 kB URI"))
done.append(json_error(exchange(b"GET /api/v1/ca/chain?" + b"a" * 20000), 414, "uri-too-long", "20 kB URI without end"))
# the methods a routed path does not take: 405 with its Allow (the loop's GET-only answers took POST before)
def keep_alive(data):
    """one request on a connection the server keeps open: its one reply"""
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.sendall(data)
    buf = b""
    while True:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            n = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
            if len(rest) >= n:
                break
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return parse(buf)
for method, path, allow in ((b"POST", b"/metrics", "GET, HEAD"), (b"POST", b"/api/v1/cfssl/health", "GET, HEAD"),
                            (b"POST", b"/healthz", "GET, HEAD"), (b"POST", b"/api/v1/ca/chain", "GET, HEAD"),
                            (b"GET", b"/api/v1/cfssl/sign", "POST"), (b"GET", b"/api/v1/cfssl/info", "POST"),
                            (b"GET", b"/api/v1/accounts/alice/password", "POST"),
                            (b"POST", b"/api/v1/accounts/alice", "GET"),
                            # an exact route's path with another method, not a certificate named "renew" (401/404)
                            (b"GET", b"/api/v1/certificates/renew", "POST"),
                            (b"GET", b"/api/v1/certificates/renewal-challenge", "POST"),
                            (b"GET", b"/api/v1/certificates", "POST")):
    # a body only on a POST: a GET with one is refused 400 before routing (the smuggling cases below)
    body = b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" if method == b"POST" else b"\r\n"
    r = keep_alive(method + b" " + path + b" HTTP/1.1\r\n" + H + body)
    assert len(r) == 1 and r[0][0] == 405 and r[0][1].get("allow") == allow, "%s %s: %r" % (method, path, r)
    body = json.loads(r[0][2])
    assert body.get("success") is False if path.startswith(b"/api/v1/cfssl/") else body["error"]["code"] == "method", (path, body)
done.append("a method a path does not take 405 with its Allow, /metrics and the health checks GET and HEAD only")
# below a certificate, .../{serial}/revoke takes POST (an administrator's: 401 without credentials) and any
# other path is no endpoint: 404 for any method, not a 405 naming the revocation's or the read's method
for method, path, status, allow in ((b"POST", b"/api/v1/certificates/00/revoke", 401, None),
                                    (b"GET", b"/api/v1/certificates/00/revoke", 405, "POST"),
                                    (b"POST", b"/api/v1/certificates/00/other", 404, None),
                                    (b"GET", b"/api/v1/certificates/00/other", 404, None),
                                    (b"POST", b"/api/v1/certificates/00/x/revoke", 404, None),
                                    (b"POST", b"/api/v1/certificates/00", 405, "GET")):
    body = b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" if method == b"POST" else b"\r\n"
    r = keep_alive(method + b" " + path + b" HTTP/1.1\r\n" + H + body)
    assert len(r) == 1 and r[0][0] == status and r[0][1].get("allow") == allow, "%s %s: %r" % (method, path, r)
done.append("below a certificate: POST .../revoke (401 without credentials), GET of it 405, other paths 404")
# HEAD of a path that does not take it (POST only): 405 without a body
HC = b"Connection: close\r\n"
raw = exchange(b"HEAD /api/v1/certificates HTTP/1.1\r\n" + H + HC + b"\r\n")
head, sep, rest = raw.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 405 ") and b"Content-Type: application/json" in head and b"Allow: POST" in head \
    and sep and rest == b"", "HEAD: %r" % raw
done.append("HEAD 405 without a body")
# the same HEAD pipelined behind a GET in one write (its first bytes were in the input before the router had
# the GET): the 200 with its body, then the 405 without one
raw = exchange(b"GET /healthz HTTP/1.1\r\n" + H + b"\r\nHEAD /api/v1/certificates HTTP/1.1\r\n" + H + HC + b"\r\n")
first = parse(raw.split(b"HTTP/1.1 405 ")[0])
second = raw[raw.find(b"HTTP/1.1 405 "):]
assert len(first) == 1 and first[0][0] == 200 and first[0][2] == b'{"status": "ok"}\n' \
    and second.startswith(b"HTTP/1.1 405 ") and second.endswith(b"\r\n\r\n") \
    and second.count(b"\r\n\r\n") == 1, "pipelined HEAD: %r" % raw
done.append("pipelined HEAD 405 without a body")
# a routed request, then a malformed one on the same connection: the first reply is the router's
r = parse(exchange(b"GET /healthz HTTP/1.1\r\n" + H + b"\r\nGARBAGE\r\n\r\n"))
assert len(r) == 2 and r[0][0] == 200 and r[0][2] == b'{"status": "ok"}\n' and r[1][0] == 400 \
    and r[1][2].startswith(b'{"error": {"code": "bad-request"'), "kept-alive: %r" % (r,)
done.append("kept-alive 200 then 400")
# a 100 Continue goes out as it is, and the request is served
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
s.sendall(b"POST /api/v1/certificates HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\nContent-Length: 2\r\n"
          b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
cont = s.recv(4096)
assert cont == b"HTTP/1.1 100 Continue\r\n\r\n", "100 Continue: %r" % cont
s.sendall(b"{}")
raw = b""
while True:
    d = s.recv(65536)
    if not d: break
    raw += d
assert raw.startswith(b"HTTP/1.1 401 ") and b'"unauthorized"' in raw, "after the 100 Continue: %r" % raw[:200]
done.append("100 Continue then 401")
print("; ".join(done))
EOP
grep -q 'event=http_refused status=4[0-9][0-9] tls=no refused=[0-9]' "$T/frontend.log" || fail "evhttp's refusals not logged"
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "served after evhttp's refusals"
pass "evhttp's own refusals are JSON errors: $(cat "$T/evherr.out")"

# request smuggling: evhttp 2.1 frames leniently (of two Content-Length headers the first wins; "Content-Length :"
# and "Transfer-Encoding :" are other headers, so the body is read as the next request; Content-Length: +2 is 2),
# so a request could hide another in its body, which a proxy in front would not see. Each is refused 400 (JSON)
# before evhttp reads it and the connection closed: the hidden GET /healthz is never answered.
python3 - "$PORT" > "$T/smuggle.out" <<'EOP' || fail "request smuggling: $(cat "$T/smuggle.out")"
import json, socket, sys, time
port = int(sys.argv[1])
def exchange(data):
    """(what came back until the server closed, whether it closed within 4 s)"""
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(0.5)
    s.sendall(data)
    buf, t0, closed = b"", time.monotonic(), False
    while time.monotonic() - t0 < 4:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
    s.close()
    return buf, closed
HIDDEN = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /api/v1/cfssl/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
cases = [
    ("two Content-Length", POST + b"Content-Length: 2\r\nContent-Length: %d\r\n\r\n{}" % (2 + len(HIDDEN))),
    ("Content-Length with a space before the colon", POST + b"Content-Length : 2\r\n\r\n"),
    ("Transfer-Encoding with a space before the colon", POST + b"Transfer-Encoding : chunked\r\n\r\n"),
    ("Content-Length: +2", POST + b"Content-Length: +2\r\n\r\n{}"),
    ("Content-Length and Transfer-Encoding", POST + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}"),
    ("Transfer-Encoding gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n"),
    ("a name that is not a token", POST + b"Content-Length: 2\r\nX(y): 1\r\n\r\n{}"),
    ("a folded line", POST + b"Content-Length: 2\r\n 40\r\n\r\n{}"),
    # evhttp reads no body for a GET: the body would be the next request
    ("a GET with a Content-Length", b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(HIDDEN)),
    ("a GET with Transfer-Encoding", b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
    # evhttp skips only spaces before a value: "\tchunked" is not chunked to it, and the body would be the next request
    ("a tab before chunked", POST + b"Transfer-Encoding:\tchunked\r\n\r\n"),
]
done = []
for what, req in cases:
    raw, closed = exchange(req + HIDDEN)
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n") and raw.count(b"HTTP/1.1 ") == 1, "%s: %r" % (what, raw[:600])
    assert b'"status": "ok"' not in raw and closed, "%s: closed %s: %r" % (what, closed, raw[:600])
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json\r\n" in head and b"Connection: close\r\n" in head, "%s: %r" % (what, raw)
    assert json.loads(body)["error"]["code"] == "bad-request", "%s: %r" % (what, body)
    done.append(what)
# the same behind a good request on the connection (in one write): the good one is answered, then the 400
raw, closed = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + cases[0][1] + HIDDEN)
assert raw.startswith(b"HTTP/1.1 200 ") and raw.count(b"HTTP/1.1 ") == 2 and raw.count(b'"status": "ok"') == 1 \
    and b"HTTP/1.1 400 Bad Request\r\n" in raw and closed, "pipelined: closed %s: %r" % (closed, raw[:800])
done.append("pipelined behind a good request")
# and sent in pieces: the second Content-Length arrives after evhttp has read the first
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(4)
s.sendall(POST + b"Content-Length: 2\r\n")
time.sleep(0.3)
s.sendall(b"Content-Length: %d\r\n\r\n{}" % (2 + len(HIDDEN)) + HIDDEN)
def until_closed(s, what):
    """what came back on s until the server closed it (within its 4 s timeout)"""
    raw = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: return raw
            raw += d
    except (socket.timeout, ConnectionResetError):
        raise AssertionError("%s: not closed: %r" % (what, raw))
raw = until_closed(s, "in pieces")
assert raw.startswith(b"HTTP/1.1 400 ") and raw.count(b"HTTP/1.1 ") == 1, "in pieces: %r" % raw
done.append("in pieces")
# many small header fields are refused as they arrive (431), not held until the block ends or the deadline
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(4)
t0 = time.monotonic()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"a:\r\n" * 100)
raw = until_closed(s, "100 header fields, the block unfinished")
took = time.monotonic() - t0
assert raw.startswith(b"HTTP/1.1 431 ") and b'"code": "too-many-headers"' in raw and took < 2, \
    "100 header fields, unfinished: %.1f s: %r" % (took, raw)
done.append("100 header fields of an unfinished block 431 in %.2f s" % took)
# a GET with Content-Length: 0 is served
raw, _ = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
assert raw.startswith(b"HTTP/1.1 200 ") and b'"status": "ok"' in raw, "GET with Content-Length 0: %r" % raw[:300]
# chunked bodies are refused 411 at their header block, well formed or not (evhttp reads chunk sizes as strtoll,
# takes chunk extensions, merges trailer fields, an Authorization among them, into the headers unchecked, and
# answered a malformed chunk 413); a hidden request behind one is never answered
for label, body in (("well formed", b"2\r\n{}\r\n0\r\n\r\n"), ("a 0x size", b"0x2\r\n{}\r\n0\r\n\r\n"),
                    ("an extension", b"2;x=y\r\n{}\r\n0\r\n\r\n"),
                    ("an Authorization trailer", b"2\r\n{}\r\n0\r\nAuthorization: Basic YTpi\r\n\r\n"),
                    ("a hidden request", b"2\r\n{}\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")):
    raw, _ = exchange(POST + b"Transfer-Encoding: Chunked\r\n\r\n" + body)
    assert raw.startswith(b"HTTP/1.1 411 ") and b'"code": "length-required"' in raw and raw.count(b"HTTP/1.1 ") == 1, \
        "chunked, %s: %r" % (label, raw[:300])
done.append("chunked bodies 411 (well formed, 0x size, extension, trailer, hidden request)")
# CONNECT: refused 405 from its request line and the connection closed. evhttp answered it itself and kept the
# connection open, unscanned from then on: two Content-Length headers after it were taken, hiding a request
CONNECT = b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n"
raw, closed = exchange(CONNECT + b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(HIDDEN) + HIDDEN)
assert raw.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and raw.count(b"HTTP/1.1 ") == 1 and closed \
    and b"Allow: GET, HEAD, POST\r\n" in raw and b'"code": "method"' in raw and b'"status": "ok"' not in raw, \
    "CONNECT then a smuggled request: closed %s: %r" % (closed, raw[:600])
raw, closed = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + CONNECT + HIDDEN)
assert raw.startswith(b"HTTP/1.1 200 ") and raw.count(b"HTTP/1.1 ") == 2 and raw.count(b'"status": "ok"') == 1 \
    and b"HTTP/1.1 405 Method Not Allowed\r\n" in raw and closed, "CONNECT pipelined: closed %s: %r" % (closed, raw[:800])
done.append("CONNECT 405 and closed (alone and pipelined)")
# what stays served: a body with Content-Length
raw, _ = exchange(POST + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
assert raw.count(b"HTTP/1.1 ") == 1 and b'"code": "length-required"' not in raw and b'"code": "bad-request"' not in raw, \
    "Content-Length: %r" % raw[:300]
print("; ".join(done))
EOP
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "served after the smuggling attempts"
pass "ambiguous framing is refused 400 and the connection closed, the hidden request unanswered: $(cat "$T/smuggle.out")"

# a chunked body whose chunk-size line never ends: evhttp kept reading it (memory without bound, and each read
# searched the whole buffer again on the loop thread) until the 5 s deadline; then 413 once the input passed
# max_header_size + max_body + 64 KiB; now 411 at the header block, before any chunk is read
python3 - "$PORT" > "$T/chunk.out" <<'EOP' || fail "endless chunk line: $(cat "$T/chunk.out")"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
t0, sent, reply = time.monotonic(), 0, b""
s.settimeout(0.05)
while time.monotonic() - t0 < 8 and not reply:
    try:
        s.sendall(b"1" * 16384)
        sent += 16384
    except OSError:
        pass
    try:
        reply = s.recv(4096)
    except socket.timeout:
        pass
    except OSError:
        break
print("%s after %d bytes, %.1f s" % (reply.split(b"\r\n")[0].decode() or "nothing", sent, time.monotonic() - t0))
sys.exit(0 if reply.startswith(b"HTTP/1.1 411") and time.monotonic() - t0 < 4 else 1)
EOP
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "served after the endless chunk line"
pass "a chunked request with a chunk-size line without end is refused 411 at its header block ($(cat "$T/chunk.out")), its chunks never read"

# at most max_inflight requests in progress: with the signer stopped, three issuances wait; the fourth is
# shed at once (503 overloaded, Retry-After), health checks still answer, and once the signer is back the
# three finish and new requests are taken again
fe_kill
fe_start "max_inflight = 3"
fe_requester alice
csr shed ec:P-256 "DNS:shed.example.com"
issue_req "$T/shed.csr" server "${AUTH[@]}"; [ "$STATUS" = 201 ] || fail "issue before the test: $STATUS $BODY"
stop_pid "$SIGNER_PID"
for i in 1 2 3; do
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' "$T/shed.csr" > "$T/shed$i.json"
	curl -sS -o "$T/shed$i.out" -w '%{http_code}' "${AUTH[@]}" --data-binary @"$T/shed$i.json" "$URL/api/v1/certificates" > "$T/shed$i.status" &
	SHED_PIDS[$i]=$!
done
for _ in $(seq 100); do curl -s "$URL/metrics" | grepq '^hsmca_requests_in_progress 3$' && break; sleep 0.05; done
curl -s "$URL/metrics" | grepq '^hsmca_requests_in_progress 3$' || { kill -CONT "$SIGNER_PID"; fail "three requests not in progress: $(curl -s "$URL/metrics" | grep in_progress)"; }
st=$(curl -sS -D "$T/shed-h.txt" -o "$T/shed4.out" -w '%{http_code}' "${AUTH[@]}" --data-binary @"$T/shed1.json" "$URL/api/v1/certificates")
hz=$(curl -s "$URL/healthz")
kill -CONT "$SIGNER_PID"
[ "$st" = 503 ] && grep -q '"overloaded"' "$T/shed4.out" || fail "the fourth request: $st $(cat "$T/shed4.out")"
grep -qi '^Retry-After: 1' "$T/shed-h.txt" || fail "no Retry-After on the shed request: $(cat "$T/shed-h.txt")"
# (answered by the loop: ok, or, had a probe found the stopped signer meanwhile, that it does not answer)
[ "$hz" = '{"status": "ok"}' ] || [[ $hz == '{"status": "unavailable", "signer": "unavailable"'* ]] || fail "health check while full: $hz"
for i in 1 2 3; do wait "${SHED_PIDS[$i]}" || true; [ "$(cat "$T/shed$i.status")" = 201 ] || fail "waiting request $i: $(cat "$T/shed$i.status") $(cat "$T/shed$i.out")"; done
curl -s "$URL/metrics" | grepq '^hsmca_requests_shed_total 1$' || fail "shed not counted: $(curl -s "$URL/metrics" | grep shed)"
issue_req "$T/shed.csr" server "${AUTH[@]}"; [ "$STATUS" = 201 ] || fail "issue after the signer came back: $STATUS $BODY"
pass "past max_inflight (3) a request is shed at once (503 overloaded, Retry-After) while health checks answer; the waiting ones finish"

# at most max_connections_per_address connections from one address: the ninth from 127.0.0.1 gets 503
# too-many-connections and is closed, while 127.0.0.2 is served and the first eight still work; once two of
# them close, 127.0.0.1 is served again
fe_kill
fe_start "max_connections_per_address = 8"
python3 - "$PORT" "$(printf 'alice:alice password 0001' | base64 -w0)" "$T/shed1.json" "$FRONTEND_PID" \
	> "$T/cap.out" <<'EOP' || fail "per-address cap: $(cat "$T/cap.out")"
import json, os, socket, sys, time
from sockread import read_to_end, connect_from, http_get as get, wait_metric
port, basic, body, pid = int(sys.argv[1]), sys.argv[2].encode(), open(sys.argv[3], "rb").read(), sys.argv[4]
def conn(src="127.0.0.1"):
    return connect_from(port, src)
# fe_start's health check from 127.0.0.1 counts until evhttp has let it go: wait for that first
probe = conn("127.0.0.2")
assert wait_metric(probe, b"hsmca_connections_open 1", 50), "fe_start's connection still counted"
probe.close()
held = [conn() for _ in range(8)]
time.sleep(0.3)
ninth = conn()
refused = read_to_end(ninth)
assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b'"code": "too-many-connections"' in refused, \
    "the ninth connection: %r" % refused
other = conn("127.0.0.2")
def issued():
    m = get(other, "/metrics").decode()
    return int([l for l in m.splitlines() if l.startswith("hsmca_certificates_issued_total ")][0].split()[1])
# refused connections whose issuance request is already on its way (sent at once, as curl does): none is
# acted on, whether it reached evhttp before the cut or not
before = issued()
post = (b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basic +
        b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
for _ in range(20):
    s = socket.socket(); s.connect(("127.0.0.1", port))
    try:
        s.sendall(post)
        s.settimeout(3)
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
time.sleep(1)
assert issued() == before, "a refused connection's request was acted on: %d -> %d" % (before, issued())
assert get(other).startswith(b"HTTP/1.1 200 "), "127.0.0.2 not served"
for s in held:
    assert get(s).startswith(b"HTTP/1.1 200 "), "a held connection not served"
metrics = get(other, "/metrics").decode()
assert "hsmca_connections_refused_total 21\n" in metrics and "hsmca_connections_open 9\n" in metrics, metrics
# two of them carry an issuance (a job of the worker pool, which has its own close callback) and close: their
# count is released and their descriptors closed as evhttp frees them, not at the next sweep (up to 200 ms).
# The frontend reads the two ends before the request sent after them on another connection, so the first
# /metrics answered after the closes counts them gone, and by the second their descriptors are closed too
# (before, both waited for a sweep that came between the closes and the request only by chance)
for s in held[:2]:
    r = get(s, raw=post)
    assert r.startswith(b"HTTP/1.1 201 "), "issuance on a held connection: %r" % r[:300]
fds = len(os.listdir("/proc/%s/fd" % pid))
held[0].close(); held[1].close()
m1 = get(other, "/metrics").decode()
m2 = get(other, "/metrics").decode()
closed = fds - len(os.listdir("/proc/%s/fd" % pid))
assert "\nhsmca_connections_open 7\n" in m1, "the two closed still counted: %s" % m1
assert closed >= 2, "%d of the two closed connections' descriptors closed" % closed
again = conn()
assert get(again).startswith(b"HTTP/1.1 200 "), "127.0.0.1 not served again after two closed"
print("ninth refused 503, 20 more with an issuance request sent at once refused and none acted on, 127.0.0.2 and "
      "the eight served; two closed after an issuance: no longer counted and their descriptors closed by the "
      "next request, a new one served")
EOP
grep -q 'event=connection_refused tls=no refused=1 why="max_connections_per_address"' "$T/frontend.log" || fail "the refusal was not logged"
pass "max_connections_per_address (8): $(cat "$T/cap.out")"

# at most max_connections open in all, whatever the address (the per-address cap alone let 64 IPv4 addresses,
# or a /56's 256 /64s, take every descriptor): with 6, connections from six addresses are served, a seventh
# from a new address gets 503 too-many-connections with Retry-After, and once one closes a new one is served;
# a max_connections the descriptor limit cannot hold beside the reserve is refused at start
fe_kill
fe_conf "max_connections = 2000"
# (a frontend that started would serve until the timeout)
OUT=$(prlimit --nofile=1024:1024 timeout 20 "$FRONTEND" run -c "$T/frontend.conf" 2>&1) && fail "max_connections over the descriptor limit started"
grepq 'max_connections = 2000 needs [0-9]* descriptors .* and the limit is 1024: raise it' <<<"$OUT" \
	|| fail "max_connections over the descriptor limit: $OUT"
fe_start "max_connections = 6"
python3 - "$PORT" > "$T/maxconn.out" <<'EOP' || fail "max_connections: $(cat "$T/maxconn.out")"
import socket, sys, time
from sockread import read_to_end, connect_from, http_get as get, wait_metric
port = int(sys.argv[1])
def conn(src):
    return connect_from(port, src)
# fe_start's health check counts until evhttp has let it go: wait for it
probe = conn("127.0.0.60")
assert wait_metric(probe, b"hsmca_connections 1"), "fe_start's connection still counted"
held = [probe] + [conn("127.0.0.%d" % (61 + i)) for i in range(5)]
for s in held:
    assert get(s).startswith(b"HTTP/1.1 200 "), "one of the six not served"
seventh = conn("127.0.0.70")
refused = read_to_end(seventh)
assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b'"code": "too-many-connections"' in refused \
    and b"Retry-After: 1\r\n" in refused and b"max_connections" in refused, "the seventh connection: %r" % refused
m = get(held[0], "/metrics").decode()
assert "hsmca_connections_max_refused_total 1\n" in m and "hsmca_connections_max 6\n" in m, m
held[5].close()
# released as evhttp frees it (at the latest by the next sweep, 200 ms)
assert wait_metric(held[0], b"hsmca_connections 5"), "the closed connection still counted"
again = conn("127.0.0.71")
assert get(again).startswith(b"HTTP/1.1 200 "), "not served after one closed"
print("six from six addresses served, a seventh from a new address 503 with Retry-After, served again once one closed")
EOP
grepq 'event=connection_refused tls=no refused=1 why="max_connections"' "$T/frontend.log" || fail "the max_connections refusal was not logged"
pass "max_connections (6): $(cat "$T/maxconn.out"); one the descriptor limit cannot hold is refused at start"

# at most max_connection_rate_per_address new connections a second from one address (a bucket of twice it):
# a burst from 127.0.0.1 is served until the bucket is empty, the next gets 503 connection-rate with
# Retry-After; 127.0.0.2 is served meanwhile, and 127.0.0.1 again once the bucket has refilled a little
fe_kill
for bad in 1000001 -1 five ''; do
	fe_conf "max_connection_rate_per_address = $bad"
	expect_fail "$FRONTEND" run -c "$T/frontend.conf"
	grep -qE 'line [0-9]+: (bad value for max_connection_rate_per_address|key max_connection_rate_per_address has an empty value)' \
		<<<"$OUT" || fail "rate '$bad': $OUT"
done
fe_start "max_connection_rate_per_address = 5"
python3 - "$PORT" > "$T/rate.out" <<'EOP' || fail "per-address rate: $(cat "$T/rate.out")"
import socket, sys, time
from sockread import read_to_end
port = int(sys.argv[1])
def get(src, path="/healthz"):
    s = socket.socket(); s.bind((src, 0)); s.connect(("127.0.0.1", port)); s.settimeout(3)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = read_to_end(s)
    s.close()
    return data
served, refused = 0, b""
t0 = time.monotonic()
for _ in range(60):
    r = get("127.0.0.1")
    if not r.startswith(b"HTTP/1.1 200 "):
        refused = r
        break
    served += 1
burst = time.monotonic() - t0
# a bucket of 10 (fe_start's health check took one), plus what refilled meanwhile at 5 a second
assert 8 <= served <= 11 + 5 * burst, "served %d in %.2f s before a refusal (%r)" % (served, burst, refused)
assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"\r\nRetry-After: 1\r\n" in refused \
    and b'"code": "connection-rate"' in refused, "the refusal: %r" % refused
assert get("127.0.0.2").startswith(b"HTTP/1.1 200 "), "127.0.0.2 not served"
time.sleep(0.5)
assert get("127.0.0.1").startswith(b"HTTP/1.1 200 "), "127.0.0.1 not served again after 0.5 s"
m = get("127.0.0.2", "/metrics").decode()
n = [int(l.split()[1]) for l in m.splitlines() if l.startswith("hsmca_connections_rate_limited_total ")]
assert n and n[0] >= 1, m
print("%d served in a burst, the next refused 503 connection-rate with Retry-After, 127.0.0.2 served, 127.0.0.1 again after 0.5 s" % served)
EOP
grep -q 'event=connection_refused tls=no refused=1 why="max_connection_rate_per_address"' "$T/frontend.log" \
	|| fail "the rate refusal was not logged"
pass "max_connection_rate_per_address (5): $(cat "$T/rate.out"); 1000001, -1, five or nothing stop start-up"

# descriptors run out (a low RLIMIT_NOFILE and many idle connections): accept() fails with EMFILE, and
# libevent left the listener armed with the connection still in the backlog, so the loop thread spun at
# full CPU and logged a line per turn; now the listener pauses 100 ms at a time, and serves again once
# descriptors are free
fe_kill
fe_conf
prlimit --nofile=64:64 "$FRONTEND" run -c "$T/frontend.conf" >> "$T/frontend.log" 2>&1 &
FRONTEND_PID=$!
PIDS+=("$FRONTEND_PID")
FE_PIDS+=("$FRONTEND_PID")
for _ in $(seq 100); do curl -fsS "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
[ "$(curl -s "$URL/healthz")" = '{"status": "ok"}' ] || fail "the frontend under RLIMIT_NOFILE 64 did not start"
python3 - "$PORT" "$FRONTEND_PID" "$(getconf CLK_TCK)" > "$T/emfile.out" <<'EOP' || fail "descriptors exhausted: $(cat "$T/emfile.out")"
import socket, sys, time
port, pid, hz = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def ticks():
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)] # more than the frontend may hold
time.sleep(0.5)
t0 = ticks()
time.sleep(2)
cpu = (ticks() - t0) / hz / 2
for c in conns:
    c.close()
print("%.0f%% of a core for 2 s" % (cpu * 100))
sys.exit(0 if cpu < 0.3 else 1)
EOP
for _ in $(seq 100); do curl -fsS --max-time 1 "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(curl -s --max-time 2 "$URL/healthz")" = '{"status": "ok"}' ] || fail "not served once the descriptors were free"
grep -q 'event=accept_paused why="Too many open files"' "$T/frontend.log" || fail "no accept_paused line: $(tail -3 "$T/frontend.log")"
[ "$(grep -c 'event=accept_paused' "$T/frontend.log")" -le 10 ] || fail "accept_paused logged more than once a second"
curl -s "$URL/metrics" | grepq -E '^hsmca_accept_pauses_total [1-9]' || fail "pauses not in /metrics"
pass "descriptors exhausted: the listener pauses (the loop used $(cat "$T/emfile.out"), logged at most once a second) and serves again once they are free"

# a body over its parser's own cap but within max_body (up to 1 MiB) is 413 like one over max_body, not the
# parser's 400 (JSON 256 KiB; the renew body and CFSSL /sign 96 KiB), before any work
fe_kill
fe_conf
sed -i 's/^max_body = 65536$/max_body = 1048576/' "$T/frontend.conf"
fe_run
head -c $((300 * 1024)) /dev/zero | tr '\0' ' ' > "$T/300k"
head -c $((100 * 1024)) /dev/zero | tr '\0' ' ' > "$T/100k"
for c in "certificates 300k" "certificates/renew 100k" "cfssl/sign 100k" "cfssl/authsign 300k"; do
	set -- $c
	st=$(curl -sS -o "$T/big.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$T/$2" "$URL/api/v1/$1")
	[ "$st" = 413 ] && grep -q "larger than this endpoint takes" "$T/big.json" || fail "a $2 body to /api/v1/$1 within max_body: $st $(head -c 300 "$T/big.json")"
done
st=$(curl -sS -o "$T/big.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$T/100k" "$URL/api/v1/certificates")
[ "$st" != 413 ] || fail "a 100 kB body to /api/v1/certificates (under its cap) was 413"
pass "a body between its parser's cap and max_body is 413, not 400"

# a reply not written out within timeout_seconds (5) cuts its connection, logged (reply_timeout) and counted
# (hsmca_reply_timeouts_total): two clients pipeline requests for a large reply (the chain, padded to ~56 kB)
# and read 1 KiB every 0.2 s, over HTTP and over HTTPS (where it also sends part of a TLS record a byte at a
# time). Before, libevent's own timeouts (timeout_seconds + 1, per read and per write) ended these two as
# well, at 6-12 s, without a log line or a count; what they do not end, replies small enough to be written
# whenever the client frees a little room, is bounded by max_requests_per_connection and
# max_connection_seconds. A client reading at a modest pace still gets the whole reply.
fe_kill
TLSPORT=$((PORT + 2))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" -out "$T/tls.pem" \
	-subj /CN=localhost -days 1 2>/dev/null || fail "a TLS certificate for the test"
chmod 600 "$T/tls.key"
cp "$T/chain.pem" "$T/bigchain.pem"
while [ "$(stat -c %s "$T/bigchain.pem")" -lt 56000 ]; do cat "$T/ca/root.pem" >> "$T/bigchain.pem"; done
fe_conf "tls_listen = 127.0.0.1:$TLSPORT
tls_cert = $T/tls.pem
tls_key = $T/tls.key"
sed -i "s|^chain = .*|chain = $T/bigchain.pem|" "$T/frontend.conf"
fe_run # (with the 56 kB chain)
python3 - "$PORT" "$TLSPORT" "$(stat -c %s "$T/bigchain.pem")" > "$T/slowread.out" <<'EOP' || fail "slow readers: $(cat "$T/slowread.out")"
import os, socket, ssl, sys, threading, time
from sockread import http_get as get, wait_metric
port, tport, chain_len = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
REQ = b"GET /api/v1/ca/chain HTTP/1.1\r\nHost: x\r\n\r\n"
CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname, CTX.verify_mode = False, ssl.CERT_NONE
def small_window(p, tls):
    """a connection whose receive buffer (4 KiB) holds little of a reply: (socket, its raw descriptor)"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", p))
    fd = s.fileno()
    s = CTX.wrap_socket(s) if tls else s
    s.settimeout(0.2)
    return s, fd
def paced(tls):
    """the chain read 4 KiB every 0.05 s (~80 KiB/s): (seconds, whole)"""
    s, _ = small_window(tport if tls else port, tls)
    s.sendall(REQ.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    data, t0 = b"", time.monotonic()
    while time.monotonic() - t0 < 10:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            break
        data += d
        time.sleep(0.05)
    s.close()
    return time.monotonic() - t0, data.startswith(b"HTTP/1.1 200 ") and len(data.partition(b"\r\n\r\n")[2]) == chain_len
probe = socket.create_connection(("127.0.0.1", port)); probe.settimeout(3)
assert wait_metric(probe, b"hsmca_connections 1"), "fe_start's connection still counted"
for tls in (False, True):
    took, whole = paced(tls)
    assert whole and took > 0.3, "paced reader (tls %s): whole %s after %.1f s" % (tls, whole, took)
assert wait_metric(probe, b"hsmca_connections 1"), "the paced readers' connections still counted"
stop, slow = threading.Event(), []
def crawl(s, fd, tls):
    """reads 1 KiB every 0.2 s; over TLS also sends part of a record, a byte at a time"""
    if tls:
        os.write(fd, b"\x17\x03\x03\x40\x00")
    while not stop.is_set():
        try:
            if not s.recv(1024):
                return
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError):
            return
        if tls:
            try:
                os.write(fd, b"\x00")
            except OSError:
                return
        time.sleep(0.2)
threads = []
for tls in (False, True):
    s, fd = small_window(tport if tls else port, tls)
    s.sendall(REQ * 200) # 12 MB of replies: more than the kernel's buffers hold
    threads.append(threading.Thread(target=crawl, args=(s, fd, tls)))
t0 = time.monotonic()
for t in threads:
    t.start()
assert wait_metric(probe, b"hsmca_connections 3"), "the two slow readers not connected"
closed = wait_metric(probe, b"hsmca_connections 1", 400) # up to 20 s
took = time.monotonic() - t0
stop.set()
for t in threads:
    t.join()
assert closed, "two slow readers still connected after %.1f s" % took
# the replies that stall start a few seconds in (the kernel's send buffer grows as the client reads)
assert 4.5 <= took <= 15, "slow readers cut after %.1f s (deadline 5 s)" % took
m = get(probe, "/metrics")
assert b"\nhsmca_reply_timeouts_total 2\n" in m, m
print("the 56 kB chain read at ~80 KiB/s whole over HTTP and HTTPS; two readers of 1 KiB every 0.2 s (HTTP, and "
      "HTTPS trickling part of a record) cut after %.1f s and counted" % took)
EOP
grepq 'event=reply_timeout tls=[a-z]* seconds=5 count=1 unsent=[1-9]' "$T/frontend.log" || fail "the cut replies were not logged"
pass "reply deadline: $(cat "$T/slowread.out")"

# a kept-alive connection carries at most max_requests_per_connection requests and is reused for at most
# max_connection_seconds: the reply to the last request says Connection: close (a worker's reply as the loop's
# own) and the connection is closed once it is written, at once and not at the idle timeout; no request is cut
# off. 0 and values past the bounds stop start-up with what is allowed.
fe_kill
for bad in "max_requests_per_connection = 0" "max_requests_per_connection = 100001" "max_connection_seconds = 0" \
	"max_connection_seconds = 86401" "max_connection_seconds = -1"; do
	fe_conf "$bad"
	expect_fail "$FRONTEND" run -c "$T/frontend.conf"
	grepq -E "line [0-9]+: bad value for ${bad%% *} \\(1 to (100000 requests|86400 seconds)\\)" <<<"$OUT" || fail "'$bad': $OUT"
done
fe_start "max_requests_per_connection = 3
max_connection_seconds = 2"
python3 - "$PORT" > "$T/keepalive.out" <<'EOP' || fail "kept-alive limits: $(cat "$T/keepalive.out")"
import socket, sys, time
from sockread import http_get as get, read_to_end, wait_metric
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(3); return s
def closes(r):
    return b"\r\nConnection: close\r\n" in r.partition(b"\r\n\r\n")[0] + b"\r\n"
def ended(s):
    """whether the server closes s within 1 s (its idle timeout is 6 s)"""
    s.settimeout(1)
    try:
        return read_to_end(s) == b"" and s.recv(1) == b""
    except OSError:
        return True
# the request cap: the third reply (a worker's: 401 without credentials) closes
s = conn()
r1, r2 = get(s), get(s, "/metrics")
r3 = get(s, raw=b"GET /api/v1/certificates/01 HTTP/1.1\r\nHost: x\r\n\r\n")
assert r1.startswith(b"HTTP/1.1 200 ") and not closes(r1) and r2.startswith(b"HTTP/1.1 200 ") and not closes(r2), (r1, r2)
assert r3.startswith(b"HTTP/1.1 401 ") and closes(r3) and r3.endswith(b"}\n"), r3
t0 = time.monotonic()
assert ended(s), "not closed after the third reply"
took = time.monotonic() - t0
# three pipelined in one write: all three answered, the third closing, the fourth behind them not read
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
s.settimeout(3)
raw = read_to_end(s)
assert raw.count(b"HTTP/1.1 200 ") == 3 and raw.count(b'{"status": "ok"}') == 3 and raw.count(b"Connection: close") == 1, raw
# the age cap: a request at 1.2 s is served kept-alive, the next once the connection is 2 s old closes it
# (its second request: not the request cap); what is waited for here is the age itself
s = conn()
t0 = time.monotonic()
time.sleep(1.2)
r1 = get(s)
assert r1.startswith(b"HTTP/1.1 200 ") and not closes(r1), r1
time.sleep(max(0, 2.05 - (time.monotonic() - t0)))
r2 = get(s)
assert r2.startswith(b"HTTP/1.1 200 ") and r2.endswith(b'{"status": "ok"}\n') and closes(r2), r2
assert ended(s), "not closed after the reply at 2 s"
# an HTTP/1.0 client asking for keep-alive: the last reply says close, and only that (evhttp adds its own
# keep-alive to a 1.0 reply: with a close of ours beside it, the client could read either)
s = conn()
ka = b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
h = [get(s, raw=ka).partition(b"\r\n\r\n")[0].lower() for _ in range(2)]
s.sendall(ka) # the last: without keep-alive its body ends with the connection (HTTP/1.0), no Content-Length
r3 = read_to_end(s)
h.append(r3.partition(b"\r\n\r\n")[0].lower())
assert all(x.startswith(b"http/1.0 200 ") for x in h), h
assert h[0].count(b"\r\nconnection:") == 1 and b"\r\nconnection: keep-alive" in h[0], h[0]
assert h[2].count(b"\r\nconnection:") == 1 and b"\r\nconnection: close" in h[2], h[2]
assert r3.endswith(b'{"status": "ok"}\n'), r3
# the last request with max_headers (64) fields is served, and closes (before: 431 too-many-headers, the
# Connection: close the frontend adds to it counted as a 65th); one more field is 431
full = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-F%d: y\r\n" % i for i in range(63)) + b"\r\n"
s = conn()
get(s), get(s)
r3 = get(s, raw=full)
assert r3.startswith(b"HTTP/1.1 200 ") and closes(r3) and r3.endswith(b'{"status": "ok"}\n'), r3
assert ended(s), "not closed after the third reply"
s = conn()
r1 = get(s, raw=full.replace(b"\r\n\r\n", b"\r\nX-F63: y\r\n\r\n"))
assert r1.startswith(b"HTTP/1.1 431 ") and b"too-many-headers" in r1, r1
# a client that says close itself at the cap: closed, but not counted as recycled
s = conn()
get(s), get(s)
r3 = get(s, raw=b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
assert closes(r3) and ended(s), r3
m = conn()
assert wait_metric(m, b"hsmca_connections_recycled_total 5"), get(m, "/metrics")
print("third reply closes (closed %.2f s after it; a fourth pipelined request unanswered); a request at 1.2 s "
      "kept alive, the next at 2 s closes; an HTTP/1.0 keep-alive client gets one Connection header, close, on "
      "the last; the last with max_headers fields served; counted once answered, a client closing itself not" % took)
EOP
pass "kept-alive limits (3 requests, 2 s): $(cat "$T/keepalive.out"); 0 and values past 100000 requests or 86400 s stop start-up"
