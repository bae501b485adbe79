"""Shared by the integration tests' inline Python (lib.sh puts this directory on PYTHONPATH)."""
import socket
import ssl

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
