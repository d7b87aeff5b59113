package linklayer

import (
	"testing"

	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// fuzzSeeds are data channel PDUs for the corpus: one of each LL control
// PDU with the right length, some with the wrong one, data and empty PDUs.
func fuzzSeeds() [][]byte {
	ctrl := func(payload []byte) []byte {
		p, _ := pdu.Control(payload)
		return p
	}
	var seeds [][]byte
	for op := range pdu.Opcode(0x2C) {
		n, _ := op.CtrDataLen()
		b := make([]byte, 1+n)
		b[0] = byte(op)
		seeds = append(seeds, ctrl(b), ctrl(b[:1+n/2]))
	}
	seeds = append(seeds,
		ctrl(pdu.BuildConnectionUpdateInd(pdu.ConnUpdate{WinSize: 1, Interval: 30, Timeout: 200, Instant: 20})),
		ctrl(pdu.BuildChannelMapInd(pdu.ChannelMap{0xFF}, 30)),
		ctrl(pdu.BuildConnectionParamReq(pdu.ConnParams{IntervalMin: 6, IntervalMax: 40, Timeout: 300})),
		ctrl(pdu.BuildLengthReq(pdu.LengthParams{MaxRxOctets: 251, MaxRxTime: 2120, MaxTxOctets: 251, MaxTxTime: 2120})),
		ctrl(pdu.BuildTerminateInd(0x13)),
		pdu.Empty(),
		[]byte{0x0E, 3, 1, 2, 3},    // LLID start, SN/NESN set
		[]byte{0x01, 2, 9},          // length mismatch
		[]byte{0x03, 0},             // control PDU without opcode
		[]byte{0x22, 1, 0x80, 0x55}, // CP set
	)
	return seeds
}

// FuzzConnRxPDU feeds arbitrary data channel PDUs into an established
// connection's receive path, in either role, letting the connection run
// between them. Nothing may panic. Input: a sequence of PDUs, each
// prefixed with its length octet.
func FuzzConnRxPDU(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(append([]byte{byte(len(s))}, s...), false)
		f.Add(append([]byte{byte(len(s))}, s...), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, central bool) {
		w := newWorld(t, 1, zap.NewNop())
		w.connect(defaultConnParams())
		cn := w.pc
		if central {
			cn = w.cc
		}
		for len(data) > 0 && !cn.closed {
			n := min(int(data[0]), len(data)-1)
			cn.rxPDU(data[1 : 1+n])
			data = data[1+n:]
			w.s.RunFor(40 * sim.Millisecond)
		}
		w.s.RunFor(500 * sim.Millisecond)
	})
}

// FuzzConnHCI feeds arbitrary parameters to the connection commands on a
// connected controller. Nothing may panic.
func FuzzConnHCI(f *testing.F) {
	for i, h := range connHandlers() {
		f.Add(uint8(i), make([]byte, max(h.plen, 0)), false)
		p := make([]byte, max(h.plen, 0))
		if len(p) >= 2 {
			p[0] = 1 // handle 1
		}
		f.Add(uint8(i), p, true)
	}
	f.Fuzz(func(t *testing.T, which uint8, params []byte, central bool) {
		if len(params) > 255 {
			return
		}
		w := newWorld(t, 1, zap.NewNop())
		w.connect(defaultConnParams())
		hs := connHandlers()
		h := w.per
		if central {
			h = w.cen
		}
		h.c.FromHost(hci.H4(hci.CommandPacket, hci.NewCommand(hs[int(which)%len(hs)].op, params)))
		w.s.RunFor(2 * sim.Second)
	})
}
