# SPDX-License-Identifier: MIT
"""The registry of event ids.

Every ``eventid`` honeyfarm emits or maps is listed here with its meaning.
Cowrie-class events keep Cowrie's own ids so that existing Cowrie dashboards,
queries and habits carry over. A test checks that this registry, the parsers
that map ids (``formats/*``) and ``docs/eventids.md`` agree, as Cowrie's own
``eventids.py`` / ``docs/OUTPUT.rst`` pair does.

Ids not in the registry are still ingested unchanged (a newer Cowrie may add
one); ``honeyfarm report eventids`` shows them so they can be added here.
"""

from __future__ import annotations

EVENT_IDS: dict[str, str] = {
    # --- Cowrie (SSH/Telnet) ------------------------------------------------
    "cowrie.session.connect": "New TCP connection to the SSH or Telnet trap.",
    "cowrie.session.closed": "Connection closed; `duration` holds its length in seconds.",
    "cowrie.session.params": "Session parameters (architecture of the emulated host).",
    "cowrie.session.file_download": "A command (wget, curl, tftp, ftpget) fetched a file; `url`, `sha256`.",
    "cowrie.session.file_download.failed": "A download attempted by a command failed; `url`.",
    "cowrie.session.file_upload": "A file was uploaded (SCP, SFTP, redirection); `sha256`.",
    "cowrie.session.input": "Raw input on a session (old Cowrie releases).",
    "cowrie.session.stdin": "Standard input of an exec channel (a script piped into `ssh host sh`, `cat > f`), kept in the content store; `sha256`, `command`, size and the first 4 KiB as text in `extra` (honeyfarm's; Cowrie logs it as a file_download from `stdin`).",
    "cowrie.client.version": "SSH client identification string; `client_version` (old releases also carry kex lists).",
    "cowrie.client.kex": "SSH client key-exchange proposal; `hassh`.",
    "cowrie.client.fingerprint": "Public key offered for authentication; key fingerprint in `extra`.",
    "cowrie.client.size": "Terminal size (width, height) requested by the client.",
    "cowrie.client.var": "Environment variable sent by the client (name, value in `extra`).",
    "cowrie.login.success": "Successful login; `username`, `password`.",
    "cowrie.login.failed": "Failed login; `username`, `password`.",
    "cowrie.command.input": "Command line entered in the shell or sent for exec; `command`.",
    "cowrie.command.success": "Command recognised by the emulated shell (old releases); `command`.",
    "cowrie.command.failed": "Command not found in the emulated shell; `command`.",
    "cowrie.direct-tcpip.request": "Request to proxy TCP through the honeypot; target in `dst_ip`/`dst_port`.",
    "cowrie.tcpip-forward.request": "Remote port forwarding asked (`ssh -R`), never listened on; `extra.listen_host`, `extra.listen_port`, `extra.accepted` (honeyfarm's; Cowrie has no such event).",
    "cowrie.direct-tcpip.data": "Data sent through a refused proxy request; target in `dst_ip`/`dst_port`.",
    "cowrie.log.open": "TTY log opened (old releases).",
    "cowrie.log.closed": "TTY log closed; `duration`, log name and size in `extra`.",
    "cowrie.virustotal.scanfile": "Cowrie's VirusTotal plugin scanned a file; `sha256`.",
    "cowrie.virustotal.scanurl": "Cowrie's VirusTotal plugin scanned a URL; `url`.",
    # --- Suricata EVE (one event per line: suricata.<event_type>) ---------------
    "suricata.alert": "A signature matched; rule in `extra.alert` (signature, signature_id, category, severity).",
    "suricata.anomaly": "Protocol or decoder anomaly seen on the wire; details in `extra.anomaly`.",
    "suricata.drop": "Packet dropped by Suricata in IPS mode; details in `extra.drop`.",
    "suricata.flow": "A flow ended or timed out; packet/byte counters and state in `extra.flow`.",
    "suricata.netflow": "One direction of a flow (netflow-style record); counters in `extra.netflow`.",
    "suricata.stats": "Suricata engine counters (no addresses); in `extra.stats`.",
    "suricata.fileinfo": "A file seen in a transfer; `sha256` when hashing is on, name/size/md5 in `extra.fileinfo`.",
    "suricata.http": "HTTP request/response; `url`, `client_version` (user agent), details in `extra.http`.",
    "suricata.http2": "HTTP/2 transaction; details in `extra.http2`.",
    "suricata.dns": "DNS query or answer; details in `extra.dns`.",
    "suricata.tls": "TLS handshake (SNI, version, certificate, JA3); details in `extra.tls`.",
    "suricata.ssh": "SSH handshake; `client_version` (client banner), `hassh`, server banner in `extra.ssh`.",
    "suricata.smtp": "SMTP transaction; envelope in `extra.smtp`, headers in `extra.email`.",
    "suricata.ftp": "FTP command/reply; details in `extra.ftp`.",
    "suricata.ftp_data": "FTP data-channel transfer; details in `extra.ftp_data`.",
    "suricata.smb": "SMB command; details in `extra.smb`.",
    "suricata.dcerpc": "DCE/RPC request/response; details in `extra.dcerpc`.",
    "suricata.rdp": "RDP handshake; details in `extra.rdp`.",
    "suricata.sip": "SIP message; details in `extra.sip`.",
    "suricata.snmp": "SNMP message; community and PDU in `extra.snmp`.",
    "suricata.dhcp": "DHCP message; details in `extra.dhcp`.",
    "suricata.tftp": "TFTP request; file name in `extra.tftp`.",
    "suricata.krb5": "Kerberos 5 message; details in `extra.krb5`.",
    "suricata.nfs": "NFS request; details in `extra.nfs`.",
    "suricata.ike": "IKE (IPsec) exchange; details in `extra.ike`.",
    "suricata.quic": "QUIC handshake; details in `extra.quic`.",
    "suricata.mqtt": "MQTT message; details in `extra.mqtt`.",
    "suricata.rfb": "RFB (VNC) handshake; details in `extra.rfb`.",
    "suricata.pgsql": "PostgreSQL message; details in `extra.pgsql`.",
    "suricata.ldap": "LDAP request/response; details in `extra.ldap`.",
    "suricata.modbus": "Modbus request/response; details in `extra.modbus`.",
    "suricata.dnp3": "DNP3 message; details in `extra.dnp3`.",
    "suricata.other": "An EVE `event_type` this parser does not know; it stays in `extra.event_type`.",
    # --- Dionaea log_json (one event per connection record) ---------------------
    "dionaea.connection.accept": "A client connected to a Dionaea service (inbound connection); nothing else was logged on it.",
    "dionaea.connection.connect": "Dionaea opened a connection (e.g. to fetch a payload); nothing else was logged on it.",
    "dionaea.connection.listen": "Dionaea started listening on a port (service start).",
    "dionaea.connection.reject": "An inbound connection was rejected.",
    "dionaea.connection.other": "A connection of a type this parser does not know; `connection` in `extra`.",
    "dionaea.login": "A connection with login attempts (FTP, MSSQL, MySQL); first `username`/`password`, all pairs in `extra.credentials`.",
    "dionaea.ftp.command": "An FTP connection with commands but no login; `command` holds them, one per line.",
    # --- Dionaea logsql (SQLite): one event per connection, one per child row ----
    "dionaea.session.file_download": "Dionaea's logsql `downloads` row: a file a connection fetched; `url`, md5 in `extra` (Dionaea logs no sha256).",
    "dionaea.login.success": "Dionaea's logsql `logins` row (Dionaea accepts any login); `username`, `password`.",
    "dionaea.offer": "Dionaea's logsql `offers` row: a URL offered to the attacker (e.g. by the SMB/shell emulation); `url`.",
    "dionaea.mssql.command.input": "Dionaea's logsql `mssql_commands` row: an SQL batch sent to the MSSQL emulation; `command`.",
    "dionaea.mysql.command.input": "Dionaea's logsql `mysql_commands` row with its arguments joined; `command`, operation in `extra.op`.",
    "dionaea.mssql.fingerprint": "Dionaea's logsql MSSQL client fingerprint (host, application name in `client_version`).",
    "dionaea.p0f.fingerprint": "Dionaea's logsql p0f passive OS fingerprint of a connection (genre, detail in `extra`).",
    "dionaea.dcerpc.bind": "Dionaea's logsql DCE/RPC bind (interface uuid, transfer syntax in `extra`).",
    "dionaea.dcerpc.request": "Dionaea's logsql DCE/RPC request (interface uuid, opnum in `extra`).",
    "dionaea.resolve": "Dionaea's logsql DNS resolve made for a connection (hostname, result in `extra`).",
    "dionaea.emu.profile": "Dionaea's logsql libemu shellcode profile (JSON in `extra`).",
    "dionaea.emu.service": "Dionaea's logsql libemu-detected service URL; `url`.",
    "dionaea.sip.command": "Dionaea's logsql SIP request (method, call id in `extra`; user agent in `client_version`).",
    "dionaea.mqtt.fingerprint": "Dionaea's logsql MQTT client fingerprint (client id, will topic in `extra`).",
    "dionaea.mqtt.publish": "Dionaea's logsql MQTT PUBLISH (topic, message in `extra`).",
    "dionaea.mqtt.subscribe": "Dionaea's logsql MQTT SUBSCRIBE (topic in `extra`).",
    # --- SNARE/Tanner, Heralding ------------------------------------------------
    "tanner.request": "One HTTP request SNARE/Tanner saw (`tanner_report.json`); path in `url`, user agent in `client_version`, attack type in `extra.attack_type`.",
    "heralding.session": "A Heralding session ended (`log_session.json`); `duration`, protocol, addresses.",
    "heralding.login.failed": "One login attempt inside a Heralding session; `username`, `password` (Heralding never lets a login succeed).",
    "heralding.auth": "One row of Heralding's `auth.csv`; `username`, `password` (the same attempts as its session log, so not counted by the credential panels).",
    # --- AWS: VPC Flow Logs, Route 53 query logs -------------------------------
    "aws.vpcflow.accept": "VPC Flow Logs record the security group or network ACL accepted (`action` ACCEPT).",
    "aws.vpcflow.reject": "VPC Flow Logs record that was rejected (`action` REJECT).",
    "aws.vpcflow.nodata": "No traffic on the interface during the capture window (`log-status` NODATA); no addresses.",
    "aws.vpcflow.skipdata": "Records skipped during the capture window (`log-status` SKIPDATA).",
    "aws.vpcflow.flow": "Flow record of a custom format without an `action` field.",
    "aws.route53.query": "DNS query received by a Route 53 public hosted zone; resolver in `src_ip`, query in `extra`.",
    "aws.route53resolver.query": "DNS query from a VPC handled by Route 53 Resolver; `src_ip`/`src_port`, query in `extra`.",
    # --- Modern Honey Network (MHN) sessions -------------------------------------
    "mhn.session": "A connection MHN stored (mongoexport of its `session` collection) for a honeypot with no event family here (conpot, glastopf, amun, ...): honeypot in `extra.honeypot`, MHN's protocol in `extra.protocol`; Dionaea and Cowrie sessions take their own families' ids.",
    # --- honeyfarm's own sensor -------------------------------------------------
    "honeyfarm.sensor.start": "The sensor started; listening addresses in `extra`.",
    "honeyfarm.sensor.stop": "The sensor stopped; event counts of the run in `extra`.",
    "honeyfarm.sensor.spool_full": "Events could not be written (spool past `spool.max_bytes`, or a disk error such as ENOSPC); `extra.dropped` events were lost, `extra.reasons` says why. Written once writing works again.",
    "honeyfarm.sensor.refused": "Connections refused by the caps since the last report; `extra.refused`, `extra.reasons` (max_connections, max_per_ip, max_startups), `extra.top_src_ips`.",
    "honeyfarm.sensor.looplag": "Health of the sensor's event loop over the last interval: lateness of a 10 ms timer (`extra.max_ms`, `extra.p99_ms`, `extra.hist_ms`, `extra.worst_ms` since start) and the DH worker's counters (`extra.kex_offload`).",
    # Docker Engine API trap (honeyfarm.sensor.traps.docker)
    "docker.request.received": "Every request to the Docker Engine API trap (dockerd 20.10 on tcp/2375): `client_version` (User-Agent, e.g. `Docker-Client/20.10.24 (linux)`), `extra.method`, `extra.path`, `extra.query`, `extra.body` (capped), `extra.body_size`, `extra.oversized`; `extra.error` and `extra.status` for a request that could not be parsed.",
    "docker.image.pull": "POST /images/create on the Docker trap (answered with a streamed pull): `extra.image` (`name:tag`), `extra.tag`, `extra.from_image`, `extra.from_src` (an import URL, fetched), `extra.present`.",
    "docker.container.create": "POST /containers/create on the Docker trap, also when refused: `command` (Entrypoint + Cmd, shell-quoted), `extra.image`, `extra.cmd`, `extra.entrypoint`, `extra.env`, `extra.binds`, `extra.mounts`, `extra.devices`, `extra.privileged`, `extra.cap_add`, `extra.pid_mode`, `extra.network_mode`, `extra.auto_remove`, `extra.tty`, `extra.name`, `extra.created`, `extra.container_id`, `extra.error`, `extra.urls` (found in command and env, fetched).",
    "docker.container.start": "A fake container started on the Docker trap: `command`, `extra.container_id`, `extra.name`, `extra.image`.",
    "docker.exec.create": "POST /containers/{id}/exec on the Docker trap: `command` (shell-quoted), `extra.cmd`, `extra.container_id`, `extra.exec_id`, `extra.user`, `extra.privileged`, `extra.env`, `extra.created`, `extra.urls`.",
    "docker.stream.input": "Standard input a client piped into a Docker trap attach or exec stream (`docker run -i … sh < script`): `command` (the text, capped), `extra.container_id`, `extra.size`, `extra.truncated`, `extra.urls` (fetched).",
    # Redis trap (honeyfarm.sensor.traps.redis)
    "redis.session.connect": "A connection to the Redis trap (a Debian 12 redis-server 7.0.15 without a password).",
    "redis.session.closed": "A Redis trap connection ended: `extra.duration`, `extra.commands`, `extra.unlogged` (commands past `max_logged_commands`), `extra.reason` (client closed, quit, protocol error, idle timeout, http request, ...), `client_version` (CLIENT SETNAME).",
    "redis.command.input": "A command sent to the Redis trap: `command` (the command line, arguments quoted and escaped as redis-cli shows them, capped), `extra.name` (the full command name in lower case, subcommand included), `extra.argc`, `extra.inline` (a telnet-style line, not RESP).",
    "redis.login.attempt": "AUTH (or HELLO ... AUTH) on the Redis trap: `username`, `password`, `extra.success` (true only when a `requirepass` is set and matched).",
    "redis.file.write": "SAVE/BGSAVE after CONFIG SET dir/dbfilename or with values stored: what a real server would write, e.g. a cron or authorized_keys file: `extra.dir`, `extra.dbfilename`, `extra.path`, `extra.kind` (cron, ssh_key, webshell, module, rdb), `extra.values`, `extra.keys`, `extra.urls` (fetched), `command`.",
    "redis.script.eval": "EVAL/EVALSHA/SCRIPT LOAD on the Redis trap (never run): `extra.script`, `extra.sha1`, `extra.args`.",
    "redis.module.load": "MODULE LOAD on the Redis trap: `extra.path`, `extra.resolved` (against the connection's dir), `extra.loaded` (true when a rogue master pushed that file first).",
    "redis.replication.payload": "What a SLAVEOF/REPLICAOF master pushed as its full-resync payload, stored in the content store: `extra.sha256`, `extra.size`, `extra.declared_size`, `extra.truncated`, `extra.complete`, `extra.kind` (elf = a module, rdb, other), `extra.path`, `extra.master_host`, `extra.master_port`, `extra.master_address`.",
    "redis.replication.failed": "A SLAVEOF/REPLICAOF master could not be fetched: `extra.master_host`, `extra.master_port`, `extra.reason` (blocked by the address policy, connect error, timeout, busy, ...).",
    # Web trap (honeyfarm.sensor.traps.http)
    "http.request.received": "Every request to the web trap (HTTP and HTTPS): `url` (target as sent), `client_version` (User-Agent), `extra.method`, `extra.path`, `extra.query`, `extra.http_version`, `extra.headers`, `extra.body` (capped), `extra.body_size`, `extra.body_sha256`, `extra.status`, `extra.attack` (traversal, rfi, sqli, xss, cmd_injection, log4shell, scanner, crawler, exploit, probe, login), `extra.rule`, `extra.cve`, `extra.answered`, `extra.urls`, `extra.request`; HTTPS adds `extra.sni`, `extra.ja3_hash`, `extra.ja4`; `extra.error` for a request that could not be parsed.",
    "http.login.attempt": "Credentials POSTed to the router persona's login form: `username`, `password`, `url`, `extra.request`.",
    "http.tls.clienthello": "A TLS client's ClientHello on the web trap's HTTPS port: `extra.sni`, `extra.ja3` (string), `extra.ja3_hash`, `extra.ja4`, `extra.alpn`; `extra.error` and `extra.head` when it was not a ClientHello.",
    # Elasticsearch trap (honeyfarm.sensor.traps.elasticsearch)
    "elasticsearch.request.received": "Every HTTP request to the Elasticsearch trap: `url` (path and query), `client_version` (User-Agent), `extra.method`, `extra.path`, `extra.query`, `extra.headers`, `extra.body` (first 16 KiB), `extra.body_size`; `extra.error` for a request that could not be parsed.",
    "elasticsearch.search.query": "A search, or any Elasticsearch request carrying a script or a known exploit: `extra.query` (the query DSL), `extra.scripts`, `extra.lang`, `extra.attack` (script-rce, script, path-traversal), `extra.cve` (CVE-2014-3120 MVEL, CVE-2015-1427 Groovy, CVE-2015-3337, CVE-2015-5531), `command` (the script's exec argument).",
    # Dionaea-class traps (honeyfarm.sensor.traps.smb, ftp, tftp, mssql, mysql, sip, catchall). Every TCP
    # one frames a connection with <trap>.session.connect and <trap>.session.closed (`duration`,
    # `extra.reason`, `extra.bytes_in`, `extra.bytes_out`): Dionaea's connection incidents.
    "smb.session.connect": "A connection to the SMB trap (445 direct, or 139 NetBIOS session service: `extra.netbios`).",
    "smb.session.closed": "An SMB trap connection ended: `duration`, `username`, `client_version` (SMB1 native OS), `extra.reason` (client closed, idle timeout, malformed: ..., ...), `extra.bytes_in`, `extra.bytes_out`, `extra.dialect`, `extra.trees`, `extra.opens`, `extra.uploads`, `extra.called_name`/`extra.calling_name` (NetBIOS).",
    "smb.protocol.negotiate": "SMB NEGOTIATE (Dionaea's smb negotiation): `extra.smb_version` (1 or 2), `extra.dialects` (offered by the client), `extra.dialect` (chosen; `SMB 2.???` when an SMB1 negotiate is switched to SMB2); SMB2 adds `extra.client_guid`, `extra.capabilities`, `extra.security_mode`, SMB1 `extra.flags2`.",
    "smb.login.success": "NTLMSSP authentication accepted by the SMB trap (anonymous, or as a guest session per `accept_logins`): `username`, `extra.domain`, `extra.workstation`, `extra.ntlm_version` (v1, v2, anonymous, none), `extra.hashcat` (the NetNTLMv1/v2 response in hashcat format, mode 5500/5600), `extra.hashcat_mode`, `extra.smb_version`, `extra.client_os` (the NTLM Version field).",
    "smb.login.failed": "NTLMSSP authentication refused by the SMB trap (STATUS_LOGON_FAILURE): the fields of `smb.login.success`.",
    "smb.tree.connect": "TREE_CONNECT on the SMB trap: `extra.share` (e.g. `IPC$`, `ADMIN$`, `C$`), `extra.path` (`\\\\host\\share` as sent), `extra.found`.",
    "smb.file.open": "CREATE (or SMB1 NT_CREATE_ANDX) of a file or named pipe on the SMB trap: `extra.share`, `extra.path`, `extra.access`, `extra.disposition`, `extra.pipe`.",
    "smb.session.file_upload": "A file written to a share of the SMB trap, stored in the content store when closed (Dionaea's download.complete for SMB): `sha256`, `extra.share`, `extra.path`, `extra.size`, `extra.truncated`, `extra.stored`, `extra.out_of_order`.",
    "smb.dcerpc.bind": "A DCE/RPC bind or alter_context on a named pipe of the SMB trap, one event per presentation context (Dionaea's dcerpc bind incident): `extra.pipe`, `extra.uuid`, `extra.interface` (e.g. svcctl, srvsvc, samr, lsarpc, or unknown), `extra.version`, `extra.transfer_syntax` (ndr, ndr64, ...), `extra.context_id`, `extra.alter_context`, `extra.result` (accepted, abstract syntax not supported, transfer syntax not supported, negotiate_ack).",
    "smb.dcerpc.request": "A DCE/RPC call on a named pipe of the SMB trap (Dionaea's dcerpc request incident): `extra.pipe`, `extra.uuid`, `extra.interface`, `extra.opnum`, `extra.operation` (impacket's names, e.g. RCreateServiceW, NetrShareEnum, or `opnum N`), `extra.stub_size`, `extra.fault`/`extra.error` (the answer's status), `extra.callback` with `extra.coercion` (printer bug, PetitPotam, DFSCoerce); `command` is the binary path of svcctl RCreateServiceW/RChangeServiceConfigW (PsExec-style tools), the command of a scheduled task or AT job, or the DLL of a PrintNightmare driver install.",
    "smb.exploit.ms17-010": "The MS17-010 (EternalBlue) check: an SMB1 TRANS PeekNamedPipe on FID 0 after a tree connect to IPC$ (answered STATUS_INSUFF_SERVER_RESOURCES 0xC0000205, as an unpatched host), or EternalBlue's NT_TRANS/TRANS2_SECONDARY (logged once per connection): `extra.command`, `extra.share`, `extra.fid`, `extra.answer`, `extra.tool` (e.g. nmap smb-vuln-ms17-010, metasploit).",
    "smb.exploit.doublepulsar": "A DoublePulsar implant ping (SMB1 Trans2 SESSION_SETUP; the opcode is the byte sum of the Timeout field, e.g. 0x00a4d9a6 = ping): `extra.subcommand` (ping, exec, kill), `extra.timeout`, `extra.data_size`, `extra.answer` (not infected: STATUS_NOT_IMPLEMENTED; the answer keeps the request's multiplex id).",
    "ftp.session.connect": "A connection to the FTP trap.",
    "ftp.session.closed": "An FTP trap connection ended: `duration`, `username`, `extra.reason`, `extra.bytes_in`, `extra.bytes_out`, `extra.commands`, `extra.uploads`, `extra.data_refused` (passive data connections from another address, closed).",
    "ftp.login.success": "USER/PASS accepted by the FTP trap (anonymous when allowed, else by the credential policy): `username`, `password`, `extra.anonymous`.",
    "ftp.login.failed": "USER/PASS refused by the FTP trap (530 Login incorrect): `username`, `password`.",
    "ftp.command.input": "A command sent to the FTP trap: `command` (the line, capped, PASS masked), `extra.verb`, `extra.argument`, `extra.reply` (code).",
    "ftp.session.file_upload": "A STOR/APPE/STOU upload to the FTP trap, stored in the content store: `sha256`, `extra.path`, `extra.size`, `extra.truncated`, `extra.complete`, `extra.append`, `extra.kept`.",
    "tftp.request.received": "A TFTP request (udp/69): `extra.opcode` (rrq, wrq; data/ack/error/oack/other for a stray datagram), `extra.filename`, `extra.mode`, `extra.options` (RFC 2347), `extra.answer` (data, ack, oack, error: File not found, dropped: busy, ...), `extra.malformed`.",
    "tftp.session.file_upload": "A TFTP WRQ transfer, stored in the content store (Dionaea's download.complete for TFTP): `sha256`, `extra.filename`, `extra.size`, `extra.blocks`, `extra.complete`, `extra.truncated`, `duration`, `extra.mode`.",
    "mssql.session.connect": "A connection to the MSSQL trap (TDS, SQL Server 2019).",
    "mssql.session.closed": "An MSSQL trap connection ended: `duration`, `username`, `extra.reason`, `extra.bytes_in`, `extra.bytes_out`, `extra.batches`, `extra.tls`.",
    "mssql.prelogin.received": "A TDS PRELOGIN: `extra.client_version` (the client's TDS library version), `extra.encryption` (what the client offered: off, on, not-supported, required), `extra.options` (option ids sent), `extra.instance`, `extra.thread_id`, `extra.mars`.",
    "mssql.login.success": "A TDS LOGIN7 (or TDS 4.2 login) accepted by the credential policy (Dionaea's mssql login incident): `username`, `password` (de-obfuscated), `client_version` (app name), `extra.hostname`, `extra.server_name`, `extra.library`, `extra.database`, `extra.language`, `extra.tds_version`, `extra.packet_size`, `extra.client_pid`, `extra.client_mac`, `extra.tls` (version, cipher).",
    "mssql.login.failed": "A TDS login refused: SQL logins with error 18456 (Login failed for user), NTLM (integrated) logins with 18452; the fields of `mssql.login.success`; NTLM adds `extra.integrated`, `extra.domain`, `extra.workstation`, `extra.ntlm_version`, `extra.hashcat`, `extra.hashcat_mode` (5600/5500) and has no `password`.",
    "mssql.command.input": "A SQL batch (or RPC request) after login on the MSSQL trap (Dionaea's mssql cmd incident): `command` (the SQL, capped), `extra.kind` (batch, rpc), `extra.shell` (xp_cmdshell / sp_OACreate command lines), `extra.urls` (fetched).",
    "mysql.session.connect": "A connection to the MySQL trap (Debian 12's MariaDB 10.11 handshake).",
    "mysql.session.closed": "A MySQL trap connection ended: `duration`, `username`, `extra.reason`, `extra.bytes_in`, `extra.bytes_out`, `extra.queries`.",
    "mysql.login.success": "A MySQL login accepted: a known plaintext (empty, or sent after a mysql_clear_password switch) by the credential policy, or a hash-only login when `accept_logins` is set; also COM_CHANGE_USER: `username`, `password` (only when known), `client_version`, `extra.auth_plugin`, `extra.auth_switch`, `extra.auth_response` (hex), `extra.salt` (hex), `extra.database`, `extra.capabilities`, `extra.ext_capabilities`, `extra.protocol`, `extra.attrs`.",
    "mysql.login.failed": "A MySQL login refused (1045 Access denied; 1251 for a pre-4.1 client; `extra.reason` when the client hung up at the auth switch): the fields of `mysql.login.success`, `extra.error`.",
    "mysql.command.input": "A query or command after login on the MySQL trap (Dionaea's mysql command incident): `command` (the SQL, capped), `extra.command` (COM_QUERY, COM_INIT_DB, ...), `extra.urls` (fetched).",
    "mysql.session.file_upload": "A blob a query would write to the server's disk (`SELECT ... INTO DUMPFILE/OUTFILE`, a UDF library as hex or base64), stored in the content store: `sha256`, `extra.path`, `extra.size`, `extra.kind` (udf, webshell, other), `extra.via` (dumpfile/outfile), `extra.stored`, `extra.truncated`.",
    "sip.session.connect": "A tcp connection to the SIP trap (udp requests have no connection events).",
    "sip.session.closed": "A tcp connection to the SIP trap ended: `duration`, `extra.reason`, `extra.bytes_in`, `extra.bytes_out`, `extra.requests`.",
    "sip.request.received": "A SIP request on the SIP trap (udp or tcp 5060): `client_version` (User-Agent, e.g. `friendly-scanner`, `sipvicious`), `extra.method` (OPTIONS, REGISTER, INVITE, ...), `extra.uri`, `extra.from`, `extra.to`, `extra.call_id`, `extra.cseq`, `extra.contact`, `extra.answer` (status), `extra.scanner` (a known scanner's name), `extra.body_size`, `extra.suppressed` (a udp answer over the 3x amplification bound, not sent); for malformed input `extra.malformed`, `extra.head`, `extra.size`.",
    "sip.login.failed": "A REGISTER (or INVITE) with digest credentials on the SIP trap, refused (401 again, as pjsip for a wrong password): `username`, `password` when the digest matched one of `guess_passwords`, `extra.realm`, `extra.nonce`, `extra.uri`, `extra.response`, `extra.algorithm`, `extra.method`, `extra.qop`, `extra.nc`, `extra.cnonce`, `extra.opaque`, `extra.hashcat` (the digest in hashcat mode 11400 format).",
    "sip.login.success": "A REGISTER whose digest matched a `guess_passwords` entry that the credential policy accepts (only with `accept_register` on), answered 200: the fields of `sip.login.failed`.",
    "catchall.session.connect": "A connection to a port of the catch-all listener (Honeytrap-class): `dst_ip`/`dst_port` are what the client asked for (the original destination behind an nftables redirect, then also `extra.redirected`, `extra.listen_port`).",
    "catchall.session.closed": "A catch-all connection ended: `duration`, `client_version`, `extra.reason` (`no data`, `idle timeout`, `client closed`, `byte limit`, ...), `extra.bytes_in`, `extra.bytes_out`, `extra.guess` (`none` when the client never spoke).",
    "catchall.payload.received": "The first bytes a client sent to the catch-all listener (capped): `extra.head` (escaped text), `extra.head_hex`, `extra.size`, `extra.truncated`, `extra.sha256` (of the kept bytes), `extra.guess` (tls, ssh, http, http-proxy, rtsp, sip, rdp, smb, redis, memcached, smtp, ftp, pop3, imap, vnc, socks4, socks5, telnet, mongo, mssql, postgres, mqtt, dns, ..., unknown), `extra.ja3`, `extra.ja3_hash`, `extra.ja4`, `extra.sni`, `extra.alpn` (TLS), `extra.rdp_cookie`, `extra.proxy_target` (CONNECT), `extra.proxy_request` (SOCKS), `client_version` (an SSH banner or HTTP User-Agent), `extra.banner` (what the port's profile answered), `extra.urls` (fetched).",
}

#: Event id prefix (honeypot) of each eventid family.
HONEYPOTS: tuple[str, ...] = (
    "cowrie",
    "honeyfarm",
    "suricata",
    "dionaea",
    "tanner",
    "heralding",
    "aws",
    "mhn",
    "elasticsearch",
    "http",
    "redis",
    "docker",
    "smb",
    "ftp",
    "tftp",
    "mssql",
    "mysql",
    "sip",
    "catchall",
)


def describe(eventid: str) -> str | None:
    """Meaning of ``eventid``, or ``None`` when the registry does not know it."""
    return EVENT_IDS.get(eventid)


def honeypot_of(eventid: str) -> str:
    """The ``<honeypot>`` part of a dotted id."""
    return eventid.split(".", 1)[0]
