#!/usr/bin/env python3
# ptytype.py PROMPT LENGTH END PROGRAM ARGS...: runs PROGRAM at a terminal (a pty), waits up to 30 s for PROMPT
# in its output, types LENGTH bytes of "y" and then END ("enter": a line end, "eof": ctrl-D), prints what the
# program wrote and exits with its status; a program still running 60 s after the typing is killed (exit 99).
import os, pty, select, sys, time

prompt, n, end = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[4], sys.argv[4:])
out = b""


def pump(until, secs):
    global out
    stop = time.time() + secs
    while time.time() < stop and (until is None or until not in out):
        if select.select([fd], [], [], 0.2)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            out += data


pump(prompt, 30)
os.write(fd, b"y" * n + (b"\x04" if end == "eof" else b"\n"))
deadline = time.time() + 60
pump(None, 60)
done, st = os.waitpid(pid, os.WNOHANG)
while done == 0 and time.time() < deadline:
    time.sleep(0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace") + "\n(still waiting after 60 s: killed)\n")
    sys.exit(99)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(st))
