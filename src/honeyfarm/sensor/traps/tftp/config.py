# SPDX-License-Identifier: MIT
"""``[sensor.tftp]``: the TFTP trap (tftpd-hpa 5.2 as Debian 12 ships it, run with ``--secure --create``).

Every size and count an attacker controls has a cap here: transfers at once (per address and in
all), bytes kept per upload, block size, retransmissions and the time one transfer may take.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honeyfarm.sensor.trap import DatagramConfig

MiB = 1024 * 1024

DEFAULT_FILES = {
    "pxelinux.cfg/default": "DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.img quiet\n",
    "startup-config": "!\nversion 15.2\nhostname edge-rtr-01\nenable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0\n!\n",
    "boot.ini": "[boot loader]\ntimeout=30\n",
}


class TFTPConfig(DatagramConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:6969"], description="`host:port` addresses.")
    files: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FILES),
        description="What RRQ can read (name -> text content; the TFTP root of the persona). Any other name "
        "answers ERROR 1 `File not found`.",
    )
    allow_upload: bool = Field(
        True,
        description="As tftpd-hpa's `--create`: WRQ of a new name is accepted and captured. false answers "
        "ERROR 1 `File not found` as Debian's default `--secure`.",
    )
    max_upload_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * MiB,
        description="Bytes of one WRQ kept in the content store; past it the transfer ends with ERROR 3 "
        "`Disk full or allocation exceeded` (`truncated`).",
    )
    max_blksize: Annotated[int, Field(ge=512, le=65464)] = Field(
        1468,
        description="Largest block size granted to the RFC 2348 `blksize` option (tftpd-hpa's `--blocksize`); "
        "kept small so an RRQ with a forged source reflects little.",
    )
    timeout: Annotated[float, Field(gt=0, le=255)] = Field(
        1.0, description="Seconds before a block is sent again, unless the client's `timeout` option says otherwise."
    )
    retries: Annotated[int, Field(ge=1, le=20)] = Field(
        5,
        description="Retransmissions of one block before the transfer is given up (only one while the peer has "
        "not yet answered from its port: a forged source is not flooded).",
    )
    max_transfer_time: Annotated[float, Field(gt=0)] = Field(
        120.0, description="Whole-transfer time limit (seconds); a slower transfer is cut off."
    )
    max_transfers: Annotated[int, Field(ge=1)] = Field(
        64, description="Transfers at once over all peers; requests past it are dropped unanswered."
    )
    max_transfers_per_ip: Annotated[int, Field(ge=1)] = Field(
        4, description="Transfers at once from one address; requests past it are dropped unanswered."
    )
