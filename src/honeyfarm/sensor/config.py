# SPDX-License-Identifier: MIT
"""Configuration of ``honeyfarm sensor`` (the ``[sensor]`` table of honeyfarm.toml).

Validated once by :func:`honeyfarm.config.load_config` and passed down; no
module reads it at import time. Defaults bind loopback only, so an example
config never exposes a trap by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from honeyfarm.sensor.trap import Strict as _Strict
from honeyfarm.sensor.trap import TrapConfig
from honeyfarm.sensor.traps.catchall.config import CatchAllConfig
from honeyfarm.sensor.traps.docker.config import DockerConfig
from honeyfarm.sensor.traps.elasticsearch.config import ElasticsearchConfig
from honeyfarm.sensor.traps.ftp.config import FTPConfig
from honeyfarm.sensor.traps.http.config import HTTPConfig
from honeyfarm.sensor.traps.mssql.config import MSSQLConfig
from honeyfarm.sensor.traps.mysql.config import MySQLConfig
from honeyfarm.sensor.traps.redis.config import RedisConfig
from honeyfarm.sensor.traps.sip.config import SIPConfig
from honeyfarm.sensor.traps.smb.config import SMBConfig
from honeyfarm.sensor.traps.tftp.config import TFTPConfig

FilePath = Annotated[Path, Field(strict=False)]
Port = Annotated[int, Field(ge=0, le=65535)]


class IdentityConfig(_Strict):
    """Who this sensor is: stamped on every event so analysis can compare regions and exposures."""

    name: str = Field("sensor-1", min_length=1, max_length=64, description="Sensor name (`sensor` column).")
    region: str = Field("local", max_length=64, description="Cloud region, e.g. `eu-west-1`.")
    provider: str = Field("local", max_length=64, description="Cloud provider, e.g. `aws`.")
    instance_type: str = Field("", max_length=64, description="Instance type, e.g. `t3.nano`.")
    hourly_cost: Annotated[float, Field(ge=0)] = Field(0.0, description="What the sensor costs per hour (USD).")
    tags: dict[str, str] = Field(
        default_factory=dict, description='Free-form tags, e.g. `exposure = "ip" | "domain" | "pastebin"`.'
    )


class SpoolConfig(_Strict):
    dir: FilePath = Field(Path("./honeyfarm-spool"), description="Where event JSON lines, TTY logs and state go.")
    rotate_bytes: Annotated[int, Field(ge=4096)] = Field(
        64 * 1024 * 1024, description="Close and start a new spool file past this size."
    )
    rotate_seconds: Annotated[float, Field(gt=0)] = Field(3600.0, description="Close a spool file this old.")
    max_bytes: Annotated[int, Field(ge=65536)] = Field(
        4 * 1024**3,
        description="Spool size cap (event files + TTY logs). Past it new events are counted, not written, "
        "and a `honeyfarm.sensor.spool_full` event reports how many were dropped once space frees up.",
    )
    max_event_bytes: Annotated[int, Field(ge=1024)] = Field(
        64 * 1024, description="Longest attacker-supplied field kept in one event; longer values are cut."
    )
    fsync_interval: Annotated[float, Field(ge=0)] = Field(
        1.0, description="Seconds between fsyncs of the open spool file (0 = after every event)."
    )


class CredentialsConfig(_Strict):
    """Who gets in: one password per account (default), or Cowrie-style userdb rules."""

    policy: Literal["one-password", "userdb"] = Field(
        "one-password",
        description="`one-password`: root and the persona's users each have ONE password at a time, the first "
        "password from `passwords_file` that an address tries after `choose_after` failures (kept in "
        "spool/state/passwords.json); other names are refused. Plausible (a brute forcer never finds two "
        "passwords) but fewer bots get in. `userdb`: Cowrie's rules (`userdb`, `accept_after`): more sessions "
        "captured, but root may accept many passwords, which no real server does. Setting `userdb`, "
        "`userdb_file` or `accept_after` without `policy` means `userdb`.",
    )
    choose_after: Annotated[int, Field(ge=0, le=1000)] = Field(
        3, description="one-password: failed attempts an address makes before one of its passwords can be chosen."
    )
    passwords_file: FilePath | None = Field(
        None,
        description="one-password: the candidate passwords, one per line (`# ` starts a comment). "
        "Default: a bundled list of ~140 passwords bots try most.",
    )
    password_lifetime: Annotated[float, Field(ge=0)] = Field(
        0.0, description="one-password: seconds after which an account's password may be chosen afresh (0 = never)."
    )
    userdb: list[str] = Field(
        default_factory=lambda: ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:*"],
        description="userdb: Cowrie userdb lines `user:x:password` (`*` any, `!` deny, `/regex/`), first match wins.",
    )
    userdb_file: FilePath | None = Field(None, description="userdb: Cowrie userdb.txt to read instead of `userdb`.")
    accept_after: Annotated[int, Field(ge=0)] = Field(
        0, description="userdb: accept any credentials on the Nth attempt from one IP (0 = never)."
    )
    max_tracked_ips: Annotated[int, Field(ge=1)] = Field(
        100_000, description="IPs whose failed attempts are counted (oldest forgotten first)."
    )

    @model_validator(mode="before")
    @classmethod
    def _userdb_implies_policy(cls, data: Any) -> Any:
        # A Cowrie userdb written without `policy` keeps meaning what it meant before the policy existed.
        if isinstance(data, dict) and "policy" not in data and {"userdb", "userdb_file", "accept_after"} & set(data):
            return {**data, "policy": "userdb"}
        return data


class PersonaConfig(_Strict):
    """The machine the fake shell pretends to be (Debian 12 on a small cloud VM by default)."""

    flavor: Literal["debian", "busybox"] = Field(
        "debian",
        description=(
            "Kind of machine: `debian` (Debian 12, bash, inetutils-telnetd) or `busybox` "
            "(an embedded router: BusyBox ash, BusyBox telnetd)."
        ),
    )
    hostname: str = Field(
        "web-01", pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", description="Host name in prompts and uname."
    )
    kernel_release: str = Field("6.1.0-28-cloud-amd64", description="`uname -r`.")
    kernel_version: str = Field("#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)", description="`uname -v`.")
    arch: str = Field("x86_64", description="`uname -m`; also `session.params`.")
    cpu_model: str = Field("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", description="/proc/cpuinfo model name.")
    cpu_count: Annotated[int, Field(ge=1, le=256)] = Field(2, description="CPUs in /proc/cpuinfo, nproc.")
    mem_kb: Annotated[int, Field(ge=65536)] = Field(1_000_000, description="MemTotal (free, /proc/meminfo).")
    users: list[str] = Field(
        default_factory=lambda: ["admin:1000"], description="Regular users on the machine, `name:uid`."
    )
    uptime_days: Annotated[float, Field(ge=0)] = Field(
        47.3, description="Uptime shown when the sensor starts (grows from there)."
    )

    @model_validator(mode="before")
    @classmethod
    def _flavor_defaults(cls, data: Any) -> Any:
        # A `busybox` persona starts from a router's figures (hostname, ARM CPU, 4.x kernel); set fields win.
        if isinstance(data, dict) and data.get("flavor") == "busybox":
            from honeyfarm.sensor.shell.persona_busybox import CONFIG_DEFAULTS

            return {**CONFIG_DEFAULTS, **data}
        return data


class SSHConfig(TrapConfig):
    enabled: bool = Field(True, description="Run the SSH trap.")
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2222"], description="`host:port` addresses.")
    profile: Literal["openssh-9.2p1-debian12"] = Field(
        "openssh-9.2p1-debian12", description="Real OpenSSH release whose banner, algorithms and timing are copied."
    )
    version: str = Field(
        "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
        description="Identification string (match it to the profile's release).",
        pattern=r"^SSH-2\.0-[\x21-\x7e][\x20-\x7e]{0,200}$",
    )
    host_key_dir: FilePath | None = Field(
        None, description="Host keys (generated on first start). Default: spool/keys."
    )
    auth_fail_delay: Annotated[float, Field(ge=0, le=30)] = Field(
        2.0,
        description="PAM failure delay (pam_unix asks for 2 s). As Linux-PAM 1.5.2 it is stretched to 0.5-1.5x "
        "(the same for every attempt within one second), then rounded up as sshd does to the user's own "
        "5-9 ms base delay doubled (so failures land on a per-user grid, e.g. 2.244 or 4.488 s). "
        "0 = sshd's base delay only (fast tests).",
    )
    max_auth_tries: Annotated[int, Field(ge=1, le=100)] = Field(6, description="As sshd's MaxAuthTries.")
    banner_delay: Annotated[float, Field(ge=0, le=5)] = Field(
        0.008, description="Mean delay before the banner, as sshd's fork + re-exec (randomised ±30%)."
    )
    login_grace_time: Annotated[float, Field(gt=0)] = Field(120.0, description="As sshd's LoginGraceTime.")
    max_startups: str = Field(
        "10:30:100",
        pattern=r"^\d{1,5}(:\d{1,3}:\d{1,5})?$",
        description="As sshd's MaxStartups `start:rate:full`: with more than `start` unauthenticated "
        "connections a new one is closed unanswered with probability `rate`% rising to 100% at `full`.",
    )
    max_per_ip: Annotated[int, Field(ge=1)] = Field(
        256,
        description="Flood guard (sshd has none): open SSH connections from one address, above MaxStartups' "
        "`full` so that sshd's early drop is what a client sees first. Replaces `limits.max_per_ip` for SSH.",
    )
    sftp: bool = Field(True, description="Accept SFTP/SCP uploads (captured, never written to the host's paths).")
    forward_answer: Literal["refused", "unreachable", "prohibited"] = Field(
        "refused",
        description="Answer to `-L`/`-W` (direct-tcpip), always logged, never connected: "
        "`refused` (sshd's answer for a closed port), `unreachable` (No route to host), "
        "`prohibited` (sshd with AllowTcpForwarding no).",
    )
    remote_forward: Literal["accept", "refuse"] = Field(
        "accept",
        description="Answer to `-R` (tcpip-forward), always logged: `accept` replies as sshd does when it "
        "binds the port (nothing listens), `refuse` as sshd with AllowTcpForwarding no.",
    )


class TelnetConfig(TrapConfig):
    enabled: bool = Field(True, description="Run the Telnet trap.")
    listen: list[str] = Field(default_factory=lambda: ["127.0.0.1:2323"], description="`host:port` addresses.")
    login_timeout: Annotated[float, Field(gt=0)] = Field(
        60.0, description="As login(1)'s LOGIN_TIMEOUT, counted from the connection."
    )
    max_auth_tries: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Failed logins before hanging up. Default: the daemon's own (login(1): 5, BusyBox: 3)."
    )
    fail_delay: Annotated[float, Field(ge=0, le=30)] | None = Field(
        None,
        description="Delay after a failed password. Default: the daemon's own (pam_faildelay's 3 s, "
        "stretched 0.5-1.5x by Linux-PAM; BusyBox login: exactly 3 s).",
    )


class DownloadsConfig(_Strict):
    enabled: bool = Field(True, description="Fetch URLs seen in wget/curl/tftp/ftpget (else only log them).")
    dir: FilePath | None = Field(None, description="Content-addressed store. Default: spool/downloads.")
    max_file_bytes: Annotated[int, Field(ge=1024)] = Field(
        16 * 1024 * 1024, description="Larger downloads are cut off."
    )
    quota_bytes: Annotated[int, Field(ge=65536)] = Field(
        1024**3, description="Total store size; oldest files are evicted first past it."
    )
    timeout: Annotated[float, Field(gt=0)] = Field(30.0, description="Whole-download time limit (seconds).")
    connect_timeout: Annotated[float, Field(gt=0)] = Field(10.0, description="TCP connect time limit (seconds).")
    max_concurrent: Annotated[int, Field(ge=1)] = Field(4, description="Downloads at once (64 more may wait).")
    max_redirects: Annotated[int, Field(ge=0, le=20)] = Field(5, description="HTTP redirects followed.")
    allow_loopback: bool = Field(False, description="Allow loopback targets (tests only).")
    allow_private: bool = Field(False, description="Allow RFC 1918 / ULA / link-local targets.")
    user_agent: str = Field("Wget/1.21.3", description="User-Agent sent when fetching.")


class LimitsConfig(_Strict):
    max_connections: Annotated[int, Field(ge=1)] = Field(2000, description="Open connections over all traps.")
    max_per_ip: Annotated[int, Field(ge=1)] = Field(32, description="Open connections from one address.")
    idle_timeout: Annotated[float, Field(gt=0)] = Field(
        300.0, description="Close a session whose input line is not complete this long after the prompt."
    )
    session_timeout: Annotated[float, Field(gt=0)] = Field(3600.0, description="Close any session this old.")
    max_line_bytes: Annotated[int, Field(ge=256)] = Field(16 * 1024, description="Longest shell input line.")
    session_output_bytes: Annotated[int, Field(ge=4096)] = Field(
        4 * 1024 * 1024, description="Fake filesystem writes kept per session (redirections, uploads)."
    )
    max_upload_bytes: Annotated[int, Field(ge=1024)] = Field(16 * 1024 * 1024, description="Largest SFTP/SCP upload.")
    max_stdin_bytes: Annotated[int, Field(ge=1024)] = Field(
        1024 * 1024, description="Standard input of an exec channel read and kept (`echo ... | ssh host sh`)."
    )
    ttylog_bytes: Annotated[int, Field(ge=4096)] = Field(1024 * 1024, description="TTY log size cap per session.")
    nofile: Annotated[int, Field(ge=256)] = Field(65536, description="RLIMIT_NOFILE raised to at start.")
    refused_report_interval: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Seconds between `honeyfarm.sensor.refused` events (only when connections were refused)."
    )
    kex_offload_queue: Annotated[int, Field(ge=0)] = Field(
        64,
        description="Finite-field DH handshakes that may wait for the DH worker process; "
        "past it a handshake is dropped without a word, as sshd's MaxStartups drops "
        "(0 = no worker, DH on the event loop: only to measure the difference).",
    )
    loop_batch: Annotated[int, Field(ge=0)] = Field(
        32,
        description="I/O events (and a quarter as many new connections) the event loop handles per iteration, "
        "so a flood cannot stall it (0 = asyncio's unbounded batches: only to measure the difference).",
    )
    loop_lag_report_interval: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Seconds between `honeyfarm.sensor.looplag` events (event-loop lateness, DH worker)."
    )
    loop_lag_warn_ms: Annotated[float, Field(ge=0)] = Field(
        250.0, description="Log a line when the event loop is this many ms late (0 = never; at most one line per 10 s)."
    )


class PersistenceConfig(_Strict):
    """Files an attacker writes (e.g. ``~/.ssh/authorized_keys``) kept for the next login from the same address."""

    enabled: bool = Field(True, description="Keep each source address's fake-filesystem changes between sessions.")
    dir: FilePath | None = Field(None, description="Where the kept changes go. Default: spool/state/overlays.")
    ttl: Annotated[float, Field(gt=0)] = Field(
        7 * 86400.0, description="Seconds the changes of an address are kept after its last write."
    )
    max_bytes: Annotated[int, Field(ge=4096)] = Field(
        256 * 1024 * 1024, description="Total size of kept changes; the oldest addresses are evicted first."
    )
    max_files: Annotated[int, Field(ge=1)] = Field(
        100_000, description="Addresses whose changes are kept; the oldest are evicted first."
    )


class SensorConfig(_Strict):
    identity: IdentityConfig = IdentityConfig()
    spool: SpoolConfig = SpoolConfig()
    credentials: CredentialsConfig = CredentialsConfig()
    persona: PersonaConfig = PersonaConfig()
    ssh: SSHConfig = SSHConfig()
    telnet: TelnetConfig = TelnetConfig()
    http: HTTPConfig = HTTPConfig()
    redis: RedisConfig = RedisConfig()
    docker: DockerConfig = DockerConfig()
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()
    smb: SMBConfig = SMBConfig()
    ftp: FTPConfig = FTPConfig()
    tftp: TFTPConfig = TFTPConfig()
    mssql: MSSQLConfig = MSSQLConfig()
    mysql: MySQLConfig = MySQLConfig()
    sip: SIPConfig = SIPConfig()
    catchall: CatchAllConfig = CatchAllConfig()
    downloads: DownloadsConfig = DownloadsConfig()
    limits: LimitsConfig = LimitsConfig()
    persistence: PersistenceConfig = PersistenceConfig()
    user: str | None = Field(
        None, description="Drop to this user after binding (when started as root, e.g. for port 22)."
    )


def resolve_relative(cfg: SensorConfig, base: Path) -> SensorConfig:
    """Paths written in the config file are relative to the file's directory."""

    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    spool = cfg.spool
    if "dir" in spool.model_fields_set:
        spool = spool.model_copy(update={"dir": fix(spool.dir)})
    return cfg.model_copy(
        update={
            "spool": spool,
            "ssh": cfg.ssh.model_copy(update={"host_key_dir": fix(cfg.ssh.host_key_dir)}),
            "downloads": cfg.downloads.model_copy(update={"dir": fix(cfg.downloads.dir)}),
            "persistence": cfg.persistence.model_copy(update={"dir": fix(cfg.persistence.dir)}),
            "http": cfg.http.model_copy(
                update={"cert_dir": fix(cfg.http.cert_dir), "rules_file": fix(cfg.http.rules_file)}
            ),
            "credentials": cfg.credentials.model_copy(
                update={
                    "userdb_file": fix(cfg.credentials.userdb_file),
                    "passwords_file": fix(cfg.credentials.passwords_file),
                }
            ),
        }
    )
