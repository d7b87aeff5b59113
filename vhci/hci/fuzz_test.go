package hci

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// Fuzz targets: nothing a host or a peer sends may panic the codec, and
// whatever validates must rebuild byte for byte. Seeds are real packets
// (h4_test.go). Run one with e.g.
//
//	go test ./vhci/hci -run '^$' -fuzz '^FuzzEvent$' -fuzztime 20s

func FuzzCommand(f *testing.F) {
	for _, p := range realPackets() {
		f.Add(p[1:])
	}
	f.Add([]byte{})
	f.Add([]byte{0x03, 0x0c, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Command(b)
		op, params := c.Opcode(), c.Params()
		_ = op.String()
		_, _, _ = SupportedCommandBit(op)
		if len(params) > 255 {
			t.Fatalf("Params returned %d bytes", len(params))
		}
		if err := c.Validate(); err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if got := NewCommand(op, params); !bytes.Equal(got, c) {
			t.Fatalf("NewCommand(%v, % x) = % x, want % x", op, params, got, b)
		}
		h := H4(CommandPacket, c)
		typ, body, err := SplitH4(h)
		if err != nil || typ != CommandPacket || !bytes.Equal(body, c) {
			t.Fatalf("SplitH4(% x) = %v, % x, %v", h, typ, body, err)
		}
	})
}

func FuzzEvent(f *testing.F) {
	for _, p := range realPackets() {
		f.Add(p[1:])
	}
	f.Add([]byte{0x3e, 0x00})
	f.Add([]byte{0x0e, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := Event(b)
		code, params, sub := e.Code(), e.Params(), e.Subevent()
		cc := CommandComplete(params)
		_, _, _, _ = cc.NumPackets(), cc.Opcode(), cc.Return(), cc.Status()
		cs := CommandStatus(params)
		_, _, _ = cs.Status(), cs.NumPackets(), cs.Opcode()
		_ = cs.Status().Error()
		if len(params) > 255 {
			t.Fatalf("Params returned %d bytes", len(params))
		}
		if err := e.Validate(); err != nil {
			return
		}
		if got := NewEvent(code, params); !bytes.Equal(got, e) {
			t.Fatalf("NewEvent(%v, % x) = % x, want % x", code, params, got, b)
		}
		if code == EvtLEMeta && len(params) > 0 {
			if sub != params[0] {
				t.Fatalf("Subevent %d, params[0] %d", sub, params[0])
			}
			if got := NewLEMeta(sub, params[1:]); !bytes.Equal(got, e) {
				t.Fatalf("NewLEMeta mismatch: % x vs % x", got, b)
			}
		}
		if code == EvtCommandComplete && len(params) >= 3 {
			if got := NewCommandComplete(cc.NumPackets(), cc.Opcode(), cc.Return()); !bytes.Equal(got, e) {
				t.Fatalf("NewCommandComplete mismatch: % x vs % x", got, b)
			}
		}
		if code == EvtCommandStatus && len(params) == 4 {
			if got := NewCommandStatus(cs.Status(), cs.NumPackets(), cs.Opcode()); !bytes.Equal(got, e) {
				t.Fatalf("NewCommandStatus mismatch: % x vs % x", got, b)
			}
		}
	})
}

func FuzzACL(f *testing.F) {
	for _, p := range realPackets() {
		f.Add(p[1:])
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		a := ACL(b)
		h, pb, bc, data := a.Handle(), a.PB(), a.BC(), a.Data()
		if h > 0x0fff || pb > 3 || bc > 3 {
			t.Fatalf("field out of range: handle %#x pb %d bc %d", h, pb, bc)
		}
		if err := a.Validate(); err != nil {
			return
		}
		got := NewACL(h, pb, data)
		if bc == 0 && !bytes.Equal(got, a) {
			t.Fatalf("NewACL(%#x, %d, % x) = % x, want % x", h, pb, data, got, b)
		}
		if !bytes.Equal(got[2:], a[2:]) || ACL(got).Handle() != h || ACL(got).PB() != pb {
			t.Fatalf("NewACL lost fields: % x vs % x", got, b)
		}
	})
}

// FuzzReader drives a Reader with a program taken from the input: each op
// byte picks a field to read from the rest. Reads must never panic, errors
// must be sticky, and what was read must be written back identically by
// Writer.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x02, 0x03}, []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08})
	f.Add([]byte{0x05, 0x06, 0x07}, h4LEConnComplete)
	f.Add([]byte{0x04, 0x04}, []byte{0x01})
	f.Fuzz(func(t *testing.T, prog, data []byte) {
		r := NewReader(data)
		var w Writer
		failed := false
		for _, op := range prog {
			before := r.Len()
			switch op % 9 {
			case 0:
				w.U8(r.U8())
			case 1:
				w.U16(r.U16())
			case 2:
				w.U24(r.U24())
			case 3:
				w.U32(r.U32())
			case 4:
				w.U64(r.U64())
			case 5:
				w.Addr(r.Addr())
			case 6:
				w.Bytes(r.Bytes(int(op >> 4)))
			case 7:
				w.Bytes(r.Rest())
			case 8:
				_ = r.Exact()
			}
			if r.Len() < 0 || r.Len() > before {
				t.Fatalf("Len went from %d to %d", before, r.Len())
			}
			if r.Err() != nil {
				failed = true
			} else if failed {
				t.Fatalf("error was not sticky")
			}
		}
		if r.Err() == nil {
			consumed := len(data) - r.Len()
			if !bytes.Equal(w.B, data[:consumed]) {
				t.Fatalf("Writer produced % x, Reader consumed % x", w.B, data[:consumed])
			}
		} else if !errors.Is(r.Err(), ErrShort) {
			t.Fatalf("unexpected error: %v", r.Err())
		}
	})
}

// FuzzReadH4 reads a stream of H4 packets: every packet read must split
// cleanly, the packets read must be exactly the prefix of the stream
// consumed, and errors must be of the documented kinds.
func FuzzReadH4(f *testing.F) {
	var all []byte
	for _, p := range realPackets() {
		f.Add(p)
		all = append(all, p...)
	}
	f.Add(all)
	f.Add([]byte{0xff, 0x00, 0x01, 0x00})
	f.Add([]byte{0x02, 0x01, 0x00, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		var got []byte
		for {
			pkt, err := ReadH4Max(r, 4096)
			if err != nil {
				switch {
				case err == io.EOF:
					if !bytes.Equal(got, stream) {
						t.Fatalf("clean EOF but packets % x != stream % x", got, stream)
					}
				case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, ErrType), errors.Is(err, ErrTooLong):
				default:
					t.Fatalf("unexpected error: %v", err)
				}
				break
			}
			if len(pkt) > 4096 {
				t.Fatalf("packet of %d bytes over the limit", len(pkt))
			}
			typ, body, err := SplitH4(pkt)
			if err != nil {
				t.Fatalf("ReadH4 returned a packet SplitH4 rejects: % x: %v", pkt, err)
			}
			if !bytes.Equal(H4(typ, body), pkt) {
				t.Fatalf("H4(SplitH4(p)) != p")
			}
			switch typ {
			case CommandPacket:
				if Command(body).Validate() != nil {
					t.Fatalf("command does not validate: % x", body)
				}
			case EventPacket:
				if Event(body).Validate() != nil {
					t.Fatalf("event does not validate: % x", body)
				}
			case ACLPacket:
				if ACL(body).Validate() != nil {
					t.Fatalf("ACL does not validate: % x", body)
				}
			}
			got = append(got, pkt...)
			if !bytes.HasPrefix(stream, got) {
				t.Fatalf("packets read are not a prefix of the stream")
			}
		}
	})
}
