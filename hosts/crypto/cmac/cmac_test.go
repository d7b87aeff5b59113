package cmac

import (
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

// TestRFC4493 runs the four examples of RFC 4493 §4.
func TestRFC4493(t *testing.T) {
	key := unhex("2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		got := Sum(key, msg[:tc.n])
		require.Equal(t, tc.want, hex.EncodeToString(got[:]), "Example with Mlen = %d", tc.n)
		// Streaming in odd pieces gives the same tag.
		m, err := New(key)
		require.NoError(t, err)
		for i := 0; i < tc.n; i += 7 {
			m.Write(msg[i:min(i+7, tc.n)])
		}
		require.Equal(t, tc.want, hex.EncodeToString(m.Sum(nil)))
		m.Reset()
		m.Write(msg[:tc.n])
		require.Equal(t, tc.want, hex.EncodeToString(m.Sum(nil)), "after Reset")
	}
	_, err := New([]byte{1, 2, 3})
	require.Error(t, err)
}

func FuzzStreamingEqualsOneShot(f *testing.F) {
	f.Add([]byte("hello"), uint8(3))
	f.Fuzz(func(t *testing.T, msg []byte, step uint8) {
		key := unhex("2b7e151628aed2a6abf7158809cf4f3c")
		want := Sum(key, msg)
		m, _ := New(key)
		s := int(step%17) + 1
		for i := 0; i < len(msg); i += s {
			m.Write(msg[i:min(i+s, len(msg))])
		}
		require.Equal(t, want[:], m.Sum(nil))
	})
}
