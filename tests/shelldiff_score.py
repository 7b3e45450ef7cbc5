# SPDX-License-Identifier: MIT
"""How the shell differential test judges an answer against real bash's (see tests/shelldiff.py).

An engine's answer to a command is *plausible* when, compared with what a real
Debian 12 bash answered in the sandbox:

1. the exit status class is the same: ``0``, ``non-zero`` (any other status;
   an SSH channel closed without an exit status counts as non-zero) or
   ``hang`` (no answer within the timeout);
2. the streams are the same: stdout empty or not, stderr empty or not;
3. each stream is similar enough: ``difflib.SequenceMatcher.ratio()`` of the
   normalised texts is at least :data:`THRESHOLD` (two empty streams count as
   equal; the score is the lower of the two streams' ratios).

A *lenient* verdict is also kept, for information: status class as above and
the merged stdout+stderr text similar enough, whatever the stream (errors on
stdout are a tell for an exec channel, not in a terminal, where both merge).

Normalisation removes what legitimately differs between two hosts: host names
(each engine's own), the reason a connection failed (no engine has a network),
IPv4/IPv6/MAC addresses, long hex ids, every run of digits (pids, sizes,
dates, uptimes, kernel versions, counts), month and weekday names, the per-run
sandbox paths, and runs of blanks (column widths follow the widths of those
values). Texts are compared on their first 4,000 characters. The threshold
0.6 was set by reading the verdicts: answers of the right kind from another
host (``uname -r`` of two kernels: 0.62, ``uptime -p``: 0.71, ``w``: 0.81) pass,
a wrong stream, a usage text for a missing command or an empty answer fail.

Where the sandbox itself cannot answer as a booted Debian 12 server would
(its pid namespace, its mounts, the host's CPU and package set), a line of
``tests/data/shelldiff_artifacts.txt`` lowers the bar for matching commands:
``head`` compares only stdout's first line, ``shape`` only the status class and
streams, and ``skip`` leaves the command out of every score. Each line says why.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from shelldiff_sandbox import Answer

THRESHOLD = 0.6
# How strictly a command is judged: everything (full), the first stdout line only (head), the exit
# status class and streams only (shape); `skip`: not judged (the sandbox cannot answer as a server).
MODES = ("full", "head", "shape", "skip")
MAX_COMPARE = 4000

_SUBS = [
    # No engine here has a network: which way a connection fails is the sandbox's, not the shell's.
    (
        re.compile(
            r"Network is unreachable|Connection refused|Connection timed out|No route to host"
            r"|Temporary failure in name resolution|Name or service not known"
        ),
        "NETERR",
    ),
    (re.compile(r"/tmp/[\w.-]+/m-\w+/[uwm]/\w+"), "SANDBOX"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "IP"),
    (re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b", re.I), "MAC"),
    (re.compile(r"\b[0-9a-f:]*::[0-9a-f:]*\b", re.I), "IP6"),
    (re.compile(r"\b[0-9a-f]{8,}\b", re.I), "HEX"),
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"), "MON"),
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b"), "DAY"),
    (re.compile(r"\d+"), "0"),
    (re.compile(r"[ \t]+"), " "),
]


def normalise(data: bytes, hostnames: tuple[str, ...] = ()) -> str:
    """The text of ``data`` with host-specific values replaced (see the module docstring)."""
    text = data[: MAX_COMPARE * 2].decode("utf-8", errors="replace")
    for name in sorted({h for h in hostnames if h}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "HOST", text)
    for rx, repl in _SUBS:
        text = rx.sub(repl, text)
    return text.strip()[:MAX_COMPARE]


def status_class(a: Answer) -> str:
    if a.timeout:
        return "hang"
    if a.error:
        return "error"
    return "0" if a.status == 0 else "non-zero"


def streams(a: Answer) -> str:
    """Which streams carry output: ``-`` (none), ``out``, ``err`` or ``out+err``."""
    names = [n for n, d in (("out", a.stdout), ("err", a.stderr)) if d.strip()]
    return "+".join(names) or "-"


def similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class Verdict:
    plausible: bool
    score: float
    why: str  # empty when plausible
    lenient: bool  # status class and merged stdout+stderr text match (streams may be swapped)


def load_artifacts(path: Path) -> list[tuple[str, re.Pattern[str], str]]:
    """``(mode, regex, reason)`` lines of ``tests/data/shelldiff_artifacts.txt``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            mode, rx, reason = line.split("\t", 2)
            if mode not in MODES:
                raise ValueError(f"{path}: unknown mode {mode!r}")
            out.append((mode, re.compile(rx), reason))
    return out


def mode_for(command: str, artifacts: list[tuple[str, re.Pattern[str], str]]) -> tuple[str, str]:
    """How strictly ``command`` is judged, and why (``full`` unless an artifact line matches)."""
    for mode, rx, reason in artifacts:
        if rx.search(command):
            return mode, reason
    return "full", ""


def _first_line(data: bytes) -> bytes:
    return data.strip().split(b"\n", 1)[0]


def judge(bash: Answer, other: Answer, hostnames: tuple[str, ...], mode: str = "full") -> Verdict:
    """Is ``other`` a plausible answer where real bash answered ``bash``? (``mode``: see MODES)"""
    b_out, o_out = (
        (_first_line(bash.stdout), _first_line(other.stdout)) if mode == "head" else (bash.stdout, other.stdout)
    )
    out = similarity(normalise(b_out, hostnames), normalise(o_out, hostnames))
    err = similarity(normalise(bash.stderr, hostnames), normalise(other.stderr, hostnames))
    score = 1.0 if mode == "shape" else min(out, err)
    why = []
    if status_class(bash) != status_class(other):
        why.append(f"status {status_class(other)} (bash {status_class(bash)})")
    if streams(bash) != streams(other):
        why.append(f"streams {streams(other)} (bash {streams(bash)})")
    if score < THRESHOLD:
        why.append(f"similarity {score:.2f}")
    merged = similarity(
        normalise(bash.stdout + bash.stderr, hostnames), normalise(other.stdout + other.stderr, hostnames)
    )
    lenient = status_class(bash) == status_class(other) and (merged >= THRESHOLD or mode != "full")
    return Verdict(not why, score, "; ".join(why), lenient)
