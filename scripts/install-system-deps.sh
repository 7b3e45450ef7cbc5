#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only when one is missing.
# Kept as one list so CI and a fresh machine get the same set.
set -euo pipefail
# Real peers of the sensor tests: OpenSSH (ssh, scp, sftp, sshd for the fingerprint comparison),
# sshpass, hydra, medusa, nmap, telnet; a single-node Ceph with radosgw as the real S3 server.
# inetutils-telnetd + systemd (systemd-socket-activate): the real Telnet daemon of tests/test_diff_telnetd.py
# (BusyBox telnetd comes from `apt-get download busybox-static`, unpacked, never installed).
# Dionaea-class traps (issue 14): smbclient, lftp, tftp-hpa, mariadb-client, freetds-bin (tsql), sipvicious,
# sipsak: real clients of the SMB/FTP/TFTP/MySQL/MSSQL/SIP traps; mariadb-server and vsftpd: real servers to diff
# against; nftables: the catch-all's redirect test.
# bubblewrap, iproute2: the network-less sandbox and namespace where the shell differential test runs.
# Exploit traps (issue 12): redis-server + redis-tools (the real server to diff against, the attacker's
# rogue master, redis-cli), apache2 (the real web server to diff against), docker.io (only its `docker`
# CLI is used; dockerd is never started), sqlmap (a real attack tool against the web trap); apache2-utils'
# ab and redis-tools' redis-benchmark load the traps in bench/sensor_traps.py.
DEFAULT_PKGS="openssh-client openssh-server sshpass hydra medusa nmap telnet ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl chromium fonts-liberation bubblewrap iproute2 inetutils-telnetd systemd redis-server redis-tools apache2 apache2-utils docker.io sqlmap clamav clamav-daemon clamdscan yara libmagic1 smbclient lftp tftp-hpa mariadb-client mariadb-server freetds-bin sipvicious sipsak nftables vsftpd openssl"
PKGS=(${HONEYFARM_APT_PACKAGES:-$DEFAULT_PKGS})
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
# Install, do not start: the tests start their own sshd on loopback; none should listen on :22.
had_policy=1; [ -e /usr/sbin/policy-rc.d ] || { had_policy=0; printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; }
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ $had_policy -eq 1 ] || $SUDO rm -f /usr/sbin/policy-rc.d
# vsftpd (the real FTP server tests/test_trap_ftp.py diffs against) and mariadb-server are started by the
# tests on loopback ports; never leave them enabled as services (port 21 with local logins, 3306).
for svc in vsftpd mariadb; do $SUDO systemctl disable --now "$svc" 2>/dev/null || true; done
