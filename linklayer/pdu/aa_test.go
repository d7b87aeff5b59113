package pdu

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidAccessAddressRules(t *testing.T) {
	// A baseline that satisfies every rule (checked by hand: runs ≤ 3,
	// 16 transitions, top six bits 101011 have 4 transitions).
	assert.True(t, ValidAccessAddress(0xACE13579))
	for name, aa := range map[string]uint32{
		"advertising AA":             AdvertisingAccessAddress,
		"one bit off advertising":    AdvertisingAccessAddress ^ 0x00000100,
		"one bit off (msb)":          AdvertisingAccessAddress ^ 0x80000000,
		"all octets equal":           0x5A5A5A5A,
		"seven ones in a row":        0xACE1FE39, // bits 9..15 are 1111111
		"seven zeros in a row":       0xACE10139, // bits 9..15 are 0000000
		"more than 24 transitions":   0xAAAAAAA9,
		"< 2 transitions in top six": 0x03E13579, // 000000 then 1
		"1 transition in top six":    0x0CE13579, // 000011
	} {
		assert.False(t, ValidAccessAddress(aa), name)
	}
	// Exactly six equal bits in a row is allowed.
	assert.True(t, ValidAccessAddress(0xACE0FC39)) // bits 16..9 = 0111111 0
}

func TestNewAccessAddress(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[uint32]bool{}
	for range 1000 {
		aa := NewAccessAddress(r)
		assert.True(t, ValidAccessAddress(aa))
		seen[aa] = true
	}
	assert.Greater(t, len(seen), 990)
	// Deterministic for a seed.
	a := NewAccessAddress(rand.New(rand.NewPCG(7, 7)))
	b := NewAccessAddress(rand.New(rand.NewPCG(7, 7)))
	assert.Equal(t, a, b)
	assert.LessOrEqual(t, NewCRCInit(r), uint32(0xFFFFFF))
}
