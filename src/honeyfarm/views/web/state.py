# SPDX-License-Identifier: MIT
"""What the dashboard's handlers share: the lake reader, the live feed, TTY logs, the fleet."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honeyfarm.collect.cowrie_tty import TtyStore
from honeyfarm.timewindow import TimeWindow
from honeyfarm.views.web.live import LiveFeed
from honeyfarm.views.web.reader import LakeReader
from honeyfarm.views.web.settings import FleetConfig

# Session ids the sensor writes TTY logs for (hex); anything else never reaches the file system.
SESSION_RE = re.compile(r"[0-9a-f]{8,32}")
MAX_TTYLOG_BYTES = 8 * 1024 * 1024
MAX_FRAMES = 20_000

# Terminal control sequences: CSI, OSC (to BEL or ST), other two-byte escapes, then lone controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, to BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings (sixel graphics...)
    r"|\x1b[ -/]*[0-~]?"  # nF/Fp/Fe/Fs escapes: ESC ( B, ESC 7, ESC =, ESC # 8
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(s: str) -> str:
    """Terminal output as plain text: escape sequences and control characters removed, CRLF → LF."""
    return _CONTROLS.sub("", _ESCAPES.sub("", s.replace("\r\n", "\n")))


class TtyLogs:
    """Finds and reads asciicast v2 TTY logs under the configured spool directories, and the Cowrie TTY logs
    ingest converted into the lake (``<lake>/_state/tty``, see :mod:`honeyfarm.collect.cowrie_tty`)."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    def find_all(self, session: str, lake_root: Path, links: list[tuple[str | None, str | None]]) -> list[Path]:
        """The sensor's own log of ``session``, else its converted Cowrie logs (``links``: see ``lake_links``)."""
        own = self.find(session)
        if own is not None:
            return [own]
        return TtyStore(lake_root / "_state" / "tty").find(session, links)

    def load_all(self, paths: list[Path]) -> dict[str, Any]:
        """Several logs of one session (Cowrie writes one per channel) played one after the other."""
        out = self.load(paths[0])
        for p in paths[1:]:
            if len(out["frames"]) >= MAX_FRAMES:
                break
            more = self.load(p)
            base = out["duration"] + 0.5 if out["frames"] else 0.0
            room = MAX_FRAMES - len(out["frames"])
            out["frames"] += [[round(t + base, 3), text] for t, text in more["frames"][:room]]
            out["duration"] = round(base + more["duration"], 3)
            out["truncated"] = out["truncated"] or more["truncated"] or len(out["frames"]) >= MAX_FRAMES
        return out

    def find(self, session: str) -> Path | None:
        if not SESSION_RE.fullmatch(session):
            return None
        for d in self.dirs:
            p = d / "tty" / f"{session}.cast"
            if p.is_file():
                return p
        return None

    def load(self, path: Path) -> dict[str, Any]:
        width, height, frames, t = 80, 24, [], 0.0
        with path.open("rb") as fh:
            data = fh.read(MAX_TTYLOG_BYTES)
        lines = data.decode("utf-8", "replace").splitlines()
        try:
            head = json.loads(lines[0]) if lines else {}
            width = int(head.get("width", 80))
            height = int(head.get("height", 24))
        except (ValueError, TypeError, AttributeError, OverflowError):
            pass
        for line in lines[1:]:
            try:
                t_raw, kind, text = json.loads(line)
                t = float(t_raw)
            except (ValueError, TypeError):
                continue  # a torn last line (the log was capped or the sensor died mid-write)
            if kind == "o" and isinstance(text, str):
                frames.append([round(t, 3), plain_text(text)])
                if len(frames) >= MAX_FRAMES:
                    break
        return {
            "width": max(1, min(width, 500)),
            "height": max(1, min(height, 200)),
            "duration": round(t, 3),
            "frames": frames,
            "truncated": len(data) >= MAX_TTYLOG_BYTES or len(frames) >= MAX_FRAMES,
        }


@dataclass
class AppState:
    reader: LakeReader
    live: LiveFeed
    ttylogs: TtyLogs
    fleet: FleetConfig
    version: str
    auth: bool
    window: TimeWindow
