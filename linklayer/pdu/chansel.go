package pdu

import (
	"fmt"
	"math/bits"
)

// NumDataChannels is the number of LE data channels (indices 0..36).
const NumDataChannels = 37

// ChannelMap is the 5-octet data channel map ChM (Core v5.4 Vol 6 Part B
// §2.3.3.1): bit n (octet n/8, bit n%8) set means data channel n is used.
// Bits 37..39 are reserved and ignored.
type ChannelMap [5]byte

// AllChannels returns the map with all 37 data channels used.
func AllChannels() ChannelMap { return ChannelMap{0xFF, 0xFF, 0xFF, 0xFF, 0x1F} }

// Used reports whether data channel ch (0..36) is used.
func (m ChannelMap) Used(ch uint8) bool {
	return ch < NumDataChannels && m[ch>>3]&(1<<(ch&7)) != 0
}

// Set marks channel ch used or unused (ignored for ch > 36).
func (m *ChannelMap) Set(ch uint8, used bool) {
	if ch >= NumDataChannels {
		return
	}
	if used {
		m[ch>>3] |= 1 << (ch & 7)
	} else {
		m[ch>>3] &^= 1 << (ch & 7)
	}
}

// Count returns numUsedChannels, the number of used channels.
func (m ChannelMap) Count() int {
	return bits.OnesCount32(uint32(m[0])|uint32(m[1])<<8|uint32(m[2])<<16|uint32(m[3])<<24) +
		bits.OnesCount8(m[4]&0x1F)
}

// Nth returns the channel at index i of the used-channel table (the used
// channels in ascending order, §4.5.8.2); ok is false if i ≥ Count().
func (m ChannelMap) Nth(i int) (ch uint8, ok bool) {
	for c := uint8(0); c < NumDataChannels; c++ {
		if m.Used(c) {
			if i == 0 {
				return c, true
			}
			i--
		}
	}
	return 0, false
}

func (m ChannelMap) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x%02x", m[4], m[3], m[2], m[1], m[0])
}

// NextChannel is Channel Selection Algorithm #1 (§4.5.8.2): from the
// previous connection event's lastUnmappedChannel and hopIncrement it
// returns the new unmappedChannel = (last + hop) mod 37 and the data
// channel to use: unmappedChannel itself if used, otherwise
// usedChannels[unmappedChannel mod numUsedChannels]. With an empty map it
// returns unmapped as used (callers should never have one: §4.5.8.1 needs
// at least two used channels). Call it once per connection event, also for
// events skipped by peripheral latency.
func NextChannel(lastUnmapped, hop uint8, chm ChannelMap) (unmapped, used uint8) {
	unmapped = uint8((uint(lastUnmapped) + uint(hop)) % NumDataChannels)
	if chm.Used(unmapped) {
		return unmapped, unmapped
	}
	n := chm.Count()
	if n == 0 {
		return unmapped, unmapped
	}
	ch, _ := chm.Nth(int(unmapped) % n)
	return unmapped, ch
}

// CSA1 holds the state of Channel Selection Algorithm #1 for one connection.
// The zero LastUnmapped is the spec's initial value.
type CSA1 struct {
	Hop          uint8 // hopIncrement from CONNECT_IND, 5..16
	LastUnmapped uint8 // lastUnmappedChannel
}

// Next advances to the next connection event and returns its data channel.
func (c *CSA1) Next(chm ChannelMap) uint8 {
	var ch uint8
	c.LastUnmapped, ch = NextChannel(c.LastUnmapped, c.Hop, chm)
	return ch
}

// ChannelIdentifier returns the CSA #2 channelIdentifier of an access
// address: (AA[31:16]) XOR (AA[15:0]) (§4.5.8.3.1).
func ChannelIdentifier(aa uint32) uint16 { return uint16(aa>>16) ^ uint16(aa) }

// perm reverses the bits within each octet (§4.5.8.3.2, PERM).
func perm(v uint16) uint16 {
	return uint16(bits.Reverse8(uint8(v>>8)))<<8 | uint16(bits.Reverse8(uint8(v)))
}

// mam is the multiply, add and modulo operation (§4.5.8.3.2, MAM).
func mam(a, b uint16) uint16 { return a*17 + b }

// CSA2PRNe returns the event pseudo-random number prn_e of Channel
// Selection Algorithm #2 for a connection event counter and channel
// identifier (§4.5.8.3.3): three rounds of PERM and MAM over
// counter XOR channelIdentifier, then XOR channelIdentifier.
func CSA2PRNe(counter, chanID uint16) uint16 {
	v := counter ^ chanID
	for range 3 {
		v = mam(perm(v), chanID)
	}
	return v ^ chanID
}

// CSA2 is Channel Selection Algorithm #2 (§4.5.8.3) as a pure function of
// the connection event counter, the connection's access address and the
// channel map: unmappedChannel = prn_e mod 37 if used, otherwise
// usedChannels[floor(numUsedChannels × prn_e / 2^16)].
func CSA2(counter uint16, aa uint32, chm ChannelMap) uint8 {
	prn := CSA2PRNe(counter, ChannelIdentifier(aa))
	unmapped := uint8(prn % NumDataChannels)
	if chm.Used(unmapped) {
		return unmapped
	}
	n := chm.Count()
	if n == 0 {
		return unmapped
	}
	ch, _ := chm.Nth(int((uint32(n) * uint32(prn)) >> 16))
	return ch
}
