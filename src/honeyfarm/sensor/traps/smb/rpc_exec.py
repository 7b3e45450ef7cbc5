# SPDX-License-Identifier: MIT
"""RPC operations attackers use to run code or coerce authentication, besides svcctl: the print
spooler (PrintNightmare driver installs, the "printer bug" callback), the task scheduler (impacket's
atexec registers a task whose XML carries the command), the legacy AT service, and the two other
well-known coercions, EFSRPC (PetitPotam) and DFS namespaces (DFSCoerce).

Commands go to the ``command`` column of ``smb.dcerpc.request``, coercion targets to
``extra.callback`` (with ``extra.coercion``); the answers are what a patched Windows Server 2016
gives (driver installs and notifications refused), or success for task registration, so that the
tool goes on to run and delete the task and every step is logged. impacket has no EFSRPC or DFSNM
module: their requests are declared here with impacket's NDR types, as PetitPotam and DFSCoerce do.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from impacket.dcerpc.v5 import atsvc, rprn, tsch
from impacket.dcerpc.v5.dtypes import NULL, WSTR
from impacket.dcerpc.v5.ndr import NDRCALL

from honeyfarm.sensor.traps.smb.rpc_types import MAX_COMMAND, Call, Reply, handle_bytes, text

ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_BAD_NETPATH = 53
_XML_EXEC = re.compile(r"<Command>(.*?)</Command>\s*(?:<Arguments>(.*?)</Arguments>)?", re.S | re.I)
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


def _unxml(s: str) -> str:
    return re.sub(r"&(lt|gt|quot|apos|amp);", lambda m: _XML_ENTITIES[m.group(0)], s)


# -- spoolss (MS-RPRN) ------------------------------------------------------------------------------
def _open_printer(call: Call) -> Reply:
    cls = rprn.RpcOpenPrinterEx if call.opnum == 69 else rprn.RpcOpenPrinter
    req = cls(call.stub)
    resp = rprn.RpcOpenPrinterExResponse()
    resp["pHandle"] = call.state.new_handle("printer", text(req["pPrinterName"]))
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"printer": text(req["pPrinterName"])})


def RpcClosePrinter(call: Call) -> Reply:
    req = rprn.RpcClosePrinter(call.stub)
    h = handle_bytes(req["phPrinter"])
    err = 0 if call.state.handles.pop(h, None) is not None else ERROR_INVALID_HANDLE
    resp = rprn.RpcClosePrinterResponse()
    resp["phPrinter"] = b"\x00" * 20 if not err else h
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"error": err} if err else {})


def RpcRemoteFindFirstPrinterChangeNotificationEx(call: Call) -> Reply:
    # The "printer bug": the server is asked to call pszLocalMachine back (and authenticate to it).
    req = rprn.RpcRemoteFindFirstPrinterChangeNotificationEx(call.stub)
    resp = rprn.RpcRemoteFindFirstPrinterChangeNotificationExResponse()
    resp["ErrorCode"] = ERROR_ACCESS_DENIED
    extra = {"callback": text(req["pszLocalMachine"]), "coercion": True, "error": ERROR_ACCESS_DENIED}
    return Reply(resp.getData(), extra=extra)


def RpcAddPrinterDriverEx(call: Call) -> Reply:
    # PrintNightmare (CVE-2021-1675/34527): pConfigFile is the attacker's DLL, often a UNC path.
    req = rprn.RpcAddPrinterDriverEx(call.stub)
    info: Any = req["pDriverContainer"]["DriverInfo"]
    level = int(req["pDriverContainer"]["Level"])
    extra: dict[str, Any] = {"level": level, "server": text(req["pName"]), "error": ERROR_ACCESS_DENIED}
    command = None
    if level == 2:
        d = info["Level2"]
        extra.update(
            driver=text(d["pName"]),
            environment=text(d["pEnvironment"]),
            driver_path=text(d["pDriverPath"], MAX_COMMAND),
            data_file=text(d["pDataFile"], MAX_COMMAND),
            config_file=text(d["pConfigFile"], MAX_COMMAND),
        )
        command = extra["config_file"] or None
    resp = rprn.RpcAddPrinterDriverExResponse()
    resp["ErrorCode"] = ERROR_ACCESS_DENIED
    return Reply(resp.getData(), command=command, extra=extra)


# -- tsch (MS-TSCH ITaskSchedulerService) ------------------------------------------------------------
class _RegisterTaskHead(NDRCALL):  # type: ignore[misc]
    """SchRpcRegisterTask up to ``cCreds``: its credential array (structures, ~200 us each to decode in
    impacket) is left undecoded, so 40 KiB of them cannot hold the event loop for half a second."""

    opnum = 1
    structure = tsch.SchRpcRegisterTask.structure[:-1]


def SchRpcRegisterTask(call: Call) -> Reply:
    req = _RegisterTaskHead(call.stub)
    path, xml = text(req["path"]), text(req["xml"], MAX_COMMAND)
    commands = [" ".join(_unxml(p).strip() for p in m.groups() if p) for m in _XML_EXEC.finditer(xml)]
    resp = tsch.SchRpcRegisterTaskResponse()
    resp["pActualPath"] = (path or "\\") + "\x00"
    resp["pErrorInfo"] = NULL
    resp["ErrorCode"] = 0
    extra = {"task": path, "xml": xml, "logon_type": int(req["logonType"]), "credentials": int(req["cCreds"])}
    return Reply(resp.getData(), command=" && ".join(commands)[:MAX_COMMAND] or None, extra=extra)


def SchRpcRun(call: Call) -> Reply:
    req = tsch.SchRpcRun(call.stub)
    resp = tsch.SchRpcRunResponse()
    resp["pGuid"] = b"\x00" * 16
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"task": text(req["path"])})


def SchRpcGetLastRunInfo(call: Call) -> Reply:
    req = tsch.SchRpcGetLastRunInfo(call.stub)
    resp = tsch.SchRpcGetLastRunInfoResponse()
    # wYear 0: "has not run yet" keeps atexec polling until it gives up, reading no output.
    for k in ("wYear", "wMonth", "wDayOfWeek", "wDay", "wHour", "wMinute", "wSecond", "wMilliseconds"):
        resp["pLastRuntime"][k] = 0
    resp["pLastReturnCode"] = 0
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"task": text(req["path"])})


def SchRpcDelete(call: Call) -> Reply:
    req = tsch.SchRpcDelete(call.stub)
    resp = tsch.SchRpcDeleteResponse()
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"task": text(req["path"])})


# -- atsvc (MS-TSCH ATSvc) --------------------------------------------------------------------------
def NetrJobAdd(call: Call) -> Reply:
    req = atsvc.NetrJobAdd(call.stub)
    command = text(req["pAtInfo"]["Command"], MAX_COMMAND)
    resp = atsvc.NetrJobAddResponse()
    resp["pJobId"] = 1
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), command=command or None, extra={"job_time": int(req["pAtInfo"]["JobTime"])})


# -- efsrpc (MS-EFSR): PetitPotam ---------------------------------------------------------------------
EFSRPC_NAMES = {
    0: "EfsRpcOpenFileRaw",
    1: "EfsRpcReadFileRaw",
    2: "EfsRpcWriteFileRaw",
    3: "EfsRpcCloseRaw",
    4: "EfsRpcEncryptFileSrv",
    5: "EfsRpcDecryptFileSrv",
    6: "EfsRpcQueryUsersOnFile",
    7: "EfsRpcQueryRecoveryAgents",
    8: "EfsRpcRemoveUsersFromFile",
    9: "EfsRpcAddUsersToFile",
    11: "EfsRpcNotSupported",
    12: "EfsRpcFileKeyInfo",
    13: "EfsRpcDuplicateEncryptionInfoFile",
    15: "EfsRpcAddUsersToFileEx",
    16: "EfsRpcFileKeyInfoEx",
    18: "EfsRpcGetEncryptedFileMetadata",
    19: "EfsRpcSetEncryptedFileMetadata",
    20: "EfsRpcFlushEfsCache",
    21: "EfsRpcEncryptFileExSrv",
    22: "EfsRpcQueryProtectors",
}
DFSNM_NAMES = {12: "NetrDfsAddStdRoot", 13: "NetrDfsRemoveStdRoot"}


class _EfsFileName(NDRCALL):  # type: ignore[misc]
    """The first parameter of EfsRpcOpenFileRaw/EncryptFileSrv/DecryptFileSrv: ``[in, string] wchar_t*``."""

    structure = (("FileName", WSTR),)


def _efs(call: Call) -> Reply:
    # The server is asked to open a UNC path, i.e. to connect (and authenticate) to the attacker.
    # EfsRpcOpenFileRaw is refused as on a patched host; the others answer as when the path cannot be
    # reached, which is what PetitPotam takes for a vulnerable host after its first attempt.
    req = _EfsFileName(call.stub)
    target = text(req["FileName"])
    if call.opnum == 0:
        stub, err = b"\x00" * 20 + struct.pack("<I", ERROR_ACCESS_DENIED), ERROR_ACCESS_DENIED
    else:
        stub, err = struct.pack("<I", ERROR_BAD_NETPATH), ERROR_BAD_NETPATH
    return Reply(stub, extra={"callback": target, "coercion": True, "error": err})


# -- netdfs (MS-DFSNM): DFSCoerce --------------------------------------------------------------------
class _DfsStdRoot(NDRCALL):  # type: ignore[misc]
    """NetrDfsAddStdRoot/NetrDfsRemoveStdRoot up to their first two parameters."""

    structure = (("ServerName", WSTR), ("RootShare", WSTR))


def _dfs(call: Call) -> Reply:
    req = _DfsStdRoot(call.stub)
    extra = {"callback": text(req["ServerName"]), "share": text(req["RootShare"]), "coercion": True}
    return Reply(struct.pack("<I", ERROR_ACCESS_DENIED), extra={**extra, "error": ERROR_ACCESS_DENIED})


HANDLERS: dict[tuple[str, int], Callable[[Call], Reply]] = {
    ("spoolss", 1): _open_printer,
    ("spoolss", 29): RpcClosePrinter,
    ("spoolss", 65): RpcRemoteFindFirstPrinterChangeNotificationEx,
    ("spoolss", 69): _open_printer,
    ("spoolss", 89): RpcAddPrinterDriverEx,
    ("tsch", 1): SchRpcRegisterTask,
    ("tsch", 12): SchRpcRun,
    ("tsch", 13): SchRpcDelete,
    ("tsch", 16): SchRpcGetLastRunInfo,
    ("atsvc", 0): NetrJobAdd,
    ("efsrpc", 0): _efs,
    ("efsrpc", 4): _efs,
    ("efsrpc", 5): _efs,
    ("netdfs", 12): _dfs,
    ("netdfs", 13): _dfs,
}
# Operation names of the interfaces impacket has no module for.
NAMES = {"efsrpc": EFSRPC_NAMES, "netdfs": DFSNM_NAMES}
