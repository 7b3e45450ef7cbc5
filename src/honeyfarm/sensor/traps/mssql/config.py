# SPDX-License-Identifier: MIT
"""``[sensor.mssql]``: the MSSQL trap (SQL Server 2019 RTM on Windows Server 2016, default instance).

Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honeyfarm.sensor.trap import StreamConfig

KiB = 1024


class MSSQLConfig(StreamConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:1433"], description="`host:port` addresses.")
    accept_logins: Literal["never", "policy"] = Field(
        "never",
        description="`never`: every LOGIN7 is refused with error 18456, as an exposed server with a strong `sa` "
        "password answers (Dionaea refuses too). `policy`: `[sensor.credentials]` decides, and an accepted login "
        "may send SQL batches (`xp_cmdshell` lines are logged and their URLs fetched).",
    )
    version: str = Field(
        "15.0.2000.5",
        pattern=r"^\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5}$",
        description="Product version (PRELOGIN VERSION, LOGINACK, `@@version`); 15.0.2000.5 is SQL Server 2019 RTM.",
    )
    product_level: str = Field("RTM", max_length=16, description="`SERVERPROPERTY('ProductLevel')`, in `@@version`.")
    build_date: str = Field(
        "Sep 24 2019 13:48:23", max_length=32, description="Build timestamp in `@@version` (that of 15.0.2000.5)."
    )
    edition: str = Field(
        "Standard Edition (64-bit)", max_length=64, description="`SERVERPROPERTY('Edition')`, in `@@version`."
    )
    os_banner: str = Field(
        "Windows Server 2016 Standard 10.0 <X64> (Build 14393: ) (Hypervisor)",
        max_length=128,
        description="The operating system part of `@@version` (build 14393: the SMB trap's Windows Server 2016).",
    )
    server_name: str = Field(
        "",
        max_length=15,
        description="Machine name (`@@servername`, error/info tokens, NTLM challenge); empty = the persona's host "
        "name in capitals, cut to 15 characters as a NetBIOS name.",
    )
    encryption: Literal["supported", "not-supported"] = Field(
        "supported",
        description="`supported`: as a default install, which always has a (self-signed fallback) certificate: "
        "PRELOGIN answers ENCRYPT_OFF to a client offering it (the LOGIN7 then comes in TLS inside TDS, only it) "
        "and ENCRYPT_ON to one asking for encryption (all traffic in TLS 1.2). `not-supported`: ENCRYPT_NOT_SUP, "
        "no TLS at all (clients that require encryption give up).",
    )
    xp_cmdshell: bool = Field(
        False,
        description="Whether `xp_cmdshell` starts enabled; false answers error 15281 (blocked) until the session runs "
        "`sp_configure 'xp_cmdshell', 1` and `RECONFIGURE`, as a default 2019 install. Either way nothing runs: "
        "an enabled `xp_cmdshell` returns one NULL output row.",
    )
    login_timeout: Annotated[float, Field(gt=0)] = Field(
        30.0, description="Seconds from connect to a finished login; a client still pre-login then is closed."
    )
    max_packet_bytes: Annotated[int, Field(ge=512, le=65535)] = Field(
        32767, description="Largest TDS packet (header length field) read; the TDS maximum is 32767."
    )
    max_message_bytes: Annotated[int, Field(ge=4 * KiB, le=64 * 1024 * KiB)] = Field(
        1024 * KiB, description="Largest message (packets reassembled up to end-of-message) kept; past it, closed."
    )
    max_batches: Annotated[int, Field(ge=1)] = Field(
        1000, description="SQL batches and RPC requests per connection before it is closed."
    )
    max_logged_sql: Annotated[int, Field(ge=256, le=1024 * KiB)] = Field(
        16 * KiB, description="Characters of one batch kept in `mssql.command.input` (`command`)."
    )
