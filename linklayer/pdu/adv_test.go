package pdu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/vhci/hci"
)

var (
	addrA = hci.BDAddr{0x01, 0x02, 0x03, 0x04, 0x05, 0xC6}
	addrB = hci.BDAddr{0x11, 0x12, 0x13, 0x14, 0x15, 0x16}
)

func TestAdvHeaderRoundTrip(t *testing.T) {
	h := AdvHeader{Type: TypeConnectInd, ChSel: true, TxAdd: true, RxAdd: false, Length: 34}
	b := h.Bytes()
	assert.Equal(t, [2]byte{0x65, 34}, b)
	got, err := ParseAdvHeader(b[:])
	require.NoError(t, err)
	assert.Equal(t, h, got)
	_, err = ParseAdvHeader([]byte{0x00})
	assert.ErrorIs(t, err, ErrShort)
}

func TestAdvIndBuildAndParse(t *testing.T) {
	data := []byte{0x02, 0x01, 0x06, 0x04, 0x09, 'a', 'b', 'c'}
	p, err := AdvInd(addrA, true, data)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x40, 14}, []byte(p[:2]))
	q, err := ParseAdv(p)
	require.NoError(t, err)
	assert.Equal(t, TypeAdvInd, q.Type())
	assert.True(t, q.TxAdd())
	assert.False(t, q.RxAdd())
	assert.False(t, q.ChSel())
	q.SetChSel(true)
	assert.True(t, q.ChSel())
	assert.Equal(t, addrA, q.AdvA())
	assert.Equal(t, data, q.AdvData())
	assert.Nil(t, q.ScanRspData())
	assert.Equal(t, hci.BDAddr{}, q.ScanA())

	_, err = AdvInd(addrA, false, make([]byte, 32))
	assert.ErrorIs(t, err, ErrTooLong)
}

func TestOtherAdvPDUs(t *testing.T) {
	d := AdvDirectInd(addrA, false, addrB, true)
	require.NoError(t, d.Validate())
	assert.Equal(t, addrA, d.AdvA())
	assert.Equal(t, addrB, d.TargetA())
	assert.True(t, d.RxAdd())

	s := ScanReq(addrB, true, addrA, false)
	require.NoError(t, s.Validate())
	assert.Equal(t, TypeScanReq, s.Type())
	assert.Equal(t, 14, len(s))
	assert.Equal(t, addrB, s.ScanA())
	assert.Equal(t, addrA, s.AdvA())

	r, err := ScanRsp(addrA, false, []byte{0x03, 0x09, 'h', 'i'})
	require.NoError(t, err)
	require.NoError(t, r.Validate())
	assert.Equal(t, []byte{0x03, 0x09, 'h', 'i'}, r.ScanRspData())

	n, err := AdvNonconnInd(addrA, false, nil)
	require.NoError(t, err)
	require.NoError(t, n.Validate())
	assert.Equal(t, TypeAdvNonconnInd, n.Type())
	assert.Empty(t, n.AdvData())

	sc, err := AdvScanInd(addrA, false, []byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, TypeAdvScanInd, sc.Type())
	assert.Equal(t, "ADV_SCAN_IND", sc.Type().String())
}

func TestConnectInd(t *testing.T) {
	ll := LLData{
		AccessAddress: 0xAF9A9A1D, CRCInit: 0x123456, WinSize: 2, WinOffset: 5,
		Interval: 24, Latency: 1, Timeout: 72, ChM: ChannelMap{0xFF, 0xFF, 0xFF, 0xFF, 0x1F},
		Hop: 13, SCA: 5,
	}
	p := ConnectInd(addrB, true, addrA, false, ll)
	p.SetChSel(true)
	q, err := ParseAdv(p)
	require.NoError(t, err)
	assert.Equal(t, 36, len(q))
	assert.Equal(t, addrB, q.InitA())
	assert.Equal(t, addrA, q.AdvA())
	assert.True(t, q.ChSel())
	got, err := q.LLData()
	require.NoError(t, err)
	assert.Equal(t, ll, got)
	assert.NoError(t, got.Validate())
	// hop and SCA share the last octet
	assert.Equal(t, byte(13|5<<5), []byte(q)[35])

	_, err = AdvDirectInd(addrA, false, addrB, false).LLData()
	assert.ErrorIs(t, err, ErrType)
}

func TestLLDataValidate(t *testing.T) {
	ok := LLData{WinSize: 1, Interval: 6, Timeout: 10, Hop: 5, ChM: ChannelMap{0x03}}
	require.NoError(t, ok.Validate())
	for name, mut := range map[string]func(*LLData){
		"interval low":  func(d *LLData) { d.Interval = 5 },
		"interval high": func(d *LLData) { d.Interval = 3201; d.Timeout = 3200 },
		"winsize 0":     func(d *LLData) { d.WinSize = 0 },
		"winsize big":   func(d *LLData) { d.WinSize = 6 },
		"offset":        func(d *LLData) { d.WinOffset = 7 },
		"latency":       func(d *LLData) { d.Latency = 500 },
		"hop":           func(d *LLData) { d.Hop = 17 },
		"one channel":   func(d *LLData) { d.ChM = ChannelMap{0x01} },
		"timeout small": func(d *LLData) { d.Latency = 2; d.Interval = 100; d.Timeout = 75 },
		"timeout range": func(d *LLData) { d.Timeout = 9 },
	} {
		d := ok
		mut(&d)
		assert.ErrorIs(t, d.Validate(), ErrParam, name)
	}
}

func TestParseAdvRejects(t *testing.T) {
	good, err := AdvInd(addrA, false, []byte{1, 2, 3})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":             {nil, ErrShort},
		"one octet":         {[]byte{0x00}, ErrShort},
		"length too big":    {append([]byte{0x00, 12}, make([]byte, 10)...), ErrLength},
		"length too small":  {append(append([]byte{}, good...), 0), ErrLength},
		"ADV_IND short":     {append([]byte{0x00, 5}, make([]byte, 5)...), ErrPayloadLength},
		"ADV_IND long":      {append([]byte{0x00, 38}, make([]byte, 38)...), ErrPayloadLength},
		"SCAN_REQ 11":       {append([]byte{0x03, 11}, make([]byte, 11)...), ErrPayloadLength},
		"SCAN_REQ 13":       {append([]byte{0x03, 13}, make([]byte, 13)...), ErrPayloadLength},
		"CONNECT_IND 33":    {append([]byte{0x05, 33}, make([]byte, 33)...), ErrPayloadLength},
		"CONNECT_IND 35":    {append([]byte{0x05, 35}, make([]byte, 35)...), ErrPayloadLength},
		"DIRECT 6":          {append([]byte{0x01, 6}, make([]byte, 6)...), ErrPayloadLength},
		"ADV_EXT_IND":       {append([]byte{0x07, 6}, make([]byte, 6)...), ErrType},
		"reserved type 0xF": {append([]byte{0x0F, 6}, make([]byte, 6)...), ErrType},
	} {
		_, err := ParseAdv(tc.b)
		assert.ErrorIs(t, err, tc.want, name)
	}
}

func TestAdvGettersOnShortSlices(t *testing.T) {
	for _, b := range [][]byte{nil, {0x05}, {0x05, 34}, {0x03, 12, 1, 2, 3}, {0x00, 37, 1}} {
		p := AdvPDU(b)
		assert.NotPanics(t, func() {
			_ = p.Header()
			_ = p.AdvA()
			_ = p.TargetA()
			_ = p.ScanA()
			_ = p.InitA()
			_ = p.AdvData()
			_ = p.ScanRspData()
			_, _ = p.LLData()
			p.SetChSel(true)
		})
	}
}
