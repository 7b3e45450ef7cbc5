# SPDX-License-Identifier: MIT
"""``honeyfarm ingest``'s local arguments, checked before the lake is opened.

* A glob that matches nothing, a path that does not exist and a directory
  that holds no file are errors (exit 1) found before the lake directory is
  created, so a typo leaves nothing behind. With ``--follow`` they are left to
  the passes: files may appear later.
* A sensor's spool directory (``events/`` next to ``keys/``, ``state/``,
  ``tty/`` or ``downloads/``) stands for its ``events/``: the host keys, TTY
  logs and captured downloads beside it are not logs.
"""

from __future__ import annotations

from pathlib import Path

from honeyfarm.collect.files import InputError, expand_paths

#: What a sensor spool holds next to ``events/`` (see honeyfarm.sensor.runtime and honeyfarm.sensor.spool).
SPOOL_SIDE_DIRS = ("keys", "state", "tty", "downloads")


def spool_events(arg: str) -> Path | None:
    """``arg``'s ``events/`` directory if ``arg`` is a sensor spool directory."""
    p = Path(arg)
    if p.is_dir() and (p / "events").is_dir() and any((p / d).is_dir() for d in SPOOL_SIDE_DIRS):
        return p / "events"
    return None


def local_inputs(args: list[str], remote: list[bool], follow: bool) -> tuple[list[str], list[str]]:
    """(``args`` with spool directories replaced by their ``events/``, notes for stderr); InputError if unusable.

    ``remote[i]`` says whether ``args[i]`` is an ``s3://`` or ``cloudwatch://`` source (left alone).
    """
    out: list[str] = []
    notes: list[str] = []
    for arg, is_remote in zip(args, remote, strict=True):
        events = None if is_remote else spool_events(arg.removeprefix("file://"))
        if events is not None:
            notes.append(f"{arg} is a sensor spool: reading its events from {events}")
            arg = str(events)
        out.append(arg)
        if is_remote or follow:
            continue
        if not expand_paths([arg.removeprefix("file://")]):
            raise InputError(f"{arg} holds no files")
    return out, notes
