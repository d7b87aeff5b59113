#!/usr/bin/env bash
# smoke-test.sh [vm-run.sh options]
#
# Proves the real-stack harness works without blesim: boots the VM and checks
# that /dev/vhci exists and can be opened (create-device handshake), that the
# kernel's ECDH self-test passed, that bluetooth/hci_vhci are loaded, that
# bluetoothd is on D-Bus and that btmgmt / bluetoothctl / btmon / gatttool /
# bluetooth-meshd / mesh-cfgclient run.  Exits 0 when every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PAYLOAD=$(mktemp /tmp/blesim-smoke.XXXXXX)
OUT=$(mktemp -d /tmp/blesim-smoke-out.XXXXXX)
trap 'rm -f "$PAYLOAD"' EXIT

cat >"$PAYLOAD" <<'EOF'
fails=0
check() {  # check NAME CMD...
    name=$1; shift
    if "$@" >/tmp/out/check.log 2>&1; then echo "SMOKE PASS: $name"
    else echo "SMOKE FAIL: $name"; sed 's/^/    /' /tmp/out/check.log; fails=$((fails+1)); fi
}
echo "--- release"; cat /etc/blesim-vm-release
echo "--- lsmod"; lsmod
echo "--- ECDH in /proc/crypto"; grep -A6 'name *: ecdh-nist-p256' /proc/crypto
echo "--- btmgmt info"; btmgmt info
echo "--- bluetoothctl --version"; bluetoothctl --version

check "/dev/vhci is a character device" test -c /dev/vhci
check "hci_vhci and bluetooth loaded" sh -c 'lsmod | grep -q "^hci_vhci" && lsmod | grep -q "^bluetooth"'
check "ecdh-nist-p256 selftest passed" sh -c \
    "awk '/^name/{n=\$3} /^selftest/{ if (n==\"ecdh-nist-p256\") print \$3 }' /proc/crypto | grep -qx passed"
check "drbg available" grep -q 'drbg_nopr' /proc/crypto
check "bluetoothd on D-Bus" dbus-send --system --print-reply --dest=org.bluez / \
    org.freedesktop.DBus.ObjectManager.GetManagedObjects
check "btmgmt talks to the kernel" sh -c 'btmgmt info | grep -q "Index list"'
check "bluetoothctl --version" sh -c 'bluetoothctl --version | grep -q "^bluetoothctl: 5"'
check "gatttool runs" sh -c 'timeout 10 gatttool --help </dev/null 2>&1 | grep -q Usage'
check "bluetooth-meshd runs" sh -c 'timeout 10 /usr/libexec/bluetooth/bluetooth-meshd --help </dev/null 2>&1 | grep -qi usage'
check "mesh-cfgclient runs" sh -c 'timeout 10 mesh-cfgclient --version </dev/null 2>&1 | grep -q "^mesh-cfgclient: 5"'
check "btmon is recording" test -e /tmp/out/btmon.snoop
# /dev/vhci handshake: write {0xff, 0x00} (create primary controller), read
# {0xff, 0x00, idx_lo, idx_hi}.  Nobody answers the Reset that follows; closing
# the file unplugs the controller again.
check "/dev/vhci create handshake" sh -c '
    exec 3<>/dev/vhci
    printf "\377\000" >&3
    rsp=$(dd bs=4 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d " \n")
    echo "create response: $rsp"
    exec 3>&-
    case $rsp in ff00????) exit 0 ;; *) exit 1 ;; esac'
echo "SMOKE: $fails check(s) failed"
exit $fails
EOF

rc=0
"$HERE/vm-run.sh" --timeout 120 --out "$OUT" "$@" --script "$PAYLOAD" </dev/null || rc=$?
if [ "$rc" = 0 ] && [ ! -s "$OUT/btmon.snoop" ]; then
    echo "smoke-test.sh: FAIL: no btmon.snoop came back from the VM" >&2
    rc=1
fi
if [ "$rc" = 0 ]; then
    echo "smoke-test.sh: PASS (VM outputs in $OUT)"
else
    echo "smoke-test.sh: FAIL (exit $rc; VM outputs in $OUT)" >&2
fi
exit "$rc"
