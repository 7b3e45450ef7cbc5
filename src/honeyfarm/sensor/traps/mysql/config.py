# SPDX-License-Identifier: MIT
"""``[sensor.mysql]``: the MySQL trap (Debian 12's MariaDB 10.11 with a login open to the network).

Every size an attacker controls has a cap here; connections per address are capped for all
traps at once by ``[sensor.limits]`` (``max_per_ip``, ``max_connections``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honeyfarm.sensor.trap import StreamConfig

MiB = 1024 * 1024


class MySQLConfig(StreamConfig):
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:3306"], description="`host:port` addresses.")
    version: str = Field(
        "10.11.19-MariaDB-0+deb12u1",
        pattern=r"^[0-9A-Za-z.+~_-]{1,60}$",
        description="`SELECT VERSION()`; the greeting sends it behind MariaDB's `5.5.5-` prefix "
        "(Debian 12's `mariadb-server` 1:10.11.19-0+deb12u1).",
    )
    version_comment: str = Field("Debian 12", max_length=60, description="`@@version_comment` (the mysql banner).")
    accept_logins: bool = Field(
        False,
        description="Accept logins whose password is unknown (only a mysql_native_password hash came): "
        "queries are then logged. false answers them 1045 Access denied. A known plaintext (empty "
        "password, or one sent after the cleartext switch) is always decided by `[sensor.credentials]`.",
    )
    clear_password_switch: bool = Field(
        False,
        description="Answer a handshake with an AuthSwitchRequest to `mysql_clear_password`, so that "
        "clients that allow it (PyMySQL, `mysql --enable-cleartext-plugin`) send the plaintext password. "
        "Real MariaDB does this only for PAM accounts: a careful client notices.",
    )
    max_packet_bytes: Annotated[int, Field(ge=1024, le=16 * MiB - 1)] = Field(
        1 * MiB,
        description="Longest packet read (MariaDB's max_allowed_packet is 16 MiB); a longer one gets "
        "error 1153 and the connection is closed. Also bounds one query and one uploaded blob.",
    )
    max_logged_query_bytes: Annotated[int, Field(ge=64, le=1 * MiB)] = Field(
        8192, description="Bytes of a query kept in `mysql.command.input` (`command`)."
    )
    max_queries: Annotated[int, Field(ge=1)] = Field(
        500, description="Commands answered per connection; the connection is closed after that many."
    )
    max_login_attempts: Annotated[int, Field(ge=1, le=100)] = Field(
        5, description="Logins per connection (the handshake and each COM_CHANGE_USER)."
    )
    max_upload_bytes: Annotated[int, Field(ge=1024, le=64 * MiB)] = Field(
        4 * MiB, description="Largest blob kept per `INTO DUMPFILE/OUTFILE` (after hex/base64 decoding)."
    )
    max_uploads: Annotated[int, Field(ge=0)] = Field(
        16, description="Blobs stored per connection; later ones are logged without being stored."
    )
    max_variable_bytes: Annotated[int, Field(ge=1024)] = Field(
        4 * MiB, description="Bytes of user variables (`SET @a = 0x...`) kept per connection, all together."
    )
