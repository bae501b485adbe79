#!/usr/bin/env python3
# memscan.py PID NEEDLE...: prints each needle found in the process's readable memory (anonymous and heap
# mappings, stacks; not the files mapped from disk), with the mapping it is in; exit 1 if any was found, 2 if
# no memory could be read at all (a scan that read nothing proves nothing).
# Read in chunks (overlapping by the longest needle); mappings over 4 GiB are skipped: under ASan they are its
# shadow and allocator reserves (terabytes, mostly unbacked), not the heap the process frees into.
import re, sys
pid, needles = sys.argv[1], [n.encode() for n in sys.argv[2:]]
CHUNK, HUGE = 8 << 20, 4 << 30
overlap = max(len(n) for n in needles) if needles else 0
found = False
scanned = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)", line)
        start, end, perms, inode, name = int(m[1], 16), int(m[2], 16), m[3], int(m[4]), m[5]
        if perms[0] != "r" or inode != 0 or name in ("[vvar]", "[vsyscall]", "[vdso]") or end - start > HUGE:
            continue
        pos, tail = start, b""
        while pos < end:
            try:
                mem.seek(pos)
                data = tail + mem.read(min(CHUNK, end - pos))
            except (OSError, ValueError, OverflowError, MemoryError):
                break
            scanned += len(data) - len(tail)
            for n in needles:
                i = data.find(n)
                if i >= 0:
                    found = True
                    print(f"{n.decode()!r} at {pos - len(tail) + i:#x} in {name or 'anonymous'} ({line.strip()})")
            tail = data[-overlap:] if overlap else b""
            pos += CHUNK
if scanned == 0:
    print(f"cannot scan process {pid}: no memory could be read")
    sys.exit(2)
sys.exit(1 if found else 0)
