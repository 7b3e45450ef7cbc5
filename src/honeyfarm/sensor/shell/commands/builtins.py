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

from honeyfarm.sensor.shell import persona_busybox as pb
from honeyfarm.sensor.shell.commands import busybox as commands_busybox
from honeyfarm.sensor.shell.commands.base import COMMANDS, IO, CommandFn, command, decode, encode, split_opts
from honeyfarm.sensor.shell.diag import Frame
from honeyfarm.sensor.shell.expand import DEFAULT_IFS, ifs_split
from honeyfarm.sensor.shell.fs.vfs import FSError, normpath

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

BUILTINS = {
    "cd", "pwd", "echo", "printf", "export", "unset", "set", "exit", "logout", "history", "type", "ulimit", "kill",
    "true", "false", ":", "test", "[", "source", ".", "eval", "exec", "alias", "unalias", "umask", "wait", "jobs",
    "hash", "command", "read", "declare", "local", "shopt", "enable", "builtin", "trap", "disown", "bg", "fg",
    "return", "break", "continue", "shift", "typeset", "readonly", "getopts", "let", "times", "caller", "[[",
}  # fmt: skip
ALIASES = {"ls": "ls --color=auto"}  # a user's login shell, from Debian 12's /etc/skel/.bashrc (root's has none)
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


@command("true", ":", "wait", "jobs", "hash", "shopt", "trap", "disown", "declare", "typeset",
         "readonly", "getopts", "caller")  # fmt: skip
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
        style = sh.frame.style
        if style == "dash":
            io.err(f"{sh.prefix()}cd: can't cd to {target}\n")
        elif style == "ash":
            line = "" if sh.frame.interactive else "line 0: "
            io.err(f"{sh.prefix()}cd: {line}can't cd to {target}: {e.strerror}\n")
        else:
            io.err(f"bash: cd: {target}: {e.strerror}\n")
        return 1 if style == "bash" else 2
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
    if argv[0] == "logout" and not sh.frame.interactive:
        io.err("bash: logout: not login shell: use `exit'\n")
        return 1
    if sh.login_shell:
        io.err("logout\n")
    sh.request_exit()
    if len(argv) > 2 and argv[1].lstrip("+-").isdigit():
        io.err(f"bash: {argv[0]}: too many arguments\n")
        return 1
    if len(argv) > 1:
        arg = argv[1]
        if not arg.lstrip("+-").isdigit() or len(arg) > 20:
            io.err(f"bash: exit: {arg}: numeric argument required\n")
            return 2
        return int(arg) & 0xFF
    return sh.last_status


@command("export", "env", "printenv")
async def export(sh: Shell, argv: list[str], io: IO) -> int:
    prog, args = argv[0], argv[1:]
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
    """Non-interactive shells keep no history (``bash -c history`` prints nothing); ``-c`` clears,
    ``-n``/``-r``/``-a``/``-w`` only touch ``~/.bash_history``, ``history N`` prints the last N."""
    if not sh.frame.interactive:
        return 1 if any(a in argv for a in ("-n", "-r", "-a", "-w")) else 0
    flags, _, rest = split_opts(argv[1:], with_value="d")
    if "c" in flags:
        sh.history.clear()
        return 0
    if flags & {"n", "r", "a", "w", "d", "s", "p"}:
        return 0
    lines = list(enumerate(sh.history, 1))
    if rest:
        if not rest[0].isdigit():
            io.err(f"bash: history: {rest[0]}: numeric argument required\n")
            return 1
        lines = lines[-int(rest[0][:6]) :] if int(rest[0][:6]) else []
    io.out("".join(f"{n:>5}  {line}\n" for n, line in lines))
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
        elif name in sh.aliases:
            io.out(f"{name} is aliased to `{sh.aliases[name]}'\n")
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


@command("source", ".", "eval")
async def source(sh: Shell, argv: list[str], io: IO) -> int:
    if argv[0] == "eval":
        return await sh.run_source(" ".join(argv[1:]), io, "eval")
    if len(argv) < 2:
        io.err(
            f"{sh.prefix()}{argv[0]}: filename argument required\n{argv[0]}: usage: {argv[0]} filename [arguments]\n"
        )
        return 2
    try:
        text = decode(sh.fs.read(argv[1], sh.cwd))
    except FSError as e:
        io.err(f"{sh.prefix()}{argv[1]}: {e.strerror}\n")
        return 1
    frame = Frame(argv[1], sh.frame.style, "file")
    saved = sh.args
    if len(argv) > 2:
        sh.args = argv[2:66]
    try:
        return await sh.run_source(text, io, argv[1], frame)
    finally:
        if len(argv) > 2:
            sh.args = saved


@command("exec")
async def exec_(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        return 0
    status = await sh.exec_argv(argv[1:], io, " ".join(argv[1:]))
    sh.request_exit()
    return status


@command("read")
async def read(sh: Shell, argv: list[str], io: IO) -> int:
    flags, _, names = split_opts(argv[1:], with_value="pdtnu")
    line, nl = sh.read_line(io)
    if "r" not in flags:
        line = line.replace("\\", "")
    fields = ifs_split(line, sh.env.get("IFS", DEFAULT_IFS), len(names)) if names else [line]
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
    from_stdin = False
    while args and args[0].startswith("-") and args[0] != "-c" and "c" not in args[0][1:]:
        from_stdin = from_stdin or "s" in args[0][1:] or args[0] == "-"
        args = args[1:]
        if from_stdin:
            break  # `bash -s a b`: the script is the input, the rest are $1, $2
    if args and args[0].startswith("-") and "c" in args[0]:
        if len(args) < 2:
            io.err(f"{prog}: -c: option requires an argument\n")
            return 2
        return await sh.run_subshell(args[1], io, prog, args=args[3:])
    if args and not from_stdin:
        try:
            text = decode(sh.fs.read(args[0], sh.cwd))
        except FSError as e:
            io.err(f"{prog}: 0: cannot open {args[0]}: No such file\n" if prog in ("sh", "dash") else
                   f"{prog}: {args[0]}: {e.strerror}\n")  # fmt: skip
            return 2 if prog in ("sh", "dash") else 127
        return await sh.run_subshell(text, io, args[0], kind="file", args=args[1:], style=_style(sh, prog))
    if io.stdin:
        script = IO("", io.budget, tty=io.tty)
        script.chunks = io.chunks
        return await sh.run_subshell(io.stdin, script, prog, kind="stdin", args=args)
    return 0


def _style(sh: Shell, prog: str) -> str:
    return "ash" if sh.flavor == "busybox" else "dash" if prog in ("sh", "dash", "ash") else "bash"


@command("busybox")
async def busybox(sh: Shell, argv: list[str], io: IO) -> int:
    """``busybox [APPLET args]``: the router's own build on a ``busybox`` persona, Debian's package elsewhere."""
    router = sh.flavor == "busybox"
    names = pb.APPLETS if router else tuple(sorted(BUSYBOX_APPLETS))
    args = argv[1:]
    if not args or args[0] == "--help":
        io.out(pb.usage(names=names) if router else BUSYBOX_HELP + pb.format_applets(names))
        return 0
    if args[0] in ("--list", "--list-full"):
        full = args[0] == "--list-full"
        io.out(pb.busybox_list(full) if router or not full else pb.busybox_list(False))
        return 0
    applet = posixpath.basename(args[0])
    if applet not in names:
        io.err(pb.applet_not_found(args[0]))
        return 127
    fn: CommandFn = COMMANDS.get(applet, generic)
    return await fn(sh, [applet, *args[1:]], io)


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


COMMANDS.on_ready(commands_busybox.install)  # BusyBox's wording on a router (wraps last)
