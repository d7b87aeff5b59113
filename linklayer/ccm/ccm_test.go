package ccm

import (
	"crypto/aes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestRFC3610 runs RFC 3610 §8 packet vectors #1 and #2 (13-byte nonce,
// 8-byte MIC, 8 bytes of additional data).
func TestRFC3610(t *testing.T) {
	key := unhex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf")
	b, _ := aes.NewCipher(key)
	a, err := New(b, 8)
	require.NoError(t, err)
	for _, tc := range []struct{ nonce, in, out string }{
		{"00000003020100a0a1a2a3a4a5", "0001020304050607" + "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
			"588c979a61c663d2f066d0c2c0f989806d5f6b61dac384" + "17e8d12cfdf926e0"},
		{"00000004030201a0a1a2a3a4a5", "0001020304050607" + "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3b" + "a091d56e10400916"},
	} {
		in := unhex(tc.in)
		ad, pt := in[:8], in[8:]
		got := a.Seal(nil, unhex(tc.nonce), pt, ad)
		require.Equal(t, tc.out, hex.EncodeToString(got))
		back, err := a.Open(nil, unhex(tc.nonce), got, ad)
		require.NoError(t, err)
		require.Equal(t, pt, back)
		got[3] ^= 1
		_, err = a.Open(nil, unhex(tc.nonce), got, ad)
		require.ErrorIs(t, err, ErrOpen)
	}
}

func TestBadParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, n := range []int{0, 2, 5, 18} {
		_, err := New(b, n)
		require.Error(t, err, "tag %d", n)
	}
	a, _ := New(b, 4)
	_, err := a.Open(nil, make([]byte, 13), []byte{1, 2, 3}, nil)
	require.ErrorIs(t, err, ErrOpen, "shorter than the MIC")
	_, err = a.Open(nil, make([]byte, 12), make([]byte, 8), nil)
	require.Error(t, err)
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("payload"), []byte{0x02}, uint8(4))
	f.Fuzz(func(t *testing.T, pt, ad []byte, tag uint8) {
		if len(pt) > 300 || len(ad) > 300 {
			return
		}
		b, _ := aes.NewCipher(unhex("000102030405060708090a0b0c0d0e0f"))
		a, err := New(b, 4+2*int(tag%7))
		require.NoError(t, err)
		nonce := unhex("00000003020100a0a1a2a3a4a5")
		ct := a.Seal(nil, nonce, pt, ad)
		back, err := a.Open(nil, nonce, ct, ad)
		require.NoError(t, err)
		require.Equal(t, len(pt), len(back))
		if len(pt) > 0 {
			require.Equal(t, pt, back)
		}
		// Arbitrary bytes never panic Open.
		_, _ = a.Open(nil, nonce, pt, ad)
	})
}
