# SPDX-License-Identifier: MIT
"""The RPC operations the SMB trap answers, decoded and encoded with impacket's NDR classes.

Each handler takes a :class:`~.rpc.Call` (one reassembled request) and returns a
:class:`~.rpc.Reply`: the response stub a Windows Server 2016 host would send (shares from the
persona, service control that accepts what PsExec-style tools ask, access denied where an anonymous
caller would get it), plus what the ``smb.dcerpc.request`` event records. Opnums without a handler
get the ``nca_s_op_rng_error`` fault. The lsass and registry interfaces are in :mod:`.rpc_lsa` and :mod:`.rpc_samr`,
those that run code (spooler, task scheduler) in :mod:`.rpc_exec`. This module is imported on the first call on a pipe
(see :mod:`.rpc`): impacket's RPC runtime is ~17 MB of RSS.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from impacket.dcerpc.v5 import scmr, srvs, wkst
from impacket.dcerpc.v5.dtypes import NULL

from honeyfarm.sensor.traps.smb.rpc_exec import HANDLERS as EXEC_HANDLERS
from honeyfarm.sensor.traps.smb.rpc_exec import NAMES as EXEC_NAMES
from honeyfarm.sensor.traps.smb.rpc_lsa import HANDLERS as LSA_HANDLERS
from honeyfarm.sensor.traps.smb.rpc_samr import HANDLERS as SAMR_HANDLERS
from honeyfarm.sensor.traps.smb.rpc_types import (
    IFACES,
    MAX_COMMAND,
    MAX_DECODE_STUB,
    NCA_S_FAULT_INVALID_TAG,
    NCA_S_OP_RNG_ERROR,
    RPC_X_BAD_STUB_DATA,
    Call,
    Iface,
    Reply,
    err_fields,
    handle_bytes,
    text,
)

log = logging.getLogger(__name__)

ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_INVALID_LEVEL = 124
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_EXISTS = 1073
NERR_NET_NAME_NOT_FOUND = 2310

Handler = Callable[[Call], Reply]
_NAMES: dict[str, dict[int, str]] = {}  # interface name -> opnum -> operation name

# Services a Windows Server 2016 host has (lower case): ROpenServiceW finds these and those created here.
BUILTIN_SERVICES = frozenset(
    [
        "bits",
        "dhcp",
        "dnscache",
        "eventlog",
        "lanmanserver",
        "lanmanworkstation",
        "mpssvc",
        "netlogon",
        "remoteregistry",
        "schedule",
        "spooler",
        "termservice",
        "w32time",
        "windefend",
        "winmgmt",
        "winrm",
        "wuauserv",
    ]
)


def preload() -> None:
    """Import the interface modules that name opnums (the handlers' modules are imported above)."""
    for iface in {i.name: i for i in IFACES.values()}.values():
        operation_name(iface, 0)


def operation_name(iface: Iface, opnum: int) -> str | None:
    """The operation's name from impacket's OPNUMS table of the interface, None if opnum is unknown."""
    names = _NAMES.get(iface.name)
    if names is None:  # one table per interface (bounded), not one entry per opnum a client tries
        names = dict(EXEC_NAMES.get(iface.name, {}))
        for mod in reversed(iface.modules):  # the first module's name wins (lsad over lsat)
            table = getattr(importlib.import_module(f"impacket.dcerpc.v5.{mod}"), "OPNUMS", {})
            names.update({n: t[0].__name__ for n, t in table.items()})
        _NAMES[iface.name] = names
    return names.get(opnum)


# Operations whose requests carry command lines or task XML (kilobytes); the others are decoded
# only up to SMALL_STUB bytes, which bounds the NDR arrays a hostile stub can make impacket build.
SMALL_STUB = 4096
BIG_STUB_OPS = frozenset({("svcctl", 11), ("svcctl", 12), ("tsch", 1), ("atsvc", 0), ("spoolss", 89)})


def max_stub(iface: Iface, opnum: int) -> int:
    return MAX_DECODE_STUB if (iface.name, opnum) in BIG_STUB_OPS else SMALL_STUB


def handle(call: Call) -> Reply:
    fn = HANDLERS.get((call.iface.name, call.opnum))
    if fn is None:
        return Reply(fault=NCA_S_OP_RNG_ERROR)
    try:
        return fn(call)
    except Exception as e:  # hostile or truncated NDR: Windows answers rpc_x_bad_stub_data
        log.debug("bad stub for %s opnum %d: %r", call.iface.name, call.opnum, e)
        return Reply(fault=RPC_X_BAD_STUB_DATA, extra={"decode_error": type(e).__name__})


def _share_info(level: int, name: str, stype: int, comment: str) -> Any:
    info: Any
    if level == 0:
        info = srvs.SHARE_INFO_0()
        info["shi0_netname"] = name + "\x00"
    elif level == 1:
        info = srvs.SHARE_INFO_1()
        info["shi1_netname"], info["shi1_type"], info["shi1_remark"] = name + "\x00", stype, comment + "\x00"
    else:
        info = srvs.SHARE_INFO_501()
        info["shi501_netname"], info["shi501_type"] = name + "\x00", stype
        info["shi501_remark"], info["shi501_flags"] = comment + "\x00", 0
    return info


def _null_arm(union: Any, level: int) -> bool:
    """Set an NDR union to ``level`` with a NULL pointer (an error answer); False if it has no such arm.

    The client decodes the answer's union by the level it asked for, so the arm must match it."""
    arm = union.union.get(level)
    if arm is None:
        return False
    union["tag"] = level
    union[arm[0]] = NULL
    return True


def NetrShareEnum(call: Call) -> Reply:
    req = srvs.NetrShareEnum(call.stub)
    level = int(req["InfoStruct"]["Level"])
    resp = srvs.NetrShareEnumResponse()
    extra: dict[str, Any] = {"level": level}
    if level in (0, 1):
        resp["InfoStruct"]["Level"] = level
        resp["InfoStruct"]["ShareInfo"]["tag"] = level
        cont = resp["InfoStruct"]["ShareInfo"][f"Level{level}"]
        for name, stype, comment in call.facts.shares:
            cont["Buffer"].append(_share_info(level, name, stype, comment))
        cont["EntriesRead"] = len(call.facts.shares)
        resp["TotalEntries"] = len(call.facts.shares)
        resp["ErrorCode"] = 0
    else:
        # Levels 2 and 502 show paths and ACLs: administrators only on Windows.
        resp["InfoStruct"]["Level"] = level
        if not _null_arm(resp["InfoStruct"]["ShareInfo"], level):
            return Reply(fault=NCA_S_FAULT_INVALID_TAG, extra=extra)
        resp["ErrorCode"] = ERROR_ACCESS_DENIED
        extra["error"] = ERROR_ACCESS_DENIED
    resp["ResumeHandle"] = 0
    return Reply(resp.getData(), extra=extra)


def NetrShareGetInfo(call: Call) -> Reply:
    req = srvs.NetrShareGetInfo(call.stub)
    level, share = int(req["Level"]), text(req["NetName"])
    resp = srvs.NetrShareGetInfoResponse()
    found = next((s for s in call.facts.shares if s[0].lower() == share.lower()), None)
    tags = {0: "ShareInfo0", 1: "ShareInfo1", 501: "ShareInfo501"}
    if found is not None and level in tags:
        resp["InfoStruct"]["tag"] = level
        resp["InfoStruct"][tags[level]] = _share_info(level, *found)
        err = 0
    else:
        if not _null_arm(resp["InfoStruct"], level):
            return Reply(fault=NCA_S_FAULT_INVALID_TAG, extra={"share": share, "level": level})
        err = NERR_NET_NAME_NOT_FOUND if found is None else ERROR_ACCESS_DENIED
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"share": share, "level": level, **err_fields(err)})


def NetrServerGetInfo(call: Call) -> Reply:
    req = srvs.NetrServerGetInfo(call.stub)
    level, f = int(req["Level"]), call.facts
    resp = srvs.NetrServerGetInfoResponse()
    # SV_TYPE_WORKSTATION | SV_TYPE_SERVER | SV_TYPE_NT | SV_TYPE_SERVER_NT: a Windows server not in a domain.
    stype = 0x00000001 | 0x00000002 | 0x00001000 | 0x00008000
    if level in (100, 101, 102):
        resp["InfoStruct"]["tag"] = level
        info = resp["InfoStruct"][f"ServerInfo{level}"]
        p = f"sv{level}_"
        info[p + "platform_id"], info[p + "name"] = 500, f.netbios_name + "\x00"
        if level >= 101:
            info[p + "version_major"], info[p + "version_minor"] = f.os_major, f.os_minor
            info[p + "type"], info[p + "comment"] = stype, "\x00"
        if level == 102:
            info["sv102_users"], info["sv102_disc"], info["sv102_hidden"] = 0xFFFFFFFF, 15, 0
            info["sv102_announce"], info["sv102_anndelta"], info["sv102_licenses"] = 240, 3000, 0
            info["sv102_userpath"] = "c:\\\x00"
        err = 0
    else:
        if not _null_arm(resp["InfoStruct"], level):
            return Reply(fault=NCA_S_FAULT_INVALID_TAG, extra={"level": level})
        err = ERROR_ACCESS_DENIED
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"level": level, **err_fields(err)})


def NetrSessionEnum(call: Call) -> Reply:
    # Who is connected: administrators only since Windows Server 2016 (NetCease is the default).
    req = srvs.NetrSessionEnum(call.stub)
    level = int(req["InfoStruct"]["Level"])
    resp = srvs.NetrSessionEnumResponse()
    resp["InfoStruct"]["Level"] = level
    if not _null_arm(resp["InfoStruct"]["SessionInfo"], level):
        return Reply(fault=NCA_S_FAULT_INVALID_TAG, extra={"level": level})
    resp["TotalEntries"], resp["ResumeHandle"], resp["ErrorCode"] = 0, NULL, ERROR_ACCESS_DENIED
    return Reply(resp.getData(), extra={"level": level, "error": ERROR_ACCESS_DENIED})


def NetrServerStatisticsGet(call: Call) -> Reply:
    # Server statistics are for administrators and server operators.
    req = srvs.NetrServerStatisticsGet(call.stub)
    resp = srvs.NetrServerStatisticsGetResponse()
    resp["InfoStruct"] = NULL
    resp["ErrorCode"] = ERROR_ACCESS_DENIED
    return Reply(resp.getData(), extra={"level": int(req["Level"]), "error": ERROR_ACCESS_DENIED})


# -- wkssvc (MS-WKST) -------------------------------------------------------------------------------
def NetrWkstaGetInfo(call: Call) -> Reply:
    req = wkst.NetrWkstaGetInfo(call.stub)
    level, f = int(req["Level"]), call.facts
    resp = wkst.NetrWkstaGetInfoResponse()
    if level == 100:
        resp["WkstaInfo"]["tag"] = 100
        info = resp["WkstaInfo"]["WkstaInfo100"]
        info["wki100_platform_id"], info["wki100_computername"] = 500, f.netbios_name + "\x00"
        info["wki100_langroup"] = f.domain + "\x00"
        info["wki100_ver_major"], info["wki100_ver_minor"] = f.os_major, f.os_minor
        err = 0
    else:  # 101/102/502 need an administrator or an authenticated user; answer as to anonymous
        if not _null_arm(resp["WkstaInfo"], level):
            return Reply(fault=NCA_S_FAULT_INVALID_TAG, extra={"level": level})
        err = ERROR_ACCESS_DENIED
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"level": level, **err_fields(err)})


# -- svcctl (MS-SCMR) -------------------------------------------------------------------------------
def _service(call: Call, handle: bytes) -> tuple[str, str] | None:
    return call.state.handles.get(handle)


def ROpenSCManagerW(call: Call) -> Reply:
    req = scmr.ROpenSCManagerW(call.stub)
    resp = scmr.ROpenSCManagerWResponse()
    resp["lpScHandle"] = call.state.new_handle("scm")
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"machine": text(req["lpMachineName"]), "access": int(req["dwDesiredAccess"])})


def RCreateServiceW(call: Call) -> Reply:
    req = scmr.RCreateServiceW(call.stub)
    name, display = text(req["lpServiceName"]), text(req["lpDisplayName"])
    binary = text(req["lpBinaryPathName"], MAX_COMMAND)
    extra: dict[str, Any] = {
        "service_name": name,
        "display_name": display,
        "start_type": int(req["dwStartType"]),
        "service_type": int(req["dwServiceType"]),
        "start_name": text(req["lpServiceStartName"]),
    }
    resp = scmr.RCreateServiceWResponse()
    resp["lpdwTagId"] = NULL
    if _service(call, handle_bytes(req["hSCManager"])) is None:
        resp["lpServiceHandle"], err = b"\x00" * 20, ERROR_INVALID_HANDLE
    elif name.lower() in call.state.services or name.lower() in BUILTIN_SERVICES:
        resp["lpServiceHandle"], err = b"\x00" * 20, ERROR_SERVICE_EXISTS
    else:
        if len(call.state.services) < call.state.MAX_SERVICES:
            call.state.services[name.lower()] = {"binary": binary, "state": 1}
        resp["lpServiceHandle"], err = call.state.new_handle("service", name.lower()), 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), command=binary, extra={**extra, **err_fields(err)})


def ROpenServiceW(call: Call) -> Reply:
    req = scmr.ROpenServiceW(call.stub)
    name = text(req["lpServiceName"])
    resp = scmr.ROpenServiceWResponse()
    if _service(call, handle_bytes(req["hSCManager"])) is None:
        resp["lpServiceHandle"], err = b"\x00" * 20, ERROR_INVALID_HANDLE
    elif name.lower() in call.state.services or name.lower() in BUILTIN_SERVICES:
        resp["lpServiceHandle"], err = call.state.new_handle("service", name.lower()), 0
    else:
        resp["lpServiceHandle"], err = b"\x00" * 20, ERROR_SERVICE_DOES_NOT_EXIST
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"service_name": name, **err_fields(err)})


def _service_op(call: Call, req: Any, key: str) -> tuple[str, int]:
    h = _service(call, handle_bytes(req[key]))
    if h is None or h[0] != "service":
        return "", ERROR_INVALID_HANDLE
    return h[1], 0


def _status(resp: Any, field: str, state: int) -> None:
    st = resp[field]
    st["dwServiceType"], st["dwCurrentState"] = 0x10, state  # SERVICE_WIN32_OWN_PROCESS
    st["dwControlsAccepted"] = 1 if state == 4 else 0  # SERVICE_ACCEPT_STOP while running
    st["dwWin32ExitCode"], st["dwServiceSpecificExitCode"], st["dwCheckPoint"], st["dwWaitHint"] = 0, 0, 0, 0


def RStartServiceW(call: Call) -> Reply:
    req = scmr.RStartServiceW(call.stub)
    name, err = _service_op(call, req, "hService")
    if not err and name in call.state.services:
        call.state.services[name]["state"] = 4  # SERVICE_RUNNING
    resp = scmr.RStartServiceWResponse()
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"service_name": name, **err_fields(err)})


def RControlService(call: Call) -> Reply:
    req = scmr.RControlService(call.stub)
    name, err = _service_op(call, req, "hService")
    if not err and name in call.state.services and int(req["dwControl"]) == 1:  # SERVICE_CONTROL_STOP
        call.state.services[name]["state"] = 1
    resp = scmr.RControlServiceResponse()
    _status(resp, "lpServiceStatus", call.state.services.get(name, {}).get("state", 4))
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"service_name": name, "control": int(req["dwControl"]), **err_fields(err)})


def RQueryServiceStatus(call: Call) -> Reply:
    req = scmr.RQueryServiceStatus(call.stub)
    name, err = _service_op(call, req, "hService")
    resp = scmr.RQueryServiceStatusResponse()
    _status(resp, "lpServiceStatus", call.state.services.get(name, {}).get("state", 4))
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"service_name": name, **err_fields(err)})


def RDeleteService(call: Call) -> Reply:
    req = scmr.RDeleteService(call.stub)
    name, err = _service_op(call, req, "hService")
    call.state.services.pop(name, None)
    resp = scmr.RDeleteServiceResponse()
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"service_name": name, **err_fields(err)})


def RChangeServiceConfigW(call: Call) -> Reply:
    req = scmr.RChangeServiceConfigW(call.stub)
    name, err = _service_op(call, req, "hService")
    binary = text(req["lpBinaryPathName"], MAX_COMMAND)
    if not err and binary and name in call.state.services:
        call.state.services[name]["binary"] = binary
    resp = scmr.RChangeServiceConfigWResponse()
    resp["lpdwTagId"] = NULL
    resp["ErrorCode"] = err
    extra = {"service_name": name, "start_type": int(req["dwStartType"]), **err_fields(err)}
    return Reply(resp.getData(), command=binary or None, extra=extra)


def RCloseServiceHandle(call: Call) -> Reply:
    req = scmr.RCloseServiceHandle(call.stub)
    h = handle_bytes(req["hSCObject"])
    err = 0 if call.state.handles.pop(h, None) is not None else ERROR_INVALID_HANDLE
    resp = scmr.RCloseServiceHandleResponse()
    resp["hSCObject"] = b"\x00" * 20 if not err else h
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra=err_fields(err))


HANDLERS: dict[tuple[str, int], Handler] = {
    ("srvsvc", 15): NetrShareEnum,
    ("srvsvc", 16): NetrShareGetInfo,
    ("srvsvc", 21): NetrServerGetInfo,
    ("srvsvc", 12): NetrSessionEnum,
    ("srvsvc", 24): NetrServerStatisticsGet,
    ("wkssvc", 0): NetrWkstaGetInfo,
    ("svcctl", 0): RCloseServiceHandle,
    ("svcctl", 1): RControlService,
    ("svcctl", 2): RDeleteService,
    ("svcctl", 6): RQueryServiceStatus,
    ("svcctl", 11): RChangeServiceConfigW,
    ("svcctl", 12): RCreateServiceW,
    ("svcctl", 15): ROpenSCManagerW,
    ("svcctl", 16): ROpenServiceW,
    ("svcctl", 19): RStartServiceW,
    **LSA_HANDLERS,
    **SAMR_HANDLERS,
    **EXEC_HANDLERS,
}
