package linklayer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// payload returns n recognisable octets.
func payload(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i)
	}
	return b
}

// hostFrag is one ACL packet a test host sends.
type hostFrag struct {
	pb   uint8
	data []byte
}

// TestConnACL: host data both ways, fragmented into LL data PDUs of at most
// connEffectiveMaxTxOctets, delivered with PB 0b10/0b01, and reported with
// Number Of Completed Packets once acknowledged (cf. LL/CON/CEN and
// LL/CON/PER data transfer tests).
func TestConnACL(t *testing.T) {
	tests := []struct {
		name        string
		fromCentral bool
		frags       []hostFrag
		wantMsgs    [][]byte
		wantACLLens []int // ACL packets the receiving host gets
	}{
		{
			name: "central to peripheral, single PDU", fromCentral: true,
			frags:    []hostFrag{{hci.PBFirstNonFlushable, payload(1, 20)}},
			wantMsgs: [][]byte{payload(1, 20)}, wantACLLens: []int{20},
		},
		{
			name: "peripheral to central, fragmented into 27-octet PDUs", fromCentral: false,
			frags:    []hostFrag{{hci.PBFirstNonFlushable, payload(2, 100)}},
			wantMsgs: [][]byte{payload(2, 100)}, wantACLLens: []int{27, 27, 27, 19},
		},
		{
			name: "central to peripheral, host fragments and LL fragments", fromCentral: true,
			frags: []hostFrag{
				{hci.PBFirstNonFlushable, payload(3, 30)},
				{hci.PBContinuing, payload(4, 20)},
				{hci.PBFirstNonFlushable, payload(5, 251)},
			},
			wantMsgs:    [][]byte{append(payload(3, 30), payload(4, 20)...), payload(5, 251)},
			wantACLLens: []int{27, 3, 20, 27, 27, 27, 27, 27, 27, 27, 27, 27, 8},
		},
		{
			name: "peripheral to central, eight packets in order", fromCentral: false,
			frags: func() []hostFrag {
				var f []hostFrag
				for i := range 8 {
					f = append(f, hostFrag{hci.PBFirstNonFlushable, payload(10+i, 5+i)})
				}
				return f
			}(),
			wantMsgs: func() [][]byte {
				var m [][]byte
				for i := range 8 {
					m = append(m, payload(10+i, 5+i))
				}
				return m
			}(),
			wantACLLens: []int{5, 6, 7, 8, 9, 10, 11, 12},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, nil)
			w.connect(defaultConnParams())
			tx, rx := w.cen, w.per
			if !tc.fromCentral {
				tx, rx = w.per, w.cen
			}
			for _, f := range tc.frags {
				tx.acl(1, f.pb, f.data)
			}
			w.runUntil(2*sim.Second, func() bool { return tx.completedPackets(1) == len(tc.frags) }, "completed packets")
			w.s.RunFor(100 * sim.Millisecond)
			require.Equal(t, tc.wantMsgs, rx.messages())
			var lens []int
			for _, a := range rx.aclIn() {
				lens = append(lens, len(a.Data()))
				require.Equal(t, uint16(1), a.Handle())
			}
			require.Equal(t, tc.wantACLLens, lens)
			require.Equal(t, len(tc.frags), tx.completedPackets(1))
			require.Empty(t, tx.events(hci.EvtDataBufferOverflow))
		})
	}
}

// TestConnACLBufferOverflow: a host that sends more packets than LE Read
// Buffer Size allows loses the extra ones with Data Buffer Overflow; data
// for an unknown handle is dropped.
func TestConnACLBufferOverflow(t *testing.T) {
	w := newWorld(t, 3, nil)
	w.connect(defaultConnParams())
	for i := range aclNumDataPackets + 2 {
		w.cen.acl(1, hci.PBFirstNonFlushable, payload(i, 10))
	}
	w.cen.acl(7, hci.PBFirstNonFlushable, payload(99, 10))                    // unknown handle
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(98, aclDataPacketLength+1)) // too long
	require.Len(t, w.cen.events(hci.EvtDataBufferOverflow), 3)
	w.runUntil(2*sim.Second, func() bool { return w.cen.completedPackets(1) == aclNumDataPackets }, "completed")
	w.s.RunFor(100 * sim.Millisecond)
	require.Len(t, w.per.messages(), aclNumDataPackets)
	// The buffers are free again.
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(50, 10))
	w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == aclNumDataPackets+1 }, "more data")
}

// TestConnRetransmission: under random packet loss, SN/NESN
// acknowledgement retransmits until acknowledged and delivers every PDU
// exactly once and in order, both ways (§4.5.9).
func TestConnRetransmission(t *testing.T) {
	for _, loss := range []float64{0.1, 0.3} {
		t.Run(fmt.Sprintf("loss %.0f%%", loss*100), func(t *testing.T) {
			w := newWorld(t, 4, nil)
			p := defaultConnParams()
			p.Timeout = 300 // 3 s
			w.connect(p)
			w.m.SetLossRate(loss)
			const n = 40
			var want [2][][]byte
			sent := [2]int{}
			hosts := [2]*testHost{w.cen, w.per}
			for i := range n {
				for side := range 2 {
					want[side] = append(want[side], payload(i+100*side, 1+(i*37)%120))
				}
			}
			done := func() bool {
				return len(w.per.messages()) == n && len(w.cen.messages()) == n
			}
			limit := w.s.Now().Add(60 * sim.Second)
			for !done() && w.s.Now() < limit {
				for side, h := range hosts {
					for sent[side] < n && sent[side]-h.completedPackets(1) < aclNumDataPackets {
						h.acl(1, hci.PBFirstNonFlushable, want[side][sent[side]])
						sent[side]++
					}
				}
				w.s.RunFor(10 * sim.Millisecond)
				require.Empty(t, w.cen.disconnections())
			}
			w.s.RunFor(100 * sim.Millisecond) // the last Number Of Completed Packets
			require.Equal(t, want[0], w.per.messages())
			require.Equal(t, want[1], w.cen.messages())
			require.Equal(t, n, w.cen.completedPackets(1))
			require.Equal(t, n, w.per.completedPackets(1))
			// There were retransmissions: the same SN and payload sent again.
			retx := 0
			var last [2][]byte
			for _, a := range w.air {
				side := 0
				if a.from == w.pc.port {
					side = 1
				}
				d := pdu.DataPDU(a.pdu)
				if len(d.Payload()) > 0 && last[side] != nil && d.SN() == pdu.DataPDU(last[side]).SN() &&
					string(d.Payload()) == string(pdu.DataPDU(last[side]).Payload()) {
					retx++
				}
				last[side] = a.pdu
			}
			require.Positive(t, retx)
		})
	}
}
