package access

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpcodes (§3.7.3.1): one-, two- and three-octet opcodes, as the §8.3
// samples carry them.
func TestOpcodes(t *testing.T) {
	for _, tc := range []struct {
		hex    string
		op     Opcode
		params string
	}{
		{"0056341263964771734fbd76e3b40519d1d94a48", 0x00, "56341263964771734fbd76e3b40519d1d94a48"}, // 8.3.6 AppKey Add
		{"04000000010703", 0x04, "000000010703"},                                                     // 8.3.20 Health Current Status
		{"d50a0048656c6c6f", VendorOpcode(0x15, 0x000a), "48656c6c6f"},                               // 8.3.21 vendor "Hello"
		{"8008ff", 0x8008, "ff"},
		{"8201", 0x8201, ""},
	} {
		m, err := Parse(mustHex(t, tc.hex))
		require.NoError(t, err, tc.hex)
		require.Equal(t, tc.op, m.Opcode)
		require.Equal(t, tc.params, hex.EncodeToString(m.Params))
		require.Equal(t, tc.hex, hex.EncodeToString(m.Marshal()))
	}
	c, ok := VendorOpcode(0x15, 0x000a).Company()
	require.True(t, ok)
	require.Equal(t, uint16(0x000a), c)
	for _, bad := range []string{"", "7f", "80", "c012", "ff00"} {
		_, err := Parse(mustHex(t, bad))
		require.Error(t, err, bad)
	}
	_, err := Parse(make([]byte, MaxPayload+1))
	require.Error(t, err)
	require.Equal(t, 0, Opcode(0x7F).Len())
	require.Equal(t, "0x8201", Opcode(0x8201).String())
}

// TestComposition (§4.2.2.1): page 0 with SIG and vendor models on two
// elements encodes and decodes.
func TestComposition(t *testing.T) {
	c := Composition{CID: 0x05F1, PID: 1, VID: 2, CRPL: 0x20, Features: FeatureRelay,
		Elements: []Element{
			{Location: 0x0100, Models: []ModelID{SIGModel(0), SIGModel(0x1000), VendorModel(0x05F1, 7)}},
			{Location: 0x0101, Models: []ModelID{SIGModel(0x1000)}},
		}}
	b := c.Marshal()
	require.Equal(t, "f105"+"0100"+"0200"+"2000"+"0100"+ // CID, PID, VID, CRPL, Features
		"0001"+"02"+"01"+"0000"+"0010"+"f1050700"+ // Loc, NumS, NumV, models
		"0101"+"01"+"00"+"0010", hex.EncodeToString(b))
	got, err := ParseComposition(b)
	require.NoError(t, err)
	require.Equal(t, c, got)
	for _, bad := range [][]byte{b[:9], b[:12], b[:len(b)-1]} {
		_, err := ParseComposition(bad)
		require.Error(t, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// FuzzAccessMessage: the access parser never panics; what parses encodes
// back to the same octets; Composition Data that parses encodes back too.
func FuzzAccessMessage(f *testing.F) {
	f.Add([]byte{0x00, 0x56, 0x34, 0x12})
	f.Add([]byte{0xd5, 0x0a, 0x00, 'H', 'i'})
	f.Add([]byte{0x80, 0x08, 0x00})
	f.Add(Composition{CID: 1, Elements: []Element{{Models: []ModelID{SIGModel(0), VendorModel(1, 2)}}}}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := Parse(b); err == nil {
			require.Equal(t, b, m.Marshal())
			require.Equal(t, m.Opcode.Len(), len(b)-len(m.Params))
		}
		if c, err := ParseComposition(b); err == nil {
			require.Equal(t, b, c.Marshal())
		}
	})
}
