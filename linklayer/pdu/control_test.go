package pdu

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestControlTable(t *testing.T) {
	// Exact CtrData lengths from Core v5.4 Vol 6 Part B §2.4.2.
	want := map[Opcode]int{
		OpConnectionUpdateInd: 11, OpChannelMapInd: 7, OpTerminateInd: 1,
		OpEncReq: 22, OpEncRsp: 12, OpStartEncReq: 0, OpStartEncRsp: 0,
		OpUnknownRsp: 1, OpFeatureReq: 8, OpFeatureRsp: 8, OpPauseEncReq: 0,
		OpPauseEncRsp: 0, OpVersionInd: 5, OpRejectInd: 1,
		OpPeripheralFeatureReq: 8, OpConnectionParamReq: 23,
		OpConnectionParamRsp: 23, OpRejectExtInd: 2, OpPingReq: 0, OpPingRsp: 0,
		OpLengthReq: 8, OpLengthRsp: 8, OpPhyReq: 2, OpPhyRsp: 2, OpPhyUpdateInd: 4,
	}
	for op, n := range want {
		got, ok := op.CtrDataLen()
		assert.True(t, ok, op.String())
		assert.Equal(t, n, got, op.String())
	}
	for op := Opcode(0); op < numOpcodes; op++ {
		assert.True(t, op.Known(), "0x%02X", uint8(op))
		assert.Contains(t, op.String(), "LL_")
	}
	assert.False(t, Opcode(numOpcodes).Known())
	assert.Equal(t, "LL_CONNECTION_PARAM_REQ", OpConnectionParamReq.String())
	assert.Equal(t, "LL_CONTROL_0xFF", Opcode(0xFF).String())
}

func TestValidateControl(t *testing.T) {
	assert.ErrorIs(t, ValidateControl(nil), ErrShort)
	err := ValidateControl([]byte{0x7E, 1, 2})
	require.ErrorIs(t, err, ErrUnknownOpcode)
	op, ok := UnknownOpcode(err)
	assert.True(t, ok)
	assert.Equal(t, Opcode(0x7E), op)
	assert.Equal(t, []byte{0x07, 0x7E}, BuildUnknownRsp(op))
	_, ok = UnknownOpcode(errors.New("x"))
	assert.False(t, ok)

	assert.ErrorIs(t, ValidateControl([]byte{byte(OpTerminateInd)}), ErrControlLength)
	assert.ErrorIs(t, ValidateControl([]byte{byte(OpTerminateInd), 0x13, 0}), ErrControlLength)
	assert.ErrorIs(t, ValidateControl([]byte{byte(OpPingReq), 0}), ErrControlLength)
	assert.NoError(t, ValidateControl(BuildTerminateInd(0x13)))
	assert.NoError(t, ControlPDU(BuildPingRsp()).Validate())
	assert.Equal(t, OpPingRsp, ControlPDU(BuildPingRsp()).Opcode())
	assert.Empty(t, ControlPDU(BuildPingRsp()).CtrData())
	assert.Equal(t, Opcode(0), ControlPDU(nil).Opcode())
}

func TestControlBuildersValidate(t *testing.T) {
	all := map[string][]byte{
		"conn update":  BuildConnectionUpdateInd(ConnUpdate{}),
		"chm":          BuildChannelMapInd(AllChannels(), 1),
		"terminate":    BuildTerminateInd(0x13),
		"enc req":      BuildEncReq(EncReq{}),
		"enc rsp":      BuildEncRsp(EncRsp{}),
		"start req":    BuildStartEncReq(),
		"start rsp":    BuildStartEncRsp(),
		"unknown rsp":  BuildUnknownRsp(0x55),
		"feature req":  BuildFeatureReq(1),
		"feature rsp":  BuildFeatureRsp(1),
		"pause req":    BuildPauseEncReq(),
		"pause rsp":    BuildPauseEncRsp(),
		"version":      BuildVersionInd(Version{}),
		"reject":       BuildRejectInd(0x06),
		"periph feat":  BuildPeripheralFeatureReq(1),
		"param req":    BuildConnectionParamReq(ConnParams{}),
		"param rsp":    BuildConnectionParamRsp(ConnParams{}),
		"reject ext":   BuildRejectExtInd(OpEncReq, 0x06),
		"ping req":     BuildPingReq(),
		"ping rsp":     BuildPingRsp(),
		"length req":   BuildLengthReq(LengthParams{}),
		"length rsp":   BuildLengthRsp(LengthParams{}),
		"generic ctrl": BuildControl(OpPhyReq, []byte{1, 1}),
	}
	for name, p := range all {
		assert.NoError(t, ValidateControl(p), name)
	}
}

func TestControlRoundTrips(t *testing.T) {
	cu := ConnUpdate{WinSize: 2, WinOffset: 3, Interval: 40, Latency: 4, Timeout: 500, Instant: 0x1234}
	b := BuildConnectionUpdateInd(cu)
	assert.Equal(t, []byte{0x00, 2, 3, 0, 40, 0, 4, 0, 0xF4, 0x01, 0x34, 0x12}, b)
	gcu, err := ParseConnectionUpdateInd(b)
	require.NoError(t, err)
	assert.Equal(t, cu, gcu)

	chm := ChannelMap{0xFF, 0x00, 0xFF, 0x00, 0x1F}
	m, inst, err := ParseChannelMapInd(BuildChannelMapInd(chm, 77))
	require.NoError(t, err)
	assert.Equal(t, chm, m)
	assert.Equal(t, uint16(77), inst)

	code, err := ParseTerminateInd(BuildTerminateInd(0x13))
	require.NoError(t, err)
	assert.Equal(t, uint8(0x13), code)
	code, err = ParseRejectInd(BuildRejectInd(0x1A))
	require.NoError(t, err)
	assert.Equal(t, uint8(0x1A), code)
	rop, code, err := ParseRejectExtInd(BuildRejectExtInd(OpConnectionParamReq, 0x20))
	require.NoError(t, err)
	assert.Equal(t, OpConnectionParamReq, rop)
	assert.Equal(t, uint8(0x20), code)
	uop, err := ParseUnknownRsp(BuildUnknownRsp(0x3F))
	require.NoError(t, err)
	assert.Equal(t, Opcode(0x3F), uop)

	for _, p := range [][]byte{BuildFeatureReq(0x0102030405060708), BuildFeatureRsp(0x0102030405060708), BuildPeripheralFeatureReq(0x0102030405060708)} {
		f, err := ParseFeatures(p)
		require.NoError(t, err)
		assert.Equal(t, uint64(0x0102030405060708), f)
		assert.Equal(t, byte(0x08), p[1], "little endian")
	}

	v := Version{VersNr: 0x0D, CompID: 0x05F1, SubVersNr: 0x0102}
	vb := BuildVersionInd(v)
	assert.Equal(t, []byte{0x0C, 0x0D, 0xF1, 0x05, 0x02, 0x01}, vb)
	gv, err := ParseVersionInd(vb)
	require.NoError(t, err)
	assert.Equal(t, v, gv)

	cp := ConnParams{IntervalMin: 6, IntervalMax: 24, Latency: 2, Timeout: 300, PreferredPeriodicity: 2,
		ReferenceConnEventCount: 99, Offsets: [6]uint16{0, 1, 2, 3, 0xFFFF, 0xFFFF}}
	for _, b := range [][]byte{BuildConnectionParamReq(cp), BuildConnectionParamRsp(cp)} {
		g, err := ParseConnectionParam(b)
		require.NoError(t, err)
		assert.Equal(t, cp, g)
	}
	assert.Equal(t, byte(0x0F), BuildConnectionParamReq(cp)[0])
	assert.Equal(t, byte(0x10), BuildConnectionParamRsp(cp)[0])

	lp := LengthParams{MaxRxOctets: 251, MaxRxTime: 2120, MaxTxOctets: 27, MaxTxTime: 328}
	for _, b := range [][]byte{BuildLengthReq(lp), BuildLengthRsp(lp)} {
		g, err := ParseLength(b)
		require.NoError(t, err)
		assert.Equal(t, lp, g)
	}

	er := EncReq{Rand: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, EDIV: 0xBEEF, SKDc: [8]byte{9, 10, 11, 12, 13, 14, 15, 16}, IVc: [4]byte{17, 18, 19, 20}}
	eb := BuildEncReq(er)
	assert.Equal(t, 23, len(eb))
	assert.Equal(t, []byte{0xEF, 0xBE}, eb[9:11])
	ger, err := ParseEncReq(eb)
	require.NoError(t, err)
	assert.Equal(t, er, ger)

	es := EncRsp{SKDp: [8]byte{1, 1, 2, 3, 5, 8, 13, 21}, IVp: [4]byte{0xA, 0xB, 0xC, 0xD}}
	ges, err := ParseEncRsp(BuildEncRsp(es))
	require.NoError(t, err)
	assert.Equal(t, es, ges)
}

func TestControlParseWrongOpcodeOrLength(t *testing.T) {
	_, err := ParseVersionInd(BuildTerminateInd(1))
	assert.ErrorIs(t, err, ErrType)
	_, err = ParseVersionInd([]byte{0x0C, 1, 2})
	assert.ErrorIs(t, err, ErrControlLength)
	_, err = ParseLength(nil)
	assert.ErrorIs(t, err, ErrShort)
	_, err = ParseEncReq([]byte{0xEE})
	assert.ErrorIs(t, err, ErrUnknownOpcode)
}
