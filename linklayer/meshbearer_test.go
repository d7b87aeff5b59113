package linklayer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// The two ways BlueZ's bluetooth-meshd (5.66, the version in the harness
// VM) drives a controller for the mesh advertising bearer, replayed
// command by command as btmon showed them. Both scan passively without
// duplicate filtering and send each mesh packet as a burst of
// ADV_NONCONN_IND from a random address that changes while the scan runs.

// unprovBeacon is an Unprovisioned Device Beacon AD structure (AD type
// 0x2B, beacon type 0x00, UUID, OOB information).
var unprovBeacon = []byte{0x14, 0x2B, 0x00,
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x46, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
	0x00, 0x00}

// meshADs splits advertising data into AD structures the way
// mesh-io-generic.c's event_adv_report does, reading the RSSI from the
// octet after the data: it only works if the event carries one report.
func meshADs(t *testing.T, ev []byte) (ads [][]byte, rssi int8) {
	t.Helper()
	r := hci.NewReader(ev)
	require.EqualValues(t, 1, r.U8(), "Num_Reports: meshd parses only the first report")
	require.EqualValues(t, reportAdvNonconnInd, r.U8(), "meshd drops every event type but ADV_NONCONN_IND")
	r.U8()
	r.Addr()
	data := r.Bytes(int(r.U8()))
	rssi = int8(r.U8())
	require.NoError(t, r.Exact())
	for len(data) > 1 && data[0] != 0 && int(data[0]) < len(data) {
		ads = append(ads, data[1:1+data[0]])
		data = data[1+data[0]:]
	}
	return ads, rssi
}

// nonconnFrom returns the AdvData of the ADV_NONCONN_IND PDUs sent since
// from with the random address addr.
func nonconnFrom(b *bed, from sim.Time, addr hci.BDAddr) [][]byte {
	var out [][]byte
	for _, a := range b.sent(from, pdu.TypeAdvNonconnInd, addr) {
		require.True(b.t, a.pdu.TxAdd(), "sent from a random address")
		out = append(out, a.pdu.AdvData())
	}
	return out
}

// TestMeshBearerGenericIO: bluetooth-meshd --io generic:hciN talks HCI
// itself through the user channel (mesh/mesh-io-generic.c): configure_hci,
// restart_scan, then per packet set_send_adv_params / set_send_adv_data /
// set_send_adv_enable, and send_cancel_done's new random address at the
// end of each burst, while its passive scan keeps running.
func TestMeshBearerGenericIO(t *testing.T) {
	b := newBed(t, 41)
	node := b.dev("node", addrC, radio.Position{X: 2})
	node.startAdv(advParamsCmd{min: 0x20, max: 0x20, typ: advTypeNonconnInd, chMap: 7}, unprovBeacon, nil)

	m := b.dev("meshd", addrA, radio.Position{})
	r1 := hci.BDAddr{0x11, 0x12, 0x13, 0x14, 0x15, 0xC1}
	r2 := hci.BDAddr{0x21, 0x22, 0x23, 0x24, 0x25, 0xC2}
	// configure_hci: every command must succeed (meshd logs "Failed to
	// initialize HCI" otherwise).
	m.ok(hci.OpReset, nil)
	require.EqualValues(t, 0, m.ret(hci.OpReadLocalSupportedCommands, nil)[0])
	require.EqualValues(t, 0, m.ret(hci.OpReadLocalSupportedFeatures, nil)[0])
	m.ok(hci.OpSetEventMask, u64(0x2000800002008890))
	m.ok(hci.OpLESetEventMask, u64(0x000000000000087F))
	m.ok(hci.OpLESetRandomAddress, r1[:])
	m.ok(hci.OpLESetScanParameters, params(uint8(0), uint16(0x30), uint16(0x30), uint8(0), uint8(0)))
	// restart_scan: disable (scanning was off), passive 10 ms / 10 ms from
	// the random address, enable with duplicates reported.
	m.ok(hci.OpLESetScanEnable, []byte{0, 0})
	m.ok(hci.OpLESetScanParameters, params(uint8(0), uint16(0x10), uint16(0x10), uint8(1), uint8(0)))
	m.ok(hci.OpLESetScanEnable, []byte{1, 0})
	b.run(300 * sim.Millisecond)

	beacons := 0
	for _, ev := range m.leMeta(hci.LEAdvertisingReport) {
		ads, rssi := meshADs(t, ev)
		require.Equal(t, [][]byte{unprovBeacon[1:]}, ads)
		require.Equal(t, expectedRSSI(b.m, 0, radio.Position{X: 2}, radio.Position{}), rssi)
		beacons++
	}
	// Duplicates are reported: about one beacon per 20 ms event.
	require.GreaterOrEqual(t, beacons, 10)

	// A burst: the interval is ms*16/10 in 0.625 ms units (20 ms: 0x20),
	// own address random, filter policy 0x03.
	pkt := []byte{0x12, 0x29, 0x01, 0x02, 0x03, 0x04, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}
	send := func() sim.Time {
		m.ok(hci.OpLESetAdvertisingParameters, advParamsCmd{min: 0x20, max: 0x20, typ: advTypeNonconnInd, own: 1, chMap: 7, fpol: 3}.bytes())
		m.ok(hci.OpLESetAdvertisingData, advData(pkt))
		from := b.s.Now()
		m.ok(hci.OpLESetAdvertisingEnable, []byte{1})
		b.run(100 * sim.Millisecond)
		m.ok(hci.OpLESetAdvertisingEnable, []byte{0})
		return from
	}
	from := send()
	got := nonconnFrom(b, from, r1)
	require.GreaterOrEqual(t, len(got), 9, "about 5 events of 3 PDUs in 100 ms")
	for _, d := range got {
		require.Equal(t, pkt, d)
	}
	// send_cancel_done: a new random address after the burst, scan running.
	m.ok(hci.OpLESetRandomAddress, r2[:])
	from = send()
	require.Empty(t, nonconnFrom(b, from, r1))
	require.NotEmpty(t, nonconnFrom(b, from, r2))

	// The scan went on through it all, and never reported meshd's own
	// packets.
	m.pkts = nil
	b.run(200 * sim.Millisecond)
	require.NotEmpty(t, reportsFrom(m.reports(), addrC, reportAdvNonconnInd))
	for _, r := range m.reports() {
		require.Equal(t, addrC, r.addr)
	}
}

// TestMeshBearerKernelMGMT: bluetooth-meshd --io auto on a kernel with the
// MGMT mesh interface (Linux 6.1) leaves HCI to the kernel: Set Mesh
// Receiver starts a passive scan (2.56 s interval and window, public
// address), and each MGMT Mesh Send becomes LE Set Advertising Data, LE
// Set Random Address (a fresh non-resolvable address, scan still running),
// LE Set Advertising Parameters (ADV_NONCONN_IND, 100-150 ms) and LE Set
// Advertise Enable; the next send disables advertising first. With the
// random address refused during the scan the kernel stops there and the
// packet never goes on air.
func TestMeshBearerKernelMGMT(t *testing.T) {
	b := newBed(t, 42)
	node := b.dev("node", addrC, radio.Position{X: 1})
	node.startAdv(advParamsCmd{min: 0x20, max: 0x20, typ: advTypeNonconnInd, chMap: 7}, unprovBeacon, nil)
	k := b.dev("kernel", addrA, radio.Position{})
	k.ok(hci.OpLESetScanParameters, params(uint8(0), uint16(0x1000), uint16(0x1000), uint8(0), uint8(0)))
	k.ok(hci.OpLESetScanEnable, []byte{1, 0})

	beacon := []byte{0x02, 0x01, 0x04, 0x17, 0x2B, 0x01, 0x00, 0xF6, 0xCE, 0xFA, 0x2E, 0xC1, 0x4B, 0xC4, 0xC7,
		0x00, 0x00, 0x00, 0x00, 0xF1, 0x24, 0x1A, 0xDE, 0x0D, 0x79, 0xDC, 0x18}
	for i, nrpa := range []hci.BDAddr{
		{0xA6, 0xF1, 0x3B, 0x5F, 0xD7, 0x3C},
		{0xDE, 0x14, 0x0C, 0x2A, 0x54, 0x36},
	} {
		if i > 0 {
			k.ok(hci.OpLESetAdvertisingEnable, []byte{0})
		}
		k.ok(hci.OpLESetAdvertisingData, advData(beacon))
		k.ok(hci.OpLESetRandomAddress, nrpa[:])
		k.ok(hci.OpLESetAdvertisingParameters, advParamsCmd{min: 0xA0, max: 0xF0, typ: advTypeNonconnInd, own: 1, chMap: 7}.bytes())
		from := b.s.Now()
		k.ok(hci.OpLESetAdvertisingEnable, []byte{1})
		b.run(500 * sim.Millisecond)
		got := nonconnFrom(b, from, nrpa)
		require.GreaterOrEqual(t, len(got), 6, "send %d: 100-160 ms events of 3 PDUs", i)
		for _, d := range got {
			require.Equal(t, beacon, d)
		}
	}
	// The receiver heard the node's beacons on its one channel throughout.
	require.GreaterOrEqual(t, len(reportsFrom(k.reports(), addrC, reportAdvNonconnInd)), 20)
}
