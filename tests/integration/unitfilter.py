#!/usr/bin/env python3
"""The system calls a systemd unit's SystemCallFilter= lines allow, one a line, the way systemd 252 reads
them: the first line is an allow list (a deny list first is not used by hsmca's units and is refused here), a
later line adds to it, a line starting with ~ takes its names away; @groups are expanded with this host's
`systemd-analyze syscall-filter`. With --errno, prints SystemCallErrorNumber= as a number instead (0: none,
systemd then kills the process). Used by lib.sh to run the daemons under tests/tools/sysfilter."""
import errno
import subprocess
import sys


def groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True,
                         check=True).stdout
    table, cur = {}, None
    for line in out.splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        if line.startswith("@"):
            cur = line.strip()
            table[cur] = []
        elif line.startswith("    ") and cur:
            table[cur].append(line.strip())
        else:
            sys.exit("unitfilter: unexpected line from systemd-analyze: %r" % line)
    return table


def expand(name, table, seen=()):
    if not name.startswith("@"):
        return {name}
    if name not in table or name in seen:
        sys.exit("unitfilter: unknown or recursive group %s" % name)
    names = set()
    for item in table[name]:
        names |= expand(item, table, seen + (name,))
    return names


def directives(path, key):
    values = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(key + "="):
                values.append(line[len(key) + 1:])
    return values


def main():
    args = sys.argv[1:]
    if args and args[0] == "--errno":
        if len(args) != 2:
            sys.exit("usage: unitfilter.py [--errno] UNIT")
        values = directives(args[1], "SystemCallErrorNumber")
        print(getattr(errno, values[-1]) if values else 0)
        return
    if len(args) != 1:
        sys.exit("usage: unitfilter.py [--errno] UNIT")
    lines = directives(args[0], "SystemCallFilter")
    if not lines:
        sys.exit("unitfilter: %s has no SystemCallFilter=" % args[0])
    if lines[0].startswith("~"):
        sys.exit("unitfilter: %s: a deny list first is not handled" % args[0])
    table = groups()
    allowed = set()
    for value in lines:
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item, table)
        allowed = allowed - names if deny else allowed | names
    for name in sorted(allowed):
        print(name)


main()
