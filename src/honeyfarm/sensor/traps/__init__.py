# SPDX-License-Identifier: MIT
"""The sensor's traps: one subpackage per protocol, each implementing :class:`honeyfarm.sensor.trap.Trap`.

:data:`TRAPS` is the list the runtime starts from; adding a trap is one subpackage with a
``build()``, one config table in :class:`honeyfarm.sensor.config.SensorConfig` and one entry here.
"""

from __future__ import annotations

from honeyfarm.sensor.trap import TrapSpec

# Login traps keep Cowrie's eventids; the shell their sessions run (honeyfarm.sensor.shell) emits
# cowrie.command.*, and downloads emit cowrie.session.file_download* (honeyfarm.sensor.capture).
_LOGIN = (
    "cowrie.session.connect",
    "cowrie.session.closed",
    "cowrie.session.params",
    "cowrie.login.success",
    "cowrie.login.failed",
    "cowrie.client.size",
    "cowrie.client.var",
    "cowrie.log.closed",
)
_SSH = (
    *_LOGIN,
    "cowrie.client.version",
    "cowrie.client.kex",
    "cowrie.client.fingerprint",
    "cowrie.direct-tcpip.request",
    "cowrie.tcpip-forward.request",
    "cowrie.session.file_upload",
    "cowrie.session.stdin",
)

TRAPS: tuple[TrapSpec, ...] = (
    TrapSpec("ssh", "honeyfarm.sensor.traps.ssh", _SSH),
    TrapSpec("telnet", "honeyfarm.sensor.traps.telnet", _LOGIN),
    TrapSpec(
        "http",
        "honeyfarm.sensor.traps.http",
        ("http.request.received", "http.login.attempt", "http.tls.clienthello"),
    ),
    TrapSpec(
        "docker",
        "honeyfarm.sensor.traps.docker",
        (
            "docker.request.received",
            "docker.image.pull",
            "docker.container.create",
            "docker.container.start",
            "docker.exec.create",
            "docker.stream.input",
        ),
    ),
    TrapSpec(
        "redis",
        "honeyfarm.sensor.traps.redis",
        (
            "redis.session.connect",
            "redis.session.closed",
            "redis.command.input",
            "redis.login.attempt",
            "redis.file.write",
            "redis.script.eval",
            "redis.module.load",
            "redis.replication.payload",
            "redis.replication.failed",
        ),
    ),
    TrapSpec(
        "elasticsearch",
        "honeyfarm.sensor.traps.elasticsearch",
        ("elasticsearch.request.received", "elasticsearch.search.query"),
    ),
    # Dionaea-class traps: each TCP one also emits <trap>.session.connect/closed from traps/stream.py.
    TrapSpec(
        "smb",
        "honeyfarm.sensor.traps.smb",
        (
            "smb.session.connect",
            "smb.session.closed",
            "smb.protocol.negotiate",
            "smb.login.success",
            "smb.login.failed",
            "smb.tree.connect",
            "smb.file.open",
            "smb.session.file_upload",
            "smb.dcerpc.bind",
            "smb.dcerpc.request",
            "smb.exploit.ms17-010",
            "smb.exploit.doublepulsar",
        ),
    ),
    TrapSpec(
        "ftp",
        "honeyfarm.sensor.traps.ftp",
        (
            "ftp.session.connect",
            "ftp.session.closed",
            "ftp.login.success",
            "ftp.login.failed",
            "ftp.command.input",
            "ftp.session.file_upload",
        ),
    ),
    TrapSpec(
        "tftp", "honeyfarm.sensor.traps.tftp", ("tftp.request.received", "tftp.session.file_upload"), transport="udp"
    ),
    TrapSpec(
        "mssql",
        "honeyfarm.sensor.traps.mssql",
        (
            "mssql.session.connect",
            "mssql.session.closed",
            "mssql.prelogin.received",
            "mssql.login.success",
            "mssql.login.failed",
            "mssql.command.input",
        ),
    ),
    TrapSpec(
        "mysql",
        "honeyfarm.sensor.traps.mysql",
        (
            "mysql.session.connect",
            "mysql.session.closed",
            "mysql.login.success",
            "mysql.login.failed",
            "mysql.command.input",
            "mysql.session.file_upload",
        ),
    ),
    TrapSpec(
        "sip",
        "honeyfarm.sensor.traps.sip",
        ("sip.session.connect", "sip.session.closed", "sip.request.received", "sip.login.failed", "sip.login.success"),
        transport="udp",
    ),
    TrapSpec(
        "catchall",
        "honeyfarm.sensor.traps.catchall",
        ("catchall.session.connect", "catchall.session.closed", "catchall.payload.received"),
    ),
)
