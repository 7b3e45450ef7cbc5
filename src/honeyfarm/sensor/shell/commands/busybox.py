# SPDX-License-Identifier: MIT
"""BusyBox's own wording for the applets the shell emulates, on a ``busybox`` persona.

The emulations speak GNU (Debian's coreutils, wget, bash). On a router the same probes get
BusyBox's answers: ``wget`` with no URL prints BusyBox's usage, a download prints ``Connecting
to ... saving to ...`` instead of GNU's progress, ``ls --help`` is BusyBox's short help, and
bash-only builtins (``enable``) are ``not found``. Rather than a second copy of each command,
:func:`install` wraps the registered ones: on a Debian persona the wrapper passes straight
through. It wraps last (after the ``--help`` texts of :mod:`commands_misc`), so BusyBox's help
wins on a router. Usage texts are the real BusyBox 1.35's (``scripts/gen-busybox-usage.py``).
"""

from __future__ import annotations

import gzip
import json
import posixpath
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell import persona_busybox as bb
from honeyfarm.sensor.shell.commands import net
from honeyfarm.sensor.shell.commands.base import COMMANDS, IO, CommandFn, decode, split_opts

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

#: Applets that print their usage (stderr, exit 1) when run without operands.
_NEEDS_OPERAND = "wget tftp chmod cp mv ln mkdir rm kill"
NEEDS_OPERAND = frozenset(_NEEDS_OPERAND.split())


@cache
def usage_texts() -> dict[str, str]:
    raw = resources.files("honeyfarm.sensor").joinpath("data/busybox_usage.json.gz").read_bytes()
    texts: dict[str, str] = json.loads(gzip.decompress(raw))
    return texts


def applet_usage(name: str) -> str | None:
    """``NAME --help`` of the router's BusyBox (banner line included); None if not kept."""
    body = usage_texts().get(name)
    return None if body is None else f"BusyBox v{bb.VERSION} ({bb.BUILD}) multi-call binary.\n{body}"


async def bb_wget(sh: Shell, argv: list[str], io: IO) -> int:
    """BusyBox wget: ``Connecting to``, ``saving to``, one progress line; errors as ``wget: ...``, exit 1."""
    flags, values, urls = split_opts(argv[1:], net._WGET_VALUE, net._WGET_LONG_VALUE)
    output = values.get("O", values.get("output-document"))
    say = (lambda text: None) if "q" in flags or "quiet" in flags else io.err
    if not urls:
        io.err(applet_usage("wget") or "")
        return 1
    for url in urls[:16]:
        url = url if "://" in url else "http://" + url
        try:
            host, port, path = net._split(url)
        except ValueError:
            io.err(f"wget: bad port spec '{url}'\n")
            return 1
        result = await sh.ctx.download(url, command=sh.command_text)
        kind, code = ("ok", 0) if result is not None and result.ok else net.classify(result)
        if kind == "dns" or (result is None and not net._is_ip(host)):
            io.err(f"wget: bad address '{host}'\n")
            return 1
        addr = host if net._is_ip(host) else net._fake_addr(host)
        shown = f"{host}:{port}" if f"{host}:{port}" in url else host
        say(f"Connecting to {shown} ({addr}:{port})\n")
        if kind != "ok" or result is None:
            why = {"timeout": "Connection timed out", "reset": "Connection reset by peer"}.get(
                kind, "Connection refused"
            )
            reason = f"server returned error: HTTP/1.1 {code} {net._HTTP_REASONS.get(code, 'Error')}"
            io.err(f"wget: {reason}\n" if kind == "http" else f"wget: can't connect to remote host ({addr}): {why}\n")
            return 1
        target = output or posixpath.join(values.get("P", ""), posixpath.basename(path) or "index.html")
        if target == "-":
            io.out(decode(result.head))
            continue
        if output is None and sh.fs.exists(target, sh.cwd):
            io.err(f"wget: can't open '{target}': File exists\n")
            return 1
        say(f"saving to '{target}'\n")
        error = net._save(sh, target, result)
        if error is not None:
            io.err(f"wget: can't open '{target}': {error}\n")
            return 1
        size, unit = result.size, 0
        while size >= 100_000 and unit < 4:
            size, unit = size >> 10, unit + 1
        name = posixpath.basename(target)[:20]
        say(f"{name:<20} 100% |{'*' * 32}|{size:>6}{' kMGT'[unit]} 0:00:00 ETA\n'{target}' saved\n")
    return 0


def _wrap(name: str, fn: CommandFn) -> CommandFn:
    async def wrapped(sh: Shell, argv: list[str], io: IO) -> int:
        if sh.flavor != "busybox":
            return await fn(sh, argv, io)
        if name in bb.BASH_ONLY:
            io.err(sh.frame.not_found(name))
            sh.ctx.emit("cowrie.command.failed", command=sh.command_text or name)
            return 127
        args = argv[1:]
        if (args[:1] == ["--help"] or (not args and name in NEEDS_OPERAND)) and (text := applet_usage(name)):
            io.err(text)
            return 0 if args else 1
        if name == "wget":
            return await bb_wget(sh, argv, io)
        if name == "mount" and not args:  # the router's table, as /proc/mounts has it
            io.out("".join(f"{d} on {m} type {t} ({o})\n" for d, m, t, o in bb.MOUNTS))
            return 0
        return await fn(sh, argv, io)

    wrapped.__doc__ = fn.__doc__
    return wrapped


def _wrap_all() -> None:
    for name in sorted(set(usage_texts()) | bb.BASH_ONLY):
        fn = dict.get(COMMANDS, name)
        if fn is not None:
            COMMANDS[name] = _wrap(name, fn)


def install() -> None:
    """Registry hook: queue the wrapping behind the hooks already queued (``--help`` texts)."""
    COMMANDS.on_ready(_wrap_all)
