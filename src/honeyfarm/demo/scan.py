# SPDX-License-Identifier: MIT
"""The demo's malware step: ship what the live traps caught, then scan it (YARA, ClamAV; VirusTotal if keyed).

As a fleet would: the sensor's content store is shipped to a central store (a
local directory here, ``<demo dir>/objects``), and ``honeyfarm scan`` reads it
from there into the demo lake. ClamAV needs a clamd; the demo starts a private
one on loopback with the project's small signature set when Debian's
``clamav-daemon`` is installed (``make demo`` installs it), and says why when
it is not. VirusTotal runs only with an API key, and is otherwise skipped with
the message that says how to set one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from honeyfarm.collect.ship_config import ShipConfig
from honeyfarm.config import Config
from honeyfarm.lake.store import Lake


@contextlib.contextmanager
def _clamd(workdir: Path, out: Console) -> Iterator[str | None]:
    """A private clamd's socket path, or ``None`` (with the reason printed) when clamd is not installed."""
    from honeyfarm.malware.localclamd import build_db, clamd_missing, run_clamd

    why = clamd_missing()
    if why is not None:
        out.print(f"clamav: skipped: {why}", markup=False)
        yield None
        return
    build_db(workdir / "db")
    try:
        with run_clamd(workdir / "run", workdir / "db") as clamd:
            yield str(clamd.unix_socket)
    except RuntimeError as exc:
        out.print(f"clamav: skipped: {exc}", markup=False)
        yield None


def ship_and_scan(cfg: Config, workdir: Path, spool: Path, lake_root: Path, out: Console) -> None:
    """Ship ``spool``'s content store to ``workdir/objects``, then one scan pass into the lake."""
    from honeyfarm.collect.ship import Shipper
    from honeyfarm.malware.run import build_scanner, summary_lines

    ship = ShipConfig(
        store="local",
        local_dir=workdir / "objects",
        ship_spool=False,
        files_dir=spool / "downloads",
        state_file=workdir / "ship-state.json",
    )
    shipper = Shipper(ship, spool_dir=spool, sensor_name="live-demo")
    try:
        shipper.ship_pass()
    finally:
        shipper.close()
    out.print(f"shipped the captured files to {workdir / 'objects' / ship.files_prefix}/ (central store)", markup=False)
    with _clamd(workdir / "clamd", out) as socket_path:
        clam = {"enabled": socket_path is not None, "address": socket_path or cfg.scan.clamav.address}
        scan = cfg.scan.model_copy(update={"clamav": cfg.scan.clamav.model_copy(update=clam)})
        built = build_scanner(scan, ship, Lake(lake_root, cfg.lake), env=dict(os.environ))
        if socket_path is None:
            built.notes.pop("clamav", None)  # the reason was printed above
        stats = built.scanner.run_pass()
    out.print("honeyfarm scan (the files the live traps caught):", markup=False)
    for line in summary_lines(stats, built.notes):
        out.print(line, markup=False, highlight=False)
