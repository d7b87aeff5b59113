#!/bin/sh
# Real-stack pairing and bonding checks: runs INSIDE the harness VM with the
# real kernel, bluetoothd and bluetoothctl as the agent (driven through a pty
# by btexpect). blesim serve gives the kernel one controller (hci0) and the
# peripherals of tests/pairing.world.yaml.
OUT=/tmp/out
mkdir -p $OUT
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
ADAPTER=00:AA:01:00:00:01
export BLESIM_CONTROL=/tmp/blesim.sock

echo "== blesim serve tests/pairing.world.yaml --vhci 1"
blesim serve tests/pairing.world.yaml --vhci 1 --control $BLESIM_CONTROL \
	--trace-dir $OUT/traces --state-dir $OUT/state --pcap $OUT/air.pcap >$OUT/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 100); do grep -q '^ready:' $OUT/serve.log && break; sleep 0.2; done
check "serve is ready" grep -qx 'ready: hci0' $OUT/serve.log
sleep 1

# bt NAME SCRIPT: run bluetoothctl through btexpect with an agent
# (KeyboardDisplay), after the lines of SCRIPT; transcript in $OUT/NAME.txt.
bt() {
	name=$1
	shift
	{
		echo "send agent KeyboardDisplay"
		echo "expect Agent registered"
		echo "send default-agent"
		echo "expect Default agent request successful"
		printf '%s\n' "$@"
		echo "send quit"
	} >/tmp/$name.script
	timeout 120 btexpect -timeout 25s /tmp/$name.script -- bluetoothctl >$OUT/$name.txt 2>&1
}
# btretry NAME SCRIPT: bt, once more if the first try failed (a CONNECT_IND
# lost to a collision on the air makes the kernel give up with 0x3E).
btretry() {
	bt "$@" && return 0
	echo "(first try failed, see $OUT/$1.txt; retrying once)"
	cp $OUT/$1.txt $OUT/$1.try1.txt
	bt "$@"
}
discover() { # lines that scan until the device shows up
	echo "send scan on"
	echo "expect Device $1"
	echo "send scan off"
	echo "expect Discovery stopped|SetDiscoveryFilter|Discovering: no"
}
keys() { cat /var/lib/bluetooth/$ADAPTER/$1/info 2>/dev/null; }

echo "== Just Works (LE Secure Connections), bonding"
DEV=C0:00:00:00:00:11
btretry justworks "$(discover $DEV)" "send pair $DEV" "expect Pairing successful" "send info $DEV" "expect Paired: yes" "expect Bonded: yes"
check "Just Works pairing succeeds" [ $? -eq 0 ]
check "bluetoothd stored an LTK under /var/lib/bluetooth" sh -c "grep -q 'LongTermKey\]' /var/lib/bluetooth/$ADAPTER/$DEV/info"
keys $DEV >$OUT/justworks.info

echo "== Passkey Entry: the device displays 123456, the user types it"
DEV=C0:00:00:00:00:12
btretry passkey "$(discover $DEV)" "send pair $DEV" "expect Enter passkey" "send 123456" "expect Pairing successful"
check "passkey pairing succeeds" [ $? -eq 0 ]
# BlueZ's LTK types: 1 legacy authenticated, 3 LE SC authenticated.
check "the bond is authenticated (MITM)" sh -c "grep -A2 'LongTermKey\]' /var/lib/bluetooth/$ADAPTER/$DEV/info | grep -q 'Authenticated=[13]'"

echo "== Passkey Entry the other way: BlueZ displays, the device's user types it (blesim ctl)"
DEV=C0:00:00:00:00:13
btretry keyboard "$(discover $DEV)" "send pair $DEV" "capture PK Passkey: ([0-9]+)" "shell blesim ctl Keyboard passkey \${PK}" "expect Pairing successful"
check "keyboard-side passkey pairing succeeds" [ $? -eq 0 ]

echo "== Numeric Comparison (Secure Connections only)"
DEV=C0:00:00:00:00:14
btretry compare "$(discover $DEV)" "send pair $DEV" "capture NUM Confirm passkey ([0-9]+)" "send yes" "expect Pairing successful" "shell grep -q 'numeric comparison.*\${NUM}' $OUT/serve.log"
check "numeric comparison succeeds, both sides showed the same number" [ $? -eq 0 ]

echo "== LE legacy pairing with a passkey"
DEV=C0:00:00:00:00:15
btretry legacy "$(discover $DEV)" "send pair $DEV" "expect Enter passkey" "send 654321" "expect Pairing successful"
check "legacy passkey pairing succeeds" [ $? -eq 0 ]
check "legacy bond stores the peripheral's LTK" sh -c "grep -q 'LongTermKey' /var/lib/bluetooth/$ADAPTER/$DEV/info"

echo "== a wrong passkey fails and leaves no bond"
DEV=C0:00:00:00:00:12
bt wrongremove "send remove $DEV" "expect Device has been removed|not available"
bt wrong "$(discover $DEV)" "send pair $DEV" "expect Enter passkey" "send 000000" "expect Failed to pair"
check "pairing with a wrong passkey fails" [ $? -eq 0 ]
check "no bond after the failure" sh -c "! test -f /var/lib/bluetooth/$ADAPTER/$DEV/info || ! grep -q LongTermKey /var/lib/bluetooth/$ADAPTER/$DEV/info"

echo "== the lost bond (oximeter): pair, reconnect encrypted, device forgets, PIN or Key Missing"
DEV=C0:00:00:00:00:16
btretry oxipair "$(discover $DEV)" "send pair $DEV" "expect Pairing successful" "send disconnect $DEV" "expect Successful disconnected"
check "oximeter pairs (legacy Just Works) and bonds" [ $? -eq 0 ]
bt oxire "send connect $DEV" "expect Connection successful" "sleep 3s" "send info $DEV" "expect Paired: yes" "send disconnect $DEV" "expect Successful disconnected"
check "reconnecting works with the stored key" [ $? -eq 0 ]
blesim ctl Oximeter forget-keys >$OUT/forget.txt 2>&1
cat $OUT/forget.txt
check "blesim ctl Oximeter forget-keys" grep -q 'forgot 1 bond' $OUT/forget.txt
bt oxilost "send connect $DEV" "sleep 6s"
bt oxiremove "send remove $DEV" "expect Device has been removed"
check "bluetoothctl remove drops the bond" [ $? -eq 0 ]
btretry oxirepair "$(discover $DEV)" "send pair $DEV" "expect Pairing successful"
check "pairing again after remove works" [ $? -eq 0 ]

echo "== privacy: the device advertises with an RPA; BlueZ resolves it after bonding"
ID=C0:00:00:00:00:17
btretry private "send scan on" "capture RPA Device ([0-9A-F:]+) Private" "send scan off" "send pair \${RPA}" "expect Pairing successful" "sleep 2s" "send info $ID" "expect Paired: yes" "send disconnect $ID"
check "pairing with a private device bonds under its identity address $ID" [ $? -eq 0 ]
RPA1=$(sed -n 's/.*Device \([0-9A-F:]*\) Private.*/\1/p' $OUT/private.txt | head -1)
echo "advertised as $RPA1; waiting for the device to rotate its address"
sleep 25
bt private2 "send connect $ID" "expect Connection successful" "sleep 2s" "send disconnect $ID"
check "after the address rotated, bluetoothctl connect $ID finds it (the kernel resolved the new RPA with the IRK)" [ $? -eq 0 ]
check "the device really rotated its address" sh -c "grep -q 'AddressChanged' $OUT/serve.log"

echo "== the kernel's side, from btmon (decoded while hci0 exists)"
sleep 1
btmon -r $OUT/btmon.snoop >$OUT/btmon.txt 2>&1
# The field bug's exact sequence: Security Request, LE Start Encryption with
# the stored key, Encryption Change PIN or Key Missing, Disconnect 0x05.
awk '
	/SMP: Security Request/ { st = 1; next }
	st == 1 && /HCI Command: LE Start Encryption/ { st = 2; next }
	st == 2 && /HCI Event: Encryption Change/ { st = 3; n = NR; next }
	st == 3 && NR <= n + 3 && /Status: PIN or Key Missing \(0x06\)/ { st = 4; next }
	st == 4 && /HCI Command: Disconnect/ { st = 5; n = NR; next }
	st == 5 && NR <= n + 3 && /Reason: Authentication Failure \(0x05\)/ { print "found"; exit }
' $OUT/btmon.txt >/tmp/pk
check "btmon: Security Request → LE Start Encryption → Encryption Change PIN or Key Missing (0x06) → Disconnect Authentication Failure (0x05)" grep -q found /tmp/pk
grep -B2 -A12 'Status: PIN or Key Missing' $OUT/btmon.txt | head -40
check "btmon: LE Start Encryption with a stored LTK (legacy: non-zero EDIV/Rand)" sh -c "grep -A4 'LE Start Encryption' $OUT/btmon.txt | grep -q 'Encrypted diversifier: 0x[0-9a-f]*[1-9a-f]'"
check "btmon: SMP Security Request from the oximeter" grep -q 'SMP: Security Request' $OUT/btmon.txt
check "btmon: SMP Pairing Failed after the wrong passkey" grep -q 'SMP: Pairing Failed' $OUT/btmon.txt
gzip -9 $OUT/btmon.txt

kill -TERM $SERVE
wait $SERVE
echo "== $fails check(s) failed"
[ $fails -eq 0 ]
