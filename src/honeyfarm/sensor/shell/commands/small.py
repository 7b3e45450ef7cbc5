# SPDX-License-Identifier: MIT
"""Emulated commands, part 9: the small programs bots call in passing (find, xargs, chown, du,
mktemp, tac, rev, nl, pgrep/pkill, useradd, lsblk, lsb_release...).

Each does the real thing on the session's virtual filesystem or the persona's process list, or
fails with the real message; none of them copies its input to its output as a placeholder.
Loops (find, xargs) are bounded by explicit caps and the per-line budget.
"""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import secrets
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, quote, read_inputs, split_opts
from honeyfarm.sensor.shell.commands.helptexts import answer_help
from honeyfarm.sensor.shell.commands.text2 import usage
from honeyfarm.sensor.shell.fs import vfs
from honeyfarm.sensor.shell.fs.vfs import FSError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAX_FIND = 5000
MAX_XARGS = 64


@command("chown", "chgrp")
async def chown(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    _, _, args = split_opts(argv[1:])
    if len(args) < 2:
        what = "missing operand" if not args else f"missing operand after {quote(args[0])}"
        return usage(io, prog, what)
    status = 0
    for f in args[1:]:
        try:
            sh.fs.lookup(f, sh.cwd)
        except FSError as e:
            io.err(f"{prog}: cannot access {quote(f)}: {e.strerror}\n")
            status = 1
            continue
        if sh.account.uid != 0:
            verb = "ownership" if prog == "chown" else "group"
            io.err(f"{prog}: changing {verb} of {quote(f)}: Operation not permitted\n")
            status = 1
    return status


@command("find")
async def find(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    roots = []
    while args and not args[0].startswith("-") and args[0] not in ("(", "!"):
        roots.append(args.pop(0))
    name = iname = kind = None
    maxdepth = 64
    i = 0
    while i < len(args):
        a = args[i]
        val = args[i + 1] if i + 1 < len(args) else None
        if (
            a in ("-name", "-iname", "-type", "-maxdepth", "-perm", "-user", "-size", "-mtime", "-newer")
            and val is None
        ):
            io.err(f"find: missing argument to `{a}'\n")
            return 1
        if a == "-name":
            name = val
        elif a == "-iname":
            iname = val
        elif a == "-type":
            kind = val
        elif a == "-maxdepth" and val is not None:
            maxdepth = int(val) if val.isdigit() else 64
        elif a in ("-exec", "-execdir", "-ok"):
            while i < len(args) and args[i] not in (";", "+"):
                i += 1
        if a in ("-name", "-iname", "-type", "-maxdepth", "-perm", "-user", "-size", "-mtime", "-newer", "-path"):
            i += 1
        i += 1
    out: list[str] = []
    status = 0
    for root in roots or ["."]:
        if not _exists(sh, root):
            io.err(f"find: {quote(root)}: No such file or directory\n")
            status = 1
            continue
        stack = [(root, 0)]
        while stack and len(out) < MAX_FIND:
            path, depth = stack.pop()
            try:
                _, node = sh.fs.lookup(path, sh.cwd, follow=depth == 0)
            except FSError:
                continue
            base = posixpath.basename(path.rstrip("/")) or path
            ok = (name is None or vfs.wildcard_match(name, base)) and (
                iname is None or vfs.wildcard_match(iname.lower(), base.lower())
            )
            if kind is not None:
                ok = ok and {"d": "d", "f": "f", "l": "l", "c": "c"}.get(kind) == node.kind
            if ok:
                out.append(path + "\n")
            if node.kind == "d" and depth < maxdepth:
                try:
                    children = sh.fs.listdir(path, sh.cwd)
                except FSError as e:
                    io.err(f"find: {quote(path)}: {e.strerror}\n")
                    status = 1
                    continue
                for c in reversed(children):
                    stack.append((path.rstrip("/") + "/" + c if path != "/" else "/" + c, depth + 1))
    io.out("".join(out))
    return status


def _exists(sh: Shell, path: str) -> bool:
    try:
        sh.fs.lookup(path, sh.cwd, follow=False)
    except FSError:
        return False
    return True


@command("xargs")
async def xargs(sh: Shell, argv: list[str], io: IO) -> int:
    _flags, values, cmd = split_opts(argv[1:], "nIiLPsd")
    items = io.stdin.split("\n" if "d" in values or "I" in values else None)
    items = [x for x in items if x]
    cmd = cmd or ["echo"]
    per = int(values["n"]) if values.get("n", "").isdigit() and int(values["n"]) > 0 else len(items) or 1
    status = 0
    batches = [items[k : k + per] for k in range(0, len(items), per)] or ([[]] if cmd == ["echo"] else [])
    for batch in batches[:MAX_XARGS]:
        full = cmd + batch
        if "I" in values:
            full = [part.replace(values["I"], batch[0] if batch else "") for part in cmd]
        inner = type(io)("", io.budget, tty=False)
        rc = await sh.exec_argv(full, inner, " ".join(full))
        io.chunks.extend(inner.chunks)
        if rc:
            status = 123 if rc < 126 else rc
    return status


@command("mktemp")
async def mktemp(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, rest = split_opts(argv[1:], "p")
    template = rest[0] if rest else "tmp.XXXXXXXXXX"
    stem = template.rstrip("X")
    if len(template) - len(stem) < 3:
        io.err(f"mktemp: too few X's in template {quote(template)}\n")
        return 1
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    name = stem + "".join(secrets.choice(alphabet) for _ in range(len(template) - len(stem)))
    if not rest or "t" in flags or "p" in values:
        name = posixpath.join(values.get("p", sh.env.get("TMPDIR", "/tmp")), name)
    try:
        if "d" in flags:
            sh.fs.mkdir(name, sh.cwd)
        else:
            sh.fs.write(name, sh.cwd, b"")
    except FSError as e:
        io.err(f"mktemp: failed to create {'directory' if 'd' in flags else 'file'} via template "
               f"{quote(template)}: {e.strerror}\n")  # fmt: skip
        return 1
    io.out(name + "\n")
    return 0


@command("tac", "rev", "nl")
async def tac(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    _, _, files = split_opts(argv[1:], "bsvw")
    inputs, status = read_inputs(sh, prog, files, io)
    text = "".join(t for _, t in inputs)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if prog == "tac":
        io.out("".join(line + "\n" for line in reversed(lines)))
    elif prog == "rev":
        io.out("".join(line[::-1] + "\n" for line in lines))
    else:
        n = 0
        out = []
        for line in lines:
            if line:
                n += 1
                out.append(f"{n:>6}\t{line}\n")
            else:
                out.append("       \n")
        io.out("".join(out))
    return status


@command("sync")
async def sync(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@command("pgrep", "pkill", "killall", "pidof")
async def pgrep(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    flags, _, rest = split_opts(argv[1:], "uUgGPstn")
    if not rest:
        if prog == "pidof":
            return 1
        return usage(io, prog, "no matching criteria specified") + 1 if prog != "killall" else 1
    procs = sh.persona.processes(sh.account, sh.tty, prog + " " + " ".join(rest), sh.new_pid())
    want = rest[0]
    hits = []
    for p in procs:
        name = p.cmd.split()[0].rsplit("/", 1)[-1].lstrip("-").strip("[]") if p.cmd else ""
        target = p.cmd if "f" in flags else name
        matched = want == name if prog in ("killall", "pidof") else want in target
        if matched and not p.cmd.startswith(prog):
            hits.append(p)
    if prog == "pgrep":
        io.out("".join(f"{p.pid}{' ' + p.cmd if 'a' in flags else ''}\n" for p in hits))
    elif prog == "pidof":
        io.out(" ".join(str(p.pid) for p in reversed(hits)) + ("\n" if hits else ""))
    elif hits and sh.account.uid != 0 and any(p.user != sh.account.name for p in hits):
        io.err(f"{prog}({hits[0].pid}): Operation not permitted\n" if prog == "killall" else
               f"pkill: killing pid {hits[0].pid} failed: Operation not permitted\n")  # fmt: skip
        return 1
    elif not hits and prog == "killall":
        io.err(f"{want}: no process found\n")
    return 0 if hits else 1


@command("useradd", "userdel", "usermod", "groupadd", "groupdel", "adduser", "deluser", "visudo", "modprobe")
async def admin(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    if sh.account.uid != 0:
        if prog in ("adduser", "deluser"):
            io.err(f"{prog}: Only root may add a user or group to the system.\n")
        else:
            io.err(f"{prog}: Permission denied.\n{prog}: cannot lock /etc/passwd; try again later.\n")
        return 1
    return 0


@command("lsblk")
async def lsblk(sh: Shell, argv: list[str], io: IO) -> int:
    io.out("NAME         MAJ:MIN RM  SIZE RO TYPE MOUNTPOINTS\nnvme0n1      259:0    0    8G  0 disk \n"
           "├─nvme0n1p1  259:1    0  7.9G  0 part /\n├─nvme0n1p14 259:2    0    3M  0 part \n"
           "└─nvme0n1p15 259:3    0  124M  0 part /boot/efi\n")  # fmt: skip
    return 0


@command("lsb_release")
async def lsb_release(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:])
    rows = [("i", "Distributor ID", "Debian"), ("d", "Description", "Debian GNU/Linux 12 (bookworm)"),
            ("r", "Release", "12"), ("c", "Codename", "bookworm")]  # fmt: skip
    chosen = [r for r in rows if r[0] in flags or "a" in flags or "all" in flags]
    if not chosen:
        io.err("No LSB modules are available.\n")
        return 0
    if "a" in flags or "all" in flags:
        io.err("No LSB modules are available.\n")
    io.out("".join(r[2] + "\n" if "s" in flags else f"{r[1] + ':':<16}{r[2]}\n" for r in chosen))
    return 0


@command("hostnamectl")
async def hostnamectl(sh: Shell, argv: list[str], io: IO) -> int:
    p = sh.persona
    io.out(f" Static hostname: {p.hostname}\n       Icon name: computer-vm\n         Chassis: vm 🖴\n"
           f"      Machine ID: {p.machine_id}\n         Boot ID: {p.machine_id[::-1]}\n  Virtualization: amazon\n"
           "Operating System: Debian GNU/Linux 12 (bookworm)\n          Kernel: Linux "
           f"{p.kernel_release}\n    Architecture: x86-64\n Hardware Vendor: Amazon EC2\n  Hardware Model: t3.micro\n"
           "Firmware Version: 1.0\n")  # fmt: skip
    return 0


@command("sysctl")
async def sysctl(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, rest = split_opts(argv[1:])
    p = sh.persona
    known = {"kernel.hostname": p.hostname, "kernel.ostype": "Linux", "kernel.osrelease": p.kernel_release,
             "kernel.pid_max": "4194304", "vm.overcommit_memory": "0", "net.ipv4.ip_forward": "0",
             "vm.swappiness": "60", "fs.file-max": "9223372036854775807", "kernel.randomize_va_space": "2"}  # fmt: skip
    if not rest:
        io.err("\nUsage:\n sysctl [options] [variable[=value] ...]\n")
        return 1
    status = 0
    for key in rest:
        name, eq, value = key.partition("=")
        if name not in known:
            io.err(f"sysctl: cannot stat /proc/sys/{name.replace('.', '/')}: No such file or directory\n")
            status = 255
        elif eq:
            if sh.account.uid != 0:
                io.err(f'sysctl: permission denied on key "{name}"\n')
                status = 255
            else:
                io.out(f"{name} = {value}\n")
        else:
            io.out(f"{name} = {known[name]}\n")
    return status


def _ms(t: float) -> str:
    return f"{t:.0f}" if t >= 100 else f"{t:.1f}" if t >= 10 else f"{t:.2f}" if t >= 1 else f"{t:.3f}"


@command("ping")
async def ping(sh: Shell, argv: list[str], io: IO) -> int:
    """iputils-ping 20221126: a few replies at once (no real packet is sent), private targets silent."""
    _, values, rest = split_opts(argv[1:], "cisWwItQlpM")
    if not rest:
        io.err("ping: usage error: Destination address required\n")
        return 1
    host = rest[-1]
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host or host.endswith((".invalid", ".local", ".localdomain")):
            io.err(f"ping: {host}: Name or service not known\n")
            return 2
        digest = hashlib.sha256(host.encode()).digest()
        addr = ipaddress.ip_address(f"{digest[0] % 180 + 23}.{digest[1]}.{digest[2]}.{digest[3] % 250 + 2}")
    count = int(values["c"]) if values.get("c", "").isdigit() else 4
    count = max(1, min(count, 10))
    answers = addr.is_global or addr.is_loopback
    base = 0.04 if addr.is_loopback else 1.1 + int(addr) % 37 / 10
    ttl = 64 if addr.is_loopback else 117 - int(addr) % 9
    times = [base + (k * 7919 % 13) / 100 for k in range(count)]
    out = [f"PING {host} ({addr}) 56(84) bytes of data.\n"]
    if answers:
        out += [f"64 bytes from {addr}: icmp_seq={k + 1} ttl={ttl} time={_ms(t)} ms\n" for k, t in enumerate(times)]
    out.append(f"\n--- {host} ping statistics ---\n")
    span = (count - 1) * 1001 + 3
    if answers:
        avg = sum(times) / count
        mdev = (sum((t - avg) ** 2 for t in times) / count) ** 0.5
        out.append(f"{count} packets transmitted, {count} received, 0% packet loss, time {span}ms\n"
                   f"rtt min/avg/max/mdev = {min(times):.3f}/{avg:.3f}/{max(times):.3f}/{mdev:.3f} ms\n")  # fmt: skip
    else:
        out.append(f"{count} packets transmitted, 0 received, 100% packet loss, time {span + 40}ms\n\n")
    io.out("".join(out))
    return 0 if answers else 1


@command("getent")
async def getent(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, rest = split_opts(argv[1:], "s")
    if not rest:
        io.err("Try `getent --help' or `getent --usage' for more information.\ngetent: wrong number of arguments\n")
        return 1
    db, keys = rest[0], rest[1:]
    files = {"passwd": "/etc/passwd", "group": "/etc/group", "shadow": "/etc/shadow", "gshadow": "/etc/gshadow"}
    if db in ("hosts", "ahosts"):
        table = {
            "localhost": "127.0.0.1       localhost",
            sh.persona.hostname: f"127.0.1.1       {sh.persona.hostname}",
        }
        if not keys:
            io.out("127.0.0.1       localhost\n" + f"127.0.1.1       {sh.persona.hostname} "
                   f"{sh.persona.hostname.split('.')[0]}\n")  # fmt: skip
            return 0
        hits = [table[k] + "\n" for k in keys if k in table]
        io.out("".join(hits))
        return 0 if len(hits) == len(keys) else 2
    if db not in files:
        io.err(f"Unknown database: {db}\nTry `getent --help' or `getent --usage' for more information.\n")
        return 1
    try:
        lines = sh.fs.read(files[db], sh.cwd).decode("utf-8", "replace").splitlines()
    except FSError:
        return 2
    if not keys:
        io.out("".join(line + "\n" for line in lines))
        return 0
    found = [line for k in keys for line in lines if line.split(":")[0] == k or line.split(":")[2:3] == [k]]
    io.out("".join(line + "\n" for line in found[: len(keys)]))
    return 0 if found else 2


@command("ssh")
async def ssh(sh: Shell, argv: list[str], io: IO) -> int:
    """OpenSSH's client: ``-V``, and no connection ever leaves the sensor."""
    if "-V" in argv[1:]:
        io.err("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026\n")
        return 0
    _, values, rest = split_opts(argv[1:], "bcDEeFIiJLlmOopQRSWw")
    if not rest:
        status = answer_help("ssh", "", io)
        return 255 if status is None else status
    target = rest[0].rsplit("@", 1)[-1]
    port = values.get("p", "22")
    io.err(f"ssh: connect to host {target} port {port}: Connection refused\n")
    return 255
