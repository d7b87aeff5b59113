package pdu

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseAdv(f *testing.F) {
	p, _ := AdvInd(addrA, true, []byte{2, 1, 6})
	f.Add([]byte(p))
	f.Add([]byte(ScanReq(addrA, false, addrB, true)))
	f.Add([]byte(ConnectInd(addrA, false, addrB, true, LLData{Interval: 24, Hop: 7})))
	f.Add([]byte{0x05, 34})
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := append([]byte(nil), b...)
		q, err := ParseAdv(b)
		if !bytes.Equal(orig, b) {
			t.Fatal("ParseAdv modified its input")
		}
		// Getters must never panic, valid or not.
		v := AdvPDU(b)
		_, _, _, _ = v.AdvA(), v.ScanA(), v.InitA(), v.TargetA()
		_, _ = v.AdvData(), v.ScanRspData()
		_, _ = v.LLData()
		if err != nil {
			return
		}
		h := q.Header()
		if int(h.Length)+AdvHeaderLen != len(b) {
			t.Fatalf("accepted PDU with Length %d and %d octets", h.Length, len(b))
		}
		if h.Type == TypeConnectInd {
			ll, err := q.LLData()
			if err != nil {
				t.Fatalf("valid CONNECT_IND without LLData: %v", err)
			}
			_ = ll.Validate()
			again := ConnectInd(q.InitA(), h.TxAdd, q.AdvA(), h.RxAdd, ll)
			again.SetChSel(h.ChSel)
			// Rebuilding gives the same bytes except the RFU bit 4.
			if !bytes.Equal(again[1:], b[1:]) || again[0] != b[0]&^0x10 {
				t.Fatalf("CONNECT_IND round trip: %x -> %x", b, again)
			}
		}
	})
}

func FuzzParseData(f *testing.F) {
	f.Add([]byte{0x03, 1, 0x12})
	f.Add([]byte{0x01, 0})
	f.Add([]byte{0x23, 2, 0x00, 0x02, 0x13})
	f.Add(append([]byte{0x03, 12}, BuildConnectionUpdateInd(ConnUpdate{})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseData(b)
		v := DataPDU(b)
		_, _ = v.Payload(), v.Header()
		_, _ = v.CTEInfo()
		if err != nil {
			return
		}
		if p.LLID() == LLIDControl {
			cerr := ValidateControl(p.Payload())
			if cerr == nil {
				n, ok := Opcode(p.Payload()[0]).CtrDataLen()
				if !ok || n != len(p.Payload())-1 {
					t.Fatalf("accepted control PDU %x", p.Payload())
				}
			}
		}
	})
}

func FuzzValidateControl(f *testing.F) {
	f.Add(BuildVersionInd(Version{VersNr: 13}))
	f.Add(BuildConnectionParamReq(ConnParams{}))
	f.Add(BuildEncReq(EncReq{}))
	f.Add([]byte{0xFE})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ValidateControl(b)
		if op, ok := UnknownOpcode(err); ok {
			if Opcode(b[0]) != op || op.Known() || !errors.Is(err, ErrUnknownOpcode) {
				t.Fatalf("bad unknown-opcode error for %x", b)
			}
		}
		// Every parser must agree with ValidateControl and never panic.
		_, e1 := ParseConnectionUpdateInd(b)
		_, _, e2 := ParseChannelMapInd(b)
		_, e3 := ParseTerminateInd(b)
		_, e4 := ParseEncReq(b)
		_, e5 := ParseEncRsp(b)
		_, e6 := ParseUnknownRsp(b)
		_, e7 := ParseFeatures(b)
		_, e8 := ParseVersionInd(b)
		_, e9 := ParseRejectInd(b)
		_, e10 := ParseConnectionParam(b)
		_, _, e11 := ParseRejectExtInd(b)
		_, e12 := ParseLength(b)
		if err != nil {
			for _, e := range []error{e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12} {
				if e == nil {
					t.Fatalf("a parser accepted %x that ValidateControl rejects (%v)", b, err)
				}
			}
		}
	})
}

func FuzzParseAD(f *testing.F) {
	var a ADBuilder
	b, _ := a.Flags(6).LocalName("x", true).ManufacturerData(1, []byte{2}).Bytes()
	f.Add(b)
	f.Add([]byte{0x00})
	f.Add([]byte{0xFF, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseAD(b)
		if err != nil {
			return
		}
		// Re-encoding the parsed list gives back the input up to the
		// early-termination point.
		var out []byte
		for _, s := range l {
			out, err = AppendAD(out, s.Type, s.Data)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out, b[:len(out)]) {
			t.Fatalf("AD round trip %x -> %x", b, out)
		}
		if len(out) < len(b) && b[len(out)] != 0 {
			t.Fatalf("stopped early at a non-zero length octet: %x", b)
		}
		_, _, _ = l.LocalName()
		_ = l.UUID16s()
		_, _ = l.Flags()
		_, _ = l.TxPower()
		_, _ = l.Appearance()
		_, _, _ = l.ServiceData16()
		_, _, _ = l.ManufacturerData()
	})
}
