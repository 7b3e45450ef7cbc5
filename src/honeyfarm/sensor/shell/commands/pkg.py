# SPDX-License-Identifier: MIT
"""Package queries: ``dpkg -l``, ``dpkg -s``, ``dpkg-query -W``, ``apt list --installed``.

Bots count packages (``dpkg -l | wc -l``) and look for tell-tale ones; two lines of output on a
"Debian" server is a giveaway. The list in ``data/dpkg_packages.tsv.gz`` was taken from a real
Debian 12 machine (dpkg-query), trimmed of desktop and test tooling, with the cloud image's own
packages (cloud-init, grub-efi, the cloud kernel the persona reports) added from the Debian 12
archive. Installing or removing still fails on the dpkg lock (see commands_sys).
"""

from __future__ import annotations

import fnmatch
import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from honeyfarm.sensor.shell.commands import sys as commands_sys
from honeyfarm.sensor.shell.commands.base import IO, command

if TYPE_CHECKING:
    from honeyfarm.sensor.shell.shell import Shell

_OLDSTABLE_SINCE = 1754697600.0  # 2025-08-09: Debian 13 released, bookworm became oldstable
_MANUAL_SECTIONS = {"admin", "net", "shells", "utils", "editors", "vcs", "web", "interpreters", "kernel", "devel"}


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    arch: str
    summary: str
    priority: str
    section: str
    size: str
    maintainer: str


@cache
def packages() -> tuple[Package, ...]:
    raw = resources.files("honeyfarm.sensor").joinpath("data/dpkg_packages.tsv.gz").read_bytes()
    rows = []
    for line in gzip.decompress(raw).decode().splitlines():
        if line and not line.startswith("#"):
            f = (line.split("\t") + [""] * 8)[:8]
            rows.append(Package(*f))
    return tuple(rows)


def _select(patterns: list[str]) -> tuple[list[Package], list[str]]:
    pkgs = packages()
    if not patterns:
        return list(pkgs), []
    chosen: dict[str, Package] = {}
    missing = []
    for pat in patterns:
        hits = [p for p in pkgs if fnmatch.fnmatchcase(p.name, pat.split(":")[0])]
        if not hits:
            missing.append(pat)
        for p in hits:
            chosen[p.name] = p
    return sorted(chosen.values(), key=lambda p: p.name), missing


def dpkg_list(patterns: list[str], io: IO) -> int:
    pkgs, missing = _select(patterns)
    if pkgs:
        nw = max(4, *(len(p.name) for p in pkgs))
        vw = max(7, *(len(p.version) for p in pkgs))
        aw = max(12, *(len(p.arch) for p in pkgs))
        dw = max(11, *(len(p.summary) for p in pkgs))
        out = [
            "Desired=Unknown/Install/Remove/Purge/Hold\n"
            "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n"
            "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n"
            f"||/ {'Name':<{nw}} {'Version':<{vw}} {'Architecture':<{aw}} Description\n"
            f"+++-{'=' * nw}-{'=' * vw}-{'=' * aw}-{'=' * dw}\n"
        ]
        out += [f"ii  {p.name:<{nw}} {p.version:<{vw}} {p.arch:<{aw}} {p.summary}\n" for p in pkgs]
        io.out("".join(out))
    for pat in missing:
        io.err(f"dpkg-query: no packages found matching {pat}\n")
    return 1 if missing else 0


def dpkg_status(names: list[str], io: IO) -> int:
    if not names:
        io.err("dpkg-query: error: --status needs at least one package name argument\n\n"
               "Use --help for help about querying packages.\n")  # fmt: skip
        return 2
    by_name = {p.name: p for p in packages()}
    status = 0
    blocks = []
    for n in names:
        p = by_name.get(n.split(":")[0])
        if p is None:
            io.err(f"dpkg-query: package '{n}' is not installed and no information is available\n"
                   "Use dpkg --info (= dpkg-deb --info) to examine archive files.\n")  # fmt: skip
            status = 1
            continue
        blocks.append(
            f"Package: {p.name}\nStatus: install ok installed\nPriority: {p.priority}\nSection: {p.section}\n"
            f"Installed-Size: {p.size}\nMaintainer: {p.maintainer}\nArchitecture: {p.arch}\nVersion: {p.version}\n"
            f"Description: {p.summary}\n"
        )
    io.out("\n".join(blocks))
    return status


@command("dpkg", "dpkg-query")
async def dpkg(sh: Shell, argv: list[str], io: IO) -> int:
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    opts = [a for a in args if a.startswith("-")]
    rest = [a for a in args if not a.startswith("-")]
    first = opts[0] if opts else ""
    if first in ("-l", "--list"):
        return dpkg_list(rest, io)
    if first in ("-s", "--status", "-p", "--print-avail"):
        return dpkg_status(rest, io)
    if first in ("-W", "--show") or first.startswith("-W") or first.startswith("--showformat"):
        pkgs, missing = _select(rest)
        io.out("".join(f"{p.name}\t{p.version}\n" for p in pkgs))
        for pat in missing:
            io.err(f"dpkg-query: no packages found matching {pat}\n")
        return 1 if missing else 0
    if first in ("--print-architecture",):
        io.out("amd64\n")
        return 0
    if first in ("--get-selections",):
        io.out("".join(p.name + "\t" * max(1, -(-(48 - len(p.name)) // 8)) + "install\n" for p in _select(rest)[0]))
        return 0
    if prog == "dpkg" and first in ("-i", "--install", "-r", "--remove", "-P", "--purge", "--configure"):
        return await commands_sys.apt(sh, ["apt-get", "install", *rest], io)
    if prog == "dpkg" and first in ("--version",):
        io.out("Debian 'dpkg' package management program version 1.21.22 (amd64).\n"
               "This is free software; see the GNU General Public License version 2 or\n"
               "later for copying conditions. There is NO warranty.\n")  # fmt: skip
        return 0
    io.err(f"{prog}: error: need an action option\n\nType {prog} --help for help about installing and "
           "deinstalling packages [*];\nUse 'apt' or 'aptitude' for user-friendly package management;\n"
           "Type dpkg -Dhelp for a list of dpkg debug flag values;\nType dpkg --force-help for a list of forcing "
           "options;\nType dpkg-deb --help for help about manipulating *.deb files;\n\nOptions marked [*] produce "
           "a lot of output - pipe it through 'less' or 'more' !\n")  # fmt: skip
    return 2


@command("apt", "apt-get", "apt-cache")
async def apt(sh: Shell, argv: list[str], io: IO) -> int:
    prog = argv[0].rsplit("/", 1)[-1]
    words = [a for a in argv[1:] if not a.startswith("-")]
    if prog == "apt" and words[:1] == ["list"]:
        io.err("\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n")
        suite = "oldstable" if sh.persona.now() >= _OLDSTABLE_SINCE else "stable"
        pkgs, _missing = _select(words[1:])
        rows = []
        for p in pkgs:
            manual = p.priority in ("required", "important") or p.section in _MANUAL_SECTIONS
            rows.append(f"{p.name}/{suite},now {p.version} {p.arch} [installed{'' if manual else ',automatic'}]\n")
        io.out("Listing...\n" + "".join(rows))
        return 0
    if prog == "apt-cache" and words[:1] == ["policy"] and words[1:]:
        by_name = {p.name: p for p in packages()}
        for n in words[1:]:
            found = by_name.get(n)
            if found is None:
                io.err(f"N: Unable to locate package {n}\n")
                continue
            v = found.version
            io.out(f"{found.name}:\n  Installed: {v}\n  Candidate: {v}\n  Version table:\n"
                   f" *** {v} 500\n        500 mirror+file:/etc/apt/mirrors/debian.list bookworm/main amd64 "
                   "Packages\n        100 /var/lib/dpkg/status\n")  # fmt: skip
        return 0
    return await commands_sys.apt(sh, argv, io)
