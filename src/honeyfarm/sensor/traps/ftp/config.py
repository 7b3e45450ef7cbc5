# SPDX-License-Identifier: MIT
"""``[sensor.ftp]``: the FTP trap (Debian 12's vsftpd 3.0.3, uploads allowed, passive mode only).

Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from honeyfarm.sensor.trap import Port, StreamConfig

MiB = 1024 * 1024

DEFAULT_FILES = {
    "pub/README": "Mirror of internal tools. Contact it-ops@localhost for access.\n",
    "pub/firmware/fw-2.4.1.bin.md5": "4b1f0c3e9e1d1f5a2f1f3f0d6c9a7e21  fw-2.4.1.bin\n",
    "backup/db_backup.sql": "-- MySQL dump 10.13\n-- Host: localhost    Database: wordpress\n",
    "upload/.placeholder": "",
}


class FTPConfig(StreamConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2121"], description="`host:port` addresses.")
    anonymous: bool = Field(
        True,
        description="As vsftpd's `anonymous_enable`: USER anonymous/ftp logs in with any password. false: "
        "those names go to the credential policy like any other.",
    )
    allow_upload: bool = Field(
        True,
        description="As `write_enable`/`anon_upload_enable`: STOR/APPE/STOU are accepted (and captured). false "
        "answers `550 Permission denied.` as Debian's default config.",
    )
    files: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FILES),
        description="The read-only virtual filesystem every session sees (chroot `/`): path -> text content. "
        "Directories are implied by the paths; names starting with `.` are hidden from LIST as vsftpd does.",
    )
    fail_delay: Annotated[float, Field(ge=0, le=10)] = Field(
        1.0, description="Seconds before `530 Login incorrect.` (vsftpd's `delay_failed_login`)."
    )
    max_login_fails: Annotated[int, Field(ge=1, le=100)] = Field(
        3, description="Failed logins before the connection is closed (vsftpd's `max_login_fails`)."
    )
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        300.0, description="`421 Timeout.` and close after this many silent seconds (`idle_session_timeout`)."
    )
    pasv_min_port: Port = Field(0, description="Lowest passive data port (0 with `pasv_max_port` 0: ephemeral).")
    pasv_max_port: Port = Field(0, description="Highest passive data port (0: ephemeral).")
    accept_timeout: Annotated[float, Field(gt=0, le=600)] = Field(
        60.0, description="Seconds a passive port waits for the client's data connection (`accept_timeout`)."
    )
    data_timeout: Annotated[float, Field(gt=0, le=3600)] = Field(
        300.0, description="A data connection that moves nothing this long is closed (`data_connection_timeout`)."
    )
    max_transfer_time: Annotated[float, Field(gt=0)] = Field(
        600.0, description="Whole-transfer time limit of one data connection (seconds)."
    )
    max_data_connections: Annotated[int, Field(ge=1)] = Field(
        64, description="Passive listeners and data connections open at once over all sessions; past it PASV fails."
    )
    max_upload_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * MiB,
        description="Bytes of one upload kept in the content store; past it the transfer is cut off "
        "(`451 Failure writing to local file.`, `truncated`).",
    )
    max_uploads: Annotated[int, Field(ge=0)] = Field(
        32, description="Uploads per session; past it STOR answers `550 Permission denied.`"
    )
    max_line_bytes: Annotated[int, Field(ge=512, le=65536)] = Field(
        4096, description="Longest command line kept (vsftpd's limit); longer lines are cut, past 64 KiB closed."
    )
    max_commands: Annotated[int, Field(ge=1)] = Field(
        10_000, description="Commands per connection before it is closed (flood guard)."
    )
    max_logged_commands: Annotated[int, Field(ge=0)] = Field(
        500, description="Commands of one connection logged as `ftp.command.input` (the rest are counted)."
    )

    @model_validator(mode="after")
    def _pasv_range(self) -> FTPConfig:
        lo, hi = self.pasv_min_port, self.pasv_max_port
        if (lo == 0) != (hi == 0) or lo > hi:
            raise ValueError("pasv_min_port and pasv_max_port: both 0 (ephemeral) or a range with min <= max")
        return self
