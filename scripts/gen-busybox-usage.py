# SPDX-License-Identifier: MIT
"""Regenerate src/honeyfarm/sensor/data/busybox_usage.json.gz from Debian's busybox-static 1.35.

Usage: python scripts/gen-busybox-usage.py /path/to/busybox > src/honeyfarm/sensor/data/busybox_usage.json.gz
(the binary: ``apt-get download busybox-static`` then ``dpkg-deb -x``; tests/telnetprobe.py does it).
"""

import gzip
import json
import subprocess
import sys

NAMES = (
    "wget tftp ls cat ps free uname chmod cp rm mkdir mount umount dd kill nc cut grep head tail mv ln df netstat "
    "ifconfig route reboot ping sleep touch tar sed find killall"
)


def main() -> None:
    out = {}
    for name in NAMES.split():
        res = subprocess.run([sys.argv[1], name, "--help"], capture_output=True, text=True, check=False)
        banner, _, body = res.stderr.partition("\n")
        assert banner.startswith("BusyBox v1.35.0"), (name, banner)
        out[name] = body  # the banner is the router's own (persona_busybox.VERSION, BUILD)
    sys.stdout.buffer.write(gzip.compress(json.dumps(out, sort_keys=True, indent=0).encode(), mtime=0))


if __name__ == "__main__":
    main()
