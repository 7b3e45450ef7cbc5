# SPDX-License-Identifier: MIT
"""Emulated commands, part 8: ``top``, ``--help``/``--version`` from the real tools, and a last
resort for installed programs that have no emulation of their own.

``cat --help`` printing nothing, or ``cut -d: -f1`` echoing its input, told bots they were in a
honeypot. The help and version texts in ``data/coreutils_help.json.gz`` were captured from the
real programs on Debian 12 (``LC_ALL=C``), so they match byte for byte. This module is imported
last: it wraps the registered commands, and every program of the fake /usr/bin that still lacks
an emulation answers with its real usage error instead of copying stdin to stdout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands import builtins as commands_shell
from honeyfarm.sensor.shell.commands.base import COMMANDS, IO, CommandFn, command, split_opts
from honeyfarm.sensor.shell.commands.helptexts import answer_help, help_texts
from honeyfarm.sensor.shell.fs import procfs
from honeyfarm.sensor.shell.fs import tree as vfs_tree

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

_NOT_WRAPPED = {"echo", "printf", "true", "false", "test", "[", "kill", "pwd", "bash", "sh", "dash", "rbash"}


def _wrap(name: str, fn: CommandFn) -> CommandFn:
    async def wrapped(sh: Shell, argv: list[str], io: IO) -> int:
        if len(argv) > 1 and argv[1] in ("--help", "--version"):
            status = answer_help(name, argv[1], io)
            if status is not None:
                return status
        return await fn(sh, argv, io)

    wrapped.__doc__ = fn.__doc__
    return wrapped


async def _missing_operand(sh: Shell, argv: list[str], io: IO) -> int:
    """A program without an emulation: its answer to no/unknown input, never its stdin echoed."""
    prog = argv[0].rsplit("/", 1)[-1]
    if len(argv) > 1 and argv[1] in ("--help", "--version"):
        status = answer_help(prog, argv[1], io)
        if status is not None:
            return status
    if sh.account.uid != 0 and prog in vfs_tree.USR_SBIN:
        io.err(f"{prog}: Permission denied\n")
        return 1
    if len(argv) == 1:
        status = answer_help(prog, "", io)
        return 0 if status is None else status
    files = [a for a in argv[1:] if not a.startswith("-")]
    missing = [f for f in files if not sh.fs.exists(f, sh.cwd)]
    if files and len(missing) == len(files):
        io.err(f"{prog}: {missing[0]}: No such file or directory\n")
        return 1
    return 0


def _track(fn: CommandFn) -> CommandFn:
    """Run ``fn`` as the process /proc/self describes (``cat /proc/self/comm`` says ``cat``)."""

    async def tracked(sh: Shell, argv: list[str], io: IO) -> int:
        token = procfs.CURRENT.set(tuple(argv[:64]))
        try:
            return await fn(sh, argv, io)
        finally:
            procfs.CURRENT.reset(token)

    tracked.__doc__ = fn.__doc__
    return tracked


def install() -> None:
    """Wrap every registered program with the help texts and /proc/self tracking, and cover the
    programs of the fake /usr/bin that have no emulation (symlinks resolve to their target)."""
    links = {p.rsplit("/", 1)[-1] for p in vfs_tree.SYMLINKS}
    for name in (*vfs_tree.USR_BIN, *vfs_tree.USR_SBIN):
        if name not in links:
            COMMANDS.setdefault(name, _missing_operand)
    for name, fn in list(COMMANDS.items()):
        if name in commands_shell.BUILTINS or name in _NOT_WRAPPED:
            continue
        if name in help_texts():
            fn = _wrap(name, fn)
        COMMANDS[name] = _track(fn)


@command("top")
async def top(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, _ = split_opts(argv[1:], "dnpuUw")
    p = sh.persona
    if "b" not in flags and not io.tty:
        io.err("top: failed tty get\n")
        return 1
    procs = p.processes(sh.account, sh.tty, "top", sh.new_pid())
    m = p.mem_figures()
    mib = 1024.0
    running = sum(1 for x in procs if x.stat.startswith("R"))
    out = [
        "top -" + p.uptime_line(),
        f"Tasks: {len(procs):>3} total, {running:>3} running, {len(procs) - running:>3} sleeping,   0 stopped,   "
        "0 zombie\n",
        "%Cpu(s):  0.0 us,  3.1 sy,  0.0 ni, 96.9 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st \n",
        f"MiB Mem : {m['total'] / mib:8.1f} total, {m['free'] / mib:8.1f} free, {m['used'] / mib:8.1f} used, "
        f"{(m['buffers'] + m['cached']) / mib:8.1f} buff/cache     \n",
        f"MiB Swap: {0.0:8.1f} total, {0.0:8.1f} free, {0.0:8.1f} used. {m['available'] / mib:8.1f} avail Mem \n",
        "\n",
        "    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n",
    ]
    rows = sorted(procs, key=lambda x: (not x.stat.startswith("R"), x.pid))
    for x in rows:
        name = x.cmd.split()[0].rsplit("/", 1)[-1].lstrip("-").strip("[]") if x.cmd else ""
        if x.cmd.startswith("sshd:"):
            name = "sshd"
        if x.cmd.startswith("["):
            name = x.cmd.strip("[]")
        if len(name) > 8:
            name = name[:7] + "+"
        user = x.user if len(x.user) <= 8 else x.user[:7] + "+"
        shr = x.rss * 6 // 10
        cpu = 6.2 if x.stat.startswith("R") else 0.0
        t = f"{x.cpu_seconds // 60}:{x.cpu_seconds % 60:02d}.{x.pid * 7 % 100:02d}"
        pr, ni = ("rt", "0") if name.startswith("migration") else ("0", "-20") if "<" in x.stat else ("20", "0")
        out.append(
            f"{x.pid:>7} {user:<8}  {pr:>2} {ni:>3} {x.vsz:>7} {x.rss:>6} {shr:>6} {x.stat[0]} {cpu:>5.1f} "
            f"{100.0 * x.rss / p.mem_kb:>5.1f} {t:>9} {name}\n"
        )
    io.out("".join(out))  # one frame, even without -n 1: the line's budget would cut a refresh loop anyway
    return 0
