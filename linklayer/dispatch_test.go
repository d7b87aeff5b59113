package linklayer

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Tests of the HCI command dispatch (Core v5.4 Vol 4 Part E §4.4, §4.5,
// §7.7.14, §7.7.15) and of FromHost's handling of malformed packets.

// TestHCIDispatchUnknownCommand: a command without a handler is answered
// with Command Status, Unknown HCI Command (0x01), its opcode and one
// command credit, and nothing else happens.
func TestHCIDispatchUnknownCommand(t *testing.T) {
	for _, op := range []hci.Opcode{
		0x0000, // NOP
		hci.OpReadLocalName, hci.OpWriteLEHostSupport, hci.OpReadLocalExtendedFeatures,
		hci.OpReadEncryptionKeySize, // BR/EDR only in the kernel (enc_hci.go)
		hci.OpLESetExtendedAdvertisingParams, hci.OpLESetExtendedScanParameters, hci.OpLESetPHY,
		hci.OpReadAuthPayloadTimeout,
		hci.MakeOpcode(0x3F, 0x001), // vendor
		0xFFFF,
	} {
		t.Run(op.String(), func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("x", addrA, radio.Position{})
			require.False(t, h.c.Supports(op))
			for _, p := range [][]byte{nil, {1, 2, 3}, make([]byte, 255)} {
				e := h.do(op, p)
				require.Equal(t, hci.EvtCommandStatus, e.Code())
				require.NoError(t, e.Validate())
				cs := hci.CommandStatus(e.Params())
				require.Equal(t, hci.StatusUnknownCommand, cs.Status())
				require.EqualValues(t, 1, cs.NumPackets())
				require.Equal(t, op, cs.Opcode())
			}
			require.Len(t, h.pkts, 3)
		})
	}
}

// TestHCIDispatchBadLength: for every handler, a parameter length other
// than the command's is Invalid HCI Command Parameters (0x12), in Command
// Complete for commands answered that way and in Command Status for the
// others; so is a length field that disagrees with the packet. The
// handler does not run.
func TestHCIDispatchBadLength(t *testing.T) {
	b := newBed(t, 1)
	probe := b.dev("probe", addrA, radio.Position{})
	for op, hd := range probe.c.handlers {
		if hd.plen < 0 {
			continue
		}
		t.Run(op.String(), func(t *testing.T) {
			h := b.dev("x", addrB, radio.Position{})
			var bad [][]byte
			good := make([]byte, hd.plen)
			bad = append(bad, make([]byte, hd.plen+1), make([]byte, hd.plen+7))
			if hd.plen > 0 {
				bad = append(bad, make([]byte, hd.plen-1), nil)
			}
			send := func(pkt []byte) hci.Event {
				n := len(h.pkts)
				h.c.FromHost(pkt)
				require.Len(t, h.pkts, n+1, "% x", pkt)
				return hci.Event(h.pkts[n][1:])
			}
			var pkts [][]byte
			for _, p := range bad {
				pkts = append(pkts, hci.H4(hci.CommandPacket, hci.NewCommand(op, p)))
			}
			// Length field says plen, but the packet is longer / shorter.
			long := hci.H4(hci.CommandPacket, hci.NewCommand(op, append(good, 0xAA)))
			long[3] = byte(hd.plen)
			pkts = append(pkts, long)
			if hd.plen > 0 {
				short := hci.H4(hci.CommandPacket, hci.NewCommand(op, good))
				pkts = append(pkts, short[:len(short)-1])
			}
			for _, pkt := range pkts {
				e := send(pkt)
				require.NoError(t, e.Validate())
				if hd.sync != nil {
					require.Equal(t, hci.EvtCommandComplete, e.Code())
					cc := hci.CommandComplete(e.Params())
					require.Equal(t, op, cc.Opcode())
					require.EqualValues(t, 1, cc.NumPackets())
					require.Equal(t, []byte{byte(hci.StatusInvalidParameters)}, cc.Return())
				} else {
					require.Equal(t, hci.EvtCommandStatus, e.Code())
					cs := hci.CommandStatus(e.Params())
					require.Equal(t, op, cs.Opcode())
					require.EqualValues(t, 1, cs.NumPackets())
					require.Equal(t, hci.StatusInvalidParameters, cs.Status())
				}
			}
			// The bad commands changed nothing: Reset with a parameter did
			// not reset (LE Meta stays on), Set Event Mask did not mask.
			require.Equal(t, leMetaEventMask, h.c.eventMask)
		})
	}
}

// TestHCIDispatchEveryCommand sends every command with all-zero and with
// all-0xFF parameters of the right length to a controller that is
// advertising, scanning and connected: each gets exactly one Command
// Complete or Command Status, with one credit, the opcode, a well-formed
// event and a status in the error code range; nothing panics, and the
// simulation keeps running.
func TestHCIDispatchEveryCommand(t *testing.T) {
	for _, fill := range []byte{0x00, 0xFF, 0x01} {
		b := newBed(t, 1)
		probe := b.dev("probe", addrA, radio.Position{})
		for op, hd := range probe.c.handlers {
			h := b.dev("x", addrB, radio.Position{})
			peer := b.dev("peer", addrC, radio.Position{X: 1})
			peer.startAdv(adv20(advTypeInd), nil, nil)
			h.ok(hci.OpLECreateConnection, createConn(addrC, 0))
			b.runUntil(sim.Second, func() bool { return len(h.connCompletes()) == 1 }, "connection")
			h.startAdv(adv20(advTypeInd), nil, nil)
			h.startScan(true, 0x10, 0x10, 0, 0, false)
			p := make([]byte, max(hd.plen, 0))
			for i := range p {
				p[i] = fill
			}
			if len(p) >= 2 && fill == 0x01 {
				binary.LittleEndian.PutUint16(p, h.connCompletes()[0].handle)
			}
			e := h.do(op, p)
			require.NoError(t, e.Validate())
			switch e.Code() {
			case hci.EvtCommandComplete:
				cc := hci.CommandComplete(e.Params())
				require.Equal(t, op, cc.Opcode())
				require.EqualValues(t, 1, cc.NumPackets())
				require.NotEmpty(t, cc.Return())
				require.NotEqual(t, hci.StatusUnknownCommand, cc.Status())
			case hci.EvtCommandStatus:
				cs := hci.CommandStatus(e.Params())
				require.Equal(t, op, cs.Opcode())
				require.EqualValues(t, 1, cs.NumPackets())
				require.NotEqual(t, hci.StatusUnknownCommand, cs.Status())
			}
			b.run(200 * sim.Millisecond)
			for _, pkt := range h.pkts {
				switch hci.PacketType(pkt[0]) {
				case hci.EventPacket:
					require.NoError(t, hci.Event(pkt[1:]).Validate())
				case hci.ACLPacket:
					require.NoError(t, hci.ACL(pkt[1:]).Validate())
				default:
					t.Fatalf("packet type %#x to the host", pkt[0])
				}
			}
			h.c.Detach()
			peer.c.Detach()
		}
	}
}

// TestHCIFromHostMalformed feeds packets no host should send: nothing
// panics, nothing is answered (there is no opcode to answer to), and the
// controller still works afterwards.
func TestHCIFromHostMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"empty", nil},
		{"empty slice", []byte{}},
		{"command indicator only", []byte{0x01}},
		{"command, one opcode byte", []byte{0x01, 0x03}},
		{"command, no length", []byte{0x01, 0x03, 0x0C}},
		{"ACL indicator only", []byte{0x02}},
		{"ACL, short header", []byte{0x02, 0x01, 0x00, 0x05}},
		{"ACL, length too long", []byte{0x02, 0x01, 0x00, 0x05, 0x00, 1, 2}},
		{"ACL, length too short", []byte{0x02, 0x01, 0x00, 0x01, 0x00, 1, 2}},
		{"ACL to unknown handle", hci.H4(hci.ACLPacket, hci.NewACL(0x0123, hci.PBFirstNonFlushable, []byte{1, 2, 3, 4}))},
		{"ACL to handle 0xFFF", hci.H4(hci.ACLPacket, hci.NewACL(0x0FFF, hci.PBContinuing, nil))},
		{"SCO", []byte{0x03, 0x01, 0x00, 0x00}},
		{"event from host", hci.H4(hci.EventPacket, hci.NewEvent(hci.EvtCommandComplete, []byte{1, 3, 0x0C, 0}))},
		{"ISO", []byte{0x05, 0, 0, 0, 0}},
		{"vendor 0xFF", []byte{0xFF, 0x00}},
		{"unknown type 0x42", []byte{0x42, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("x", addrA, radio.Position{})
			require.NotPanics(t, func() { h.c.FromHost(tc.pkt) })
			b.run(10 * sim.Millisecond)
			require.Empty(t, h.pkts)
			require.Equal(t, append([]byte{0}, addrA[:]...), h.ret(hci.OpReadBDADDR, nil))
		})
	}
}

// TestHCIFromHostDoesNotKeepPacket: the controller copies what it keeps;
// the host may reuse its buffer right after FromHost.
func TestHCIFromHostDoesNotKeepPacket(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("x", addrA, radio.Position{})
	buf := hci.H4(hci.CommandPacket, hci.NewCommand(hci.OpLESetAdvertisingData, advData([]byte{2, 1, 6})))
	h.c.FromHost(buf)
	buf2 := hci.H4(hci.CommandPacket, hci.NewCommand(hci.OpLESetRandomAddress, randomA[:]))
	h.c.FromHost(buf2)
	for i := range buf {
		buf[i] = 0xEE
	}
	for i := range buf2 {
		buf2[i] = 0xEE
	}
	p := adv20(advTypeNonconnInd)
	p.own = 1
	h.ok(hci.OpLESetAdvertisingParameters, p.bytes())
	h.ok(hci.OpLESetAdvertisingEnable, []byte{1})
	b.run(50 * sim.Millisecond)
	pk := b.sent(0, 2 /* ADV_NONCONN_IND */, randomA)
	require.NotEmpty(t, pk)
	require.Equal(t, []byte{2, 1, 6}, []byte(pk[0].pdu.AdvData()))
}
