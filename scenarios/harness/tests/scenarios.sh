#!/bin/sh
# The library scenarios with the real kernel and BlueZ as the central:
# runs INSIDE the harness VM. `blesim run --host Phone=kernel NAME` plugs
# the scenario's central into the kernel through /dev/vhci and drives
# bluetoothd over D-Bus; every other device is built-in. The scenario's own
# expectations decide (exit status 0), read from the kernel's HCI traffic.
OUT=/tmp/out
mkdir -p $OUT
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME CENTRAL: play built-in scenario NAME with CENTRAL played by the
# kernel; outputs in $OUT/NAME/.
run() {
	name=$1 central=$2
	# Each scenario starts from a kernel that knows no device.
	rm -rf /var/lib/bluetooth/[0-9A-F]*
	echo "== blesim run --host \"$central=kernel\" $name"
	timeout 300 blesim run --host "$central=kernel" "$name" --out $OUT/$name --log-level info >$OUT/$name.txt 2>$OUT/$name.log
	rc=$?
	cat $OUT/$name.txt
	if [ $rc -eq 0 ]; then
		pass "$name with the kernel as $central: every expectation held"
	else
		fail "$name with the kernel as $central (exit $rc; see $name.txt, $name.log)"
		tail -20 $OUT/$name.log
	fi
}

run lost-bond Phone
run reboot Phone2
run key-distribution "Raspberry Pi"
run e-lock Phone2

echo "== $fails check(s) failed"
[ $fails -eq 0 ]
