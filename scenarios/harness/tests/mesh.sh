#!/bin/sh
# Real-stack mesh checks: runs INSIDE the harness VM with the real kernel,
# BlueZ's bluetooth-meshd as the provisioner's daemon and mesh-cfgclient
# (driven through a pty by btexpect) as the provisioner and configuration
# client. blesim serve gives the kernel two controllers (hci0 stays with
# bluetoothd, hci1 is meshd's) and the unprovisioned nodes of
# tests/mesh.world.yaml.
#
# How bluetooth-meshd 5.66 (Debian 12) gets its radio, and why not
# --io generic:hci1: on a kernel with the MGMT mesh interface (6.1 has it)
# meshd 5.66's generic bearer never settles: opening the HCI user channel
# removes the index, meshd's MGMT watcher takes that for "controller gone",
# closes the channel and starts over, about 30 times a second (Reset + Read
# Local Supported Commands, then Index Removed). BlueZ 5.67 fixed it
# (mesh_mgmt_clear() before opening the channel). So meshd runs with
# --io auto:hci1: the kernel drives the controller (MGMT Set Mesh Receiver =
# a passive scan for AD types 0x29/0x2A/0x2B; each MGMT Mesh Send = one
# ADV_NONCONN_IND set from a fresh non-resolvable address, set while the
# scan runs).
#
# bluetooth-meshd 5.66 has no PB-GATT provisioner (mesh/ has only pb-adv.c):
# PB-GATT is checked with bluetoothd (the node's Mesh Provisioning Service
# advertising, its Data In / Data Out characteristics) and meshctl, BlueZ's
# older GATT-only provisioner, which provisions over it through bluetoothd.
# mesh-cfgclient 5.66 has no model client either: meshsend
# (scenarios/harness/meshsend) attaches to mesh-cfgclient's node and sends
# Generic OnOff Set.
#
# Prints "PASS: name" / "FAIL: name" lines and exits 1 if any check failed.
# Files: blesim, btexpect, meshsend in PATH; tests/mesh.world.yaml.
OUT=/tmp/out
mkdir -p $OUT
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
t0=$(cut -d' ' -f1 /proc/uptime)
elapsed() { awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%.0f", b-a}'; }

LAMP_UUID=00112233445546778899aabbccddeeff
SECURE_UUID=00112233445546778899aabbccddee01
GATT_UUID=00112233445546778899aabbccddee02
GATT_ADDR=C0:00:00:00:00:33
GATT_OOB=ffeeddccbbaa99887766554433221100
STATIC_OOB=00112233445566778899aabbccddeeff
# An Unprovisioned Device Beacon bluetoothd's controller sends (btmgmt
# add-adv): meshd must hear it whatever the state of blesim's nodes.
PROBE_UUID=feedface000040008000000000000001
CFG=$OUT/meshcfg/config_db.json
# $OUT/state: the nodes' state files (serve --state-dir).
mkdir -p $OUT/meshcfg $OUT/state /var/lib/bluetooth/mesh
upper() { echo "$1" | tr a-f A-F; }

# MESH_WORLD overrides the world (e.g. one without nodes, to try the
# provisioner's side alone).
WORLD=${MESH_WORLD:-tests/mesh.world.yaml}
echo "== blesim serve $WORLD --vhci 2"
blesim serve $WORLD --vhci 2 --trace-dir $OUT/traces --pcap $OUT/air.pcap \
	--state-dir $OUT/state >$OUT/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 100); do grep -q '^ready:' $OUT/serve.log && break; sleep 0.2; done
check "serve is ready with two controllers" grep -qx 'ready: hci0 hci1' $OUT/serve.log
if ! grep -qx 'ready: hci0 hci1' $OUT/serve.log; then
	tail -20 $OUT/serve.log
	echo "== blesim serve did not start: nothing else can run"
	exit 1
fi
sleep 1

echo "== bluetooth-meshd --io auto:hci1 (the kernel's MGMT mesh interface)"
bluetooth-meshd --nodetach --debug --io auto:hci1 >$OUT/meshd.log 2>&1 &
MESHD=$!
for i in $(seq 1 50); do grep -q 'Mesh up status' $OUT/meshd.log && break; sleep 0.2; done
check "meshd takes hci1 (MGMT Set Mesh Receiver succeeds)" grep -q 'HCI1 Mesh up status: 0' $OUT/meshd.log
check "meshd is on D-Bus (org.bluez.mesh)" grep -q 'Added Network Interface on /org/bluez/mesh' $OUT/meshd.log

btmgmt -i hci0 add-adv -d 142b00${PROBE_UUID}0000 1 >$OUT/probe-adv.txt 2>&1
check "hci0 sends a probe Unprovisioned Device Beacon (btmgmt add-adv)" grep -q 'Instance added: 1' $OUT/probe-adv.txt

# cfg NAME TIMEOUT LINES...: a mesh-cfgclient session through btexpect,
# ended with quit and waiting for it to exit (it saves its config_db.json
# as it goes: killing it early loses a provisioned node); transcript in
# $OUT/NAME.txt, colours stripped in NAME.clean.txt.
cfg() {
	name=$1
	to=$2
	shift 2
	printf '%s\n' "$@" "sleep 500ms" "send quit" "eof" >/tmp/$name.script
	timeout 240 btexpect -timeout $to /tmp/$name.script -- mesh-cfgclient --config $CFG >$OUT/$name.txt 2>&1
	rc=$?
	tr -d '\033' <$OUT/$name.txt | sed 's/\[[0-9][0-9;]*m//g' >$OUT/$name.clean.txt
	return $rc
}
# saved ADDR: mesh-cfgclient's database has the node at ADDR.
saved() { [ -n "$1" ] && grep -q "\"unicastAddress\":\"$1\"" $CFG; }

echo "== mesh-cfgclient: create a network, discover unprovisioned devices"
cfg create 20s \
	'expect \[mesh-cfgclient\]#' \
	"send create" \
	"capture TOKEN Created new node with token ([0-9a-f]{16})" \
	"expect Attached with path" \
	"shell echo \${TOKEN} >$OUT/meshcfg/token" \
	"send discover-unprovisioned on" \
	"expect Unprovisioned scan started" \
	"expect UUID = $(upper $PROBE_UUID)" \
	"sleep 8s" \
	"send discover-unprovisioned off" \
	"sleep 1s" \
	"send list-unprovisioned" \
	"expect Unprovisioned devices:" \
	"sleep 1s"
check "mesh-cfgclient creates a network and discovers the probe beacon" [ $? -eq 0 ]
TOKEN=$(cat $OUT/meshcfg/token 2>/dev/null)
echo "provisioner node token: $TOKEN"
check "mesh-cfgclient stored its network in $CFG" grep -q '"token"' $CFG
seen() { grep -qi "UUID: $1" $OUT/create.clean.txt; }
check "discover-unprovisioned sees Lamp ($LAMP_UUID, PB-ADV beacon)" seen $LAMP_UUID
check "discover-unprovisioned sees SecureLamp ($SECURE_UUID)" seen $SECURE_UUID
echo "   scan results: $(grep -c 'UUID:' $OUT/create.clean.txt) devices; $(elapsed) s so far"
btmgmt -i hci0 rm-adv 1 >/dev/null 2>&1

echo "== provision Lamp over PB-ADV, no OOB"
cfg prov-lamp 60s \
	"expect Attached with path" \
	"send provision $LAMP_UUID" \
	"expect Provisioning started" \
	"expect Assign addresses for [0-9]+ element" \
	"expect Provisioning done" \
	"capture ADDR primary = ([0-9a-f]{4})" \
	"shell echo \${ADDR} >$OUT/meshcfg/lamp.addr"
check "Lamp is provisioned (no OOB)" [ $? -eq 0 ]
LAMP=$(cat $OUT/meshcfg/lamp.addr 2>/dev/null)
echo "Lamp's primary element: ${LAMP:-none}; $(elapsed) s so far"
check "mesh-cfgclient saved Lamp (${LAMP:-none}) in its database" saved "$LAMP"

echo "== provision SecureLamp over PB-ADV with static OOB"
cfg prov-secure 60s \
	"expect Attached with path" \
	"send provision $SECURE_UUID" \
	"expect Provisioning started" \
	"expect Request hexadecimal key \\(hex 16 octets\\)" \
	"expect Enter key \\(hex number\\)" \
	"send $STATIC_OOB" \
	"expect Provisioning done" \
	"capture ADDR primary = ([0-9a-f]{4})" \
	"shell echo \${ADDR} >$OUT/meshcfg/secure.addr"
check "SecureLamp is provisioned (static OOB, answered at mesh-cfgclient's prompt)" [ $? -eq 0 ]
SECURE=$(cat $OUT/meshcfg/secure.addr 2>/dev/null)
echo "SecureLamp's primary element: ${SECURE:-none}; $(elapsed) s so far"
check "mesh-cfgclient saved SecureLamp (${SECURE:-none}) in its database" saved "$SECURE"

echo "== configure: composition, AppKey, bind Generic OnOff Server"
# appkey-create puts AppKey 1 in meshd's keyring; the provisioner's own
# node (0001) must hold it too before it can send with it (Node1.Send
# answers "Key not found" otherwise): appkey-add to itself.
cfg appkey 20s \
	"expect Attached with path" \
	"send appkey-create 0 1" \
	"sleep 1s" \
	"send keys" \
	"expect app_keys = 1 \\(0x001\\)" \
	"send menu config" \
	"send target 0001" \
	"send appkey-add 1" \
	"expect Node 0001 AppKey status Success" \
	"send back"
check "appkey-create 0 1, and appkey-add 1 to the provisioner's own node (0001)" [ $? -eq 0 ]
# configure NAME ADDR: composition-get, appkey-add 1, bind ADDR 1 1000.
configure() {
	cfg config-$1 30s \
		"expect Attached with path" \
		"send menu config" \
		"send target $2" \
		"expect Configuring node $2" \
		"send composition-get" \
		"expect Received compos" \
		'expect Model ID\s+1000 "Generic OnOff Server"' \
		"send appkey-add 1" \
		"expect Node $2 AppKey status Success" \
		"send bind $2 1 1000" \
		"expect Node $2: Model App status Success" \
		"send back"
}
for node in Lamp:$LAMP SecureLamp:$SECURE; do
	n=${node%%:*}
	a=${node#*:}
	if [ -z "$a" ]; then
		fail "$n: not provisioned, nothing to configure"
		continue
	fi
	configure $n $a
	check "$n ($a): composition-get shows Generic OnOff Server, appkey-add 1, bind $a 1 1000" [ $? -eq 0 ]
done

echo "== Generic OnOff Set through bluetooth-meshd (meshsend, AppKey 1)"
# onoff NAME ADDR VALUE TID: Generic OnOff Set (0x8202, acknowledged); the
# node logs its new state, and its Generic OnOff Status (0x8204) reaches
# meshd ("Clr Rx" in its debug log).
onoff() {
	before=$(grep -c "Clr Rx: 8204" $OUT/meshd.log)
	meshsend -token "$TOKEN" -app-idx 1 -wait 2s $2 8202$(printf '%02x%02x' $3 $4) >>$OUT/meshsend.txt 2>&1
	check "meshsend: Generic OnOff Set $3 to $1 ($2)" [ $? -eq 0 ]
	for i in $(seq 1 50); do grep -qF "mesh: $1 OnOff → $3" $OUT/serve.log && break; sleep 0.2; done
	check "$1 switched to OnOff $3 (serve.log: mesh: $1 OnOff → $3)" grep -qF "mesh: $1 OnOff → $3" $OUT/serve.log
	for i in $(seq 1 25); do [ "$(grep -c "Clr Rx: 8204" $OUT/meshd.log)" -gt "$before" ] && break; sleep 0.2; done
	check "meshd received $1's Generic OnOff Status" grep -q "Clr Rx: 8204$(printf '%02x' $3)" $OUT/meshd.log
}
if [ -n "$TOKEN" ] && [ -n "$LAMP" ]; then
	onoff Lamp $LAMP 1 1
	onoff Lamp $LAMP 0 2
else
	fail "Lamp OnOff: no provisioner token or no Lamp address"
fi
if [ -n "$TOKEN" ] && [ -n "$SECURE" ]; then
	onoff SecureLamp $SECURE 1 3
fi
cat $OUT/meshsend.txt 2>/dev/null
echo "   $(elapsed) s so far"

echo "== PB-GATT: bluetoothd sees the Mesh Provisioning Service, meshctl provisions over it"
# bluetooth-meshd 5.66 has no PB-GATT provisioner; BlueZ's other mesh tool,
# meshctl, is one (over bluetoothd's GATT client, with its own JSON
# database). bluetoothctl's and meshctl's default controller may be hci1
# (meshd's): both select hci0.
printf '%s\n' "send select 00:AA:01:00:00:01" "expect Controller 00:AA:01:00:00:01" \
	"send scan on" "expect Device $GATT_ADDR" "sleep 2s" "send scan off" "sleep 1s" \
	"send info $GATT_ADDR" "expect 00001827-0000-1000-8000-00805f9b34fb" "sleep 500ms" \
	"send quit" "eof" >/tmp/gatt-scan.script
timeout 60 btexpect -timeout 20s /tmp/gatt-scan.script -- bluetoothctl >$OUT/gatt-scan.txt 2>&1
check "bluetoothd (hci0) sees GattLamp advertising the Mesh Provisioning Service (0x1827)" [ $? -eq 0 ]
timeout 15 btmgmt -i hci0 find -l >$OUT/gatt-find.txt 2>&1
GATT_TYPE=random
grep -q "dev_found: $GATT_ADDR type LE Public" $OUT/gatt-find.txt && GATT_TYPE=public
timeout 30 gatttool -i hci0 -t $GATT_TYPE -b $GATT_ADDR --characteristics >$OUT/gatt-chars.txt 2>&1
cat $OUT/gatt-chars.txt
check "GATT ($GATT_TYPE address): Mesh Provisioning Data In (2ADB) and Data Out (2ADC)" sh -c "grep -q 'uuid = 00002adb-' $OUT/gatt-chars.txt && grep -q 'uuid = 00002adc-' $OUT/gatt-chars.txt"

# meshctl's database: a provisioner node at 0077 and a network whose keys
# meshctl generates (and writes back) on first use.
mkdir -p $OUT/meshctl
cat >$OUT/meshctl/local_node.json <<EOF
{
  "node": {
    "IVindex": 0, "IVupdate": 0, "sequenceNumber": 0,
    "composition": {
      "cid": "05f1", "pid": "0001", "vid": "0001", "crpl": "000a",
      "features": { "relay": false, "proxy": false, "friend": false, "lowPower": false },
      "elements": [ { "elementIndex": 0, "location": "0000", "models": [ "0000", "0001", "1001" ] } ]
    },
    "configuration": {
      "netKeys": [ 0 ], "appKeys": [ 1 ], "defaultTTL": 10,
      "elements": [ { "elementIndex": 0, "unicastAddress": "0077",
                      "models": [ { "modelId": "1001", "bind": [ 1 ] } ] } ]
    }
  }
}
EOF
cat >$OUT/meshctl/prov_db.json <<EOF
{
  "IVindex": 0, "IVupdate": 0,
  "netKeys": [ { "index": 0, "keyRefresh": 0 } ],
  "appKeys": [ { "index": 1, "boundNetKey": 0 } ],
  "provisioners": [ { "provisionerName": "mesh.sh", "unicastAddress": "0077",
                      "allocatedUnicastRange": [ { "lowAddress": "0100", "highAddress": "7fff" } ] } ],
  "nodes": []
}
EOF
printf '%s\n' 'expect \[meshctl\]#' \
	"send select 00:AA:01:00:00:01" \
	"sleep 500ms" \
	"send discover-unprovisioned on" \
	"expect (?i)Device UUID: $GATT_UUID" \
	"send provision $GATT_UUID" \
	"expect Enter key \\(hex number\\)" \
	"send $GATT_OOB" \
	"capture ADDR Provision success. Assigned Primary Unicast ([0-9a-f]{4})" \
	"shell echo \${ADDR} >$OUT/meshctl/gattlamp.addr" \
	"sleep 1s" "send quit" "eof" >/tmp/meshctl.script
timeout 120 btexpect -timeout 40s /tmp/meshctl.script -- meshctl --config $OUT/meshctl >$OUT/meshctl.txt 2>&1
check "meshctl provisions GattLamp over PB-GATT (static OOB)" [ $? -eq 0 ]
tr -d '\033' <$OUT/meshctl.txt | sed 's/\[[0-9][0-9;]*m//g' >$OUT/meshctl.clean.txt
GATTLAMP=$(cat $OUT/meshctl/gattlamp.addr 2>/dev/null)
check "meshctl saved GattLamp (${GATTLAMP:-none}) in its prov_db.json" grep -q "\"unicastAddress\":\"${GATTLAMP:-none}\"" $OUT/meshctl/prov_db.json
echo "   $(elapsed) s so far"

echo "== the kernel's side, from btmon (decoded while hci0/hci1 exist)"
kill $MESHD 2>/dev/null
wait $MESHD 2>/dev/null
sleep 1
btmon -r $OUT/btmon.snoop >$OUT/btmon.txt 2>&1
check "btmon: MGMT Mesh Send (meshd transmits through the kernel)" grep -q 'MGMT Command: Mesh Send' $OUT/btmon.txt
check "btmon: MGMT Mesh Device Found (meshd receives through the kernel)" grep -q 'MGMT Event: Mesh Device Found' $OUT/btmon.txt
awk '/LE Set Random Address \(0x08\|0x0005\) ncmd/{getline; print}' $OUT/btmon.txt | sort | uniq -c >$OUT/random-addr.txt
cat $OUT/random-addr.txt
check "btmon: every LE Set Random Address during the mesh scan succeeds" sh -c "grep -q Success $OUT/random-addr.txt && ! grep -v Success $OUT/random-addr.txt | grep -q Status"
check "btmon: no command answered 'Unknown HCI Command'" sh -c "! grep -q 'Unknown HCI Command' $OUT/btmon.txt"
check "btmon: no command answered 'Command Disallowed'" sh -c "! grep -q 'Command Disallowed' $OUT/btmon.txt"
gzip -9 $OUT/btmon.txt

kill -TERM $SERVE
wait $SERVE
echo "== mesh.sh took $(elapsed) s in the VM; $fails check(s) failed"
[ $fails -eq 0 ]
