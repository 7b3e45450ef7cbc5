# SPDX-License-Identifier: MIT
"""TTY logs of interactive sessions, in asciinema's asciicast v2 format.

One file per session, ``<spool>/tty/<session>.cast``: a JSON header line, then
``[seconds, "o" | "i", text]`` lines. asciicast is a documented, widely read
format (``asciinema play`` replays it too), unlike Cowrie's binary ttylog.
The file name is the sensor's own session id (hex), never attacker input, and
each log is capped at ``limits.ttylog_bytes``.

``honeyfarm replay SESSION`` plays one back; Cowrie's binary TTY logs, once
ingested, are converted into this same format (:mod:`honeyfarm.collect.cowrie_tty`)
and found through :func:`find_logs`. What the attacker typed and what
the fake shell echoed can hold terminal escape sequences; by default only
harmless ones (colours, cursor moves, erase) are passed to the terminal.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

SESSION_RE = re.compile(r"[0-9a-f]{8,32}")


class TTYLog:
    def __init__(self, tty_dir: Path, session: str, width: int, height: int, max_bytes: int, env: dict[str, str]):
        if not SESSION_RE.fullmatch(session):
            raise ValueError("bad session id")
        tty_dir.mkdir(parents=True, exist_ok=True)
        self.path = tty_dir / f"{session}.cast"
        self.max_bytes = max_bytes
        self.start = time.monotonic()
        self.size = 0
        self.truncated = False
        self._fh: IO[str] | None = None
        try:
            self._fh = self.path.open("x", encoding="utf-8")
        except OSError:  # disk full or gone: the session goes on, unrecorded
            self.truncated = True
        header = {
            "version": 2,
            "width": max(1, min(width, 1000)),
            "height": max(1, min(height, 1000)),
            "timestamp": int(time.time()),
            "env": {k: v[:64] for k, v in list(env.items())[:8]},
        }
        self._write(json.dumps(header, ensure_ascii=True) + "\n")

    def _write(self, line: str) -> None:
        # Once over the cap, stop for good: a log with a hole would replay as if nothing happened.
        if self._fh is None or self.truncated:
            return
        if self.size + len(line) > self.max_bytes:
            self.truncated = True
            return
        try:
            self._fh.write(line)
        except OSError:  # disk full: keep what was written, stop here (a cut, not a hole)
            self.truncated = True
            return
        self.size += len(line)

    def record(self, kind: str, text: str) -> None:
        if text:
            self._write(json.dumps([round(time.monotonic() - self.start, 6), kind, text], ensure_ascii=True) + "\n")

    def output(self, text: str) -> None:
        self.record("o", text)

    def input(self, text: str) -> None:
        self.record("i", text)

    @property
    def duration(self) -> float:
        return time.monotonic() - self.start

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except OSError:
                self.truncated = True
                with contextlib.suppress(OSError):
                    fh.close()


# Escape sequences kept on replay: CSI with numeric parameters ending in a
# colour/cursor/erase command. Everything else (OSC title/clipboard writes, DCS,
# private modes, other control characters) is shown escaped, never executed.
_SAFE_CSI = re.compile(r"\x1b\[[0-9;]{0,32}[mHJKABCDGfsu]")
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sanitize(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _SAFE_CSI.finditer(text):
        out.append(_CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", text[pos:]))
    return "".join(out)


def find_log(spool_dir: Path, session: str) -> Path:
    if not SESSION_RE.fullmatch(session):
        raise ValueError(f"not a session id: {session!r}")
    path = spool_dir / "tty" / f"{session}.cast"
    if not path.exists():
        raise FileNotFoundError(f"no TTY log for session {session} in {spool_dir / 'tty'}")
    return path


def find_logs(spool_dir: Path, session: str, lake_root: Path | None = None) -> list[Path]:
    """The sensor's own log of ``session`` in ``spool_dir``, else the Cowrie TTY logs ``honeyfarm ingest``
    converted into the lake at ``lake_root`` (the same asciicast format, one log per Cowrie channel)."""
    try:
        return [find_log(spool_dir, session)]
    except FileNotFoundError as exc:
        if lake_root is None:
            raise
        from honeyfarm.collect.cowrie_tty import find_in_lake

        found = find_in_lake(lake_root, session)
        if not found:
            raise FileNotFoundError(f"{exc}, nor a Cowrie TTY log of it in the lake {lake_root}") from None
        return found


def frames(path: Path) -> Iterator[tuple[float, str, str]]:
    with path.open(encoding="utf-8") as fh:
        fh.readline()  # header
        for line in fh:
            try:
                t, kind, text = json.loads(line)
            except (ValueError, TypeError):
                continue
            yield float(t), str(kind), str(text)


def replay(
    path: Path, out: IO[str] | None = None, speed: float = 1.0, raw: bool = False, max_idle: float = 2.0
) -> dict[str, Any]:
    """Write the session's output to ``out`` with its timing (``speed`` 0 = no waits)."""
    out = out or sys.stdout
    last = 0.0
    shown = 0
    for t, kind, text in frames(path):
        if kind != "o":
            continue
        if speed > 0:
            time.sleep(min(max(t - last, 0.0), max_idle) / speed)
        last = t
        out.write(text if raw else sanitize(text))
        out.flush()
        shown += 1
    return {"frames": shown, "duration": last}
