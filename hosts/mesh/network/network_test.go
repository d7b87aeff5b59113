package network

import (
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/internal/vectors"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

func u32(t testing.TB, s string) uint32 {
	v, err := strconv.ParseUint(s, 16, 32)
	require.NoError(t, err)
	return uint32(v)
}

// subnetOf builds the subnet of a sample; friendship samples (k2 P other
// than 0x00) get their credentials in place of the managed-flooding ones.
func subnetOf(t testing.TB, m vectors.NetworkSample) *Subnet {
	s := NewSubnet(0, vectors.Hex16(t, m.NetKey))
	if m.K2P != "00" {
		s.Cipher = mcrypto.NewNetworkCipher(mcrypto.K2(s.NetKey, vectors.Hex(t, m.K2P)))
	}
	return s
}

type capture struct{ ads [][]byte }

func (c *capture) send(ad []byte) { c.ads = append(c.ads, append([]byte(nil), ad...)) }

// pdus returns the network PDUs among the captured AD structures.
func (c *capture) pdus() []string {
	var out []string
	for _, ad := range c.ads {
		if ad[1] == byte(pdu.ADMeshMessage) {
			out = append(out, hex.EncodeToString(ad[2:]))
		}
	}
	return out
}

func newLayer(t *testing.T, c *capture, own func(uint16) bool, onPDU func(*PDU)) *Layer {
	return New(Config{Log: zaptest.NewLogger(t), Sched: sim.New(1), Send: c.send, Own: own, OnPDU: onPDU})
}

// TestNetworkSamples83 (MESH/NODE/NET) sends every §8.3 network PDU
// sample through the layer (managed flooding and friendship credentials,
// 32- and 64-bit NetMIC, both IVI values) and checks the octets, then
// receives each and checks the header and transport PDU.
func TestNetworkSamples83(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.GreaterOrEqual(t, len(s.Network), 17)
	for _, m := range s.Network {
		t.Run(m.ID, func(t *testing.T) {
			var tx capture
			l := newLayer(t, &tx, nil, nil)
			sub := subnetOf(t, m)
			l.AddSubnet(sub)
			l.SetIV(IVState{Index: u32(t, m.IVIndex)})
			h := mcrypto.NetworkHeader{CTL: m.CTL == 1, TTL: uint8(u32(t, m.TTL)), SEQ: u32(t, m.SEQ),
				SRC: uint16(u32(t, m.SRC)), DST: uint16(u32(t, m.DST))}
			require.NoError(t, l.Send(sub, h, vectors.Hex(t, m.Transport)))
			require.Equal(t, []string{m.NetworkPDU}, tx.pdus())
			require.Len(t, tx.ads[0], 2+len(m.NetworkPDU)/2)
			require.Equal(t, byte(1+len(m.NetworkPDU)/2), tx.ads[0][0], "AD length")

			var got *PDU
			rx := newLayer(t, &capture{}, nil, func(p *PDU) { got = p })
			rx.AddSubnet(subnetOf(t, m))
			rx.SetIV(IVState{Index: u32(t, m.IVIndex)})
			rx.Receive(tx.ads[0])
			require.NotNil(t, got)
			require.Equal(t, h.CTL, got.CTL)
			require.Equal(t, h.TTL, got.TTL)
			require.Equal(t, h.SEQ, got.SEQ)
			require.Equal(t, h.SRC, got.SRC)
			require.Equal(t, h.DST, got.DST)
			require.Equal(t, u32(t, m.IVIndex), got.IVIndex)
			require.Equal(t, m.Transport, hex.EncodeToString(got.Transport))

			// The same PDU again is in the network message cache.
			got = nil
			rx.Receive(tx.ads[0])
			require.Nil(t, got)
			require.Equal(t, 1, rx.Stats.Duplicate)
		})
	}
}

// TestIVIndexSelection: the IVI bit picks IV Index or IV Index - 1, also
// during an update (§3.11.5).
func TestIVIndexSelection(t *testing.T) {
	for _, tc := range []struct {
		st     IVState
		ivi    bool
		rx, tx uint32
	}{
		{IVState{Index: 0x12345678}, false, 0x12345678, 0x12345678},
		{IVState{Index: 0x12345678}, true, 0x12345677, 0x12345678},
		{IVState{Index: 0x12345679, Updating: true}, true, 0x12345679, 0x12345678},
		{IVState{Index: 0x12345679, Updating: true}, false, 0x12345678, 0x12345678},
		{IVState{Index: 0}, true, 0, 0},
	} {
		require.Equal(t, tc.rx, tc.st.RxIndex(tc.ivi), "%+v IVI %v", tc.st, tc.ivi)
		require.Equal(t, tc.tx, tc.st.TxIndex())
	}
}

// TestIVUpdateStates is MESH/NODE/IVU: the transitions a Secure Network
// beacon may cause.
func TestIVUpdateStates(t *testing.T) {
	n := IVState{Index: 100}
	u := IVState{Index: 101, Updating: true}
	for _, tc := range []struct {
		name     string
		from     IVState
		iv       uint32
		updating bool
		want     IVState
		ok       bool
	}{
		{"MESH/NODE/IVU/BV-01-C normal to in progress", n, 101, true, u, true},
		{"MESH/NODE/IVU/BV-02-C in progress to normal", u, 101, false, IVState{Index: 101}, true},
		{"same state", n, 100, false, n, false},
		{"in progress, beacon still in progress", u, 101, true, u, false},
		{"MESH/NODE/IVU/BI-01-C smaller index ignored", n, 99, false, n, false},
		{"MESH/NODE/IVU/BI-02-C more than 42 ahead ignored", n, 143, false, n, false},
		{"recovery up to 42 ahead", n, 142, false, IVState{Index: 142}, true},
		{"recovery into an update", n, 105, true, IVState{Index: 105, Updating: true}, true},
		{"normal beacon with our index while normal", n, 100, true, n, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.from.Next(tc.iv, tc.updating)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSecureNetworkBeacons84 (MESH/NODE/BCN/SNB/BV-01-C): the beacons a
// node sends are the §8.4.3–8.4.5 samples byte for byte, and receiving
// them drives the IV Update procedure: 8.4.4 starts it, 8.4.5 ends it.
func TestSecureNetworkBeacons84(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.Len(t, s.SecureNetworkBeacon, 3)
	for _, b := range s.SecureNetworkBeacon {
		sub := NewSubnet(0, vectors.Hex16(t, b.NetKey))
		require.Equal(t, b.NetworkID, hex.EncodeToString(sub.NetworkID[:]))
		require.Equal(t, b.BeaconKey, hex.EncodeToString(sub.BeaconKey[:]))
		ad := sub.beacon(uint8(u32(t, b.Flags)), u32(t, b.IVIndex))
		require.Equal(t, b.Beacon, hex.EncodeToString(ad[2:]), b.ID)
	}

	var tx capture
	var changes [][2]IVState
	l := New(Config{Log: zaptest.NewLogger(t), Sched: sim.New(1), Send: tx.send,
		OnIV: func(o, n IVState) { changes = append(changes, [2]IVState{o, n}) }})
	l.AddSubnet(NewSubnet(0, vectors.Hex16(t, s.SecureNetworkBeacon[0].NetKey)))
	l.SetIV(IVState{Index: 0x12345678})
	feed := func(i int) { l.ReceiveBeacon(vectors.Hex(t, s.SecureNetworkBeacon[i].Beacon)) }
	feed(0)
	require.Empty(t, changes, "8.4.3 carries the node's own state")
	feed(1)
	require.Equal(t, IVState{Index: 0x12345679, Updating: true}, l.IV())
	require.Equal(t, uint32(0x12345678), l.IV().TxIndex(), "transmit with the old index during the update")
	feed(1)
	require.Len(t, changes, 1, "the same beacon again changes nothing")
	feed(2)
	require.Equal(t, IVState{Index: 0x12345679}, l.IV())
	require.Len(t, changes, 2)

	// A beacon with a wrong authentication value is ignored.
	bad := vectors.Hex(t, s.SecureNetworkBeacon[1].Beacon)
	bad[len(bad)-1] ^= 1
	l2 := New(Config{Sched: sim.New(1)})
	l2.AddSubnet(NewSubnet(0, vectors.Hex16(t, s.SecureNetworkBeacon[0].NetKey)))
	l2.SetIV(IVState{Index: 0x12345678})
	l2.ReceiveBeacon(bad)
	require.Equal(t, IVState{Index: 0x12345678}, l2.IV())
}

// TestBeaconInterval: a node that hears many beacons sends fewer
// (§3.10.4.1), between 10 s and 600 s.
func TestBeaconInterval(t *testing.T) {
	sched := sim.New(1)
	var tx capture
	l := New(Config{Sched: sched, Send: tx.send})
	sub := NewSubnet(0, mcrypto.Key{1})
	l.AddSubnet(sub)
	l.SetBeaconing(true)
	sched.RunFor(ObservationPeriod * 3)
	require.Equal(t, MinBeaconInterval, l.BeaconInterval(sub))
	n := l.Stats.Beacons
	require.InDelta(t, 6, n, 1, "one beacon every 10 s")

	// 100 beacons per observation period from other nodes.
	other := sub.beacon(0, 0)[2:]
	var tick *sim.Timer
	tick = sched.NewTimer(func() { l.ReceiveBeacon(other); tick.ResetAfter(200 * sim.Millisecond) })
	tick.ResetAfter(0)
	sched.RunFor(ObservationPeriod * 2)
	require.Equal(t, MaxBeaconInterval, l.BeaconInterval(sub))
	before := l.Stats.Beacons
	sched.RunFor(300 * sim.Second)
	require.LessOrEqual(t, l.Stats.Beacons-before, 1)
}

// TestRelay (MESH/NODE/RLY): with the Relay state on, a PDU for another
// node with TTL ≥ 2 is sent again with TTL - 1 and the same SEQ; TTL 0 and
// 1, PDUs for this node, and a PDU seen before are not relayed.
func TestRelay(t *testing.T) {
	key := mcrypto.Key{7}
	mk := func() (*Layer, *capture) {
		var c capture
		l := newLayer(t, &c, func(a uint16) bool { return a == 0x0002 }, nil)
		l.AddSubnet(NewSubnet(0, key))
		return l, &c
	}
	src, srcTx := mk()
	relay, relayTx := mk()
	relay.Relay = true
	var seq uint32 = 10
	send := func(ttl uint8, dst uint16) []byte {
		seq++
		srcTx.ads = nil
		require.NoError(t, src.Send(src.Subnet(0), mcrypto.NetworkHeader{TTL: ttl, SEQ: seq, SRC: 0x0100, DST: dst}, []byte{0x00, 1, 2, 3, 4, 5}))
		return srcTx.ads[0]
	}
	for _, tc := range []struct {
		name    string
		ttl     uint8
		dst     uint16
		relayed bool
	}{
		{"MESH/NODE/RLY/BV-01-C TTL 5 relayed with TTL 4", 5, 0x0003, true},
		{"TTL 2 relayed with TTL 1", 2, 0xC000, true},
		{"TTL 1 not relayed", 1, 0x0003, false},
		{"TTL 0 not relayed", 0, 0x0003, false},
		{"for this node: not relayed", 5, 0x0002, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relayTx.ads = nil
			ad := send(tc.ttl, tc.dst)
			relay.Receive(ad)
			if !tc.relayed {
				require.Empty(t, relayTx.ads)
				return
			}
			require.Len(t, relayTx.ads, 1)
			var got *PDU
			rx := newLayer(t, &capture{}, nil, func(p *PDU) { got = p })
			rx.AddSubnet(NewSubnet(0, key))
			rx.Receive(relayTx.ads[0])
			require.NotNil(t, got)
			require.Equal(t, tc.ttl-1, got.TTL)
			require.Equal(t, seq, got.SEQ)
			require.Equal(t, uint16(0x0100), got.SRC)
			// The original again: the message cache stops a second relay.
			relayTx.ads = nil
			relay.Receive(ad)
			require.Empty(t, relayTx.ads, "MESH/NODE/RLY/BV-02-C cached PDUs are not relayed twice")
		})
	}
	// A relayed copy reaching the relay again (from another relay, TTL
	// lower) is recognised by SRC and SEQ.
	relayTx.ads = nil
	ad := send(6, 0x0003)
	relay.Receive(ad)
	require.Len(t, relayTx.ads, 1)
	again := append([]byte(nil), relayTx.ads[0]...)
	relayTx.ads = nil
	relay.Receive(again)
	require.Empty(t, relayTx.ads)
}

// TestReceiveRejects (MESH/NODE/NET/BI): wrong NetKey, corrupt NetMIC,
// short PDUs and own SRC go no further.
func TestReceiveRejects(t *testing.T) {
	var c capture
	calls := 0
	l := newLayer(t, &c, func(a uint16) bool { return a == 0x0005 }, func(*PDU) { calls++ })
	l.AddSubnet(NewSubnet(0, mcrypto.Key{1}))
	other := newLayer(t, &c, nil, nil)
	other.AddSubnet(NewSubnet(0, mcrypto.Key{2}))
	good := newLayer(t, &c, nil, nil)
	good.AddSubnet(NewSubnet(0, mcrypto.Key{1}))
	mk := func(l *Layer, src uint16) []byte {
		c.ads = nil
		require.NoError(t, l.Send(l.Subnet(0), mcrypto.NetworkHeader{TTL: 3, SEQ: 1, SRC: src, DST: 0x0005}, []byte{0, 1, 2, 3, 4, 5}))
		return c.ads[0][2:]
	}
	l.ReceivePDU(mk(other, 0x0001))
	corrupt := mk(good, 0x0002)
	corrupt[len(corrupt)-1] ^= 0x40
	l.ReceivePDU(corrupt)
	l.ReceivePDU(corrupt[:12])
	l.ReceivePDU(mk(good, 0x0005))
	require.Zero(t, calls)
	l.ReceivePDU(mk(good, 0x0003))
	require.Equal(t, 1, calls)
	require.Error(t, l.Send(nil, mcrypto.NetworkHeader{SRC: 1, DST: 2}, []byte{1}))
	require.Error(t, l.Send(l.Subnet(0), mcrypto.NetworkHeader{SRC: 0x8000, DST: 2}, []byte{1}))
}

// FuzzNetworkPDU feeds arbitrary octets to the network layer's receive
// path (de-obfuscation, decryption, cache, relay) with the §8.3
// credentials: it never panics, and what it hands up re-encrypts to the
// same octets.
func FuzzNetworkPDU(f *testing.F) {
	var s vectors.Samples
	vectors.Load(f, "mesh_samples.json", &s)
	for _, m := range s.Network {
		f.Add(vectors.Hex(f, m.NetworkPDU))
	}
	key := vectors.Hex16(f, "7dd7364cd842ad18c17c2b820c84c3d6")
	f.Fuzz(func(t *testing.T, b []byte) {
		var got *PDU
		l := New(Config{Sched: sim.New(1), OnPDU: func(p *PDU) { got = p }})
		l.Relay = true
		l.AddSubnet(NewSubnet(0, key))
		l.SetIV(IVState{Index: 0x12345678})
		l.ReceivePDU(b)
		if got == nil {
			return
		}
		again, err := got.Subnet.Cipher.Encrypt(got.IVIndex, got.NetworkHeader, got.Transport)
		require.NoError(t, err)
		require.Equal(t, b, again)
	})
}
