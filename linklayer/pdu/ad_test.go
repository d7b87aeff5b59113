package pdu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestADBuildParse(t *testing.T) {
	var a ADBuilder
	b, err := a.Flags(ADFlagLEGeneral|ADFlagBREDRNotSupported).
		UUID16(true, 0x1822, 0x180F).
		LocalName("oxi", true).
		TxPower(-4).
		Appearance(0x0C41).
		ServiceData16(0x1822, []byte{7}).
		ManufacturerData(0x05F1, []byte{1, 2}).
		Bytes()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x02, 0x01, 0x06, 0x05, 0x03, 0x22, 0x18, 0x0F, 0x18}, b[:9])

	l, err := ParseAD(b)
	require.NoError(t, err)
	assert.Len(t, l, 7)
	f, ok := l.Flags()
	assert.True(t, ok)
	assert.Equal(t, uint8(0x06), f)
	assert.Equal(t, []uint16{0x1822, 0x180F}, l.UUID16s())
	name, complete, ok := l.LocalName()
	assert.True(t, ok)
	assert.True(t, complete)
	assert.Equal(t, "oxi", name)
	p, ok := l.TxPower()
	assert.True(t, ok)
	assert.Equal(t, int8(-4), p)
	ap, ok := l.Appearance()
	assert.True(t, ok)
	assert.Equal(t, uint16(0x0C41), ap)
	u, d, ok := l.ServiceData16()
	assert.True(t, ok)
	assert.Equal(t, uint16(0x1822), u)
	assert.Equal(t, []byte{7}, d)
	c, d, ok := l.ManufacturerData()
	assert.True(t, ok)
	assert.Equal(t, uint16(0x05F1), c)
	assert.Equal(t, []byte{1, 2}, d)
	_, ok = l.Get(ADMeshBeacon)
	assert.False(t, ok)
}

func TestADMeshAndShortName(t *testing.T) {
	var a ADBuilder
	b, err := a.Add(ADMeshBeacon, []byte{0x00, 1, 2}).Add(ADMeshPBADV, []byte{9}).
		Add(ADMeshMessage, []byte{8}).LocalName("n", false).Bytes()
	require.NoError(t, err)
	l, err := ParseAD(b)
	require.NoError(t, err)
	d, ok := l.Get(ADMeshBeacon)
	assert.True(t, ok)
	assert.Equal(t, []byte{0, 1, 2}, d)
	name, complete, ok := l.LocalName()
	assert.True(t, ok)
	assert.False(t, complete)
	assert.Equal(t, "n", name)
}

func TestADEarlyTerminationAndErrors(t *testing.T) {
	l, err := ParseAD([]byte{0x02, 0x01, 0x06, 0x00, 0xFF, 0xFF})
	require.NoError(t, err)
	assert.Len(t, l, 1)

	l, err = ParseAD([]byte{0x01, 0x09}) // type only, empty name
	require.NoError(t, err)
	assert.Equal(t, ADStructure{Type: ADCompleteLocalName, Data: []byte{}}, l[0])

	_, err = ParseAD([]byte{0x02, 0x01, 0x06, 0x05, 0x09, 'a'})
	assert.ErrorIs(t, err, ErrAD)
	_, err = ParseAD([]byte{0x02})
	assert.ErrorIs(t, err, ErrAD)

	// Stopping the iterator early is fine.
	n := 0
	for range ADs([]byte{2, 1, 6, 2, 1, 6}) {
		n++
		break
	}
	assert.Equal(t, 1, n)

	var a ADBuilder
	_, err = a.Add(ADManufacturerData, make([]byte, 255)).Flags(1).Bytes()
	assert.ErrorIs(t, err, ErrTooLong)

	// Short fields do not count.
	l = ADList{{Type: ADFlags}, {Type: ADTxPower}, {Type: ADAppearance, Data: []byte{1}}, {Type: ADManufacturerData, Data: []byte{1}}, {Type: ADServiceData16}}
	_, ok := l.Flags()
	assert.False(t, ok)
	_, ok = l.TxPower()
	assert.False(t, ok)
	_, ok = l.Appearance()
	assert.False(t, ok)
	_, _, ok = l.ManufacturerData()
	assert.False(t, ok)
	_, _, ok = l.ServiceData16()
	assert.False(t, ok)
}
