package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Every SMP command (Vol 3 Part H §3.5, §3.6) encodes to its length and
// decodes back.
func TestPDUCodec(t *testing.T) {
	k := smp.Key{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}
	pp := smp.PairingParams{IOCap: smp.KeyboardOnly, AuthReq: smp.AuthBonding | smp.AuthMITM, MaxKeySize: 16, InitKeyDist: 5, RespKeyDist: 5}
	var pk smp.PairingPublicKey
	pk.X[0], pk.Y[31] = 1, 2
	tests := []struct {
		pdu  smp.PDU
		wire string
	}{
		{smp.PairingRequest{pp}, "01020005100505"},
		{smp.PairingResponse{smp.PairingParams{IOCap: 3, AuthReq: 1, MaxKeySize: 16, InitKeyDist: 4, RespKeyDist: 1}}, "02030001100401"},
		{smp.PairingConfirm{Value: k}, "03" + k.String()},
		{smp.PairingRandom{Value: k}, "04" + k.String()},
		{smp.PairingFailedPDU{Reason: smp.ReasonUnspecified}, "0508"},
		{smp.EncryptionInformation{LTK: k}, "06ffeeddccbbaa99887766554433221100"},
		{smp.CentralIdentification{EDIV: 0x000c, Rand: 0x8877665544332211}, "070c001122334455667788"},
		{smp.IdentityInformation{IRK: k}, "08" + k.String()},
		{smp.IdentityAddressInformation{AddrType: hci.AddrRandom, Addr: hci.BDAddr{0xE0, 0xF3, 0x76, 0x4C, 0xA7, 0xD2}}, "0901e0f3764ca7d2"},
		{smp.SigningInformation{CSRK: k}, "0a" + k.String()},
		{smp.SecurityRequest{AuthReq: smp.AuthBonding | smp.AuthMITM | smp.AuthSC}, "0b0d"},
		{pk, "0c01" + string(make([]byte, 0)) + repeat("00", 62) + "02"},
		{smp.PairingDHKeyCheck{Value: k}, "0d" + k.String()},
		{smp.KeypressNotification{Type: 4}, "0e04"},
	}
	for _, tt := range tests {
		t.Run(tt.pdu.Code().String(), func(t *testing.T) {
			b := tt.pdu.Marshal()
			assert.Equal(t, tt.wire, hexs(b))
			got, err := smp.Parse(b)
			require.NoError(t, err)
			assert.Equal(t, tt.pdu, got)
			// One octet more or less is malformed.
			_, err = smp.Parse(b[:len(b)-1])
			assert.ErrorIs(t, err, smp.ErrBadLength)
			_, err = smp.Parse(append(b, 0))
			assert.ErrorIs(t, err, smp.ErrBadLength)
		})
	}
	_, err := smp.Parse(nil)
	assert.ErrorIs(t, err, smp.ErrEmpty)
	for _, c := range []byte{0x00, 0x0F, 0x10, 0xFF} {
		_, err = smp.Parse([]byte{c, 0})
		assert.ErrorIs(t, err, smp.ErrUnknownCode)
	}
	assert.Equal(t, "Bonding, MITM, SC", (smp.AuthBonding | smp.AuthMITM | smp.AuthSC).String())
	assert.Equal(t, "EncKey Sign", smp.KeyDist(5).String())
	assert.Equal(t, "smp: Unspecified Reason (0x08)", smp.ReasonUnspecified.Error())
	io, err := smp.ParseIOCapability("noinputnooutput")
	require.NoError(t, err)
	assert.Equal(t, smp.NoInputNoOutput, io)
	_, err = smp.ParseIOCapability("telepathy")
	assert.Error(t, err)
	var a smp.Address
	require.NoError(t, a.UnmarshalText([]byte("D2:A7:4C:76:F3:E0/random")))
	assert.Equal(t, smp.Address{Type: hci.AddrRandom, Addr: hci.BDAddr{0xE0, 0xF3, 0x76, 0x4C, 0xA7, 0xD2}}, a)
	assert.Error(t, a.UnmarshalText([]byte("D2:A7:4C:76:F3:E0/weird")))
	var kk smp.Key
	require.NoError(t, kk.UnmarshalText([]byte(k.String())))
	assert.Equal(t, k, kk)
	assert.Error(t, kk.UnmarshalText([]byte("abc")))
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, v := range b {
		out = append(out, digits[v>>4], digits[v&15])
	}
	return string(out)
}

// FuzzParse: the SMP PDU parser never panics, and what it accepts
// re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"01020005100505", "02030001100401", "0508", "070c001122334455667788", "0901e0f3764ca7d2", "0b0d", "0e04", "1f", ""} {
		f.Add(hxf(s))
	}
	f.Add(append([]byte{0x0c}, make([]byte, 64)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 100 { // no SMP PDU is longer than 65 octets
			b = b[:100]
		}
		p, err := smp.Parse(b)
		if err != nil {
			return
		}
		if got := p.Marshal(); hexs(got) != hexs(b) {
			t.Fatalf("re-encoded %x as %x", b, got)
		}
	})
}

func hxf(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhexDigit(s[2*i])<<4 | unhexDigit(s[2*i+1])
	}
	return b
}

func unhexDigit(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// FuzzPairing drives two Security Managers through a pairing while the
// fuzzer injects commands (random, or valid codes with random contents)
// into either side at any moment, plus stray encryption events: nothing
// may panic, and the fake controllers must see no HCI violation.
func FuzzPairing(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x01, 0x03, 0x00, 0x09, 0x10, 0x07, 0x07})
	f.Add([]byte{0x21, 0x10, 0x04, 0x0c, 0x01, 0x02, 0x03})
	f.Add([]byte{0x47, 0x22, 0x0d, 0x00, 0x55, 0x31, 0x06, 0xff, 0xee})
	f.Add([]byte{0x93, 0x05, 0x05, 0x08, 0x84, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0xfe, 0x44, 0x0a, 0x81, 0x07, 0xc2, 0x0c})
	f.Fuzz(fuzzPairing)
}

func fuzzPairing(t *testing.T, data []byte) {
	{
		if len(data) == 0 {
			return
		}
		mode := data[0]
		data = data[1:]
		ios := []smp.IOCapability{smp.DisplayOnly, smp.DisplayYesNo, smp.KeyboardOnly, smp.NoInputNoOutput, smp.KeyboardDisplay}
		sc := []smp.SCMode{smp.SCSupported, smp.LegacyOnly, smp.SCOnly, smp.SCSupported}
		ag := &smp.ScriptedAgent{Passkey: 123456}
		cfg := func(x byte) *smp.Config {
			return &smp.Config{IOCap: ios[int(x)%5], SC: sc[int(x>>3)&3], Bonding: x&0x20 != 0, MITM: x&0x40 != 0,
				Strict: x&0x80 != 0, Agent: ag, Passkey: ptr(uint32(123456))}
		}
		r := newRig(t, cfg(mode), cfg(mode*7+3))
		r.connect()
		_ = r.C.Pair(r.CConn.Handle, nil)
		for len(data) >= 2 {
			op, n := data[0], int(data[1]%80)
			data = data[2:]
			n = min(n, len(data))
			payload := data[:n]
			data = data[n:]
			conn := r.PConn
			if op&1 == 1 {
				conn = r.CConn
			}
			switch op >> 1 & 7 {
			case 0, 1, 2: // a raw command
				if h := conn.Handler(l2cap.CIDSMP); h != nil {
					h(append([]byte(nil), payload...))
				}
			case 3: // a valid code with random contents of the right length
				if len(payload) > 0 {
					code := payload[0]%14 + 1
					b := append([]byte{code}, payload[1:]...)
					b = append(b, make([]byte, 65)...)[:pduLen(code)]
					if h := conn.Handler(l2cap.CIDSMP); h != nil {
						h(b)
					}
				}
			case 4: // a stray Encryption Change / Key Refresh for the link
				st := byte(0)
				if len(payload) > 0 {
					st = payload[0] & 7
				}
				ctl := r.PCtl
				if conn == r.CConn {
					ctl = r.CCtl
				}
				ctl.Inject([]byte{0x04, 0x08, 4, st, byte(conn.Handle), byte(conn.Handle >> 8), 1})
				ctl.Inject([]byte{0x04, 0x30, 3, st, byte(conn.Handle), byte(conn.Handle >> 8)})
			case 5: // an API call
				_ = r.C.Pair(r.CConn.Handle, nil)
				_ = r.C.Encrypt(r.CConn.Handle)
				_ = r.P.SecurityRequest(r.PConn.Handle)
			case 6:
				r.run(sim.Duration(n) * 10 * sim.Millisecond)
			default:
				r.run(sim.Duration(n) * sim.Second)
			}
			r.run(sim.Millisecond)
			if r.CConn.Closed() || r.PConn.Closed() {
				break
			}
		}
		r.run(40 * sim.Second)
		r.NoViolations(t)
	}
}

func pduLen(code byte) int {
	switch code {
	case 1, 2:
		return 7
	case 5, 0x0b, 0x0e:
		return 2
	case 7:
		return 11
	case 9:
		return 8
	case 0x0c:
		return 65
	}
	return 17
}
