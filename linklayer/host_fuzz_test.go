package linklayer

import (
	"testing"

	"go.uber.org/zap"

	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// fuzzRecord encodes one step of FuzzControllerHost's input: which of the
// two controllers gets the packet, how long the simulation runs after it
// (in ms, modulo 64) and the H4 packet itself.
func fuzzRecord(dev, ms byte, h4 []byte) []byte {
	return append([]byte{dev, ms, byte(len(h4))}, h4...)
}

func fuzzCmd(dev, ms byte, op hci.Opcode, p []byte) []byte {
	return fuzzRecord(dev, ms, hci.H4(hci.CommandPacket, hci.NewCommand(op, p)))
}

// fuzzHostSeeds are command sequences that reach the interesting states:
// bring-up, advertising of each type, active scanning, initiating, a
// connection with traffic and procedures, and malformed packets.
func fuzzHostSeeds() [][]byte {
	join := func(rs ...[]byte) []byte {
		var b []byte
		for _, r := range rs {
			b = append(b, r...)
		}
		return b
	}
	bringUp := func(dev byte) []byte {
		return join(
			fuzzCmd(dev, 0, hci.OpReset, nil),
			fuzzCmd(dev, 0, hci.OpReadLocalSupportedFeatures, nil),
			fuzzCmd(dev, 0, hci.OpReadLocalSupportedCommands, nil),
			fuzzCmd(dev, 0, hci.OpSetEventMask, u64(leMetaEventMask)),
			fuzzCmd(dev, 0, hci.OpLESetEventMask, u64(0xFFFFF)),
			fuzzCmd(dev, 0, hci.OpLESetRandomAddress, randomA[:]),
		)
	}
	connect := join(bringUp(0), bringUp(1),
		fuzzCmd(1, 0, hci.OpLESetAdvertisingParameters, adv20(advTypeInd).bytes()),
		fuzzCmd(1, 0, hci.OpLESetAdvertisingData, advData([]byte{2, 1, 6})),
		fuzzCmd(1, 0, hci.OpLESetAdvertisingEnable, []byte{1}),
		fuzzCmd(0, 0, hci.OpLESetScanParameters, params(uint8(1), uint16(0x10), uint16(0x10), uint8(0), uint8(0))),
		fuzzCmd(0, 5, hci.OpLESetScanEnable, []byte{1, 0}),
		fuzzCmd(0, 60, hci.OpLECreateConnection, createConn(addrB, 0)),
		fuzzRecord(0, 10, hci.H4(hci.ACLPacket, hci.NewACL(1, hci.PBFirstNonFlushable, []byte{4, 0, 4, 0, 1, 2, 3, 4}))),
		fuzzCmd(1, 10, hci.OpLEConnectionUpdate, params(uint16(1), uint16(6), uint16(12), uint16(0), uint16(100), uint16(0), uint16(0))),
		fuzzCmd(0, 10, hci.OpLEReadRemoteFeatures, params(uint16(1))),
		fuzzCmd(0, 30, hci.OpLECreateConnectionCancel, nil),
		fuzzCmd(1, 30, hci.OpDisconnect, params(uint16(1), uint8(0x13))),
	)
	seeds := [][]byte{connect, bringUp(0), bringUp(1)}
	for _, typ := range []uint8{advTypeInd, advTypeDirectHigh, advTypeScanInd, advTypeNonconnInd, advTypeDirectLowDuty} {
		p := adv20(typ)
		p.peer, p.fpol = addrA, 3
		seeds = append(seeds, join(bringUp(0), bringUp(1),
			fuzzCmd(0, 0, hci.OpLEAddDeviceToAcceptList, params(uint8(0), addrB)),
			fuzzCmd(1, 0, hci.OpLESetAdvertisingParameters, p.bytes()),
			fuzzCmd(1, 0, hci.OpLESetAdvertisingEnable, []byte{1}),
			fuzzCmd(0, 0, hci.OpLESetScanParameters, params(uint8(1), uint16(0x20), uint16(0x08), uint8(1), uint8(1))),
			fuzzCmd(0, 40, hci.OpLESetScanEnable, []byte{1, 1}),
			fuzzCmd(0, 40, hci.OpLECreateConnection, createConn(addrB, 0)),
			fuzzCmd(1, 20, hci.OpLESetAdvertisingEnable, []byte{0}),
		))
	}
	// Every handler once, with a parameter block of the right length.
	var all []byte
	for _, h := range handlerTable() {
		all = append(all, fuzzCmd(byte(len(all)%2), 1, h.op, make([]byte, max(h.plen, 0)))...)
	}
	seeds = append(seeds, all,
		fuzzRecord(0, 0, nil),
		fuzzRecord(0, 0, []byte{0x01}),
		fuzzRecord(0, 0, []byte{0x01, 0x03, 0x0C}),
		fuzzRecord(1, 0, []byte{0x02, 0x01, 0x00, 0x09, 0x00}),
		fuzzRecord(1, 0, []byte{0x04, 0x0E, 0x00}),
		fuzzRecord(1, 0, []byte{0x01, 0x0D, 0x20, 0x19}),
	)
	return seeds
}

// FuzzControllerHost feeds arbitrary H4 packets, in sequence, to two
// controllers that share a medium, running the simulation between them.
// Nothing may panic; every command with a header gets exactly one Command
// Complete or Command Status with its opcode and one credit, synchronously;
// and everything sent to the hosts is a well-formed event or ACL packet.
//
// Input: up to 200 records of [device, run-time ms, length, H4 packet...],
// then a second of simulation.
func FuzzControllerHost(f *testing.F) {
	for _, s := range fuzzHostSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := sim.New(1)
		m := radio.NewMedium(s, radio.DefaultConfig())
		var hosts [2]*testHost
		for i, a := range []hci.BDAddr{addrA, addrB} {
			h := &testHost{t: t, c: New(s, m, Config{Name: a.String(), Address: a, Position: radio.Position{X: float64(i)}}, zap.NewNop())}
			h.c.SetHostSink(h.sink)
			hosts[i] = h
		}
		// A bounded run: a few seconds of two controllers are some
		// thousands of events; millions mean the simulation livelocks.
		steps := 0
		run := func(d sim.Duration) {
			s.RunWhile(s.Now().Add(d), func() bool {
				steps++
				if steps > 2_000_000 {
					t.Fatalf("livelock: over %d events by %v", steps, s.Now())
				}
				return true
			})
		}
		check := func(h *testHost, from int) {
			for _, p := range h.pkts[from:] {
				if len(p) == 0 {
					t.Fatal("empty packet to the host")
				}
				switch hci.PacketType(p[0]) {
				case hci.EventPacket:
					if err := hci.Event(p[1:]).Validate(); err != nil {
						t.Fatalf("malformed event % x: %v", p, err)
					}
				case hci.ACLPacket:
					if err := hci.ACL(p[1:]).Validate(); err != nil {
						t.Fatalf("malformed ACL % x: %v", p, err)
					}
				default:
					t.Fatalf("packet type %#x to the host", p[0])
				}
			}
		}
		for records := 0; len(data) >= 3 && records < 200; records++ {
			dev, ms, n := data[0], data[1], int(data[2])
			data = data[3:]
			n = min(n, len(data))
			pkt := data[:n]
			data = data[n:]
			h := hosts[dev&1]
			before := len(h.pkts)
			h.c.FromHost(pkt)
			check(h, before)
			if len(pkt) >= 1+hci.CommandHeaderLen && hci.PacketType(pkt[0]) == hci.CommandPacket {
				op := hci.Command(pkt[1:]).Opcode()
				answers := 0
				for _, p := range h.pkts[before:] {
					e := hci.Event(p[1:])
					switch e.Code() {
					case hci.EvtCommandComplete:
						cc := hci.CommandComplete(e.Params())
						if cc.Opcode() != op || cc.NumPackets() != 1 || len(cc.Return()) == 0 {
							t.Fatalf("%v answered with % x", op, e)
						}
						answers++
					case hci.EvtCommandStatus:
						cs := hci.CommandStatus(e.Params())
						if cs.Opcode() != op || cs.NumPackets() != 1 {
							t.Fatalf("%v answered with % x", op, e)
						}
						answers++
					}
				}
				if answers != 1 {
					t.Fatalf("%v: %d answers", op, answers)
				}
			}
			n0, n1 := len(hosts[0].pkts), len(hosts[1].pkts)
			run(sim.Duration(ms%64) * sim.Millisecond)
			check(hosts[0], n0)
			check(hosts[1], n1)
		}
		n0, n1 := len(hosts[0].pkts), len(hosts[1].pkts)
		run(sim.Second)
		check(hosts[0], n0)
		check(hosts[1], n1)
	})
}
