# SPDX-License-Identifier: MIT
"""Raw SMB for the SMB trap's tests: the public DoublePulsar checker's packets, NetBIOS framing, a
recording proxy that keeps what a real client sent (the fuzz test's seed corpus), and replay of
such a recording with the server's session/tree ids patched in so mutations reach deep parsers."""

from __future__ import annotations

import binascii
import contextlib
import random
import socket
import struct
import threading
from collections.abc import Iterator

# countercept's doublepulsar-detection-script (2017), as sent: SMB1 NEGOTIATE, an anonymous
# non-extended SESSION_SETUP_ANDX, TREE_CONNECT_ANDX to IPC$, then the implant ping: TRANS2
# SESSION_SETUP with Timeout 0x00a4d9a6 (byte sum 0x23: "ping") and MID 0x41.
DP_NEGOTIATE = binascii.unhexlify(
    "00000085ff534d4272000000001853c00000000000000000000000000000fffe00004000006200025043204e4554574f524b"
    "2050524f4752414d20312e3000024c414e4d414e312e30000257696e646f777320666f7220576f726b67726f75707320332e"
    "316100024c4d312e325830303200024c414e4d414e322e3100024e54204c4d20302e313200"
)
DP_SESSION_SETUP = binascii.unhexlify(
    "00000088ff534d4273000000001807c00000000000000000000000000000fffe000040000dff00880004110a000000000000"
    "000100000000000000d40000004b000000000000570069006e0064006f007700730020003200300030003000200032003100"
    "390035000000570069006e0064006f007700730020003200300030003000200035002e0030000000"
)
DP_TREE_CONNECT = binascii.unhexlify(
    "00000060ff534d4275000000001807c00000000000000000000000000000fffe0008400004ff006000080001003500005c00"
    "5c003100390032002e003100360038002e003100370035002e003100320038005c00490050004300240000003f3f3f3f3f00"
)
DP_TRANS2_PING = binascii.unhexlify(
    "0000004eff534d4232000000001807c00000000000000000000000000008fffe000841000f0c0000000100000000000000a6"
    "d9a40000000c00420000004e0001000e000d0000000000000000000000000000"
)


def recv_frame(sock: socket.socket) -> bytes:
    """One NetBIOS-framed message, the 4-byte header included."""
    head = recv_exactly(sock, 4)
    return head + recv_exactly(sock, int.from_bytes(head[1:], "big"))


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError(f"closed after {len(out)} of {n} bytes")
        out += chunk
    return out


def doublepulsar_check(port: int) -> bytes:
    """Run the checker's conversation; the final response (with its NetBIOS header)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(DP_NEGOTIATE)
        recv_frame(s)
        s.sendall(DP_SESSION_SETUP)
        uid = recv_frame(s)[32:34]
        tc = bytearray(DP_TREE_CONNECT)
        tc[32:34] = uid
        s.sendall(tc)
        tid = recv_frame(s)[28:30]
        ping = bytearray(DP_TRANS2_PING)
        ping[28:30] = tid
        ping[32:34] = uid
        s.sendall(ping)
        return recv_frame(s)


def netbios_name(name: str, suffix: int = 0x20) -> bytes:
    """First-level encoding (RFC 1001 14.1) of a 16-byte NetBIOS name."""
    raw = name.upper().ljust(15)[:15].encode() + bytes([suffix])
    return b"\x20" + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0xF))) + b"\x00"


def session_request(called: str, calling: str) -> bytes:
    body = netbios_name(called) + netbios_name(calling, 0x00)
    return bytes([0x81, 0]) + struct.pack(">H", len(body)) + body


def smb2_negotiate(dialects: tuple[int, ...] = (0x0202, 0x0210, 0x0300, 0x0302)) -> bytes:
    """A minimal SMB2 NEGOTIATE request, framed."""
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, b"")
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0x7F, b"G" * 16, 0)
    body += struct.pack(f"<{len(dialects)}H", *dialects)
    msg = header + body
    return struct.pack(">I", len(msg)) + msg


@contextlib.contextmanager
def recording_proxy(target: int) -> Iterator[tuple[int, list[list[bytes]]]]:
    """A loopback TCP proxy to the trap; yields its port and, per connection, the framed messages
    the client sent (a real client's packets for the fuzz corpus)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    flows: list[list[bytes]] = []
    stop = threading.Event()

    def pump(src: socket.socket, dst: socket.socket, record: list[bytes] | None) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                frame = recv_frame(src)
                if record is not None:
                    record.append(frame)
                dst.sendall(frame)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    socks: list[socket.socket] = []

    def accept() -> None:
        threads: list[threading.Thread] = []
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            client.settimeout(20)
            server = socket.create_connection(("127.0.0.1", target), timeout=20)
            socks.extend((client, server))
            flow: list[bytes] = []
            flows.append(flow)
            for args in ((client, server, flow), (server, client, None)):
                t = threading.Thread(target=pump, args=args, daemon=True)
                t.start()
                threads.append(t)
        for t in threads:
            t.join(5)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield int(listener.getsockname()[1]), flows
    finally:
        stop.set()
        acceptor.join(10)
        listener.close()
        for sock in socks:
            sock.close()


def patch_ids(frame: bytes, session: bytes, tree: bytes, smb1_ids: tuple[bytes, bytes]) -> bytes:
    """A recorded request with this connection's ids: SMB2 SessionId/TreeId, SMB1 UID/TID."""
    b = bytearray(frame)
    if b[4:8] == b"\xfeSMB" and len(b) >= 68:
        if session:
            b[4 + 40 : 4 + 48] = session
        if tree:
            b[4 + 36 : 4 + 40] = tree
    elif b[4:8] == b"\xffSMB" and len(b) >= 36:
        uid, tid = smb1_ids
        if uid:
            b[4 + 28 : 4 + 30] = uid
        if tid:
            b[4 + 24 : 4 + 26] = tid
    return bytes(b)


def mutate(rng: random.Random, frame: bytes) -> bytes:
    """One mutation of a framed message: flipped bytes, a hostile 16/32-bit value at a random
    offset, a cut, or a lying NetBIOS length."""
    b = bytearray(frame)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(4, len(b))] = rng.randrange(256)
    elif kind in (1, 2) and len(b) > 12:
        at = rng.randrange(4, len(b) - 4)
        value = rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF, 0xFFFFFFFF, 0x80000000, len(b), len(b) + 1])
        fmt = "<H" if kind == 1 else "<I"
        struct.pack_into(fmt, b, at, value & (0xFFFF if kind == 1 else 0xFFFFFFFF))
    elif kind == 3:
        cut = rng.randrange(4, len(b))
        b = b[:cut]
        b[1:4] = (len(b) - 4).to_bytes(3, "big")
    else:
        b[1:4] = rng.choice([0, 1, 0xFFFFFF, len(b) + 100, len(b) - 5 if len(b) > 9 else 0]).to_bytes(3, "big")
    return bytes(b)


def replay(port: int, flow: list[bytes], mutate_at: int, rng: random.Random) -> None:
    """Replay ``flow`` up to ``mutate_at`` (ids patched from the answers), then a mutated message;
    read until the server answers or hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        session = tree = b""
        uid = tid = b""
        with contextlib.suppress(OSError, ConnectionError):
            for i, frame in enumerate(flow[: mutate_at + 1]):
                frame = patch_ids(frame, session, tree, (uid, tid))
                if i == mutate_at:
                    frame = mutate(rng, frame)
                s.sendall(frame)
                if i == mutate_at:
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                    return
                reply = recv_frame(s)
                if reply[4:8] == b"\xfeSMB" and len(reply) >= 68:
                    session = session or (reply[44:52] if reply[44:52] != b"\x00" * 8 else b"")
                    tree = reply[40:44] if reply[16] == 3 else tree
                elif reply[4:8] == b"\xffSMB" and len(reply) >= 36:
                    uid = reply[32:34] if reply[8] == 0x73 else uid
                    tid = reply[28:30] if reply[8] == 0x75 else tid
