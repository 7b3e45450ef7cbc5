# SPDX-License-Identifier: MIT
"""Canned output for the few commands a scanner runs to see whether a container is real.

``docker run alpine id``, ``docker exec c cat /etc/os-release``, ``sh -c "uname -a; echo ok"``:
simple commands (no pipes, redirections, substitutions or variables) get what a fresh
container of that image prints; anything else prints nothing, as most payloads do (a
downloader that runs in the background). Nothing is executed: the argv is only matched.
"""

from __future__ import annotations

import re
import shlex

from honeyfarm.sensor.traps.docker.persona import Engine
from honeyfarm.sensor.traps.docker.state import Container

_UNSAFE = re.compile(r"[|<>$`\\(){}*?\[\]~&\n]")  # after `&&` became `;`
_ALPINE = (
    'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'
    'HOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n'
)
_DEBIAN = (
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
    'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n'
    'SUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n'
)
MAX_OUTPUT = 4096


def _one(argv: list[str], c: Container, engine: Engine) -> str | None:
    if not argv:
        return ""
    prog, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    alpine = c.ref.repo.rsplit("/", 1)[-1] in ("alpine", "busybox")
    if prog == "echo":
        newline = not (args and args[0] == "-n")
        return " ".join(args[1:] if not newline else args) + ("\n" if newline else "")
    if prog in ("id",) and not args:
        groups = "0(root),1(bin),2(daemon),3(sys),4(adm),6(disk),10(wheel),11(floppy),20(dialout),26(tape),27(video)"
        return f"uid=0(root) gid=0(root) groups={groups}\n" if alpine else "uid=0(root) gid=0(root) groups=0(root)\n"
    if prog == "whoami" and not args:
        return "root\n"
    if prog == "hostname" and not args:
        return c.id[:12] + "\n"
    if prog == "pwd" and not args:
        return "/\n"
    if prog == "nproc" and not args:
        return f"{engine.ncpu}\n"
    if prog == "uname":
        host = c.id[:12]
        full = f"Linux {host} {engine.kernel} #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64"
        table = {(): "Linux", ("-a",): full + ("" if alpine else " GNU/Linux"), ("-r",): engine.kernel,
                 ("-m",): "x86_64", ("-s",): "Linux", ("-n",): host}  # fmt: skip
        out = table.get(tuple(args))
        return None if out is None else out + "\n"
    if prog == "cat" and args == ["/etc/os-release"]:
        return _ALPINE if alpine else _DEBIAN
    if prog == "cat" and args == ["/etc/hostname"]:
        return c.id[:12] + "\n"
    if prog in ("true", ":"):
        return ""
    return None


def output_for(argv: list[str], c: Container, engine: Engine) -> bytes:
    """What ``argv`` prints in container ``c`` (empty when it is not one of the known simple commands)."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash") and argv[1] == "-c":
        script = argv[2].replace("&&", ";")
        if _UNSAFE.search(script):
            return b""
        try:
            parts = [shlex.split(p) for p in script.split(";") if p.strip()]
        except ValueError:
            return b""
    else:
        parts = [argv]
    out: list[str] = []
    for part in parts[:16]:
        text = _one(part, c, engine)
        if text is None:
            break
        out.append(text)
    return "".join(out).encode()[:MAX_OUTPUT]
