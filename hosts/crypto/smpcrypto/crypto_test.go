package smpcrypto

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/vhci/hci"
)

type seeded struct{ r *rand.Rand }

func (s seeded) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(s.r.Uint32())
	}
	return len(p), nil
}

// The spec's sample data (Vol 3 Part H §2.2.3, §2.2.4, Appendix D),
// hard-coded so the functions stay checked without the shared vector files.
func TestSpecSamples(t *testing.T) {
	c1 := C1([16]byte{}, b16(t, "5783d52156ad6f0e6388274ec6702ee0"), b7(t, "07071000000101"), b7(t, "05000800000302"),
		1, 0, b6(t, "a1a2a3a4a5a6"), b6(t, "b1b2b3b4b5b6"))
	require.Equal(t, "1e1e3fef878988ead2a74dc5bef13b86", h(c1[:]))
	s1 := S1([16]byte{}, b16(t, "000f0e0d0c0b0a091122334455667788"), b16(t, "010203040506070899aabbccddeeff00"))
	require.Equal(t, "9a1fe1f0e8b0f49b5b4216ae796da062", h(s1[:]))
	ah := Ah(b16(t, "ec0234a357c8ad05341010a60a397d9b"), [3]byte{0x70, 0x81, 0x94})
	require.Equal(t, "0dfbaa", h(ah[:]))
	f4 := F4(b32(t, "20b003d2f297be2c5e2c83a7e9f9a5b9eff49111acf4fddbcc0301480e359de6"),
		b32(t, "55188b3d32f6bb9a900afcfbeed4e72a59cb9ac2f19d7cfb6b4fdd49f47fc5fd"), b16(t, "d5cb8454d177733effffb2ec712baeab"), 0)
	require.Equal(t, "f2c916f107a9bd1cf1eda1bea974872d", h(f4[:]))
	mk, ltk := F5(b32(t, "ec0234a357c8ad05341010a60a397d9b99796b13b4f866f1868d34f373bfa698"),
		b16(t, "d5cb8454d177733effffb2ec712baeab"), b16(t, "a6e8e7cc25a75f6e216583f7ff3dc4cf"),
		b7(t, "0056123737bfce"), b7(t, "00a713702dcfc1"))
	require.Equal(t, "2965f176a1084a02fd3f6a20ce636e20", h(mk[:]))
	require.Equal(t, "6986791169d7cd23980522b594750a38", h(ltk[:]))
	g2 := G2(b32(t, "20b003d2f297be2c5e2c83a7e9f9a5b9eff49111acf4fddbcc0301480e359de6"),
		b32(t, "55188b3d32f6bb9a900afcfbeed4e72a59cb9ac2f19d7cfb6b4fdd49f47fc5fd"),
		b16(t, "d5cb8454d177733effffb2ec712baeab"), b16(t, "a6e8e7cc25a75f6e216583f7ff3dc4cf"))
	require.Equal(t, uint32(0x2f9ed5ba), g2)
	h6 := H6(b16(t, "ec0234a357c8ad05341010a60a397d9b"), [4]byte{'l', 'e', 'b', 'r'})
	require.Equal(t, "2d9ae102e76dc91ce8d3a9e280b16399", h(h6[:]))
}

func TestMaskKey(t *testing.T) {
	k := b16(t, "00112233445566778899aabbccddeeff")
	for _, tc := range []struct {
		size int
		want string
	}{
		{16, "00112233445566778899aabbccddeeff"},
		{7, "000000000000000000" + "99aabbccddeeff"},
		{10, "000000000000" + "66778899aabbccddeeff"},
		{6, "00112233445566778899aabbccddeeff"}, // out of range: unchanged
	} {
		got := MaskKey(k, tc.size)
		require.Equal(t, tc.want, h(got[:]), "size %d", tc.size)
	}
}

func TestRPA(t *testing.T) {
	rnd := seeded{rand.New(rand.NewPCG(1, 2))}
	irk := b16(t, "ec0234a357c8ad05341010a60a397d9b")
	other := b16(t, "00000000000000000000000000000001")
	seen := map[hci.BDAddr]bool{}
	for range 200 {
		a, err := GenerateRPA(irk, rnd)
		require.NoError(t, err)
		require.True(t, a.IsResolvablePrivate(), "%s", a)
		require.True(t, ResolveRPA(irk, a), "%s", a)
		require.False(t, ResolveRPA(other, a), "%s resolves with another IRK", a)
		bits := uint32(a[5]&0x3f)<<16 | uint32(a[4])<<8 | uint32(a[3])
		require.NotZero(t, bits)
		require.NotEqual(t, uint32(0x3fffff), bits)
		seen[a] = true
	}
	require.Greater(t, len(seen), 190)
	// Static and public-looking addresses never resolve.
	require.False(t, ResolveRPA(irk, hci.BDAddr{0xaa, 0xfb, 0x0d, 0x94, 0x81, 0xf0}))
	// One flipped hash bit breaks resolution.
	a, _ := GenerateRPA(irk, rnd)
	a[0] ^= 1
	require.False(t, ResolveRPA(irk, a))
}

func TestP256(t *testing.T) {
	rnd := seeded{rand.New(rand.NewPCG(3, 4))}
	a, err := GenerateKeyPair(rnd)
	require.NoError(t, err)
	b, err := GenerateKeyPair(rnd)
	require.NoError(t, err)
	require.True(t, a.Public.Valid())
	ab, err := a.DHKey(b.Public)
	require.NoError(t, err)
	ba, err := b.DHKey(a.Public)
	require.NoError(t, err)
	require.Equal(t, ab, ba)
	// The same seed makes the same keys.
	a2, _ := GenerateKeyPair(seeded{rand.New(rand.NewPCG(3, 4))})
	require.Equal(t, a.Public, a2.Public)
	// Invalid points are refused: off the curve, coordinates ≥ p, zero.
	bad := b.Public
	bad.Y[31] ^= 1
	require.False(t, bad.Valid())
	_, err = a.DHKey(bad)
	require.ErrorIs(t, err, ErrInvalidPublicKey)
	_, err = a.DHKey(PublicKey{})
	require.ErrorIs(t, err, ErrInvalidPublicKey)
	ff := PublicKey{}
	for i := range ff.X {
		ff.X[i], ff.Y[i] = 0xff, 0xff
	}
	require.False(t, ff.Valid())
	// The zero scalar is not a private key.
	_, err = KeyPairFromPrivate([32]byte{})
	require.Error(t, err)
	require.False(t, bytes.Equal(a.Public.X[:], b.Public.X[:]))
}
