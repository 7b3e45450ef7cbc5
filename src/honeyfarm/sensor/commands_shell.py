# SPDX-License-Identifier: MIT
"""Emulated commands, part 3: bash builtins and the commands that run other commands.

``sh -c``, ``bash script``, ``eval``, ``sudo``, ``busybox APPLET``, ``nohup`` and friends all call
back into :meth:`Shell.exec_argv` / :meth:`Shell.run_source`, so they obey the same per-line
budget and nesting limit as the line itself. Nothing here runs anything on the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
from typing import TYPE_CHECKING

from honeyfarm.sensor.commands import COMMANDS, IO, command, decode, encode, quote, split_opts
from honeyfarm.sensor.vfs import FSError, normpath

if TYPE_CHECKING:
    from honeyfarm.sensor.shell import Shell

BUILTINS = {
    "cd", "pwd", "echo", "printf", "export", "unset", "set", "exit", "logout", "history", "type", "ulimit", "kill",
    "true", "false", ":", "test", "[", "source", ".", "eval", "exec", "alias", "unalias", "umask", "wait", "jobs",
    "hash", "command", "read", "declare", "local", "shopt", "enable", "builtin", "trap", "disown", "bg", "fg",
}  # fmt: skip
ALIASES = {"ls": "ls --color=auto", "grep": "grep --color=auto"}  # from /etc/skel/.bashrc (not root's)
_APPLET_NAMES = (
    "[ [[ addgroup adduser ar arch ash awk base64 basename bunzip2 bzcat bzip2 cal cat chgrp chmod chown chroot "
    "chvt clear cmp cp cpio crontab cut date dc dd deallocvt delgroup deluser df diff dirname dmesg dnsdomainname "
    "du dumpkmap echo ed egrep env expand expr false fgrep find fold free ftpget ftpput getopt grep groups gunzip "
    "gzip halt head hexdump hostid hostname httpd id ifconfig init ip ipcalc kill killall last less link ln "
    "loadkmap logger login logname ls lsmod lzcat lzma md5sum mkdir mkfifo mknod mktemp modinfo modprobe more mount "
    "mv nc netstat nl nproc nslookup od passwd paste patch pidof ping ping6 pivot_root poweroff printf ps pwd "
    "readlink realpath reboot renice reset rev rm rmdir rmmod route rpm2cpio run-parts sed seq setsid sh sha1sum "
    "sha256sum sha512sum sleep sort split start-stop-daemon stat strings stty su sum swapoff swapon switch_root "
    "sync sysctl tac tail tar tee telnet test tftp time timeout top touch tr traceroute true truncate tty umount "
    "uname uncompress uniq unlink unxz unzip uptime usleep uudecode uuencode vi watch wc wget which who whoami "
    "xargs xxd xz xzcat yes zcat"
)
BUSYBOX_APPLETS = frozenset(_APPLET_NAMES.split())
BUSYBOX_HELP = """BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.
BusyBox is copyrighted by many authors between 1998-2015.
Licensed under GPLv2. See source distribution for detailed
copyright notices.

Usage: busybox [function [arguments]...]
   or: busybox --list[-full]
   or: busybox --show SCRIPT
   or: busybox --install [-s] [DIR]
   or: function [arguments]...

\tBusyBox is a multi-call binary that combines many common Unix
\tutilities into a single executable.  Most people will create a
\tlink to busybox for each function they wish to use and BusyBox
\twill act like whatever it was invoked as.

Currently defined functions:
"""


async def generic(sh: Shell, argv: list[str], io: IO) -> int:
    """An installed program the shell does not emulate: behaves like a quiet filter."""
    io.out(io.stdin)
    return 0


@command("true", ":", "alias", "unalias", "wait", "jobs", "hash", "shopt", "trap", "disown", "declare", "local")
async def true(sh: Shell, argv: list[str], io: IO) -> int:
    return 0


@command("false")
async def false(sh: Shell, argv: list[str], io: IO) -> int:
    return 1


@command("cd")
async def cd(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if a not in ("-L", "-P", "--")]
    if len(args) > 1:
        io.err("bash: cd: too many arguments\n")
        return 1
    target = args[0] if args else sh.env.get("HOME", "/")
    if target == "-":
        target = sh.env.get("OLDPWD", "")
        if not target:
            io.err("bash: cd: OLDPWD not set\n")
            return 1
        io.out(target + "\n")
    try:
        real, node = sh.fs.lookup(target, sh.cwd)
        if node.kind != "d":
            raise FSError("Not a directory")
        sh.fs.listdir(real)
    except FSError as e:
        io.err(f"bash: cd: {target}: {e.strerror}\n")
        return 1
    sh.set_var("OLDPWD", sh.cwd)
    sh.cwd = normpath(target, sh.cwd)  # bash keeps the logical path (cd /bin; pwd -> /bin)
    sh.set_var("PWD", sh.cwd)
    return 0


@command("pwd")
async def pwd(sh: Shell, argv: list[str], io: IO) -> int:
    io.out(sh.cwd + "\n")
    return 0


@command("exit", "logout")
async def exit_(sh: Shell, argv: list[str], io: IO) -> int:
    if sh.depth == 0:
        io.out("logout\n")
    sh.request_exit()
    return int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].isdigit() else sh.last_status


@command("export", "set", "env", "printenv")
async def export(sh: Shell, argv: list[str], io: IO) -> int:
    prog, args = argv[0], argv[1:]
    if prog == "set" and args:
        return 0  # set -e, set +o history...
    if prog in ("env", "printenv"):
        while args and (args[0].startswith("-") or "=" in args[0]):
            if "=" in args[0] and not args[0].startswith("-"):
                name, _, value = args[0].partition("=")
                sh.set_var(name, value)
            args = args[1:]
        if args and prog == "env":
            return await sh.exec_argv(args, io, " ".join(args))
        if args:
            io.out("".join(sh.env[a] + "\n" for a in args if a in sh.env))
            return 0 if all(a in sh.env for a in args) else 1
        io.out("".join(f"{k}={v}\n" for k, v in sh.env.items()))
        return 0
    if not args or args == ["-p"]:
        if prog == "set":
            io.out("".join(f"{k}={quote(v) if ' ' in v else v}\n" for k, v in sorted(sh.env.items())))
        else:
            io.out("".join(f'declare -x {k}="{v}"\n' for k, v in sorted(sh.env.items())))
        return 0
    status = 0
    for a in args:
        name, eq, value = a.partition("=")
        if not name.replace("_", "a").isalnum() or name[:1].isdigit():
            io.err(f"bash: export: `{a}': not a valid identifier\n")
            status = 1
        elif eq:
            sh.set_var(name, value)
    return status


@command("unset")
async def unset(sh: Shell, argv: list[str], io: IO) -> int:
    for a in argv[1:]:
        sh.env.pop(a, None)
    return 0


@command("history")
async def history(sh: Shell, argv: list[str], io: IO) -> int:
    if "-c" in argv:
        sh.history.clear()
        return 0
    io.out("".join(f"{n:>5}  {line}\n" for n, line in enumerate(sh.history, 1)))
    return 0


@command("type", "command")
async def type_(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if argv[0] == "command":
        if not args or not args[0].startswith("-"):
            return await sh.exec_argv(args, io, " ".join(args)) if args else 0
        args = args[1:]
    status = 0
    for name in args:
        path = sh.find_in_path(name)
        if argv[0] == "command":
            if name in BUILTINS or path:
                io.out((name if name in BUILTINS else path or "") + "\n")
            else:
                status = 1
        elif name in ALIASES and sh.account.uid != 0:
            io.out(f"{name} is aliased to `{ALIASES[name]}'\n")
        elif name in BUILTINS:
            io.out(f"{name} is a shell builtin\n")
        elif path:
            io.out(f"{name} is {path}\n")
        else:
            io.err(f"bash: type: {name}: not found\n")
            status = 1
    return status


@command("which")
async def which(sh: Shell, argv: list[str], io: IO) -> int:
    status = 0
    for name in [a for a in argv[1:] if not a.startswith("-")]:
        path = sh.find_in_path(name) if "/" not in name else (name if sh.fs.exists(name, sh.cwd) else None)
        if path:
            io.out(path + "\n")
        else:
            status = 1
    return status


@command("ulimit")
async def ulimit(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, rest = split_opts(argv[1:])
    if rest and sh.account.uid != 0 and "n" in flags and rest[0] not in ("1024", "soft", "hard"):
        io.err("bash: ulimit: open files: cannot modify limit: Operation not permitted\n")
        return 1
    if rest:
        return 0
    if "a" in flags:
        io.out(
            "real-time non-blocking time  (microseconds, -R) unlimited\ncore file size              (blocks, -c) 0\n"
            "data seg size               (kbytes, -d) unlimited\nscheduling priority                 (-e) 0\n"
            "file size                   (blocks, -f) unlimited\npending signals                     (-i) 3780\n"
            "max locked memory           (kbytes, -l) 124164\nmax memory size             (kbytes, -m) unlimited\n"
            "open files                          (-n) 1024\npipe size                (512 bytes, -p) 8\n"
            "POSIX message queues         (bytes, -q) 819200\nreal-time priority                  (-r) 0\n"
            "stack size                  (kbytes, -s) 8192\ncpu time                   (seconds, -t) unlimited\n"
            "max user processes                  (-u) 3780\nvirtual memory              (kbytes, -v) unlimited\n"
            "file locks                          (-x) unlimited\n"
        )
    else:
        io.out("1024\n" if "n" in flags else "0\n" if "c" in flags else "unlimited\n")
    return 0


@command("umask")
async def umask(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) == 1:
        io.out("0022\n")
    return 0


@command("kill")
async def kill(sh: Shell, argv: list[str], io: IO) -> int:
    pids = [a for a in argv[1:] if not a.startswith("-")]
    if not pids:
        io.err("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n")
        return 2
    procs = {p.pid: p for p in sh.persona.processes(sh.account, sh.tty, "ps", sh.pid + 1)}
    status = 0
    for a in pids:
        p = procs.get(int(a)) if a.isdigit() else None
        if not a.lstrip("%").isdigit():
            io.err(f"bash: kill: {a}: arguments must be process or job IDs\n")
            status = 1
        elif p is None:
            io.err(f"bash: kill: ({a}) - No such process\n")
            status = 1
        elif sh.account.uid != 0 and p.user != sh.account.name:
            io.err(f"bash: kill: ({a}) - Operation not permitted\n")
            status = 1
    return status


@command("test", "[")
async def test(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            io.err("bash: [: missing `]'\n")
            return 2
        args = args[:-1]
    negate = False
    while args and args[0] == "!":
        negate, args = not negate, args[1:]

    def check() -> bool:
        if not args:
            return False
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2:
            op, arg = args
            if op in ("-z", "-n"):
                return (arg == "") == (op == "-z")
            try:
                _, node = sh.fs.lookup(arg, sh.cwd)
            except FSError:
                return False
            checks = {
                "-e": True,
                "-f": node.kind == "f",
                "-d": node.kind == "d",
                "-s": node.st_size() > 0,
                "-x": sh.fs.can_execute(node) or node.kind == "d",
                "-r": True,
                "-w": True,
                "-L": False,
            }
            return checks.get(op, False)  # fmt: skip
        a, op, b = args[0], args[1], args[2]
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        try:
            x, y = int(a), int(b)
        except ValueError:
            return False
        return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}.get(op, False)

    return 0 if check() != negate else 1


@command("source", ".", "eval")
async def source(sh: Shell, argv: list[str], io: IO) -> int:
    if argv[0] == "eval":
        return await sh.run_source(" ".join(argv[1:]), io)
    if len(argv) < 2:
        io.err(f"bash: {argv[0]}: filename argument required\n")
        return 2
    try:
        text = decode(sh.fs.read(argv[1], sh.cwd))
    except FSError as e:
        io.err(f"bash: {argv[1]}: {e.strerror}\n")
        return 1
    return await sh.run_source(text, io)


@command("exec")
async def exec_(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        return 0
    status = await sh.exec_argv(argv[1:], io, " ".join(argv[1:]))
    sh.request_exit()
    return status


@command("read")
async def read(sh: Shell, argv: list[str], io: IO) -> int:
    _, _, names = split_opts(argv[1:], with_value="pdtnu")
    line, nl, _ = io.stdin.partition("\n")
    fields = line.split(None, max(len(names) - 1, 0)) if names else [line]
    for i, name in enumerate(names or ["REPLY"]):
        sh.set_var(name, fields[i] if i < len(fields) else "")
    return 0 if nl else 1


@command("sh", "bash", "dash", "ash", "rbash")
async def sh_(sh: Shell, argv: list[str], io: IO) -> int:
    prog = posixpath.basename(argv[0])
    args = argv[1:]
    if "--version" in args and prog == "bash":
        io.out(
            "GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)\nCopyright (C) 2022 Free Software Foundation, "
            "Inc.\nLicense GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>\n\nThis is free "
            "software; you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by "
            "law.\n"
        )
        return 0
    while args and args[0].startswith("-") and args[0] != "-c" and "c" not in args[0][1:]:
        args = args[1:]
    if args and args[0].startswith("-") and "c" in args[0]:
        if len(args) < 2:
            io.err(f"{prog}: -c: option requires an argument\n")
            return 2
        return await sh.run_subshell(args[1], io, prog)
    if args:
        try:
            text = decode(sh.fs.read(args[0], sh.cwd))
        except FSError as e:
            io.err(f"{prog}: 0: cannot open {args[0]}: No such file\n" if prog in ("sh", "dash") else
                   f"{prog}: {args[0]}: {e.strerror}\n")  # fmt: skip
            return 2 if prog in ("sh", "dash") else 127
        return await sh.run_subshell(text, io, prog)
    if io.stdin:
        script = IO("", io.budget, tty=io.tty)
        script.chunks = io.chunks
        return await sh.run_subshell(io.stdin, script, prog)
    return 0


@command("busybox")
async def busybox(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    if not args or args[0] in ("--help", "--list"):
        if args[:1] == ["--list"]:
            io.out("".join(a + "\n" for a in sorted(BUSYBOX_APPLETS)))
            return 0
        names = sorted(BUSYBOX_APPLETS)
        lines, cur = [], "\t"
        for n in names:
            if len(cur) + len(n) + 2 > 78:
                lines.append(cur.rstrip())
                cur = "\t"
            cur += n + ", "
        lines.append(cur.rstrip().rstrip(","))
        io.out(BUSYBOX_HELP + "\n".join(lines) + "\n")
        return 0
    applet = args[0]
    if applet not in BUSYBOX_APPLETS:
        io.err(f"{applet}: applet not found\n")
        return 127
    fn = COMMANDS.get(applet, generic)
    return await fn(sh, args, io)


@command("sudo")
async def sudo(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-u", "-g", "-p", "-C", "-h", "-U") and args:
            args.pop(0)
        if opt in ("-V", "--version"):
            io.out("Sudo version 1.9.13p3\nSudoers policy plugin version 1.9.13p3\n")
            return 0
    if sh.account.uid != 0:
        io.err(
            "sudo: a terminal is required to read the password; either use the -S option to read from standard "
            "input or configure an askpass helper\nsudo: a password is required\n"
        )
        return 1
    if not args:
        io.err("usage: sudo -h | -K | -k | -V\nusage: sudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]\n")
        return 1
    if sh.find_in_path(args[0]) is None and "/" not in args[0] and args[0] not in BUILTINS:
        io.err(f"sudo: {args[0]}: command not found\n")
        return 1
    return await sh.exec_argv(args, io, " ".join(args))


@command("su")
async def su(sh: Shell, argv: list[str], io: IO) -> int:
    _, values, _rest = split_opts(argv[1:], with_value="cs")
    if sh.account.uid != 0:
        await asyncio.sleep(min(0.5, io.budget.sleep))
        io.out("Password: \n")
        io.err("su: Authentication failure\n")
        return 1
    if "c" in values:
        return await sh.run_source(values["c"], io, "bash")
    return 0


@command("nohup")
async def nohup(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.err("nohup: missing operand\nTry 'nohup --help' for more information.\n")
        return 125
    inner = IO("", io.budget, tty=False)
    status = await sh.exec_argv(argv[1:], inner, " ".join(argv[1:]))
    if io.tty:
        io.err("nohup: ignoring input and appending output to 'nohup.out'\n")
        with contextlib.suppress(FSError):
            sh.fs.write("nohup.out", sh.cwd, encode("".join(t for _, t in inner.chunks)), append=True)
    else:
        io.chunks.extend(inner.chunks)
    return status


@command("timeout", "setsid", "nice", "stdbuf", "time")
async def wrapper(sh: Shell, argv: list[str], io: IO) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if argv[0].endswith("timeout") and args:
        args = args[1:]
    if not args:
        return 0
    return await sh.exec_argv(args, io, " ".join(args))


@command("sleep", "usleep")
async def sleep(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.err("sleep: missing operand\nTry 'sleep --help' for more information.\n")
        return 1
    total = 0.0
    for a in argv[1:]:
        try:
            total += float(a.rstrip("smhd") or "0") * {"m": 60, "h": 3600, "d": 86400}.get(a[-1:], 1)
        except ValueError:
            io.err(f"sleep: invalid time interval ‘{a}’\nTry 'sleep --help' for more information.\n")
            return 1
    if argv[0] == "usleep":
        total /= 1e6
    delay = max(0.0, min(total, io.budget.sleep))
    io.budget.sleep -= delay
    await asyncio.sleep(delay)
    return 0


@command("clear", "reset")
async def clear(sh: Shell, argv: list[str], io: IO) -> int:
    io.out("\x1b[H\x1b[2J\x1b[3J")
    return 0
