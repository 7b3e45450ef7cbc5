# SPDX-License-Identifier: MIT
"""Emulated commands, part 7: probes of the machine (stat, dd, tty, getconf, mount, top, ln, sshd...).

Honeypot-detection scripts and bots run these to tell a VM from a container or an emulator:
``tty`` in an exec channel, ``getconf LONG_BIT``, ``mount`` and ``top -bn1`` are compared with
what ``/proc`` says, so all figures come from the persona and :mod:`honeyfarm.sensor.shell.fs.procfs`.
Messages copy coreutils 9.1 / procps-ng 4.0.2 on Debian 12.
"""

from __future__ import annotations

import posixpath
import time
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, encode, mode_string, quote, split_opts
from honeyfarm.sensor.shell.commands.text2 import usage
from honeyfarm.sensor.shell.fs import procfs
from honeyfarm.sensor.shell.fs import tree as vfs_tree
from honeyfarm.sensor.shell.fs.vfs import FSError, Node, normpath

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell


def _stamp(t: float) -> str:
    frac = int((t % 1) * 1e9)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{frac:09d} +0000"


def _inode(path: str) -> int:
    return 2 if path == "/" else 131_072 + sum(map(ord, path)) * 131 % 900_000


@command("stat")
async def stat(sh: Shell, argv: list[str], io: IO) -> int:
    flags, values, files = split_opts(argv[1:], "c", long_value=("format", "printf"))
    fmt = values.get("c", values.get("format", values.get("printf")))
    if not files:
        return usage(io, "stat", "missing operand")
    status = 0
    for f in files:
        try:
            real, node = sh.fs.lookup(f, sh.cwd, follow="L" in flags or "dereference" in flags)
        except FSError as e:
            io.err(f"stat: cannot statx {quote(f)}: {e.strerror}\n")
            status = 1
            continue
        kind = {"d": "directory", "l": "symbolic link", "c": "character special file"}.get(node.kind, "regular file")
        if node.kind == "f" and node.st_size() == 0:
            kind = "regular empty file"
        size = node.st_size()
        blocks = 0 if node.kind in "lc" else -(-size // 4096) * 8
        mtime = node.mtime
        name = f"{quote(f)} -> {quote(node.target)}" if node.kind == "l" else f
        if fmt is not None:
            io.out(_format(fmt, sh, f, real, node, kind, size, blocks) + "\n")
            continue
        dev = "0,5" if node.kind == "c" else "259,1"
        links = 2 if node.kind == "d" else 1
        io.out(
            f"  File: {name}\n  Size: {size:<15} Blocks: {blocks:<10} IO Block: 4096   {kind}\n"
            f"Device: {dev}\tInode: {_inode(real):<11} Links: {links}\n"
            f"Access: ({node.mode & 0o7777:04o}/{mode_string(node)})  Uid: ({node.uid:>5}/{sh.user_name(node.uid):>8})"
            f"   Gid: ({node.gid:>5}/{sh.group_name(node.gid):>8})\n"
            f"Access: {_stamp(max(mtime, sh.persona.boot_time))}\nModify: {_stamp(mtime)}\nChange: {_stamp(mtime)}\n"
            f" Birth: {_stamp(mtime)}\n"
        )
    return status


def _format(fmt: str, sh: Shell, arg: str, real: str, node: Node, kind: str, size: int, blocks: int) -> str:
    vals = {
        "n": arg, "N": quote(arg) + (f" -> {quote(node.target)}" if node.kind == "l" else ""), "s": str(size),
        "a": f"{node.mode & 0o7777:o}", "A": mode_string(node), "u": str(node.uid), "U": sh.user_name(node.uid),
        "g": str(node.gid), "G": sh.group_name(node.gid), "F": kind, "i": str(_inode(real)), "h": "2" if node.kind ==
        "d" else "1", "b": str(blocks), "B": "512", "y": _stamp(node.mtime), "Y": str(int(node.mtime)),
        "x": _stamp(node.mtime), "X": str(int(node.mtime)), "z": _stamp(node.mtime), "Z": str(int(node.mtime)),
        "w": _stamp(node.mtime), "W": str(int(node.mtime)), "d": "66305", "D": "10301", "t": "0", "T": "0",
        "f": f"{(node.mode | {'d': 0o40000, 'l': 0o120000, 'c': 0o20000}.get(node.kind, 0o100000)):x}", "o": "4096",
        "%": "%",
    }  # fmt: skip
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            out.append(vals.get(fmt[i + 1], "?"))
            i += 2
        elif c == "\\" and i + 1 < len(fmt) and fmt[i + 1] in "nt":
            out.append("\n" if fmt[i + 1] == "n" else "\t")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _dd_number(s: str) -> int | None:
    mult = {"": 1, "c": 1, "w": 2, "b": 512, "k": 1024, "K": 1024, "M": 1 << 20, "G": 1 << 30, "kB": 1000,
            "MB": 1_000_000, "KB": 1024}  # fmt: skip
    digits = len(s) - len(s.lstrip("0123456789"))
    if not digits or s[digits:] not in mult:
        return None
    return int(s[:digits]) * mult[s[digits:]]


def _human_rate(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.1f} {unit}/s" if unit != "B" else f"{n:.0f} B/s"
        n /= 1000
    return f"{n:.1f} TB/s"


@command("dd")
async def dd(sh: Shell, argv: list[str], io: IO) -> int:
    opts: dict[str, str] = {}
    for a in argv[1:]:
        key, eq, val = a.partition("=")
        if not eq:
            io.err(f"dd: unrecognized operand {quote(a)}\nTry 'dd --help' for more information.\n")
            return 1
        opts[key] = val
    sizes: dict[str, int] = {}
    for key in ("bs", "ibs", "obs", "count", "skip", "seek"):
        if key in opts:
            n = _dd_number(opts[key])
            if n is None or (key.endswith("bs") and n == 0):
                io.err(f"dd: invalid number: ‘{opts[key]}’\n")
                return 1
            sizes[key] = n
    bs = sizes.get("bs", sizes.get("ibs", 512))
    try:
        data = encode(io.stdin) if "if" not in opts else vfs_tree.full_content(sh.fs, opts["if"], sh.cwd)
    except FSError as e:
        io.err(f"dd: failed to open {quote(opts['if'])}: {e.strerror}\n")
        return 1
    data = data[sizes.get("skip", 0) * bs :]
    if "count" in sizes:
        data = data[: sizes["count"] * bs]
    if "of" in opts:
        try:
            sh.fs.write(opts["of"], sh.cwd, data)
        except FSError as e:
            io.err(f"dd: failed to open {quote(opts['of'])}: {e.strerror}\n")
            return 1
    else:
        io.out(data.decode("utf-8", "surrogateescape"))
    full, part = divmod(len(data), bs)
    if opts.get("status") in ("none", "noxfer"):
        if opts["status"] == "noxfer":
            io.err(f"{full}+{1 if part else 0} records in\n{full}+{1 if part else 0} records out\n")
        return 0
    secs = 2.1e-05 + len(data) * 1.1e-10
    n = len(data)
    amount = f"{n} byte{'' if n == 1 else 's'}" if n < 1000 else f"{n} bytes ({n / 1000:.1f} kB, {n / 1024:.1f} KiB)"
    if n >= 1_000_000:
        amount = f"{n} bytes ({n / 1e6:.1f} MB, {n / (1 << 20):.1f} MiB)"
    records = f"{full}+{1 if part else 0}"
    io.err(f"{records} records in\n{records} records out\n{amount} copied, {secs:.5g} s, {_human_rate(n / secs)}\n")
    return 0


@command("tty")
async def tty(sh: Shell, argv: list[str], io: IO) -> int:
    silent = bool({"-s", "--silent", "--quiet"} & set(argv[1:]))
    frames = getattr(sh, "frames", None)
    at_terminal = bool(frames) and frames[0].interactive if frames else io.tty
    if at_terminal and not io.piped and not io.stdin:
        if not silent:
            io.out(f"/dev/{sh.tty}\n")
        return 0
    if not silent:
        io.out("not a tty\n")
    return 1


_GETCONF = {
    "LONG_BIT": "64", "WORD_BIT": "32", "CHAR_BIT": "8", "PAGESIZE": "4096", "PAGE_SIZE": "4096", "CLK_TCK": "100",
    "ARG_MAX": "2097152", "OPEN_MAX": "1024", "PATH_MAX": "4096", "NAME_MAX": "255", "PIPE_BUF": "4096",
    "LINE_MAX": "2048", "NGROUPS_MAX": "65536", "INT_MAX": "2147483647", "UINT_MAX": "4294967295",
    "SSIZE_MAX": "32767", "IOV_MAX": "1024", "HOST_NAME_MAX": "64", "LOGIN_NAME_MAX": "256",
    "_POSIX_VERSION": "200809", "POSIX_VERSION": "200809", "PATH": "/bin:/usr/bin", "CS_PATH": "/bin:/usr/bin",
    "GNU_LIBC_VERSION": "glibc 2.36", "GNU_LIBPTHREAD_VERSION": "NPTL 2.36", "LEVEL1_DCACHE_LINESIZE": "64",
    "RE_DUP_MAX": "32767", "LONG_MAX": "9223372036854775807",
}  # fmt: skip


@command("getconf")
async def getconf(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    p = sh.persona
    table = dict(_GETCONF, _NPROCESSORS_ONLN=str(p.cpu_count), _NPROCESSORS_CONF=str(p.cpu_count),
                 _PHYS_PAGES=str(p.mem_kb // 4), _AVPHYS_PAGES=str(p.mem_figures()["available"] // 4),
                 CHILD_MAX=str(p.mem_kb // 256))  # fmt: skip
    if args[:1] == ["-a"]:
        io.out("".join(f"{k:<35}{v}\n" for k, v in sorted(table.items())))
        return 0
    if not args or len(args) > 2:
        io.err("Usage: getconf [-v specification] variable_name [pathname]\n       getconf -a [pathname]\n")
        return 1
    if args[0] not in table:
        io.err(f"getconf: Unrecognized variable `{args[0]}'\n")
        return 1
    io.out(table[args[0]] + "\n")
    return 0


@command("mount")
async def mount(sh: Shell, argv: list[str], io: IO) -> int:
    _, values, rest = split_opts(argv[1:], "tonL", long_value=("types", "options"))
    if not rest:
        fstype = values.get("t", values.get("types"))
        rows = procfs.mounts(sh.persona, sh.account.uid)
        io.out("".join(f"{d} on {m} type {t} ({o})\n" for d, m, t, o in rows if fstype in (None, t)))
        return 0
    if sh.account.uid != 0:
        io.err("mount: only root can do that\n")
        return 1
    target = rest[-1]
    if not sh.fs.exists(target, sh.cwd):
        io.err(f"mount: {normpath(target, sh.cwd)}: mount point does not exist.\n       dmesg(1) may have more "
               "information after failed mount system call.\n")  # fmt: skip
        return 32
    io.err(f"mount: {normpath(target, sh.cwd)}: special device {rest[0]} does not exist.\n       dmesg(1) may have "
           "more information after failed mount system call.\n")  # fmt: skip
    return 32


@command("umount")
async def umount(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, rest = split_opts(argv[1:])
    if not rest:
        io.err("Usage:\n umount [-hV]\n umount -a [options]\n umount [options] <source> | <directory>\n\n"
               "Unmount filesystems.\n\nOptions:\n")  # fmt: skip
        return 1
    if sh.account.uid != 0:
        io.err(f"umount: {rest[0]}: must be superuser to unmount.\n")
        return 32
    mounted = {m for _d, m, _t, _o in procfs.mounts(sh.persona, 0)}
    if normpath(rest[0], sh.cwd) in mounted:
        io.err(f"umount: {normpath(rest[0], sh.cwd)}: target is busy.\n")
    else:
        io.err(f"umount: {rest[0]}: not mounted.\n")
    return 32


@command("ln")
async def ln(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, args = split_opts(argv[1:], "tS")
    symbolic, force = bool(flags & {"s", "symbolic"}), bool(flags & {"f", "force"})
    if not args:
        return usage(io, "ln", "missing file operand")
    target = args[0]
    link = args[1] if len(args) > 1 else posixpath.basename(target.rstrip("/")) or target
    if sh.fs.is_dir(link, sh.cwd) and not (flags & {"n", "T"}):
        link = posixpath.join(link, posixpath.basename(target.rstrip("/")))
    if not symbolic:
        try:
            sh.fs.lookup(target, sh.cwd)
        except FSError as e:
            io.err(f"ln: failed to access {quote(target)}: {e.strerror}\n")
            return 1
    try:
        exists = True
        sh.fs.lookup(link, sh.cwd, follow=False)
    except FSError:
        exists = False
    verb = "create symbolic link" if symbolic else "create hard link"
    if exists and not force:
        io.err(f"ln: failed to {verb} {quote(link)}: File exists\n")
        return 1
    try:
        if exists:
            sh.fs.remove(link, sh.cwd)
        if symbolic:
            make_symlink(sh, target, link)
        else:
            sh.fs.copy(target, link, sh.cwd)
    except FSError as e:
        io.err(f"ln: failed to {verb} {quote(link)}: {e.strerror}\n")
        return 1
    return 0


def make_symlink(sh: Shell, target: str, link: str) -> None:
    """A symlink in the session overlay (through the filesystem's own method when it has one)."""
    fs = sh.fs
    method = getattr(fs, "symlink", None)
    if method is not None:
        method(target, link, sh.cwd)
        return
    real = fs.resolve(link, sh.cwd, follow=False)
    fs._writable_parent(real)
    fs._set(real, Node("l", 0o777, sh.account.uid, sh.account.gid, sh.persona.now(), target=target))


@command("basename", "dirname")
async def basename(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    args = [a for a in argv[1:] if a not in ("-a", "--multiple", "-z")]
    if not args:
        return usage(io, prog, "missing operand")
    if prog == "dirname":
        io.out("".join((posixpath.dirname(a.rstrip("/")) or ("/" if a.startswith("/") else ".")) + "\n" for a in args))
        return 0
    multiple = "-a" in argv or len(args) == 1
    names = args if multiple else args[:1]
    suffix = "" if multiple else args[1]
    outs = []
    for a in names:
        b = posixpath.basename(a.rstrip("/")) or ("/" if a.startswith("/") else "")
        if suffix and b.endswith(suffix) and b != suffix:
            b = b[: -len(suffix)]
        outs.append(b + "\n")
    io.out("".join(outs))
    return 0


@command("readlink", "realpath")
async def readlink(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    flags, _, args = split_opts(argv[1:])
    if not args:
        return usage(io, prog, "missing operand")
    status = 0
    for a in args:
        try:
            if prog == "realpath" or flags & {"f", "e", "m", "canonicalize"}:
                io.out(sh.fs.resolve(a, sh.cwd) + "\n")
                if prog == "realpath" and not sh.fs.exists(a, sh.cwd):
                    raise FSError("No such file or directory")
            else:
                real, node = sh.fs.lookup(a, sh.cwd, follow=False)
                if node.kind != "l":
                    status = 1
                    continue
                me = f"/proc/{procfs.self_pid(sh.persona)}/exe"
                io.out((f"/usr/bin/{prog}" if real == me else node.target) + "\n")
        except FSError as e:
            if prog == "realpath":
                io.chunks[:] = [c for c in io.chunks if not c[1].endswith(f"{normpath(a, sh.cwd)}\n")]
                io.err(f"realpath: {a}: {e.strerror}\n")
            status = 1
    return status


@command("sshd")
async def sshd(sh: Shell, argv: list[str], io: IO) -> int:
    if not argv[0].startswith("/"):
        io.err("sshd re-exec requires execution with an absolute path\n")
        return 1
    if sh.account.uid != 0:
        for key in ("rsa", "ecdsa", "ed25519"):
            io.err(f"Could not load host key: /etc/ssh/ssh_host_{key}_key\n")
        io.err("sshd: no hostkeys available -- exiting.\n")
        return 1
    port = "22"
    for i, a in enumerate(argv[1:], 1):
        if a.lower().startswith("-oport=") or a.lower().startswith("-o port="):
            port = a.split("=", 1)[1]
        elif a == "-p" and i + 1 < len(argv):
            port = argv[i + 1]
        elif a.startswith("-p") and len(a) > 2:
            port = a[2:]
    if port != "22":
        return 0  # binds the new port and goes to the background, silently
    io.err("Bind to port 22 on 0.0.0.0 failed: Address already in use.\nBind to port 22 on :: failed: Address "
           "already in use.\nCannot bind any address.\n")  # fmt: skip
    return 255


@command("arch")
async def arch(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(sh.persona.arch + "\n")
    return 0
