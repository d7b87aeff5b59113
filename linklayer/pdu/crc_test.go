package pdu

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CRC vectors from scapy's regression tests, test/scapy/layers/bluetooth4LE.uts
// (github.com/secdev/scapy): the octets after the PDU are its CRC in air
// order. The first two are packets scapy built (and checked on dissection),
// the third is a real ADV_IND (an Apple manufacturer-data advertisement)
// captured by an Ubertooth in a PPI pcap ("DLT_BLUETOOTH_LE_LL with PPI").
func TestCRC24KnownVectors(t *testing.T) {
	for _, tc := range []struct{ name, pdu, crc string }{
		{"scapy default ADV_IND", "0006000000000000", "5a3960"},
		{"scapy SCAN_REQ", "030caaaaaaaaaaaabbbbbbbbbbbb", "07b261"},
		{"ubertooth ADV_IND capture", "40144d955016fe7602011a0aff4c0010050b1c0ea836", "5af004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdu, err := hex.DecodeString(tc.pdu)
			require.NoError(t, err)
			want, err := hex.DecodeString(tc.crc)
			require.NoError(t, err)
			got := CRCBytes(CRC24(AdvertisingCRCInit, pdu))
			assert.Equal(t, want, got[:])
			assert.True(t, CheckCRC(AdvertisingCRCInit, AppendCRC(pdu, AdvertisingCRCInit)))
			// The real capture must also be a valid PDU for our parser.
			_, err = ParseAdv(pdu)
			assert.NoError(t, err)
		})
	}
}

func TestCRCDetectsCorruption(t *testing.T) {
	pkt := AppendCRC([]byte{0x02, 0x03, 0x01, 0x02, 0x03}, 0x123456)
	require.True(t, CheckCRC(0x123456, pkt))
	assert.False(t, CheckCRC(0x123457, pkt), "different CRCInit")
	for i := range pkt {
		for bit := 0; bit < 8; bit++ {
			c := append([]byte(nil), pkt...)
			c[i] ^= 1 << bit
			assert.False(t, CheckCRC(0x123456, c), "flip byte %d bit %d", i, bit)
		}
	}
	assert.False(t, CheckCRC(0x123456, []byte{1, 2}))
}
