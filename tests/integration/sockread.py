"""Shared by the integration tests' inline Python (lib.sh puts this directory on PYTHONPATH)."""
import socket
import ssl
import time

ENDS = (socket.timeout, ssl.SSLError, ConnectionResetError)


def read_to_end(s):
    """Everything s sends until it closes, resets or times out (its own timeout)."""
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except ENDS:
        pass
    return data


def connect_from(port, src, timeout=3):
    """A TCP connection to 127.0.0.1:port from the loopback address src."""
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(timeout)
    return s


def http_get(s, path="/healthz", raw=None):
    """Sends GET path (or the bytes raw) on s and reads one reply, to its Content-Length (or the end)."""
    s.sendall(raw or b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
            [l for l in data.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1]):
        d = s.recv(65536)
        if not d:
            break
        data += d
    return data


def wait_metric(s, line, tries=100):
    """GETs /metrics on s until it holds the line (e.g. b"hsmca_connections 1"), 50 ms apart; False if never."""
    for _ in range(tries):
        if b"\n" + line + b"\n" in http_get(s, "/metrics"):
            return True
        time.sleep(0.05)
    return False
