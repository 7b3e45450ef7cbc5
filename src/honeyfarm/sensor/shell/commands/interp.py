# SPDX-License-Identifier: MIT
"""``python3`` and ``perl``: present on Debian 12 cloud images, so they answer, in a tiny subset.

Bots use them for one-liners: ``python3 -c 'print(1)'`` to test for a real interpreter,
``perl -e 'print "x"'``, or scripts that open sockets. Nothing is ever executed: Python source
is only *parsed* (``ast.parse``, size-capped) to give CPython 3.11's exact ``SyntaxError`` text,
``import`` of a module Debian lacks fails as it would, and ``print`` of constant expressions
prints; every other statement is taken as done, silently, as a quiet script would be.
"""

from __future__ import annotations

import ast
import re
import traceback
from typing import TYPE_CHECKING, Any

from honeyfarm.sensor.shell.commands.base import IO, command, decode
from honeyfarm.sensor.shell.fs.vfs import FSError, normpath

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

MAX_SOURCE = 16 * 1024
MAX_VALUE = 64 * 1024
_STDLIB = set(
    [
        "os",
        "sys",
        "socket",
        "subprocess",
        "time",
        "re",
        "json",
        "base64",
        "random",
        "string",
        "struct",
        "threading",
        "urllib",
        "http",
        "hashlib",
        "math",
        "select",
        "signal",
        "platform",
        "pty",
        "ssl",
        "shutil",
        "tempfile",
        "binascii",
        "zlib",
        "gzip",
        "io",
        "codecs",
        "errno",
        "fcntl",
        "getpass",
        "pwd",
        "grp",
        "stat",
        "multiprocessing",
        "queue",
        "collections",
        "itertools",
        "functools",
        "datetime",
        "uuid",
        "argparse",
        "logging",
        "ctypes",
        "ipaddress",
        "urllib.request",
        "urllib.parse",
        "http.client",
        "http.server",
        "email",
        "smtplib",
        "ftplib",
        "telnetlib",
        "getopt",
        "traceback",
        "asyncio",
        "concurrent",
        "typing",
        "pathlib",
        "glob",
        "fnmatch",
        "textwrap",
        "copy",
        "pickle",
        "marshal",
        "zipfile",
        "tarfile",
        "csv",
        "sqlite3",
        "apt",
        "yaml",
        "requests",
        "urllib3",
        "certifi",
        "idna",
        "chardet",
        "cryptography",
        "six",
        "distro",
        "setuptools",
        "pkg_resources",
        "dbus",
        "jinja2",
        "jsonschema",
        "jsonpatch",
        "configobj",
        "netifaces",
        "serial",
        "markupsafe",
        "attr",
        "pyrsistent",
        "debconf",
    ]
)  # the standard library plus the python3-* packages the persona lists
PERL_VERSION = ("\nThis is perl 5, version 36, subversion 0 (v5.36.0) built for x86_64-linux-gnu-thread-multi\n"
                "(with 54 registered patches, see perl -V for more detail)\n\nCopyright 1987-2022, Larry Wall\n\n"
                "Perl may be copied only under the terms of either the Artistic License or the\nGNU General Public "
                "License, which may be found in the Perl 5 source kit.\n\nComplete documentation for Perl, including "
                "FAQ lists, should be found on\nthis system using \"man perl\" or \"perldoc perl\".  "
                "If you have access to the\nInternet, point your browser at https://www.perl.org/, the Perl Home "
                "Page.\n\n")  # fmt: skip


class _NoValue(Exception):
    """The expression is not a constant this emulation can compute."""


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _value(node.operand)
        if isinstance(v, (int, float)):
            return -v
    if isinstance(node, ast.BinOp):
        a, b = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Add) and type(a) is type(b) and isinstance(a, (str, int, float)):
            result = a + b
        elif isinstance(node.op, ast.Mult) and {type(a), type(b)} <= {int, str}:
            if isinstance(a, str) or isinstance(b, str):
                count = b if isinstance(a, str) else a
                if not isinstance(count, int) or count * len(str(a if isinstance(a, str) else b)) > MAX_VALUE:
                    raise _NoValue
            result = a * b
        elif isinstance(node.op, (ast.Sub, ast.Div, ast.Mod)) and {type(a), type(b)} <= {int, float}:
            if isinstance(node.op, (ast.Div, ast.Mod)) and b == 0:
                raise _NoValue
            result = a - b if isinstance(node.op, ast.Sub) else a / b if isinstance(node.op, ast.Div) else a % b
        else:
            raise _NoValue
        if isinstance(result, int) and abs(result) > 10**100:
            raise _NoValue
        return result
    raise _NoValue


def run_python(src: str, io: IO, filename: str) -> int:
    src = src[:MAX_SOURCE]
    try:
        tree = ast.parse(src, filename=filename)
    except SyntaxError as e:
        io.err("".join(traceback.format_exception_only(type(e), e)))
        return 1
    except (ValueError, RecursionError, MemoryError):
        io.err("SyntaxError: source code cannot contain null bytes\n")
        return 1
    for stmt in tree.body[:200]:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
            for name in names:
                if name not in _STDLIB and name.split(".")[0] not in _STDLIB:
                    io.err(f'Traceback (most recent call last):\n  File "{filename}", line {stmt.lineno}, in <module>'
                           f"\nModuleNotFoundError: No module named '{name.split('.')[0]}'\n")  # fmt: skip
                    return 1
            continue
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
            try:
                values = [_value(a) for a in call.args]
                sep = next((_value(k.value) for k in call.keywords if k.arg == "sep"), " ")
                end = next((_value(k.value) for k in call.keywords if k.arg == "end"), "\n")
            except _NoValue:
                continue
            io.out(str(sep).join(str(v) for v in values) + str(end))
    return 0


@command("python3", "python3.11")
async def python3(sh: Shell, argv: list[str], io: IO) -> int:
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    while args and args[0] in ("-u", "-B", "-E", "-s", "-S", "-I", "-O", "-q"):
        args = args[1:]
    if args and args[0] in ("-V", "--version"):
        io.out("Python 3.11.2\n")
        return 0
    if args and args[0] == "-c":
        if len(args) < 2:
            io.err("Argument expected for the -c option\nusage: python3 [option] ... [-c cmd | -m mod | file | -] "
                   "[arg] ...\nTry `python -h' for more information.\n")  # fmt: skip
            return 2
        return run_python(args[1], io, "<string>")
    if args and args[0] == "-m":
        mod = args[1] if len(args) > 1 else ""
        if mod in ("http.server", "SimpleHTTPServer"):
            return 0
        if mod.split(".")[0] not in _STDLIB:
            io.err(f"/usr/bin/python3: No module named {mod}\n")
            return 1
        return 0
    if args and args[0] != "-":
        path = normpath(args[0], sh.cwd)
        try:
            src = decode(sh.fs.read(args[0], sh.cwd))
        except FSError as e:
            errno = {"No such file or directory": 2, "Permission denied": 13, "Is a directory": 21}.get(e.strerror, 2)
            io.err(f"{prog}: can't open file '{path}': [Errno {errno}] {e.strerror}\n")
            return 2
        return run_python(src, io, path)
    return run_python(io.stdin, io, "<stdin>")


_PERL_STR = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')


def run_perl(src: str, io: IO) -> int:
    src = src[:MAX_SOURCE]
    if src.count("(") != src.count(")") or src.count("{") != src.count("}"):
        io.err("syntax error at -e line 1, at EOF\nExecution of -e aborted due to compilation errors.\n")
        return 255
    for stmt in src.split(";")[:200]:
        stmt = stmt.strip()
        m = re.fullmatch(r"print\s*\(?\s*(.*?)\s*\)?", stmt, re.S)
        if m and m.group(1):
            parts = re.split(r"\s*[.,]\s*(?=[\"'])", m.group(1))
            text: list[str] = []
            for part in parts:
                s = _PERL_STR.fullmatch(part)
                if s is None:
                    text = []
                    break
                if s.group(1) is not None:
                    text.append(re.sub(r"\\(.)", lambda x: {"n": "\n", "t": "\t"}.get(x.group(1), x.group(1)),
                                       s.group(1)))  # fmt: skip
                else:
                    text.append(s.group(2).replace("\\'", "'"))
            io.out("".join(text))
        e = re.fullmatch(r"exit\s*\(?\s*(\d+)\s*\)?", stmt)
        if e:
            return int(e.group(1)) & 255
    return 0


@command("perl", "perl5.36.0")
async def perl(sh: Shell, argv: list[str], io: IO) -> int:
    args = argv[1:]
    code: list[str] = []
    while args and args[0].startswith("-") and args[0] != "-":
        a = args.pop(0)
        if a in ("-v", "--version"):
            io.out(PERL_VERSION)
            return 0
        if a in ("-e", "-E"):
            if not args:
                io.err("No code specified for -e.\n")
                return 29
            code.append(args.pop(0))
    if code:
        return run_perl("\n".join(code), io)
    if args and args[0] != "-":
        try:
            src = decode(sh.fs.read(args[0], sh.cwd))
        except FSError as e:
            io.err(f'Can\'t open perl script "{args[0]}": {e.strerror}\n')
            return 2
        return run_perl(src, io)
    return run_perl(io.stdin, io)
