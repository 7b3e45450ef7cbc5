# SPDX-License-Identifier: MIT
"""``[sensor.smb]``: the SMB trap (direct SMB on ``listen``, NetBIOS session service on ``netbios_listen``).

Every size an attacker controls has a cap here; connections per address are capped for all traps
at once by ``[sensor.limits]``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honeyfarm.sensor.trap import StreamConfig, Strict

KiB = 1024
MiB = 1024 * KiB


class ShareConfig(Strict):
    """One disk share besides the administrative ``IPC$``, ``ADMIN$`` and ``C$``."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^\\/:*?\"<>|\x00-\x1f]+$")]
    comment: str = Field("", max_length=256)
    type: Literal["disk", "print"] = "disk"


class SMBConfig(StreamConfig):
    listen: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:4445"], description="`host:port` addresses of direct SMB (445)."
    )
    netbios_listen: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:1139"],
        description="`host:port` addresses of the NetBIOS session service (139): a session request comes first.",
    )
    persona: Literal["windows-2016", "samba"] = Field(
        "windows-2016",
        description="Whose SMB stack to imitate: Windows Server 2016 (SMB1 on, SMB 2.0.2-3.1.1, OS 10.0 build "
        "14393) or Samba 4.17 as on Debian 12 (SMB1 off, SMB 2.0.2-3.1.1, a Unix server's NTLM facts).",
    )
    netbios_name: Annotated[str, Field(max_length=15, pattern=r"^[A-Za-z0-9_-]*$")] = Field(
        "",
        description="The computer's NetBIOS name (NTLM target info, `smb-os-discovery`'s Computer name). Empty: "
        "the persona's host name in upper case, cut to 15 characters, as the MSSQL trap's server name.",
    )
    domain: Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        "WORKGROUP", description="The NetBIOS domain or workgroup name."
    )
    dns_domain: Annotated[str, Field(max_length=253, pattern=r"^[A-Za-z0-9.-]*$")] = Field(
        "", description="DNS domain of the host (empty: a workgroup member, its DNS names are the NetBIOS name)."
    )
    shares: list[ShareConfig] = Field(
        default_factory=lambda: [
            ShareConfig(name="Users", comment=""),
            ShareConfig(name="Public", comment="Public files"),
        ],
        description="Disk shares besides `IPC$`, `ADMIN$` and `C$` (`{name, comment, type}`); all accept writes.",
    )
    accept_logins: Literal["any", "none", "policy"] = Field(
        "any",
        description="NTLM logins with a user name: `any` accepted (as a guest session: worms get in to upload), "
        "`none` refused (STATUS_LOGON_FAILURE), `policy` as the sensor's credential policy decides for the user "
        "with an empty password (NTLM sends no plaintext; `accept_after` still counts). Null sessions are "
        "always accepted.",
    )
    max_message_bytes: Annotated[int, Field(ge=64 * KiB, le=16 * MiB)] = Field(
        1 * MiB + 4 * KiB,
        description="Largest SMB message (NetBIOS length) read; longer ones close the connection as malformed.",
    )
    max_file_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * MiB, description="Bytes kept of one written file (more is cut off, `truncated`)."
    )
    max_connection_bytes: Annotated[int, Field(ge=1024)] = Field(
        64 * MiB, description="Bytes of written files kept per connection; further writes succeed but are dropped."
    )
    max_opens: Annotated[int, Field(ge=1, le=4096)] = Field(
        64, description="Files and pipes open at once per connection."
    )
    max_trees: Annotated[int, Field(ge=1, le=1024)] = Field(16, description="Tree connects at once per connection.")
    max_sessions: Annotated[int, Field(ge=1, le=256)] = Field(8, description="Sessions at once per connection.")
    max_compound: Annotated[int, Field(ge=1, le=256)] = Field(
        32, description="SMB2 requests in one compounded message (SMB1 AndX chains: at most 8 commands)."
    )
    max_requests: Annotated[int, Field(ge=1)] = Field(
        100_000, description="SMB requests per connection before it is closed (flood guard)."
    )
    max_logged_opens: Annotated[int, Field(ge=0)] = Field(
        200, description="`smb.file.open` events per connection (the rest are counted in `session.closed`)."
    )

    def addresses(self) -> list[str]:
        return [*self.listen, *self.netbios_listen]
