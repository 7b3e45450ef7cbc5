# SPDX-License-Identifier: MIT
"""SAMR (MS-SAMR) as the SMB trap answers it: a stand-alone Windows Server 2016 whose account domain
is the machine (a SID stable per persona) beside Builtin, with the accounts and local groups of a
fresh install, a default password policy and no lockout. Enough for ``rpcclient`` (enumdomusers,
querydominfo, queryaliasmem) and nmap's smb-enum-users/-domains/-groups to report a plain host.
Decoded and encoded with impacket's NDR classes, except where impacket's model differs from the
wire (see :func:`SamrGetMembersInAlias`); see :mod:`.rpc_ops`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

from impacket.dcerpc.v5 import lsad, samr
from impacket.dcerpc.v5.dtypes import NULL

from honeyfarm.sensor.traps.smb.rpc_types import MAX_TEXT, Call, Reply, RPCFacts, err_fields, handle_bytes, text

STATUS_INVALID_HANDLE = 0xC0000008
STATUS_NO_SUCH_DOMAIN = 0xC00000DF
STATUS_INVALID_INFO_CLASS = 0xC0000003
STATUS_NO_SUCH_ALIAS = 0xC0000151
# The local accounts of a fresh Windows Server 2016 (RIDs 500, 501, 503), their account control
# (normal account, password never expires; Guest and DefaultAccount disabled, no password needed)
# and descriptions; the built-in local groups (Builtin domain) and their members.
LOCAL_USERS = ((500, "Administrator"), (501, "Guest"), (503, "DefaultAccount"))
BUILTIN_ALIASES = (
    (544, "Administrators"),
    (545, "Users"),
    (546, "Guests"),
    (547, "Power Users"),
    (551, "Backup Operators"),
    (552, "Replicator"),
    (555, "Remote Desktop Users"),
    (556, "Network Configuration Operators"),
    (558, "Performance Monitor Users"),
    (559, "Performance Log Users"),
    (562, "Distributed COM Users"),
    (568, "IIS_IUSRS"),
    (569, "Cryptographic Operators"),
    (573, "Event Log Readers"),
    (579, "Access Control Assistance Operators"),
    (580, "Remote Management Users"),
    (581, "System Managed Accounts Group"),
)
ALIAS_MEMBERS = {
    544: ("{machine}-500",),  # Administrators: Administrator
    545: ("S-1-5-4", "S-1-5-11"),  # Users: INTERACTIVE, Authenticated Users
    546: ("{machine}-501",),  # Guests: Guest
    581: ("{machine}-503",),  # System Managed Accounts Group: DefaultAccount
}
USER_CONTROL = {500: 0x210, 501: 0x215, 503: 0x215}
USER_COMMENT = {
    500: "Built-in account for administering the computer/domain",
    501: "Built-in account for guest access to the computer/domain",
    503: "A user account managed by the system.",
}
DAY = 24 * 3600 * 10_000_000  # in 100 ns units, as SAMR counts time
MINUTES_30 = 30 * 60 * 10_000_000
INSTALL_FILETIME = 131_652_000_000_000_000  # 2018-03-11: when the persona's Windows was installed


def machine_sid(facts: RPCFacts) -> str:
    """A stable machine SID for the persona (S-1-5-21-a-b-c, derived from the NetBIOS name)."""
    d = hashlib.sha256(b"honeyfarm-sid:" + facts.netbios_name.upper().encode()).digest()
    a, b, c = (int.from_bytes(d[i : i + 4], "little") for i in (0, 4, 8))
    return f"S-1-5-21-{a}-{b}-{c}"


def close_handle(call: Call) -> Reply:
    """LsarClose and SamrCloseHandle: one handle in, the zeroed handle and a status out (same layout)."""
    h = call.stub[:20]
    if len(h) != 20:
        raise ValueError("short handle")
    err = 0 if call.state.handles.pop(h, None) is not None else STATUS_INVALID_HANDLE
    resp = lsad.LsarCloseResponse()
    resp["ObjectHandle"] = b"\x00" * 20 if not err else h
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra=err_fields(err))


def _samr_connect(call: Call) -> Reply:
    cls = {0: samr.SamrConnect, 57: samr.SamrConnect2, 62: samr.SamrConnect4, 64: samr.SamrConnect5}[call.opnum]
    req = cls(call.stub)
    handle = call.state.new_handle("sam")
    if call.opnum == 64:
        resp = samr.SamrConnect5Response()
        resp["OutVersion"] = 1
        resp["OutRevisionInfo"]["tag"] = 1
        resp["OutRevisionInfo"]["V1"]["Revision"], resp["OutRevisionInfo"]["V1"]["SupportedFeatures"] = 3, 0
    else:
        resp = samr.SamrConnectResponse()
    resp["ServerHandle"] = handle
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"access": int(req["DesiredAccess"])})


def SamrEnumerateDomainsInSamServer(call: Call) -> Reply:
    req = samr.SamrEnumerateDomainsInSamServer(call.stub)
    resp = samr.SamrEnumerateDomainsInSamServerResponse()
    if call.state.handles.get(handle_bytes(req["ServerHandle"]), ("",))[0] != "sam":
        resp["Buffer"], resp["CountReturned"], err = NULL, 0, STATUS_INVALID_HANDLE
    else:
        for i, name in enumerate((call.facts.netbios_name, "Builtin")):
            entry = samr.SAMPR_RID_ENUMERATION()
            entry["RelativeId"], entry["Name"] = i, name
            resp["Buffer"]["Buffer"].append(entry)
        resp["Buffer"]["EntriesRead"] = resp["CountReturned"] = 2
        err = 0
    resp["EnumerationContext"] = 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra=err_fields(err))


def _domains(facts: RPCFacts) -> dict[str, str]:
    return {facts.netbios_name.lower(): machine_sid(facts), "builtin": "S-1-5-32"}


def _handle_kind(call: Call, handle: Any) -> tuple[str, str]:
    return call.state.handles.get(handle_bytes(handle), ("", ""))


def SamrLookupDomainInSamServer(call: Call) -> Reply:
    req = samr.SamrLookupDomainInSamServer(call.stub)
    name = text(req["Name"])
    resp = samr.SamrLookupDomainInSamServerResponse()
    sid = _domains(call.facts).get(name.lower())
    if _handle_kind(call, req["ServerHandle"])[0] != "sam":
        resp["DomainId"], err = NULL, STATUS_INVALID_HANDLE
    elif sid is None:
        resp["DomainId"], err = NULL, STATUS_NO_SUCH_DOMAIN
    else:
        resp["DomainId"].fromCanonical(sid)
        err = 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"domain": name, **err_fields(err)})


def SamrOpenDomain(call: Call) -> Reply:
    req = samr.SamrOpenDomain(call.stub)
    sid = req["DomainId"].formatCanonical()
    resp = samr.SamrOpenDomainResponse()
    if _handle_kind(call, req["ServerHandle"])[0] != "sam":
        resp["DomainHandle"], err = b"\x00" * 20, STATUS_INVALID_HANDLE
    elif sid not in _domains(call.facts).values():
        resp["DomainHandle"], err = b"\x00" * 20, STATUS_NO_SUCH_DOMAIN
    else:
        resp["DomainHandle"], err = call.state.new_handle("domain", sid), 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"domain_sid": sid[:MAX_TEXT], **err_fields(err)})


def _enumerate(call: Call) -> Reply:
    # SamrEnumerateUsersInDomain (13) and SamrEnumerateAliasesInDomain (15): the accounts of a fresh
    # install in the machine's domain, the built-in local groups in Builtin.
    cls = samr.SamrEnumerateUsersInDomain if call.opnum == 13 else samr.SamrEnumerateAliasesInDomain
    req = cls(call.stub)
    kind, sid = _handle_kind(call, req["DomainHandle"])
    resp = samr.SamrEnumerateUsersInDomainResponse()
    if kind != "domain":
        resp["Buffer"], resp["CountReturned"], err = NULL, 0, STATUS_INVALID_HANDLE
    else:
        machine = sid == machine_sid(call.facts)
        found = (LOCAL_USERS if machine else ()) if call.opnum == 13 else (() if machine else BUILTIN_ALIASES)
        for rid, name in found:
            entry = samr.SAMPR_RID_ENUMERATION()
            entry["RelativeId"], entry["Name"] = rid, name
            resp["Buffer"]["Buffer"].append(entry)
        resp["Buffer"]["EntriesRead"] = resp["CountReturned"] = len(found)
        err = 0
    resp["EnumerationContext"] = 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra=err_fields(err))


def SamrOpenAlias(call: Call) -> Reply:
    req = samr.SamrOpenAlias(call.stub)
    kind, sid = _handle_kind(call, req["DomainHandle"])
    rid = int(req["AliasId"])
    resp = samr.SamrOpenAliasResponse()
    if kind != "domain":
        resp["AliasHandle"], err = b"\x00" * 20, STATUS_INVALID_HANDLE
    elif sid != "S-1-5-32" or rid not in dict(BUILTIN_ALIASES):
        resp["AliasHandle"], err = b"\x00" * 20, STATUS_NO_SUCH_ALIAS
    else:
        resp["AliasHandle"], err = call.state.new_handle("alias", str(rid)), 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"rid": rid, **err_fields(err)})


def _ndr_sid(sid: str) -> bytes:
    """An RPC_SID in NDR: its conformant size first, then revision, count, authority, sub-authorities."""
    parts = [int(p) for p in sid.split("-")[1:]]
    revision, authority, subs = parts[0], parts[1], parts[2:]
    return struct.pack(f"<IBB6s{len(subs)}I", len(subs), revision, len(subs), authority.to_bytes(6, "big"), *subs)


def SamrGetMembersInAlias(call: Call) -> Reply:
    # Packed by hand: SAMPR_PSID_ARRAY_OUT is an array of *pointers* to SIDs (MS-SAMR 2.2.3.5), which
    # impacket's SAMPR_SID_INFORMATION models as inline SIDs; nmap's smb-enum-groups reads the former.
    req = samr.SamrGetMembersInAlias(call.stub)
    kind, rid = _handle_kind(call, req["AliasHandle"])
    if kind != "alias":
        return Reply(struct.pack("<III", 0, 0, STATUS_INVALID_HANDLE), extra=err_fields(STATUS_INVALID_HANDLE))
    members = [m.replace("{machine}", machine_sid(call.facts)) for m in ALIAS_MEMBERS.get(int(rid), ())]
    if not members:
        return Reply(struct.pack("<III", 0, 0, 0))
    stub = struct.pack("<III", len(members), 0x20000, len(members))
    stub += b"".join(struct.pack("<I", 0x20004 + 4 * i) for i in range(len(members)))
    stub += b"".join(_ndr_sid(m) for m in members)
    return Reply(stub + struct.pack("<I", 0), extra={"members": len(members)})


def SamrQueryDisplayInformation(call: Call) -> Reply:
    # Opnums 40, 48 and 51 share their parameters; class 1 (users) is answered, others refused.
    req = samr.SamrQueryDisplayInformation(call.stub)
    klass, first = int(req["DisplayInformationClass"]), int(req["Index"])
    resp = samr.SamrQueryDisplayInformationResponse()
    kind, sid = _handle_kind(call, req["DomainHandle"])
    users = [u for u in LOCAL_USERS if sid == machine_sid(call.facts)]
    resp["Buffer"]["tag"] = klass if klass in resp["Buffer"].union else 1
    if kind != "domain":
        err = STATUS_INVALID_HANDLE
    elif klass != 1:
        err = STATUS_INVALID_INFO_CLASS
    else:
        page = users[first:]
        for i, (rid, name) in enumerate(page, start=first + 1):
            entry = samr.SAMPR_DOMAIN_DISPLAY_USER()
            entry["Index"], entry["Rid"], entry["AccountControl"] = i, rid, USER_CONTROL[rid]
            entry["AccountName"], entry["AdminComment"], entry["FullName"] = name, USER_COMMENT[rid], ""
            resp["Buffer"]["UserInformation"]["Buffer"].append(entry)
        resp["Buffer"]["UserInformation"]["EntriesRead"] = len(page)
        resp["TotalAvailable"], resp["TotalReturned"] = 512 * len(users), 512 * len(page)
        err = 0
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"information_class": klass, **err_fields(err)})


def _large(field: Any, value: int) -> None:
    """An OLD_LARGE_INTEGER (LowPart, signed HighPart) from a signed 64-bit value."""
    field["LowPart"], field["HighPart"] = value & 0xFFFFFFFF, value >> 32


def SamrQueryInformationDomain(call: Call) -> Reply:
    req = samr.SamrQueryInformationDomain(call.stub)  # opnum 46 (...2) has the same parameters
    klass = int(req["DomainInformationClass"])
    kind, sid = _handle_kind(call, req["DomainHandle"])
    resp = samr.SamrQueryInformationDomainResponse()
    buf = resp["Buffer"]
    err = 0
    if kind != "domain":
        resp["Buffer"], err = NULL, STATUS_INVALID_HANDLE
    elif klass == 1:  # a stand-alone server's default policy: no length, 42-day maximum age
        buf["tag"] = 1
        pw = buf["Password"]
        pw["MinPasswordLength"], pw["PasswordHistoryLength"], pw["PasswordProperties"] = 0, 0, 0
        _large(pw["MaxPasswordAge"], -42 * DAY)
        _large(pw["MinPasswordAge"], 0)
    elif klass == 2:
        buf["tag"] = 2
        gen = buf["General"]
        _large(gen["ForceLogoff"], -(1 << 63))
        gen["OemInformation"], gen["ReplicaSourceNodeName"] = "", ""
        gen["DomainName"] = call.facts.netbios_name if sid == machine_sid(call.facts) else "Builtin"
        _large(gen["DomainModifiedCount"], 87)
        gen["DomainServerState"], gen["DomainServerRole"], gen["UasCompatibilityRequired"] = 1, 3, 1
        gen["UserCount"], gen["GroupCount"], gen["AliasCount"] = len(LOCAL_USERS), 1, 0
    elif klass == 8:
        buf["tag"] = 8
        _large(buf["Modified"]["DomainModifiedCount"], 87)
        _large(buf["Modified"]["CreationTime"], INSTALL_FILETIME)
    elif klass == 12:  # no lockout threshold (the default), 30-minute windows
        buf["tag"] = 12
        lock = buf["Lockout"]
        lock["LockoutDuration"], lock["LockoutObservationWindow"], lock["LockoutThreshold"] = (
            -MINUTES_30,
            -MINUTES_30,
            0,
        )
    else:
        resp["Buffer"], err = NULL, STATUS_INVALID_INFO_CLASS
    resp["ErrorCode"] = err
    stub = resp.getData()
    if klass == 2:
        # impacket pads the one-byte UasCompatibilityRequired with 0xBF; Windows pads with zeros,
        # and Samba reads those four bytes as one number (rpcclient querydominfo prints it).
        stub = stub.replace(struct.pack("<IIB", 1, 3, 1) + b"\xbf" * 3, struct.pack("<IIB", 1, 3, 1) + b"\x00" * 3, 1)
    return Reply(stub, extra={"information_class": klass, **err_fields(err)})


def SamrGetDomainPasswordInformation(call: Call) -> Reply:
    samr.SamrGetDomainPasswordInformation(call.stub)
    resp = samr.SamrGetDomainPasswordInformationResponse()
    resp["PasswordInformation"]["MinPasswordLength"], resp["PasswordInformation"]["PasswordProperties"] = 0, 0
    resp["ErrorCode"] = 0
    return Reply(resp.getData())


HANDLERS: dict[tuple[str, int], Callable[[Call], Reply]] = {
    ("samr", 0): _samr_connect,
    ("samr", 1): close_handle,
    ("samr", 5): SamrLookupDomainInSamServer,
    ("samr", 6): SamrEnumerateDomainsInSamServer,
    ("samr", 7): SamrOpenDomain,
    ("samr", 8): SamrQueryInformationDomain,
    ("samr", 13): _enumerate,
    ("samr", 15): _enumerate,
    ("samr", 27): SamrOpenAlias,
    ("samr", 33): SamrGetMembersInAlias,
    ("samr", 40): SamrQueryDisplayInformation,
    ("samr", 46): SamrQueryInformationDomain,
    ("samr", 48): SamrQueryDisplayInformation,
    ("samr", 51): SamrQueryDisplayInformation,
    ("samr", 56): SamrGetDomainPasswordInformation,
    ("samr", 57): _samr_connect,
    ("samr", 62): _samr_connect,
    ("samr", 64): _samr_connect,
}
