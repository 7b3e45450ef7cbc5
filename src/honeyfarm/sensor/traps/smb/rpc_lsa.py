# SPDX-License-Identifier: MIT
"""LSA (lsarpc: MS-LSAD, MS-LSAT) and the remote registry as the SMB trap answers them.

A stand-alone Windows Server 2016 in a workgroup: policy queries name the workgroup (no domain SID)
and the machine's account domain; SID lookups (what lookupsid.py and nmap translate RIDs with) know
the accounts of :mod:`.rpc_samr` and the well-known SIDs; the registry refuses to open a hive (the
caller is no administrator). Decoded and encoded with impacket's NDR classes, except
LsarGetUserName (see there); see :mod:`.rpc_ops`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from impacket.dcerpc.v5 import lsad, lsat, rrp
from impacket.dcerpc.v5.dtypes import NULL

from honeyfarm.sensor.traps.smb.rpc_samr import BUILTIN_ALIASES, LOCAL_USERS, close_handle, machine_sid
from honeyfarm.sensor.traps.smb.rpc_types import Call, Reply, RPCFacts, err_fields, handle_bytes, text

ERROR_ACCESS_DENIED = 5
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_HANDLE = 0xC0000008
STATUS_SOME_NOT_MAPPED = 0x00000107
STATUS_NONE_MAPPED = 0xC0000073
MAX_LOOKUP = 1000  # SIDs translated per call (the stub cap bounds it already; Windows allows 20480)
# SIDs with fixed names on every Windows host: (SID_NAME_USE, name, domain).
WELL_KNOWN = {
    "S-1-1-0": (5, "Everyone", ""),
    "S-1-5-4": (5, "INTERACTIVE", "NT AUTHORITY"),
    "S-1-5-7": (5, "ANONYMOUS LOGON", "NT AUTHORITY"),
    "S-1-5-11": (5, "Authenticated Users", "NT AUTHORITY"),
    "S-1-5-18": (5, "SYSTEM", "NT AUTHORITY"),
    "S-1-5-32": (3, "Builtin", "BUILTIN"),
}


# -- lsarpc (MS-LSAD) -------------------------------------------------------------------------------
def _lsa_open(call: Call) -> Reply:
    # LsarOpenPolicy's SystemName is a pointer to one WCHAR in Samba's IDL and a string in impacket's;
    # DesiredAccess, the only input that matters here, is the stub's last field either way.
    if len(call.stub) < 8:
        raise ValueError("short LsarOpenPolicy")
    resp = lsad.LsarOpenPolicy2Response()
    resp["PolicyHandle"] = call.state.new_handle("policy")
    resp["ErrorCode"] = 0
    return Reply(resp.getData(), extra={"access": int.from_bytes(call.stub[-4:], "little")})


def _lsa_query(call: Call) -> Reply:
    cls = lsad.LsarQueryInformationPolicy2 if call.opnum == 46 else lsad.LsarQueryInformationPolicy
    req = cls(call.stub)
    klass, f = int(req["InformationClass"]), call.facts
    resp = lsad.LsarQueryInformationPolicyResponse()
    if call.state.handles.get(handle_bytes(req["PolicyHandle"]), ("",))[0] != "policy":
        resp["PolicyInformation"], err = NULL, STATUS_INVALID_HANDLE
    elif klass in (3, 5, 12):
        info = resp["PolicyInformation"]
        info["tag"] = klass
        if klass == 3:  # primary domain: the workgroup, no SID (not joined to a domain)
            info["PolicyPrimaryDomainInfo"]["Name"], info["PolicyPrimaryDomainInfo"]["Sid"] = f.domain, NULL
        elif klass == 5:  # account domain: the machine's own
            info["PolicyAccountDomainInfo"]["DomainName"] = f.netbios_name
            info["PolicyAccountDomainInfo"]["DomainSid"].fromCanonical(machine_sid(f))
        else:
            dns = info["PolicyDnsDomainInfo"]
            dns["Name"], dns["DnsDomainName"], dns["DnsForestName"], dns["Sid"] = f.domain, "", "", NULL
            dns["DomainGuid"] = b"\x00" * 16
        err = 0
    else:
        resp["PolicyInformation"], err = NULL, STATUS_INVALID_PARAMETER
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"information_class": klass, **err_fields(err)})


def _ndr_unicode(value: str, ref: int) -> bytes:
    """An RPC_UNICODE_STRING followed by its deferred buffer (a conformant varying WCHAR array)."""
    data = value.encode("utf-16-le")
    n = len(data) // 2
    out = struct.pack("<HHI", len(data), len(data), ref) + struct.pack("<III", n, 0, n) + data
    return out + b"\x00" * (-len(out) % 4)


def _account(facts: RPCFacts, sid: str) -> tuple[int, str, str, str] | None:
    """(SID_NAME_USE, name, domain name, domain SID) of a SID this host knows, None if unknown."""
    machine = machine_sid(facts)
    if sid in WELL_KNOWN:
        use, name, domain = WELL_KNOWN[sid]
        return use, name, domain, sid if use == 3 else sid.rsplit("-", 1)[0]
    if sid == machine:
        return 3, facts.netbios_name, facts.netbios_name, machine
    domain_sid, _, rid = sid.rpartition("-")
    if domain_sid == machine and rid == "513":
        return 2, "None", facts.netbios_name, machine  # the machine's one group
    if domain_sid == machine and int(rid) in dict(LOCAL_USERS):
        return 1, dict(LOCAL_USERS)[int(rid)], facts.netbios_name, machine
    if domain_sid == "S-1-5-32" and int(rid) in dict(BUILTIN_ALIASES):
        return 4, dict(BUILTIN_ALIASES)[int(rid)], "BUILTIN", "S-1-5-32"
    return None


def _lookup_sids(call: Call) -> Reply:
    # LsarLookupSids (15) and LsarLookupSids2 (57): what lookupsid.py and nmap translate RIDs with.
    two = call.opnum == 57
    req = (lsat.LsarLookupSids2 if two else lsat.LsarLookupSids)(call.stub)
    sids = [e["Sid"].formatCanonical() for e in req["SidEnumBuffer"]["SidInfo"]][:MAX_LOOKUP]
    resp = (lsat.LsarLookupSids2Response if two else lsat.LsarLookupSidsResponse)()
    domains: list[tuple[str, str]] = []
    mapped = 0
    for sid in sids:
        found = _account(call.facts, sid)
        name = lsat.LSAPR_TRANSLATED_NAME_EX() if two else lsat.LSAPR_TRANSLATED_NAME()
        if found is None:
            name["Use"], name["Name"], name["DomainIndex"] = 8, "", -1  # SidTypeUnknown
        else:
            use, account, dom_name, dom_sid = found
            if (dom_name, dom_sid) not in domains:
                domains.append((dom_name, dom_sid))
            name["Use"], name["Name"] = use, account if use != 3 else ""
            name["DomainIndex"] = domains.index((dom_name, dom_sid))
            mapped += 1
        if two:
            name["Flags"] = 0
        resp["TranslatedNames"]["Names"].append(name)
    resp["TranslatedNames"]["Entries"] = len(sids)
    for dom_name, dom_sid in domains:
        trust = lsad.LSAPR_TRUST_INFORMATION()
        trust["Name"] = dom_name
        trust["Sid"].fromCanonical(dom_sid)
        resp["ReferencedDomains"]["Domains"].append(trust)
    resp["ReferencedDomains"]["Entries"] = len(domains)
    resp["ReferencedDomains"]["MaxEntries"] = 32
    resp["MappedCount"] = mapped
    err = 0 if mapped == len(sids) else STATUS_SOME_NOT_MAPPED if mapped else STATUS_NONE_MAPPED
    resp["ErrorCode"] = err
    return Reply(resp.getData(), extra={"sids": len(sids), "mapped": mapped, **err_fields(err)})


def LsarGetUserName(call: Call) -> Reply:
    # Who the caller is: the SMB session's user when the SMB server told the pipe, else a null session.
    # Packed by hand: DomainName is [in,out,unique] PRPC_UNICODE_STRING* (two referent ids on the wire,
    # as Windows and Samba send it), which impacket's LsarGetUserNameResponse models with one.
    user = call.state.username
    name, domain = (user, call.facts.netbios_name) if user else ("ANONYMOUS LOGON", "NT AUTHORITY")
    stub = struct.pack("<I", 0x20000) + _ndr_unicode(name, 0x20004)
    stub += struct.pack("<II", 0x20008, 0x2000C) + _ndr_unicode(domain, 0x20010)
    return Reply(stub + struct.pack("<I", 0))


# -- winreg (MS-RRP) --------------------------------------------------------------------------------
def _reg_open_hive(call: Call) -> Reply:
    # Remote registry refused, as to a caller who is not an administrator (the RPC_HKEY stays zeros).
    resp = rrp.OpenLocalMachineResponse()
    resp["ErrorCode"] = ERROR_ACCESS_DENIED
    hive = {0: "HKCR", 1: "HKCU", 2: "HKLM", 3: "HKPD", 4: "HKU", 27: "HKCC"}[call.opnum]
    return Reply(resp.getData(), extra={"hive": hive, "error": ERROR_ACCESS_DENIED})


def BaseRegOpenKey(call: Call) -> Reply:
    req = rrp.BaseRegOpenKey(call.stub)
    resp = rrp.BaseRegOpenKeyResponse()
    resp["ErrorCode"] = ERROR_ACCESS_DENIED
    return Reply(resp.getData(), extra={"key": text(req["lpSubKey"]), "error": ERROR_ACCESS_DENIED})


def BaseRegCloseKey(call: Call) -> Reply:
    resp = rrp.BaseRegCloseKeyResponse()
    resp["ErrorCode"] = 0
    return Reply(resp.getData())


HANDLERS: dict[tuple[str, int], Callable[[Call], Reply]] = {
    ("lsarpc", 0): close_handle,
    ("lsarpc", 6): _lsa_open,
    ("lsarpc", 7): _lsa_query,
    ("lsarpc", 15): _lookup_sids,
    ("lsarpc", 44): _lsa_open,
    ("lsarpc", 45): LsarGetUserName,
    ("lsarpc", 46): _lsa_query,
    ("lsarpc", 57): _lookup_sids,
    **{("winreg", n): _reg_open_hive for n in (0, 1, 2, 3, 4, 27)},
    ("winreg", 5): BaseRegCloseKey,
    ("winreg", 15): BaseRegOpenKey,
}
