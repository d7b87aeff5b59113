package mesh

import (
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/hosts/mesh/prov"
)

func TestRandReader(t *testing.T) {
	a, b := make([]byte, 37), make([]byte, 37)
	_, err := io.ReadFull(RandReader(rand.New(rand.NewPCG(1, 2))), a)
	require.NoError(t, err)
	_, err = io.ReadFull(RandReader(rand.New(rand.NewPCG(1, 2))), b)
	require.NoError(t, err)
	require.Equal(t, a, b, "same seed, same bytes")
	require.NotEqual(t, make([]byte, 37), a)
	k1, err := prov.NewKey(RandReader(rand.New(rand.NewPCG(3, 4))))
	require.NoError(t, err)
	k2, err := prov.NewKey(RandReader(rand.New(rand.NewPCG(3, 4))))
	require.NoError(t, err)
	require.True(t, k1.Equal(k2), "a seeded simulation draws the same keys")
}
