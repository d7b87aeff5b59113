package pdu

import "math/bits"

// crcPoly is x^24 + x^10 + x^9 + x^6 + x^4 + x^3 + x + 1 without the x^24
// term: the taps of the LFSR of Core v5.4 Vol 6 Part B §3.1.1, Figure 3.2,
// with position n as bit n.
const crcPoly = 0x00065B

// CRC24 computes the 24-bit CRC of a PDU (header and payload, as sent,
// after encryption) with the LFSR of §3.1.1: the register (position 0 = bit
// 0, position 23 = bit 23) is preset with init (AdvertisingCRCInit, or the
// connection's CRCInit), and each PDU bit, least significant bit of each
// octet first, is XORed with position 23 and fed back into the taps. The
// result is the register: position n is bit n. CRCBytes gives its octets in
// air order.
func CRC24(init uint32, pdu []byte) uint32 {
	reg := init & 0xFFFFFF
	for _, b := range pdu {
		for i := 0; i < 8; i++ {
			fb := (reg>>23 ^ uint32(b>>i)) & 1
			reg = reg << 1 & 0xFFFFFF
			if fb != 0 {
				reg ^= crcPoly
			}
		}
	}
	return reg
}

// CRCBytes returns the three CRC octets in the order they follow the PDU on
// air (and in pcap LINKTYPE_BLUETOOTH_LE_LL): the CRC is sent most
// significant position first (§3.1.1) and each octet is sent least
// significant bit first, so octet 0 holds positions 23..16 bit-reversed.
func CRCBytes(crc uint32) [3]byte {
	return [3]byte{
		bits.Reverse8(uint8(crc >> 16)),
		bits.Reverse8(uint8(crc >> 8)),
		bits.Reverse8(uint8(crc)),
	}
}

// AppendCRC appends the CRC octets of pdu (computed with init) to pdu.
func AppendCRC(pdu []byte, init uint32) []byte {
	c := CRCBytes(CRC24(init, pdu))
	return append(pdu, c[:]...)
}

// CheckCRC reports whether the last three octets of pkt are the CRC of the
// octets before them.
func CheckCRC(init uint32, pkt []byte) bool {
	if len(pkt) < 3 {
		return false
	}
	n := len(pkt) - 3
	return CRCBytes(CRC24(init, pkt[:n])) == [3]byte(pkt[n:])
}
