# SPDX-License-Identifier: MIT
"""SMB2 CREATE, CLOSE, READ, WRITE, IOCTL, QUERY_DIRECTORY, QUERY_INFO, SET_INFO, FLUSH and LOCK on
the trap's shares: files written are captured (:class:`~.state.SMBState`), named pipes on ``IPC$``
are handed to the DCE/RPC pipes, and a stat or a listing gets a plausible empty NTFS answer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from impacket import smb3structs as s3

from honeyfarm.sensor.traps.smb import fileinfo, status
from honeyfarm.sensor.traps.smb.state import Open, SMBState, matching, stable_id
from honeyfarm.sensor.traps.stream import Malformed

if TYPE_CHECKING:
    from honeyfarm.sensor.traps.smb.smb2 import SMB2, Reply, Request

ANY_FILE = (0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)  # FileId of a related request: the previous CREATE's
NOT_FOUND = 0xC0000225
INFO_LENGTH_MISMATCH = 0xC0000004
SECURITY_DESCRIPTOR = bytes.fromhex(
    # self-relative, DACL present; owner BUILTIN\Administrators, group SYSTEM, DACL: Everyone full control
    "0100048014000000240000000000000030000000"
    "01020000000000052000000020020000"
    "010100000000000512000000"
    "02001c000100000000031400ff011f00010100000000000100000000"
)


class Files:
    """File and pipe commands of one SMB2 connection."""

    def __init__(self, st: SMBState, smb2: SMB2) -> None:
        self.st = st
        self.smb2 = smb2
        self.last_fid = 0  # the FileId of the last CREATE, for related compounded requests
        self.listed: dict[int, int] = {}  # directory open -> entries of its listing already sent

    def handlers(self) -> dict[int, Callable[[Request], Reply]]:
        return {
            s3.SMB2_CREATE: self.create,
            s3.SMB2_CLOSE: self.close,
            s3.SMB2_READ: self.read,
            s3.SMB2_WRITE: self.write,
            s3.SMB2_IOCTL: self.ioctl,
            s3.SMB2_QUERY_DIRECTORY: self.query_directory,
            s3.SMB2_QUERY_INFO: self.query_info,
            s3.SMB2_SET_INFO: self.set_info,
            s3.SMB2_FLUSH: self.flush,
            s3.SMB2_LOCK: lambda r: (status.SUCCESS, struct.pack("<HH", 4, 0)),
            s3.SMB2_CHANGE_NOTIFY: lambda r: (status.NOT_SUPPORTED, _err()),
            s3.SMB2_OPLOCK_BREAK: lambda r: (status.SUCCESS, r.body(24)),
        }

    def file_id(self, o: Open) -> bytes:
        return struct.pack("<QQ", o.fid, stable_id(str(id(self)), str(o.fid)))

    def open_of(self, r: Request, raw: bytes) -> Open:
        persistent, volatile = struct.unpack("<QQ", raw)
        fid = self.last_fid if (persistent, volatile) == ANY_FILE and r.related else persistent
        o = self.st.opens.get(fid) if fid < 0x10000 else None
        if o is None or ((persistent, volatile) != ANY_FILE and raw != self.file_id(o)):
            raise status.Refused(status.FILE_CLOSED)
        return o

    def flush(self, r: Request) -> Reply:
        self.open_of(r, r.body(24)[8:24])
        return status.SUCCESS, struct.pack("<HH", 4, 0)

    def create(self, r: Request) -> Reply:
        f = struct.unpack("<HBBIQQIIIIIHHII", r.body(56))
        access, disposition, options, name_off, name_len = f[6], f[9], f[10], f[11], f[12]
        name = r.buffer(name_off, name_len).decode("utf-16-le", "replace") if name_len else ""
        result = self.st.open(self.smb2.tree(r), name, access, disposition, options)
        if isinstance(result, int):
            return result, _err()
        o, action = result
        self.last_fid = o.fid
        resp = s3.SMB2Create_Response()
        resp["CreateAction"] = action
        for t in ("CreationTime", "LastAccessTime", "LastWriteTime", "ChangeTime"):
            resp[t] = 0 if o.pipe is not None else fileinfo.INSTALLED
        resp["FileAttributes"] = (
            fileinfo.ATTR_NORMAL if o.pipe is not None else fileinfo.ATTR_DIRECTORY if o.directory else 0x20
        )
        resp["AllocationSize"] = 4096 if o.pipe is not None else 0
        resp["FileID"] = self.file_id(o)
        resp["AlignPad"] = b""
        resp["Buffer"] = b""
        return status.SUCCESS, bytes(resp.getData())

    def close(self, r: Request) -> Reply:
        flags = struct.unpack_from("<H", r.body(24), 2)[0]
        o = self.open_of(r, r.body(24)[8:24])
        self.st.close(o)
        self.listed.pop(o.fid, None)
        resp = s3.SMB2Close_Response()
        resp["Flags"] = flags & 1
        if flags & 1 and o.pipe is None:  # SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB
            for t in ("CreationTime", "LastAccessTime", "LastWriteTime", "ChangeTime"):
                resp[t] = fileinfo.INSTALLED
            resp["EndofFile"] = o.size
            resp["AllocationSize"] = (o.size + 4095) // 4096 * 4096
            resp["FileAttributes"] = fileinfo.ATTR_DIRECTORY if o.directory else fileinfo.ATTR_ARCHIVE
        return status.SUCCESS, bytes(resp.getData())

    def read(self, r: Request) -> Reply:
        _s, _pad, _flags, length, offset = struct.unpack_from("<HBBIQ", r.body(48))
        o = self.open_of(r, r.body(48)[16:32])
        length = min(length, self.smb2.max_io)
        if o.pipe is not None:
            data = o.pipe.read(length)
            if not data:
                return status.PIPE_EMPTY, _err()
        else:
            if o.directory:
                return status.INVALID_DEVICE_REQUEST, _err()
            if offset >= o.size:
                return status.END_OF_FILE, _err()
            data = b"\x00" * min(length, o.size - offset)  # contents are not kept readable: zeros
        resp = s3.SMB2Read_Response()
        resp["DataOffset"] = 80
        resp["DataLength"] = len(data)
        resp["AlignPad"] = b""
        resp["Buffer"] = data
        return status.SUCCESS, bytes(resp.getData())

    def write(self, r: Request) -> Reply:
        _s, data_off, length, offset = struct.unpack_from("<HHIQ", r.body(48))
        o = self.open_of(r, r.body(48)[16:32])
        if o.directory:
            return status.INVALID_DEVICE_REQUEST, _err()
        self.st.write(o, offset, r.buffer(data_off, length))
        resp = s3.SMB2Write_Response()
        resp["Count"] = length
        return status.SUCCESS, bytes(resp.getData())

    def ioctl(self, r: Request) -> Reply:
        f = struct.unpack("<HHI16sIIIIIIII", r.body(56))
        ctl, raw_fid, in_off, in_count, out_max = f[2], f[3], f[4], f[5], f[9]
        data = r.buffer(in_off, in_count)
        out_max = min(out_max, self.smb2.max_io)
        if ctl == s3.FSCTL_VALIDATE_NEGOTIATE_INFO:
            out = struct.pack(
                "<I16sHH", self.smb2.capabilities(self.smb2.dialect), self.st.persona.server_guid, 1, self.smb2.dialect
            )
        elif ctl == s3.FSCTL_PIPE_TRANSCEIVE:
            o = self.open_of(r, raw_fid)
            if o.pipe is None:
                return status.INVALID_DEVICE_REQUEST, _err()
            out = o.pipe.transact(data, out_max)
        elif ctl == s3.FSCTL_PIPE_WAIT:
            out = b""
        elif ctl in (s3.FSCTL_DFS_GET_REFERRALS, s3.FSCTL_DFS_GET_REFERRALS_EX):
            return NOT_FOUND, _err()
        elif ctl == s3.FSCTL_QUERY_NETWORK_INTERFACE_INFO:
            return status.NOT_SUPPORTED, _err()
        else:
            return status.INVALID_DEVICE_REQUEST, _err()
        code = status.SUCCESS
        if len(out) > out_max:
            out, code = out[:out_max], status.BUFFER_OVERFLOW
        resp = s3.SMB2Ioctl_Response()
        resp["CtlCode"] = ctl
        resp["FileID"] = raw_fid
        resp["InputOffset"] = 112
        resp["OutputOffset"] = 112
        resp["OutputCount"] = len(out)
        resp["AlignPad"] = b""
        resp["Buffer"] = out
        return code, bytes(resp.getData())

    def query_directory(self, r: Request) -> Reply:
        _s, cls, flags, _idx, raw_fid, name_off, name_len, out_len = struct.unpack("<HBBI16sHHI", r.body(32))
        o = self.open_of(r, raw_fid)
        pattern = r.buffer(name_off, name_len).decode("utf-16-le", "replace") if name_len else "*"
        if not o.directory:
            return status.INVALID_PARAMETER, _err()
        if flags & 0x11:  # SMB2_RESTART_SCANS, SMB2_REOPEN
            self.listed.pop(o.fid, None)
        first = o.fid not in self.listed
        pos = self.listed.get(o.fid, 0)
        entries = matching(self.st.listing(o.tree.share.name, o.path), pattern)[pos:]
        if not entries:
            return (status.NO_SUCH_FILE if first else status.NO_MORE_FILES), _err()
        if flags & 0x02:  # SMB2_RETURN_SINGLE_ENTRY
            entries = entries[:1]
        blob = fileinfo.dir_entries(cls, entries)
        while blob is not None and len(blob) > out_len and len(entries) > 1:  # what fits, the rest next time
            entries = entries[: len(entries) // 2]
            blob = fileinfo.dir_entries(cls, entries)
        if blob is None:
            return status.INVALID_INFO_CLASS, _err()
        if len(blob) > out_len:
            return status.BUFFER_TOO_SMALL if out_len < 64 else INFO_LENGTH_MISMATCH, _err()
        self.listed[o.fid] = pos + len(entries)
        return status.SUCCESS, self._info_body(blob)

    def query_info(self, r: Request) -> Reply:
        f = struct.unpack("<HBBIHHIII16s", r.body(40))
        info_type, cls, out_len, raw_fid = f[1], f[2], f[3], f[9]
        o = self.open_of(r, raw_fid)
        blob: bytes | None
        if info_type == 1:  # SMB2_0_INFO_FILE
            if o.pipe is not None and cls == fileinfo.FILE_STANDARD:
                blob = struct.pack("<QQIBBH", 4096, 0, 1, 1, 0, 0)
            else:
                blob = fileinfo.file_info(cls, o.path, o.size, o.directory, stable_id(o.tree.share.name, o.path))
        elif info_type == 2:  # SMB2_0_INFO_FILESYSTEM
            blob = fileinfo.fs_info(cls)
        elif info_type == 3:  # SMB2_0_INFO_SECURITY
            blob = SECURITY_DESCRIPTOR
            if len(blob) > out_len:
                return status.BUFFER_TOO_SMALL, struct.pack("<HHI", 9, 0, 4) + struct.pack("<I", len(blob))
        else:
            return status.NOT_SUPPORTED, _err()
        if blob is None:
            return status.INVALID_INFO_CLASS, _err()
        if len(blob) > out_len:
            if cls in (fileinfo.FILE_ALL, fileinfo.FILE_STREAM, fileinfo.FS_VOLUME, fileinfo.FILE_NORMALIZED_NAME):
                return status.BUFFER_OVERFLOW, self._info_body(blob[:out_len])
            return INFO_LENGTH_MISMATCH, _err()
        return status.SUCCESS, self._info_body(blob)

    @staticmethod
    def _info_body(blob: bytes) -> bytes:
        resp = s3.SMB2QueryInfo_Response()
        resp["OutputBufferOffset"] = 72
        resp["OutputBufferLength"] = len(blob)
        resp["AlignPad"] = b""
        resp["Buffer"] = blob
        return bytes(resp.getData())

    def set_info(self, r: Request) -> Reply:
        _s, info_type, cls, length, off, _res, _add, raw_fid = struct.unpack("<HBBIHHI16s", r.body(32))
        o = self.open_of(r, raw_fid)
        data = r.buffer(off, length)
        if info_type != 1 or o.pipe is not None:
            return status.SUCCESS, struct.pack("<H", 2)
        if cls == 20 and len(data) >= 8:  # FileEndOfFileInformation
            o.size = min(struct.unpack_from("<Q", data)[0], 1 << 62)
        elif cls == 13 and data:  # FileDispositionInformation: delete on close
            o.delete_on_close = bool(data[0]) and bool(o.path)
        elif cls == 10 and len(data) >= 20:  # FileRenameInformation (SMB2 form)
            (length,) = struct.unpack_from("<I", data, 16)
            o.delete_on_close = False
            self.st.rename(o, data[20 : 20 + length].decode("utf-16-le", "replace"))
        return status.SUCCESS, struct.pack("<H", 2)


def _err() -> bytes:
    return struct.pack("<HHI", 9, 0, 0) + b"\x00"


__all__ = ["Files", "Malformed"]
