# SPDX-License-Identifier: MIT
"""Emulated bash builtins, part 2: control flow and conditionals.

``return``/``break``/``continue`` set an unwinding request the interpreter honours; ``local``,
``shift`` and ``let`` work on the shell's variables; ``test``/``[``/``[[`` evaluate conditions on
the virtual filesystem. ``=~`` uses :mod:`honeyfarm.sensor.shell.posixre`, whose matches are time-bounded,
so an attacker's regular expression cannot stall the loop. Split from :mod:`commands_shell` to
keep modules small.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands.base import IO, command, quote
from honeyfarm.sensor.shell.diag import ExpandAbort
from honeyfarm.sensor.shell.fs.vfs import FSError
from honeyfarm.sensor.shell.posixre import MAX_PATTERN, Pattern, PatternError

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

BASH_BUILTINS = (  # `bash -c enable` on Debian 12, in order
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo "
    "enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd "
    "printf pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type "
    "typeset ulimit umask unalias unset wait"
)


@command("return", "break", "continue")
async def return_(sh: Shell, argv: list[str], io: IO) -> int:
    prog = argv[0]
    arg = argv[1] if len(argv) > 1 else ""
    if arg and not arg.lstrip("-").isdigit():
        io.err(f"bash: {prog}: {arg}: numeric argument required\n")
        arg = "2" if prog == "return" else ""
    if prog == "return":
        if not sh.frame.in_function and sh.frame.kind != "file":
            io.err("bash: return: can only `return' from a function or sourced script\n")
            return 1
        status = int(arg[:20]) & 0xFF if arg else sh.last_status
        sh.unwind("return", status)
        return status
    if not sh.in_loop:
        io.err(f"bash: {prog}: only meaningful in a `for', `while', or `until' loop\n")
        return 0
    levels = int(arg[:6]) if arg else 1
    if levels < 1:
        io.err(f"bash: {prog}: {arg}: loop count out of range\n")
        return 1
    sh.unwind(prog, levels)
    return 0


@command("shift")
async def shift(sh: Shell, argv: list[str], io: IO) -> int:
    n = int(argv[1][:6]) if len(argv) > 1 and argv[1].isdigit() else 1
    if n > len(sh.args):
        return 1
    sh.args = sh.args[n:]
    return 0


@command("local")
async def local(sh: Shell, argv: list[str], io: IO) -> int:
    if not sh.frame.in_function:
        io.err("bash: local: can only be used in a function\n")
        return 1
    for a in argv[1:]:
        if a.startswith("-"):
            continue
        name, eq, value = a.partition("=")
        sh.make_local(name)
        if eq:
            sh.set_var(name, value)
    return 0


@command("let")
async def let(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) < 2:
        io.err("bash: let: expression expected\n")
        return 1
    value = "0"
    for expr in argv[1:]:
        try:
            value = sh.arith(expr)
        except ExpandAbort:
            return 1
    return 0 if value != "0" else 1


@command("times")
async def times(sh: Shell, argv: list[str], io: IO) -> int:
    io.out("0m0.000s 0m0.000s\n0m0.000s 0m0.000s\n")
    return 0


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
    return 0 if check(sh, args) != negate else 1


def check(sh: Shell, args: list[str], *, cond: bool = False) -> bool:
    """One ``test`` primary: ``STR``, ``-op ARG`` or ``A op B``. ``cond``: ``[[ ]]`` rules (patterns,
    ``=~``, ``<``/``>`` on strings)."""
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
            "-e": True, "-a": True, "-f": node.kind == "f", "-d": node.kind == "d", "-s": node.st_size() > 0,
            "-x": sh.fs.can_execute(node) or node.kind == "d", "-r": True, "-w": True, "-L": False, "-h": False,
        }  # fmt: skip
        return checks.get(op, False)
    a, op, b = args[0], args[1], args[2]
    if op in ("=", "=="):
        return fnmatch.fnmatchcase(a, b) if cond else a == b
    if op == "!=":
        return not fnmatch.fnmatchcase(a, b) if cond else a != b
    if op == "=~" and cond:
        try:
            return Pattern(b[:MAX_PATTERN], extended=True).search(a[:4096]) is not None
        except PatternError:
            return False
    if op in ("<", ">"):
        return (a < b) if op == "<" else (a > b)
    try:
        x, y = int(a), int(b)
    except ValueError:
        return False
    return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}.get(op, False)


@command("[[")
async def cond(sh: Shell, argv: list[str], io: IO) -> int:
    """``[[ expr ]]``: ``!``, ``( )``, ``&&``, ``||`` over test primaries (the parser passes words
    unsplit and unglobbed, as bash does inside ``[[``)."""
    args = argv[1:-1] if argv[-1:] == ["]]"] else argv[1:]
    pos = 0

    def primary() -> bool:
        nonlocal pos
        if pos < len(args) and args[pos] == "!":
            pos += 1
            return not primary()
        if pos < len(args) and args[pos] == "(":
            pos += 1
            v = either()
            pos += 1  # the ")"
            return v
        end = pos
        while end < len(args) and args[end] not in ("&&", "||", ")") and end - pos < 3:
            end += 1
        words, pos = args[pos:end], end
        return check(sh, words, cond=True)

    def both() -> bool:
        nonlocal pos
        v = primary()
        while pos < len(args) and args[pos] == "&&":
            pos += 1
            v = primary() and v
        return v

    def either() -> bool:
        nonlocal pos
        v = both()
        while pos < len(args) and args[pos] == "||":
            pos += 1
            v = both() or v
        return v

    return 0 if either() else 1


@command("enable")
async def enable(sh: Shell, argv: list[str], io: IO) -> int:
    if len(argv) == 1 or argv[1:] == ["-a"]:
        io.out("".join(f"enable {name}\n" for name in BASH_BUILTINS.split(" ")))
    return 0


_SIGNAL_NAMES = (
    "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG "
    "XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"
)
SIGNALS = {n: f"SIG{name}" for n, name in enumerate(_SIGNAL_NAMES.split(" "), 1)} | {
    n: "SIGRTMIN" if n == 34 else f"SIGRTMIN+{n - 34}" if n < 50 else f"SIGRTMAX-{64 - n}" if n < 64 else "SIGRTMAX"
    for n in range(34, 65)
}  # Linux x86_64, as `kill -l` lists them


def _kill_list(args: list[str], io: IO) -> int:
    if not args:
        items = [f"{n:2d}) {name}" for n, name in SIGNALS.items()]
        text = "".join(item + ("\n" if k % 5 == 4 else "\t") for k, item in enumerate(items))
        io.out(text if text.endswith("\n") else text + "\n")
        return 0
    status = 0
    for a in args:
        if a.isdigit() and int(a[:4]) & 0x7F in SIGNALS:
            io.out(SIGNALS[int(a[:4]) & 0x7F][3:] + "\n")
        elif (n := next((k for k, v in SIGNALS.items() if a.upper() in (v, v[3:])), None)) is not None:
            io.out(f"{n}\n")
        else:
            io.err(f"bash: kill: {a}: invalid signal specification\n")
            status = 1
    return status


@command("kill")
async def kill(sh: Shell, argv: list[str], io: IO) -> int:
    if argv[1:2] in (["-l"], ["-L"]):
        return _kill_list(argv[2:], io)
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


@command("alias", "unalias")
async def alias(sh: Shell, argv: list[str], io: IO) -> int:
    """Aliases exist in the login shell only (``bash -c`` reads no ``.bashrc``)."""
    args = argv[1:]
    if argv[0] == "unalias":
        if args[:1] == ["-a"]:
            sh.aliases.clear()
            return 0
        status = 0
        for name in args:
            if sh.aliases.pop(name, None) is None:
                io.err(f"bash: unalias: {name}: not found\n")
                status = 1
        return status
    if not args or args == ["-p"]:
        io.out("".join(f"alias {k}='{v}'\n" for k, v in sorted(sh.aliases.items())))
        return 0
    status = 0
    for a in args:
        name, eq, value = a.partition("=")
        if eq and len(sh.aliases) < 256:
            sh.aliases[name] = value[:1024]
        elif name in sh.aliases:
            io.out(f"alias {name}='{sh.aliases[name]}'\n")
        else:
            io.err(f"bash: alias: {name}: not found\n")
            status = 1
    return status


_OPTIONS = (  # `set -o` of bash 5.2: name, on in `bash -c`; the login shell also has emacs/history on
    "allexport braceexpand=1 emacs errexit errtrace functrace hashall=1 histexpand history ignoreeof "
    "interactive-comments=1 keyword monitor noclobber noexec noglob nolog notify nounset onecmd physical pipefail "
    "posix privileged verbose vi xtrace"
)
_LETTERS = {"errexit": "e", "nounset": "u", "xtrace": "x", "noglob": "f", "verbose": "v", "allexport": "a"}


@command("set")
async def set_(sh: Shell, argv: list[str], io: IO) -> int:
    """``set``: list variables, ``-e``/``-u``/``-x`` (honoured by the interpreter), ``-o``, ``--``."""
    args = argv[1:]
    if not args:
        io.out("".join(f"{k}={quote(v) if ' ' in v else v}\n" for k, v in sorted(sh.env.items())))
        return 0
    if args in (["-o"], ["+o"]):
        return _set_options(sh, args[0], io)
    while args and args[0] not in ("--", "-") and args[0][:1] in ("-", "+"):
        on = args[0][0] == "-"
        if args[0][1:] == "o":
            name = args[1] if len(args) > 1 else ""
            if name and name not in _OPTIONS:
                io.err(f"bash: set: {name}: invalid option name\n")
                return 2
            letters = _LETTERS.get(name, "")
            args = args[2:]
        else:
            letters = args[0][1:]
            args = args[1:]
        for c in letters:
            if c in "euxfva":
                (sh.options.add if on else sh.options.discard)(c)
    if args:
        sh.args = args[1:65] if args[0] in ("--", "-") else args[:64]
    return 0


def _set_options(sh: Shell, how: str, io: IO) -> int:
    """``set -o`` / ``set +o``: the option table (a login shell has emacs, history and job control)."""
    interactive = sh.frames[0].interactive
    on_now = {name for name, c in _LETTERS.items() if c in sh.options}
    for opt in _OPTIONS.split(" "):
        name, _, dflt = opt.partition("=")
        on = bool(dflt) or name in on_now or (interactive and name in ("emacs", "histexpand", "history", "monitor"))
        io.out(f"{name:<15}\t{'on' if on else 'off'}\n" if how == "-o" else f"set {'-' if on else '+'}o {name}\n")
    return 0
