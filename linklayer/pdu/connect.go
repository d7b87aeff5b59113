package pdu

import (
	"encoding/binary"
	"fmt"
)

// LLData is the LLData field of CONNECT_IND (Core v5.4 Vol 6 Part B
// §2.3.3.1, Figure 2.13): the parameters of the new connection.
type LLData struct {
	AccessAddress uint32     // AA, 4 octets
	CRCInit       uint32     // CRCInit, 3 octets (24 bits)
	WinSize       uint8      // transmitWindowSize, units of 1.25 ms
	WinOffset     uint16     // transmitWindowOffset, units of 1.25 ms
	Interval      uint16     // connInterval, units of 1.25 ms
	Latency       uint16     // connPeripheralLatency, connection events
	Timeout       uint16     // connSupervisionTimeout, units of 10 ms
	ChM           ChannelMap // data channel map
	Hop           uint8      // hopIncrement (5 bits), 5..16
	SCA           uint8      // sleep clock accuracy (3 bits), 0..7
}

// Put encodes d into b, which must hold LLDataLen octets (no-op otherwise).
func (d LLData) Put(b []byte) {
	if len(b) < LLDataLen {
		return
	}
	binary.LittleEndian.PutUint32(b[0:], d.AccessAddress)
	b[4], b[5], b[6] = byte(d.CRCInit), byte(d.CRCInit>>8), byte(d.CRCInit>>16)
	b[7] = d.WinSize
	binary.LittleEndian.PutUint16(b[8:], d.WinOffset)
	binary.LittleEndian.PutUint16(b[10:], d.Interval)
	binary.LittleEndian.PutUint16(b[12:], d.Latency)
	binary.LittleEndian.PutUint16(b[14:], d.Timeout)
	copy(b[16:21], d.ChM[:])
	b[21] = d.Hop&0x1F | d.SCA<<5
}

// ParseLLData decodes exactly LLDataLen octets.
func ParseLLData(b []byte) (LLData, error) {
	if len(b) != LLDataLen {
		return LLData{}, fmt.Errorf("%w: LLData must be %d octets, got %d", ErrPayloadLength, LLDataLen, len(b))
	}
	var d LLData
	d.AccessAddress = binary.LittleEndian.Uint32(b[0:])
	d.CRCInit = uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16
	d.WinSize = b[7]
	d.WinOffset = binary.LittleEndian.Uint16(b[8:])
	d.Interval = binary.LittleEndian.Uint16(b[10:])
	d.Latency = binary.LittleEndian.Uint16(b[12:])
	d.Timeout = binary.LittleEndian.Uint16(b[14:])
	copy(d.ChM[:], b[16:21])
	d.Hop = b[21] & 0x1F
	d.SCA = b[21] >> 5
	return d, nil
}

// Connection parameter limits (§2.3.3.1, §4.5.1, §4.5.2).
const (
	MinConnInterval = 6    // 7.5 ms
	MaxConnInterval = 3200 // 4 s
	MaxConnLatency  = 499
	MinConnTimeout  = 10   // 100 ms
	MaxConnTimeout  = 3200 // 32 s
	MinHop          = 5
	MaxHop          = 16
)

// Validate checks the connection parameters against the ranges of §2.3.3.1:
// 1.25 ms ≤ transmitWindowSize ≤ min(10 ms, connInterval − 1.25 ms),
// transmitWindowOffset ≤ connInterval, connInterval 7.5 ms..4 s,
// connSupervisionTimeout 100 ms..32 s and larger than
// (1 + connPeripheralLatency) × connInterval × 2, latency ≤ 499,
// hopIncrement 5..16 and at least two used channels (§4.5.8.1).
func (d LLData) Validate() error {
	switch {
	case d.Interval < MinConnInterval || d.Interval > MaxConnInterval:
		return fmt.Errorf("%w: connInterval %d not in %d..%d", ErrParam, d.Interval, MinConnInterval, MaxConnInterval)
	case d.WinSize < 1 || d.WinSize > 8 || uint16(d.WinSize) > d.Interval-1:
		return fmt.Errorf("%w: transmitWindowSize %d not in 1..min(8, connInterval-1)", ErrParam, d.WinSize)
	case d.WinOffset > d.Interval:
		return fmt.Errorf("%w: transmitWindowOffset %d > connInterval %d", ErrParam, d.WinOffset, d.Interval)
	case d.Latency > MaxConnLatency:
		return fmt.Errorf("%w: connPeripheralLatency %d > %d", ErrParam, d.Latency, MaxConnLatency)
	case d.Hop < MinHop || d.Hop > MaxHop:
		return fmt.Errorf("%w: hopIncrement %d not in %d..%d", ErrParam, d.Hop, MinHop, MaxHop)
	case d.ChM.Count() < 2:
		return fmt.Errorf("%w: channel map %v has fewer than 2 used channels", ErrParam, d.ChM)
	}
	return ValidateTimeout(d.Interval, d.Latency, d.Timeout)
}

// ValidateTimeout checks connSupervisionTimeout (units of 10 ms) against its
// range and against (1 + latency) × interval × 2 (interval in 1.25 ms
// units), §4.5.2.
func ValidateTimeout(interval, latency, timeout uint16) error {
	if timeout < MinConnTimeout || timeout > MaxConnTimeout {
		return fmt.Errorf("%w: connSupervisionTimeout %d not in %d..%d", ErrParam, timeout, MinConnTimeout, MaxConnTimeout)
	}
	// timeout*10 ms > (1+latency)*interval*1.25 ms*2  ⇔  timeout*4 > (1+latency)*interval
	if uint32(timeout)*4 <= (1+uint32(latency))*uint32(interval) {
		return fmt.Errorf("%w: connSupervisionTimeout %d×10 ms is not more than (1+%d)×%d×1.25 ms×2", ErrParam, timeout, latency, interval)
	}
	return nil
}
