#!/usr/bin/env python3
# memscan.py PID NEEDLE...: prints each needle found in the process's readable memory (anonymous and heap
# mappings, stacks; not the files mapped from disk), with the mapping it is in; exit 1 if any was found.
import re, sys
pid, needles = sys.argv[1], [n.encode() for n in sys.argv[2:]]
found = False
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)", line)
        start, end, perms, inode, name = int(m[1], 16), int(m[2], 16), m[3], int(m[4]), m[5]
        if perms[0] != "r" or inode != 0 or name in ("[vvar]", "[vsyscall]", "[vdso]"):
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except OSError:
            continue
        for n in needles:
            i = data.find(n)
            if i >= 0:
                found = True
                print(f"{n.decode()!r} at {start + i:#x} in {name or 'anonymous'} ({line.strip()})")
sys.exit(1 if found else 0)
