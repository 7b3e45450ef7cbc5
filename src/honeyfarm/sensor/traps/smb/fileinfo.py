# SPDX-License-Identifier: MIT
"""File and volume information (MS-FSCC 2.4, 2.5) for the trap's fake NTFS volume: the answers to
QUERY_INFO / QUERY_DIRECTORY (SMB2) and TRANS2 QUERY_*_INFO / FIND_FIRST2 (SMB1, pass-through
levels), enough for ``smbclient``'s ``ls``, ``cd`` and ``put`` and for tools that stat before writing.

Times are fixed per sensor (the volume "was installed" on a stable date) so two connections see the
same tree.
"""

from __future__ import annotations

import struct

from honeyfarm.sensor.traps.smb import ntlm

ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20
ATTR_NORMAL = 0x80
INSTALLED = ntlm.filetime(1_478_000_000.0)  # 2016-11-01, a plausible install of a 2016 server
VOLUME_SERIAL = 0x4A1B2C3D
CLUSTER = 4096

# FileInformationClass values answered (MS-FSCC 2.4)
FILE_DIRECTORY = 1
FILE_FULL_DIRECTORY = 2
FILE_BOTH_DIRECTORY = 3
FILE_BASIC = 4
FILE_STANDARD = 5
FILE_INTERNAL = 6
FILE_EA = 7
FILE_ACCESS = 8
FILE_NAMES = 12
FILE_POSITION = 14
FILE_MODE = 16
FILE_ALIGNMENT = 17
FILE_ALL = 18
FILE_ALT_NAME = 21
FILE_STREAM = 22
FILE_COMPRESSION = 28
FILE_NETWORK_OPEN = 34
FILE_ATTRIBUTE_TAG = 35
FILE_ID_BOTH_DIRECTORY = 37
FILE_ID_FULL_DIRECTORY = 38
FILE_NORMALIZED_NAME = 48


def _times() -> bytes:
    return struct.pack("<QQQQ", INSTALLED, INSTALLED, INSTALLED, INSTALLED)


def basic(directory: bool) -> bytes:
    return _times() + struct.pack("<II", ATTR_DIRECTORY if directory else ATTR_ARCHIVE, 0)


def standard(size: int, directory: bool) -> bytes:
    alloc = (size + CLUSTER - 1) // CLUSTER * CLUSTER
    return struct.pack("<QQIBBH", alloc, size, 1, 0, 1 if directory else 0, 0)


def network_open(size: int, directory: bool) -> bytes:
    alloc = (size + CLUSTER - 1) // CLUSTER * CLUSTER
    attrs = ATTR_DIRECTORY if directory else ATTR_ARCHIVE
    return _times() + struct.pack("<QQII", alloc, size, attrs, 0)


def file_info(cls: int, name: str, size: int, directory: bool, file_id: int) -> bytes | None:
    """One FileInformationClass of an open file or directory, or None when not supported."""
    uname = (name.rsplit("\\", 1)[-1] if name else "\\").encode("utf-16-le")
    if cls == FILE_BASIC:
        return basic(directory)
    if cls == FILE_STANDARD:
        return standard(size, directory)
    if cls == FILE_INTERNAL:
        return struct.pack("<Q", file_id)
    if cls == FILE_EA:
        return struct.pack("<I", 0)
    if cls == FILE_ACCESS:
        return struct.pack("<I", 0x001F01FF)
    if cls == FILE_POSITION:
        return struct.pack("<Q", 0)
    if cls == FILE_MODE:
        return struct.pack("<I", 0)
    if cls == FILE_ALIGNMENT:
        return struct.pack("<I", 0)
    if cls == FILE_NETWORK_OPEN:
        return network_open(size, directory)
    if cls == FILE_ATTRIBUTE_TAG:
        return struct.pack("<II", ATTR_DIRECTORY if directory else ATTR_ARCHIVE, 0)
    if cls == FILE_STREAM:
        if directory:
            return b""
        sname = "::$DATA".encode("utf-16-le")
        alloc = (size + CLUSTER - 1) // CLUSTER * CLUSTER
        return struct.pack("<IIQQ", 0, len(sname), size, alloc) + sname
    if cls == FILE_COMPRESSION:
        return struct.pack("<QHBBB3x", size, 0, 0, 0, 0)
    if cls in (FILE_ALT_NAME, FILE_NORMALIZED_NAME):
        return struct.pack("<I", len(uname)) + uname
    if cls == FILE_ALL:
        full = ("\\" + name).encode("utf-16-le")
        return (
            basic(directory)
            + standard(size, directory)
            + struct.pack("<QIIQII", file_id, 0, 0x001F01FF, 0, 0, 0)
            + struct.pack("<I", len(full))
            + full
        )
    return None


# FsInformationClass values (MS-FSCC 2.5)
FS_VOLUME = 1
FS_SIZE = 3
FS_DEVICE = 4
FS_ATTRIBUTE = 5
FS_FULL_SIZE = 7
FS_OBJECT_ID = 8
FS_SECTOR_SIZE = 11
TOTAL_UNITS = 32_505_343  # a 124 GiB system disk, 4 KiB clusters
FREE_UNITS = 21_877_009


def fs_info(cls: int, label: str = "") -> bytes | None:
    if cls == FS_VOLUME:
        raw = label.encode("utf-16-le")
        return struct.pack("<QIIBB", INSTALLED, VOLUME_SERIAL, len(raw), 0, 0) + raw
    if cls == FS_SIZE:
        return struct.pack("<QQII", TOTAL_UNITS, FREE_UNITS, 8, 512)
    if cls == FS_FULL_SIZE:
        return struct.pack("<QQQII", TOTAL_UNITS, FREE_UNITS, FREE_UNITS, 8, 512)
    if cls == FS_DEVICE:
        return struct.pack("<II", 0x07, 0x20)  # FILE_DEVICE_DISK, FILE_DEVICE_IS_MOUNTED
    if cls == FS_ATTRIBUTE:
        raw = "NTFS".encode("utf-16-le")
        return struct.pack("<IiI", 0x00E700FF, 255, len(raw)) + raw
    if cls == FS_OBJECT_ID:
        return b"\x00" * 64
    if cls == FS_SECTOR_SIZE:
        return struct.pack("<IIIIIIII", 512, 4096, 4096, 512, 0x0000000F, 0, 0, 0)[:28]
    return None


def dir_entries(cls: int, names: list[tuple[str, bool, int]]) -> bytes | None:
    """A directory listing in one of the directory information classes; ``names`` is (name, is
    directory, size). Entries are 8-byte aligned and chained by NextEntryOffset."""
    out: list[bytes] = []
    for i, (name, directory, size) in enumerate(names):
        raw = name.encode("utf-16-le")
        attrs = ATTR_DIRECTORY if directory else ATTR_ARCHIVE
        alloc = (size + CLUSTER - 1) // CLUSTER * CLUSTER
        head = struct.pack("<II", 0, i) + _times() + struct.pack("<QQI", size, alloc, attrs)
        if cls == FILE_DIRECTORY:
            entry = head + struct.pack("<I", len(raw)) + raw
        elif cls == FILE_FULL_DIRECTORY:
            entry = head + struct.pack("<II", len(raw), 0) + raw
        elif cls == FILE_ID_FULL_DIRECTORY:
            entry = head + struct.pack("<IIIQ", len(raw), 0, 0, i + 1) + raw
        elif cls == FILE_BOTH_DIRECTORY:
            entry = head + struct.pack("<IIBx24s", len(raw), 0, 0, b"") + raw
        elif cls == FILE_ID_BOTH_DIRECTORY:
            entry = head + struct.pack("<IIBx24s2xQ", len(raw), 0, 0, b"", i + 1) + raw
        elif cls == FILE_NAMES:
            entry = struct.pack("<III", 0, i, len(raw)) + raw
        else:
            return None
        out.append(entry)
    blob = b""
    for i, entry in enumerate(out):
        if i + 1 < len(out):
            entry += b"\x00" * (-len(entry) % 8)
            entry = struct.pack("<I", len(entry)) + entry[4:]
        blob += entry
    return blob
