# SPDX-License-Identifier: MIT
"""The FTP trap: vsftpd 3.0.3 as Debian 12 ships it, on the shared :class:`StreamTrap` base.

The control channel is this trap's own (see docs/sensor-ftp.md for why not aioftp): every
reply text and code is vsftpd's, checked against a real vsftpd by tests/test_trap_ftp.py.
:mod:`.session` runs the commands, :mod:`.vfs` is the read-only virtual filesystem and
:mod:`.data` the passive-only data channel. The base gives the connection limiter,
``ftp.session.connect``/``ftp.session.closed`` and the deadlines.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from honeyfarm.sensor.traps.ftp.data import DataSlots
from honeyfarm.sensor.traps.ftp.session import FTPSession
from honeyfarm.sensor.traps.stream import Conn, StreamTrap

if TYPE_CHECKING:
    from honeyfarm.sensor.context import SensorContext
    from honeyfarm.sensor.traps.ftp.config import FTPConfig


class FTPTrap(StreamTrap):
    protocol = "ftp"

    def __init__(self, ctx: SensorContext) -> None:
        cfg: FTPConfig = ctx.cfg.ftp
        super().__init__(ctx, cfg)
        self.ftp = cfg
        self.slots = DataSlots(cfg.max_data_connections)
        # The persona's files, encoded once; their mtime is a fixed day some weeks back.
        self.files = {path: text.encode("utf-8") for path, text in cfg.files.items()}
        self.files_mtime = float(int(time.time() - 23 * 86400) // 60 * 60)

    async def serve(self, conn: Conn) -> None:
        await FTPSession(self, conn).run()
