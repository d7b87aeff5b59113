package pdu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChannelMap(t *testing.T) {
	m := AllChannels()
	assert.Equal(t, 37, m.Count())
	assert.True(t, m.Used(0))
	assert.True(t, m.Used(36))
	assert.False(t, m.Used(37))
	assert.False(t, m.Used(255))
	m = ChannelMap{0xFF, 0xFF, 0xFF, 0xFF, 0xFF} // RFU bits 37..39 set
	assert.Equal(t, 37, m.Count())

	var c ChannelMap
	c.Set(3, true)
	c.Set(36, true)
	c.Set(40, true) // ignored
	assert.Equal(t, 2, c.Count())
	ch, ok := c.Nth(1)
	assert.True(t, ok)
	assert.Equal(t, uint8(36), ch)
	_, ok = c.Nth(2)
	assert.False(t, ok)
	c.Set(3, false)
	assert.Equal(t, 1, c.Count())
	assert.Equal(t, "1000000000", c.String())
}

func TestCSA1AllUsed(t *testing.T) {
	// With every channel used, the channel is (last + hop) mod 37 (§4.5.8.2).
	c := CSA1{Hop: 7}
	want := uint8(0)
	for range 100 {
		want = (want + 7) % 37
		assert.Equal(t, want, c.Next(AllChannels()))
	}
}

func TestCSA1Remap(t *testing.T) {
	// Channels 1 and 2 used (usedChannels = [1, 2]), hop 7, start 0:
	// unmapped 7 is unused → remappingIndex 7 mod 2 = 1 → channel 2;
	// unmapped 14 → index 0 → channel 1; unmapped 21 → index 1 → channel 2;
	// unmapped 28 → 0 → 1; unmapped 35 → 1 → 2; unmapped 5 → 1 → 2;
	// unmapped 12 → 0 → 1.
	chm := ChannelMap{0x06}
	c := CSA1{Hop: 7}
	var got []uint8
	for range 7 {
		got = append(got, c.Next(chm))
	}
	assert.Equal(t, []uint8{2, 1, 2, 1, 2, 2, 1}, got)
	// A used unmapped channel is kept: last 36, hop 2 → 1 (used).
	u, ch := NextChannel(36, 2, chm)
	assert.Equal(t, uint8(1), u)
	assert.Equal(t, uint8(1), ch)
	// Empty map never panics.
	_, _ = NextChannel(0, 5, ChannelMap{})
}

// Sample data of Core Vol 6 Part C §3 (LE Channel Selection Algorithm #2),
// access address 0x8E89BED6, channelIdentifier 0x305F, as quoted by Zephyr's
// controller self-test lll_chan_sel_2_ut() in
// subsys/bluetooth/controller/ll_sw/lll_chan.c ("Refer to Bluetooth
// Specification v5.2 Vol 6, Part C, Section 3 LE Channel Selection
// algorithm #2 sample data"), which also gives prn_e for each counter.
func TestCSA2SpecSampleData(t *testing.T) {
	const aa = 0x8E89BED6
	assert.Equal(t, uint16(0x305F), ChannelIdentifier(aa))

	all := AllChannels()
	nine := ChannelMap{0x00, 0x06, 0xE0, 0x00, 0x1E} // 9, 10, 21, 22, 23, 33, 34, 35, 36
	assert.Equal(t, 9, nine.Count())
	for _, tc := range []struct {
		name    string
		chm     ChannelMap
		counter uint16
		prnE    uint16
		ch      uint8
	}{
		{"3.1 sample 1", all, 0, 56857, 25},
		{"3.1 sample 1", all, 1, 1685, 20},
		{"3.1 sample 1", all, 2, 38301, 6},
		{"3.1 sample 1", all, 3, 27475, 21},
		{"3.2 sample 2", nine, 6, 10975, 23},
		{"3.2 sample 2", nine, 7, 5490, 9},
		{"3.2 sample 2", nine, 8, 46970, 34},
	} {
		assert.Equal(t, tc.prnE, CSA2PRNe(tc.counter, 0x305F), "%s counter %d prn_e", tc.name, tc.counter)
		assert.Equal(t, tc.ch, CSA2(tc.counter, aa, tc.chm), "%s counter %d", tc.name, tc.counter)
	}
	// Zephyr's extra (non-spec) sample with two used channels, 1 and 2.
	two := ChannelMap{0x06}
	assert.Equal(t, uint8(1), CSA2(11, aa, two))
	assert.Equal(t, uint8(2), CSA2(12, aa, two))
	assert.Equal(t, uint8(1), CSA2(13, aa, two))
}

func TestCSA2AlwaysUsed(t *testing.T) {
	chm := ChannelMap{0x00, 0x06, 0xE0, 0x00, 0x1E}
	for n := 0; n < 65536; n += 7 {
		assert.True(t, chm.Used(CSA2(uint16(n), 0x12345678, chm)))
	}
	_ = CSA2(0, 0, ChannelMap{}) // no panic
}
