# SPDX-License-Identifier: MIT
"""Credentials like a real server: one password per account at a time, and sshd's failure timing.

The unit tests pin the ``one-password`` policy (chosen once from the common-password
list after ``choose_after`` failures, then the only password, kept across restarts),
the Cowrie ``userdb`` policy it replaces as the default, and the timing model of
``honeyfarm.sensor.authtiming`` against values read from a real sshd's debug log.
The hydra tests brute-force the real sensor, configured as ``honeyfarm.example.toml``
ships it: hydra must report at most one password per account, the same one on a second
run, and none for a name that is no account. With Cowrie's rules (``policy = "userdb"``)
the same run reports several root passwords, which no real server has.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sensorutil import SensorProc, need, run_sensor

from honeyfarm.sensor.auth import CredentialPolicy, login_accounts
from honeyfarm.sensor.authpolicy import BUNDLED_PASSWORDS, OnePassword, read_password_list
from honeyfarm.sensor.authtiming import SSHDTiming, pam_fail_delay
from honeyfarm.sensor.config import CredentialsConfig, PersonaConfig

ROOT = Path(__file__).resolve().parents[1]
COMMON = read_password_list(None)


def creds(**kw: Any) -> CredentialsConfig:
    return CredentialsConfig.model_validate(kw)


# --- policy selection ----------------------------------------------------------------------------------------------


def test_default_policy_is_one_password_and_a_userdb_keeps_its_meaning() -> None:
    assert CredentialsConfig().policy == "one-password"
    assert creds(userdb=["root:x:*"]).policy == "userdb"  # a Cowrie userdb written before the policy existed
    assert creds(accept_after=3).policy == "userdb"
    assert creds(policy="one-password", userdb=["root:x:*"]).policy == "one-password"  # explicit wins
    example = tomllib.loads((ROOT / "honeyfarm.example.toml").read_text(encoding="utf-8"))
    assert creds(**example["sensor"]["credentials"]).policy == "one-password"


def test_userdb_policy_is_cowries() -> None:
    p = CredentialPolicy(creds(userdb=["root:x:!root", "root:x:*"]))
    assert p.check("192.0.2.1", "root", "anything") and p.check("192.0.2.1", "root", "else")
    assert not p.check("192.0.2.1", "root", "root")


def test_bundled_list_holds_what_bots_try_first() -> None:
    assert {"123456", "password", "admin", "root", "1234", "qwerty", "raspberry", "ubnt"} <= COMMON
    assert 100 <= len(COMMON) <= 1000
    assert not any(p.startswith("# ") for p in COMMON)
    assert BUNDLED_PASSWORDS.read_text(encoding="utf-8").startswith("# ")


# --- one-password ------------------------------------------------------------------------------------------------


def test_each_account_gets_exactly_one_password(tmp_path: Path) -> None:
    p = CredentialPolicy(creds(policy="one-password"), PersonaConfig(users=["admin:1000", "deploy:1001"]), tmp_path)
    accepted: dict[str, set[str]] = {}
    ordered = sorted(COMMON)
    for n in range(60):  # 60 addresses, each trying 25 common passwords on every account and a non-account
        ip = f"198.51.100.{n}"
        for i in range(25):
            pw = ordered[(n * 7 + i) % len(ordered)]
            for user in ("root", "admin", "deploy", "oracle"):
                if p.check(ip, user, pw):
                    accepted.setdefault(user, set()).add(pw)
    assert set(accepted) == {"root", "admin", "deploy"}  # never a name that is no account
    assert all(len(pws) == 1 for pws in accepted.values()), accepted
    root_pw = next(iter(accepted["root"]))
    assert p.check("203.0.113.77", "root", root_pw)  # from any address, at once
    assert not p.check("203.0.113.77", "root", root_pw + "x")


def test_choice_needs_earlier_failures_and_a_common_password() -> None:
    one = OnePassword(["root"], frozenset({"123456", "admin"}), choose_after=3, lifetime=0, state_dir=None)
    assert not one.check("root", "123456", attempts_before=2)  # too early
    assert not one.check("root", "Xq7#unusual", attempts_before=5)  # not a common password
    assert not one.check("nobody", "123456", attempts_before=5)  # not an account
    assert one.check("root", "admin", attempts_before=3)
    assert not one.check("root", "123456", attempts_before=50)  # root has its password now
    assert one.check("root", "admin", attempts_before=0)


def test_choice_and_timing_secret_survive_a_restart(tmp_path: Path) -> None:
    cfg = creds(policy="one-password", choose_after=0)
    first = CredentialPolicy(cfg, PersonaConfig(), tmp_path)
    assert first.check("192.0.2.9", "root", "qwerty")
    again = CredentialPolicy(cfg, PersonaConfig(), tmp_path)
    assert not again.check("192.0.2.10", "root", "123456")
    assert again.check("192.0.2.10", "root", "qwerty")
    assert again.timing.secret == first.timing.secret
    assert again.timing.user_delay("root") == first.timing.user_delay("root")
    # A damaged state file is ignored, not fatal.
    (tmp_path / "passwords.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "timing_secret").write_text("zz", encoding="utf-8")
    fresh = CredentialPolicy(cfg, PersonaConfig(), tmp_path)
    assert fresh.check("192.0.2.11", "root", "123456")


def test_password_lifetime_lets_a_new_password_be_chosen() -> None:
    one = OnePassword(["root"], COMMON, choose_after=0, lifetime=3600, state_dir=None)
    assert one.check("root", "123456", 0, now=1000.0)
    assert not one.check("root", "password", 0, now=4000.0)
    assert one.check("root", "password", 0, now=4601.0)  # the old one expired
    assert not one.check("root", "123456", 0, now=4602.0)


def test_accounts_are_root_and_the_persona_users() -> None:
    assert login_accounts(PersonaConfig(users=["admin:1000", "pi:1001"])) == ["root", "admin", "pi"]
    p = CredentialPolicy(creds(policy="one-password"), PersonaConfig(users=["pi:1000"]))
    assert p.exists("pi") and p.exists("root") and not p.exists("admin")


# --- sshd timing -------------------------------------------------------------------------------------------------


def test_pam_delay_is_linux_pam_152s() -> None:
    # Seconds at which a real sshd (Debian 12, libpam 1.5.2) started PAM and the delay it then took:
    # its debug log's "elapsed" was these plus the hash (1-2 ms for a non-account, ~39 ms for sshtest).
    seen = {1796599134: 1.651135, 1796599136: 1.926678, 1796599138: 2.533374, 1796599143: 1.555564}
    assert {s: pam_fail_delay(2.0, s) for s in seen} == seen
    spread = [pam_fail_delay(2.0, s) for s in range(1796599000, 1796609000)]
    assert 1.0 <= min(spread) < 1.1 and 2.9 < max(spread) < 3.0
    assert pam_fail_delay(0.0, 1796599134) == 0.0


def test_sshd_failure_grid() -> None:
    t = SSHDTiming(0x1234_5678_9ABC_DEF0)
    d = t.user_delay("root")
    assert 0.005 <= d <= 0.005 + 2**32 / 1e12
    assert t.user_delay("root") == d and t.user_delay("admin") != d
    assert t.failure_wait("root", 0.0) == d  # no PAM delay: sshd's base delay only
    w = t.failure_wait("root", 2.1)
    assert w >= 2.1 and w / 2 < 2.1 and abs(w / d - round(w / d)) < 1e-9 and (round(w / d) & (round(w / d) - 1)) == 0
    assert t.user_delay("a\0b") == t.user_delay("a")  # a C string stops at NUL
    assert t.user_delay("x" * 600) == t.user_delay("x" * 700)  # snprintf cuts at 511 bytes


def test_reply_after_a_success_is_the_hash_only() -> None:
    t = SSHDTiming(7)
    assert 0.03 < t.reply_after("root", True, True, 0.0) < 0.05
    assert t.reply_after("nobody", False, False, 2.0) > 2.0


# --- hydra against the real sensor -------------------------------------------------------------------------------

HYDRA_FOUND = re.compile(r"\[ssh\] host: 127\.0\.0\.1\s+login: (\S+)\s+password: (\S+)")
# 24 passwords: two no bot list holds, then the ones bots try first.
PASSWORDS = ["Zq9-not-common", "Wv4-not-common", *sorted(COMMON)[:22]]


def hydra(sp: SensorProc, workdir: Path, users: list[str], passwords: list[str]) -> list[tuple[str, str]]:
    (workdir / "users.txt").write_text("\n".join(users) + "\n", encoding="utf-8")
    (workdir / "pw.txt").write_text("\n".join(passwords) + "\n", encoding="utf-8")
    argv = ["hydra", "-L", "users.txt", "-P", "pw.txt", "-t", "4", "-I", f"ssh://127.0.0.1:{sp.ssh_port}"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=150, cwd=workdir, stdin=subprocess.DEVNULL)
    assert "completed" in res.stdout, res.stdout + res.stderr
    return [(u, p) for u, p in HYDRA_FOUND.findall(res.stdout)]


def example_credentials() -> dict[str, Any]:
    example = tomllib.loads((ROOT / "honeyfarm.example.toml").read_text(encoding="utf-8"))
    section: dict[str, Any] = example["sensor"]["credentials"]
    return section


@pytest.mark.skipif(need("hydra") is not None, reason=str(need("hydra")))
def test_hydra_never_finds_two_passwords_with_the_example_config(tmp_path: Path) -> None:
    with run_sensor(tmp_path, {"sensor.credentials": example_credentials()}) as sp:
        found = hydra(sp, tmp_path, ["root", "admin", "oracle7"], PASSWORDS)
        users = [u for u, _ in found]
        assert sorted(set(users)) == sorted(users) and set(users) <= {"root", "admin"}, found
        assert "root" in users, found  # the first common password after three failures
        # A second brute force, other common passwords first: the same single password again.
        root_pw = dict(found)["root"]
        again = hydra(sp, tmp_path, ["root"], [*sorted(COMMON)[22:40], root_pw])
        assert again == [("root", root_pw)], again
        events = sp.wait_for(lambda evs: any(e["eventid"] == "cowrie.session.closed" for e in evs))
        ok = {(e["username"], e["password"]) for e in sp.events() if e["eventid"] == "cowrie.login.success"}
        assert {p for u, p in ok if u == "root"} == {root_pw}, ok
        assert events


@pytest.mark.skipif(need("hydra") is not None, reason=str(need("hydra")))
def test_hydra_finds_several_root_passwords_with_cowries_rules(tmp_path: Path) -> None:
    old_default = {"policy": "userdb", "userdb": ["root:x:!root", "root:x:!123456", "root:x:*", "admin:x:*"]}
    with run_sensor(tmp_path, {"sensor.credentials": old_default}) as sp:
        found = hydra(sp, tmp_path, ["root"], PASSWORDS)
    assert len(found) >= 2, found  # what the one-password default exists to prevent
