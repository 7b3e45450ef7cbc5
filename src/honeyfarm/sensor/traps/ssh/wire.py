# SPDX-License-Identifier: MIT
"""sshd's transport and auth behaviour on the wire, as an adapter over asyncssh.

asyncssh is a correct SSH library, but not sshd: it words its errors its own
way, pads every encrypted packet with an SSH_MSG_IGNORE, tells clients it
accepts global requests, rejects identification strings sshd accepts and
accepts some sshd rejects. Each is a one-packet tell. This module overrides the
few ``SSHConnection`` methods where that happens, so the trap answers as
Debian 12's sshd (OpenSSH 9.2p1) does; every behaviour here was read off a real
sshd and is pinned by ``tests/test_diff_sshd_wire.py``:

* identification string: ``kex_exchange_identification`` (kex.c) byte for byte
  — ``Invalid SSH identification string.`` / ``Protocol major versions
  differ.``, lines up to 8192 bytes, ``SSH-1.99``/``SSH-2.x`` accepted, no
  pre-banner lines from a client; when sshd stops reading with bytes still
  unread the kernel resets the connection before the trailing CRLF is sent;
* after KEX: sshd's EXT_INFO (11 ``server-sig-algs`` +
  ``publickey-hostbound@openssh.com``), no ``global-requests-ok``, no IGNORE
  before each packet;
* packets: padding under 4 bytes, types >= 192 and oversized packets get
  sshd's DISCONNECT texts; requests before authentication get
  SSH_MSG_UNIMPLEMENTED, as sshd's ``dispatch_protocol_error`` sends;
* auth: one username and service per connection (sshd disconnects on a
  change), ``none`` requests counted toward MaxAuthTries after the first,
  usernames that are long or not UTF-8 handled as sshd's invalid users;
* every other asyncssh error closes the connection without a DISCONNECT, as
  sshd's ``sshpkt_fatal``/``logdie`` do.

It overrides asyncssh private methods (``_recv_version``, ``_recv_packet``,
``send_packet``, ``_send_ext_info``, ``_send_disconnect``, the packet-handler
table), written against asyncssh 2.24 as ``uv.lock`` pins it; the differential
test fails loudly if an upgrade changes them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import socket
import struct
from typing import Any

from asyncssh.connection import SSHServerConnection
from asyncssh.constants import (
    MSG_CHANNEL_FIRST,
    MSG_CHANNEL_LAST,
    MSG_DEBUG,
    MSG_IGNORE,
    MSG_KEX_FIRST,
    MSG_KEX_LAST,
    MSG_NEWKEYS,
    MSG_SERVICE_REQUEST,
    MSG_UNIMPLEMENTED,
    MSG_USERAUTH_FIRST,
    MSG_USERAUTH_LAST,
    MSG_USERAUTH_REQUEST,
)
from asyncssh.misc import MACError, ProtocolError
from asyncssh.packet import PacketDecodeError, SSHPacket, String, UInt32
from asyncssh.saslprep import SASLPrepError, saslprep

DISC_PROTOCOL_ERROR = 2
SSH_MAX_BANNER_LEN = 8192  # kex.c
PACKET_MAX_SIZE = 256 * 1024  # packet.c
SSH2_MSG_LOCAL_MIN = 192

INVALID_IDENT = b"Invalid SSH identification string."
MAJOR_DIFFERS = b"Protocol major versions differ."

# sshd 9.2's EXT_INFO, in its order (sshkey.c's signature list, then the hostbound extension).
SERVER_SIG_ALGS = (
    "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,"
    "rsa-sha2-256,rsa-sha2-512"
)
EXT_INFO: tuple[tuple[bytes, bytes], ...] = (
    (b"server-sig-algs", SERVER_SIG_ALGS.encode()),
    (b"publickey-hostbound@openssh.com", b"0"),
)

# What may pass before the first NEWKEYS (transport layer generic messages and key exchange).
_PLAINTEXT_TYPES = frozenset({1, 2, 3, 4, 20, 21, *range(30, 50)})

# DISCONNECT texts sshd itself sends; anything else asyncssh would say becomes a silent close.
SSHD_DISCONNECT_TEXTS = (
    "Too many authentication failures",
    "Change of username or service not allowed",
    "bad service request",
    "Corrupted padlen",
    "Invalid ssh2 packet type",
    "strict KEX violation",
)

# sscanf(line, "SSH-%d.%d-%[^\n]\n", ...): %d skips blanks and takes a sign; the software name is non-empty.
_IDENT = re.compile(rb"SSH-[ \t\n\v\f\r]*([+-]?\d+)\.[ \t\n\v\f\r]*([+-]?\d+)-(.)", re.DOTALL)


class SshdDisconnect(ProtocolError):
    """A DISCONNECT with one of sshd's own texts."""


def read_identification(buf: bytes) -> tuple[str, bytes, int]:
    """sshd's reading of a client identification string from ``buf``.

    Returns ``("more", b"", 0)`` while a line is incomplete, ``("ok", version, used)``,
    or ``("invalid"|"major", b"", used)``; ``used`` is how many bytes sshd would have read.
    """
    line = bytearray()
    expect_nl = False
    for i, c in enumerate(buf):
        if c == 0x0D:
            expect_nl = True
            continue
        if c == 0x0A:
            break
        if c == 0 or expect_nl:
            return "invalid", b"", i + 1
        line.append(c)
        if len(line) > SSH_MAX_BANNER_LEN:
            return "invalid", b"", i + 1
    else:
        return "more", b"", 0
    used = i + 1
    version = bytes(line)
    if len(version) <= 4 or not version.startswith(b"SSH-"):
        return "invalid", b"", used  # sshd takes no pre-banner lines from a client
    m = _IDENT.match(version)
    if m is None:
        return "invalid", b"", used
    major, minor = int(m.group(1)), int(m.group(2))
    if major == 2 or (major == 1 and minor == 99):
        return "ok", version, used
    return "major", b"", used


class SshdWireConnection(SSHServerConnection):
    """asyncssh's server connection with sshd's identification, packet and auth handling."""

    max_auth_tries = 6

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_recv_pktlen = PACKET_MAX_SIZE
        self._sshd_first_auth: tuple[bytes, bytes] | None = None
        self._sshd_attempts = 0
        self._sshd_in_send = False

    # --- identification string ------------------------------------------
    def _recv_version(self) -> bool:
        state, version, used = read_identification(bytes(self._inpbuf))
        if state == "more":
            if len(self._inpbuf) > SSH_MAX_BANNER_LEN + 2:
                state, used = "invalid", len(self._inpbuf)
            else:
                return False
        if state != "ok":
            self._sshd_reject(INVALID_IDENT if state == "invalid" else MAJOR_DIFFERS, len(self._inpbuf) > used)
            return False
        self._inpbuf = self._inpbuf[used:]
        self._client_version = version
        self.set_extra_info(client_version=version.decode("ascii", "backslashreplace"))
        self._send_kexinit()
        self._kexinit_sent = True
        self._recv_handler = self._recv_pkthdr
        return True

    def _sshd_reject(self, msg: bytes, unread: bool) -> None:
        """sshd writes the message, then CRLF, then exits; with input left unread the kernel
        answers the close with a RST, and the CRLF (held back by Nagle) never leaves."""
        transport = self._transport
        self._inpbuf = b""
        self._recv_handler = lambda: False
        if transport is None:
            return
        transport.write(msg if unread else msg + b"\r\n")
        sock = transport.get_extra_info("socket")
        if unread and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._force_close(None)
        else:
            transport.close()
            self._transport = None
            self._loop.call_soon(self._cleanup, None)

    # --- what the server sends --------------------------------------------
    def send_packet(self, pkttype: int, *args: bytes, handler: Any = None) -> None:
        # asyncssh sends an empty SSH_MSG_IGNORE ahead of every encrypted packet; sshd never does.
        if pkttype == MSG_IGNORE and self._sshd_in_send:
            return
        if self._send_encryption is None and pkttype in _PLAINTEXT_TYPES:
            self._send_plaintext(pkttype, b"".join(args), handler)
            return
        outer = not self._sshd_in_send
        self._sshd_in_send = True
        try:
            super().send_packet(pkttype, *args, handler=handler)
        finally:
            if outer:
                self._sshd_in_send = False

    def _send_plaintext(self, pkttype: int, body: bytes, handler: Any) -> None:
        """A packet before the first NEWKEYS, padded with zeros as sshd pads plaintext (asyncssh: random)."""
        payload = bytes([pkttype]) + body
        padlen = -(self._send_enchdrlen + len(payload)) % self._send_blocksize
        if padlen < 4:
            padlen += self._send_blocksize
        packet = bytes([padlen]) + payload + bytes(padlen)
        seq = self._send_seq
        self._send(UInt32(len(packet)) + packet)
        if pkttype == MSG_NEWKEYS and self._strict_kex:
            self._send_seq = 0
        else:
            self._send_seq = (seq + 1) & 0xFFFFFFFF
        (handler or self).log_sent_packet(pkttype, seq, payload)

    def _send_ext_info(self) -> None:
        packet = UInt32(len(EXT_INFO)) + b"".join(String(k) + String(v) for k, v in EXT_INFO)
        self.send_packet(7, packet)  # MSG_EXT_INFO

    def _send_disconnect(self, code: int, reason: str, lang: str) -> None:
        if reason.startswith(SSHD_DISCONNECT_TEXTS):
            super()._send_disconnect(code, reason, "")
        # else: sshd would have died with a log line and no DISCONNECT

    # --- what the server receives -----------------------------------------
    def _recv_packet(self) -> bool:
        """asyncssh's ``_recv_packet`` with sshd's checks (padding, packet types, unimplemented requests)."""
        if self._pktlen < 5 or self._pktlen > PACKET_MAX_SIZE:
            raise ProtocolError("Bad packet length")  # sshd: fatal, no DISCONNECT
        if not self._recv_encryption and (4 + self._pktlen) % self._recv_blocksize:
            raise ProtocolError("padding error")  # sshd: fatal, no DISCONNECT
        rem = 4 + self._pktlen + self._recv_macsize - self._recv_blocksize
        if len(self._inpbuf) < rem:
            return False
        seq = self._recv_seq
        rest = self._inpbuf[: rem - self._recv_macsize]
        mac = self._inpbuf[rem - self._recv_macsize : rem]
        if self._recv_encryption:
            packet_data = self._recv_encryption.decrypt_packet(seq, self._packet, rest, 4, mac)
            if not packet_data:
                raise MACError("MAC verification failed")
        else:
            packet_data = self._packet[4:] + rest
        self._inpbuf = self._inpbuf[rem:]
        self._packet = b""
        padlen = packet_data[0]
        if padlen < 4:
            raise SshdDisconnect(f"Corrupted padlen {padlen} on input.")
        if padlen + 1 >= len(packet_data):
            raise ProtocolError("Packet corrupt")  # sshd: fatal, no DISCONNECT
        orig_payload = packet_data[1:-padlen]
        if self._decompressor and (self._auth_complete or not self._decompress_after_auth):
            payload = self._decompressor.decompress(orig_payload)
            if payload is None:
                raise ProtocolError("Decompression failed")
        else:
            payload = orig_payload
        packet = SSHPacket(payload)
        pkttype = packet.get_byte()
        if pkttype < 1 or pkttype >= SSH2_MSG_LOCAL_MIN:
            raise SshdDisconnect(f"Invalid ssh2 packet type: {pkttype}")
        handler: Any = self
        unimplemented = False
        if MSG_KEX_FIRST <= pkttype <= MSG_KEX_LAST:
            if not self._kex:
                raise ProtocolError("Key exchange not in progress")
            handler = self._kex
        elif self._strict_kex and not self._recv_encryption and MSG_IGNORE <= pkttype <= MSG_DEBUG:
            raise SshdDisconnect(f"strict KEX violation: unexpected packet type {pkttype} (seqnr {seq})")
        elif not self._recv_encryption and pkttype >= MSG_USERAUTH_REQUEST:
            raise ProtocolError("Invalid request before key exchange was complete")  # sshd: closes, no DISCONNECT
        elif not self._recv_encryption and pkttype not in _PLAINTEXT_TYPES:
            # sshd's kex_protocol_error: UNIMPLEMENTED, or a DISCONNECT under strict KEX.
            if self._strict_kex:
                raise SshdDisconnect(f"strict KEX violation: unexpected packet type {pkttype} (seqnr {seq})")
            unimplemented = True
        elif pkttype >= MSG_USERAUTH_REQUEST and not (self._auth_in_progress or self._auth_complete):
            unimplemented = True  # before the ssh-userauth service is accepted
        elif MSG_USERAUTH_FIRST <= pkttype <= MSG_USERAUTH_LAST:
            if self._auth:
                handler = self._auth
            else:
                unimplemented = True
        elif pkttype > MSG_USERAUTH_LAST and not self._auth_complete:
            unimplemented = True
        elif MSG_CHANNEL_FIRST <= pkttype <= MSG_CHANNEL_LAST:
            try:
                recv_chan = packet.get_uint32()
            except PacketDecodeError:
                raise ProtocolError("Incomplete channel request received") from None
            handler = self._channels.get(recv_chan)
            if handler is None:
                raise ProtocolError(f"Invalid channel number {recv_chan} received")
        handler.log_received_packet(pkttype, seq, packet, "unimplemented" if unimplemented else "")
        if unimplemented:
            self.send_packet(MSG_UNIMPLEMENTED, UInt32(seq))
        else:
            try:
                result = handler.process_packet(pkttype, seq, packet)
            except PacketDecodeError as exc:
                raise ProtocolError(str(exc)) from None
            if inspect.isawaitable(result):
                self._recv_handler = lambda: False
                task = self.create_task(result)
                task.add_done_callback(functools.partial(self._finish_recv_packet, pkttype, seq, is_async=True))
                return False
            if not result:
                if self._strict_kex and not self._recv_encryption:
                    raise SshdDisconnect(f"strict KEX violation: unexpected packet type {pkttype} (seqnr {seq})")
                self.send_packet(MSG_UNIMPLEMENTED, UInt32(seq))
        self._finish_recv_packet(pkttype, seq)
        return True

    def _process_service_request(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        service = packet.get_string()
        if self._recv_encryption and service != self._next_service:
            raise SshdDisconnect(f"bad service request {service.decode('utf-8', 'backslashreplace')}")
        packet = SSHPacket(String(service))
        super()._process_service_request(pkttype, pktid, packet)

    # --- authentication -----------------------------------------------------
    def sshd_count_failure(self) -> bool:
        """One failure toward MaxAuthTries; True (and disconnected) when it was the last allowed."""
        return False

    def _process_userauth_request(self, pkttype: int, pktid: int, packet: SSHPacket) -> Any:
        user = packet.get_string()
        service = packet.get_string()
        method = packet.get_string()
        rest = packet.get_remaining_payload()
        if self._auth_complete:  # asyncssh ignores these until the first non-auth packet
            original = String(user) + String(service) + String(method) + rest
            return super()._process_userauth_request(pkttype, pktid, SSHPacket(original))
        self._sshd_attempts += 1
        if self._sshd_first_auth is None:
            self._sshd_first_auth = (user, service)
        elif self._sshd_first_auth != (user, service):
            u0, s0 = (x.decode("utf-8", "backslashreplace") for x in self._sshd_first_auth)
            u1, s1 = user.decode("utf-8", "backslashreplace"), service.decode("utf-8", "backslashreplace")
            raise SshdDisconnect(f"Change of username or service not allowed: ({u0},{s0}) -> ({u1},{s1})")
        # sshd counts every failed request toward MaxAuthTries but a first "none"; methods asyncssh
        # answers itself ("none", disabled ones such as keyboard-interactive) are counted here.
        counted_elsewhere = method in (b"password", b"publickey")
        if not counted_elsewhere and (method != b"none" or self._sshd_attempts > 1) and self.sshd_count_failure():
            return None
        if method == b"password":
            rest = _plain_password(rest)
        # asyncssh refuses usernames that are long or not UTF-8 (with its exception's text as the
        # DISCONNECT reason); sshd treats them as invalid users. Give asyncssh a readable stand-in.
        name = user.decode("utf-8", "backslashreplace")[:200]
        try:
            name = saslprep(name)
        except SASLPrepError:
            name = name.encode("unicode_escape").decode("ascii")
        fixed = String(name) + String(b"ssh-connection") + String(method) + rest
        return super()._process_userauth_request(pkttype, pktid, SSHPacket(fixed))

    # asyncssh dispatches packets through a class-level table, not by method lookup.
    _packet_handlers = {  # noqa: RUF012
        **SSHServerConnection._packet_handlers,
        MSG_SERVICE_REQUEST: _process_service_request,
        MSG_USERAUTH_REQUEST: _process_userauth_request,
    }


def _plain_password(rest: bytes) -> bytes:
    """A password request whose password asyncssh's SASLprep accepts (escaped if it would not)."""
    try:
        pkt = SSHPacket(rest)
        change = pkt.get_boolean()
        raw = pkt.get_string()
        tail = pkt.get_remaining_payload()
    except PacketDecodeError:
        return rest
    text = raw.decode("utf-8", "backslashreplace")
    try:
        saslprep(text)
        if text.encode() == raw:
            return rest
    except SASLPrepError:
        text = text.encode("unicode_escape").decode("ascii")
    return (b"\x01" if change else b"\x00") + String(text) + tail
