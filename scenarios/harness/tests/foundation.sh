#!/bin/sh
# Real-stack checks for the foundation: runs INSIDE the harness VM (busybox
# sh) with the real Linux kernel and BlueZ. blesim serve plugs two virtual
# controllers into /dev/vhci and fills the air with the world's
# peripherals; BlueZ must bring them up, scan, connect, use GATT, and
# hci0 must reach hci1 over the simulated air.
#
# Prints "PASS: name" / "FAIL: name" lines and exits 1 if any check failed.
# Files: blesim in PATH, world.yaml in the working directory.
OUT=/tmp/out
mkdir -p $OUT
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check NAME CMD...
	n=$1
	shift
	if "$@"; then pass "$n"; else fail "$n"; fi
}

OXI=C0:00:00:00:00:01
HRM=C0:00:00:00:00:02
THERMO=C0:00:00:00:00:03
HCI1=00:AA:01:00:00:02

echo "== blesim serve world.yaml --vhci 2"
blesim serve world.yaml --vhci 2 --trace-dir $OUT/traces >$OUT/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 100); do grep -q '^ready:' $OUT/serve.log && break; sleep 0.2; done
check "serve prints 'ready: hci0 hci1'" grep -qx 'ready: hci0 hci1' $OUT/serve.log
sleep 1

echo "== btmgmt info"
btmgmt info >$OUT/info.txt 2>&1
cat $OUT/info.txt
check "kernel lists two controllers" grep -q 'Index list with 2 items' $OUT/info.txt
check "hci0 powered with the world's address" sh -c "grep -A3 '^hci0:' $OUT/info.txt | grep -q 'addr 00:AA:01:00:00:01' && grep -A3 '^hci0:' $OUT/info.txt | grep -q 'current settings: powered'"
check "hci1 powered with the world's address" sh -c "grep -A3 '^hci1:' $OUT/info.txt | grep -q 'addr 00:AA:01:00:00:02' && grep -A3 '^hci1:' $OUT/info.txt | grep -q 'current settings: powered'"

echo "== btmgmt -i hci0 find -l (LE discovery)"
timeout 15 btmgmt -i hci0 find -l >$OUT/find.txt 2>&1
cat $OUT/find.txt
rssi() { grep "dev_found: $1" $OUT/find.txt | head -1 | sed -n 's/.*rssi \(-*[0-9]*\).*/\1/p'; }
R1=$(rssi $OXI)
R8=$(rssi $HRM)
R30=$(rssi $THERMO)
echo "RSSI at hci0: Oximeter (1 m) $R1, HeartRate (8 m) $R8, Thermometer (30 m) $R30 dBm"
check "discovery finds Oximeter by name" grep -q 'name Oximeter' $OUT/find.txt
check "discovery finds HeartRate by name" grep -q 'name HeartRate' $OUT/find.txt
check "discovery finds Thermometer by name" grep -q 'name Thermometer' $OUT/find.txt
# The medium's model: RSSI = tx_power - 40 dB - 20·log10(d): -40, -58, -70 dBm.
near() { [ -n "$1" ] && [ "$1" -ge $(($2 - 2)) ] && [ "$1" -le $(($2 + 2)) ]; }
if near "$R1" -40 && near "$R8" -58 && near "$R30" -70; then
	pass "RSSI follows distance (1 m: -40, 8 m: -58, 30 m: -70 dBm, ±2)"
else
	fail "RSSI follows distance: got $R1 $R8 $R30, want -40 -58 -70 (±2) dBm"
fi

echo "== bluetoothctl: scan, connect, GATT discovery, disconnect"
timeout 20 bluetoothctl --timeout 8 scan on >$OUT/scan.txt 2>&1
check "bluetoothctl scan sees Oximeter" grep -q "Device $OXI Oximeter" $OUT/scan.txt
timeout 30 bluetoothctl connect $OXI >$OUT/connect.txt 2>&1
cat $OUT/connect.txt
check "bluetoothctl connect succeeds" grep -q 'Connection successful' $OUT/connect.txt
# BlueZ 5.66's bluetoothctl info does not print ServicesResolved; its
# battery plugin reading Battery Level over GATT shows discovery finished.
for i in $(seq 1 40); do bluetoothctl info $OXI >$OUT/devinfo.txt 2>&1; grep -q 'Battery Percentage' $OUT/devinfo.txt && break; sleep 0.5; done
cat $OUT/devinfo.txt
check "BlueZ discovers the GATT services and reads the battery (87 %)" grep -q 'Battery Percentage: 0x57 (87)' $OUT/devinfo.txt
check "BlueZ sees the Pulse Oximeter service" grep -qi '00001822-0000-1000-8000-00805f9b34fb' $OUT/devinfo.txt
timeout 20 bluetoothctl disconnect $OXI >$OUT/disconnect.txt 2>&1
cat $OUT/disconnect.txt
check "bluetoothctl disconnect succeeds" grep -q 'Successful disconnected' $OUT/disconnect.txt
sleep 1

echo "== gatttool: read Battery Level and PLX Features"
timeout 20 gatttool -i hci0 -t random -b $OXI --char-read --uuid=2a19 >$OUT/battery.txt 2>&1
cat $OUT/battery.txt
check "Battery Level reads 87 % (0x57)" grep -q 'value: 57' $OUT/battery.txt
timeout 20 gatttool -i hci0 -t random -b $OXI --char-read --uuid=2a60 >$OUT/plxfeat.txt 2>&1
cat $OUT/plxfeat.txt
check "PLX Features reads 00 00" grep -q 'value: 00 00' $OUT/plxfeat.txt

echo "== gatttool: notifications and indications"
timeout 20 gatttool -i hci0 -t random -b $OXI --characteristics >$OUT/chars.txt 2>&1
vh() { grep "uuid = 0000$1-" $OUT/chars.txt | sed -n 's/.*char value handle = \(0x[0-9a-f]*\).*/\1/p'; }
CONT=$(vh 2a5f)
SPOT=$(vh 2a5e)
echo "PLX Continuous value handle $CONT, PLX Spot-Check value handle $SPOT"
cccd() { printf '0x%04x' $(($1 + 1)); }
timeout 20 gatttool -i hci0 -t random -b $OXI --char-desc -s $(cccd $CONT) -e $(cccd $CONT) >$OUT/desc.txt 2>&1
check "the CCCD follows PLX Continuous" grep -q 'uuid = 00002902-' $OUT/desc.txt
timeout 5 gatttool -i hci0 -t random -b $OXI --char-write-req -a $(cccd $CONT) -n 0100 --listen >$OUT/notify.txt 2>&1
cat $OUT/notify.txt
N=$(grep -c "Notification handle = $CONT" $OUT/notify.txt)
check "PLX Continuous notifications arrive (got $N in 5 s)" [ "$N" -ge 2 ]
timeout 8 gatttool -i hci0 -t random -b $OXI --char-write-req -a $(cccd $SPOT) -n 0200 --listen >$OUT/indicate.txt 2>&1
cat $OUT/indicate.txt
check "PLX Spot-Check indication arrives" grep -q "Indication   handle = $SPOT" $OUT/indicate.txt
sleep 1

echo "== gatttool: write a characteristic and read it back (Thermometer, 30 m)"
timeout 20 gatttool -i hci0 -t random -b $THERMO --characteristics >$OUT/thermo-chars.txt 2>&1
SET=$(grep 'uuid = 6e400002-b5a3-f393-e0a9-e50e24dcca9e' $OUT/thermo-chars.txt | sed -n 's/.*char value handle = \(0x[0-9a-f]*\).*/\1/p')
echo "setpoint value handle: $SET"
timeout 20 gatttool -i hci0 -t random -b $THERMO --char-write-req -a "$SET" -n 2a >$OUT/write.txt 2>&1
cat $OUT/write.txt
check "Write Request to the vendor characteristic succeeds" grep -q 'written successfully' $OUT/write.txt
timeout 20 gatttool -i hci0 -t random -b $THERMO --char-read -a "$SET" >$OUT/readback.txt 2>&1
cat $OUT/readback.txt
check "reading it back gives the written value 0x2a" grep -q 'value/descriptor: 2a' $OUT/readback.txt
sleep 1

echo "== hci0 connects to hci1 over the simulated air"
btmgmt -i hci1 connectable on
btmgmt -i hci1 advertising on
# Interactive gatttool, paced: hci1's bluetoothd discovers hci0's GATT
# database over the same link at the same time, and tearing the link down
# in the middle of that has crashed Debian's 6.1 kernel (list_del corruption
# in hci_chan_del from l2cap_sock_release), a kernel race, not blesim's.
{ echo connect; sleep 3; echo primary; sleep 6; echo disconnect; sleep 2; echo exit; } |
	timeout 30 gatttool -i hci0 -t public -b $HCI1 -I >$OUT/hci1.txt 2>&1
cat $OUT/hci1.txt
check "hci0 connects to hci1 and discovers its GATT services (GAP 1800)" sh -c "grep -q 'Connection successful' $OUT/hci1.txt && grep -q 'uuid: 00001800-' $OUT/hci1.txt"

echo "== the kernel's side, from btmon (decoded while hci0/hci1 exist: btmon 5.66"
echo "   crashes decoding ATT when the trace's controller is absent, fixed in BlueZ 5.70)"
sleep 1
btmon -r $OUT/btmon.snoop >/tmp/btmon.txt 2>&1
check "btmon: LE Connection Complete, status Success" sh -c "grep -A1 'LE Connection Complete' /tmp/btmon.txt | grep -q 'Status: Success'"
check "btmon: Disconnect Complete" grep -q 'Disconnect Complete' /tmp/btmon.txt
check "btmon: ATT Read Response" grep -q 'ATT: Read Response' /tmp/btmon.txt
check "btmon: ATT Handle Value Notification" grep -q 'ATT: Handle Value Notification' /tmp/btmon.txt
check "btmon: ATT Handle Value Indication" grep -q 'ATT: Handle Value Indication' /tmp/btmon.txt
check "btmon: no command answered 'Unknown HCI Command'" sh -c "! grep -q 'Unknown HCI Command' /tmp/btmon.txt"
btmon -r $OUT/traces/hci0.btsnoop >$OUT/hci0-trace.txt 2>&1
check "blesim's own hci0 trace decodes (LE Create Connection, LE Connection Complete)" sh -c "grep -q 'LE Create Connection' $OUT/hci0-trace.txt && grep -q 'LE Connection Complete' $OUT/hci0-trace.txt"
btmon -r $OUT/traces/Oximeter.btsnoop >/tmp/oxi.txt 2>&1
check "blesim's Oximeter trace decodes (LE Set Advertising Data, ATT Handle Value Notification)" sh -c "grep -q 'LE Set Advertising Data' /tmp/oxi.txt && grep -q 'ATT: Handle Value Notification' /tmp/oxi.txt"

echo "== SIGTERM unplugs the controllers"
kill -TERM $SERVE
for i in $(seq 1 50); do kill -0 $SERVE 2>/dev/null || break; sleep 0.2; done
! kill -0 $SERVE 2>/dev/null
check "blesim serve exits on SIGTERM" [ $? -eq 0 ]
sleep 1
btmgmt info >$OUT/info-after.txt 2>&1
cat $OUT/info-after.txt
check "controllers are gone after exit" grep -q 'Index list with 0 items' $OUT/info-after.txt
tail -5 $OUT/serve.log

check "blesim wrote a btsnoop trace per controller" sh -c "ls $OUT/traces/hci0.btsnoop $OUT/traces/hci1.btsnoop $OUT/traces/Oximeter.btsnoop >/dev/null"

echo "== $fails check(s) failed"
[ $fails -eq 0 ]
