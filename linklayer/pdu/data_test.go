package pdu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDataHeader(t *testing.T) {
	h := DataHeader{LLID: LLIDControl, NESN: true, SN: false, MD: true, Length: 9}
	b := h.Bytes()
	assert.Equal(t, [2]byte{0x03 | 0x04 | 0x10, 9}, b)
	got, err := ParseDataHeader(b[:])
	require.NoError(t, err)
	assert.Equal(t, h, got)
}

func TestDataBuildParse(t *testing.T) {
	p, err := Data(LLIDStart, []byte{4, 0, 4, 0, 1, 2, 3, 4})
	require.NoError(t, err)
	p.SetSN(true)
	p.SetNESN(true)
	p.SetMD(true)
	q, err := ParseData(p)
	require.NoError(t, err)
	assert.Equal(t, LLIDStart, q.LLID())
	assert.True(t, q.SN())
	assert.True(t, q.NESN())
	assert.True(t, q.MD())
	assert.False(t, q.CP())
	assert.Equal(t, uint8(8), q.Length())
	assert.Equal(t, []byte{4, 0, 4, 0, 1, 2, 3, 4}, q.Payload())
	p.SetSN(false)
	assert.False(t, p.SN())

	e := Empty()
	_, err = ParseData(e)
	require.NoError(t, err)
	assert.Equal(t, LLIDContinuation, e.LLID())
	assert.Empty(t, e.Payload())

	c, err := Control(BuildPingReq())
	require.NoError(t, err)
	assert.Equal(t, DataPDU{0x03, 1, 0x12}, c)

	_, err = Data(LLIDStart, make([]byte, 256))
	assert.ErrorIs(t, err, ErrTooLong)
	_, err = Data(LLIDReserved, nil)
	assert.ErrorIs(t, err, ErrType)
	_, err = Control(nil)
	assert.ErrorIs(t, err, ErrPayloadLength)
}

func TestDataCTEInfo(t *testing.T) {
	p := DataPDU{0x01 | 0x20, 2, 0x55, 0xAA, 0xBB}
	q, err := ParseData(p)
	require.NoError(t, err)
	cte, ok := q.CTEInfo()
	assert.True(t, ok)
	assert.Equal(t, byte(0x55), cte)
	assert.Equal(t, []byte{0xAA, 0xBB}, q.Payload())
	_, err = ParseData(DataPDU{0x21, 0})
	assert.ErrorIs(t, err, ErrShort)
}

func TestParseDataRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":         {nil, ErrShort},
		"one":           {[]byte{1}, ErrShort},
		"reserved llid": {[]byte{0x00, 0}, ErrType},
		"length big":    {[]byte{0x02, 3, 1, 2}, ErrLength},
		"length small":  {[]byte{0x02, 1, 1, 2}, ErrLength},
		"empty control": {[]byte{0x03, 0}, ErrPayloadLength},
	} {
		_, err := ParseData(tc.b)
		assert.ErrorIs(t, err, tc.want, name)
	}
	for _, b := range [][]byte{nil, {0x20}, {0x21, 5}} {
		assert.NotPanics(t, func() {
			p := DataPDU(b)
			_ = p.Payload()
			_, _ = p.CTEInfo()
			p.SetMD(true)
		})
	}
}
