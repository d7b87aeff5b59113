package pdu

import (
	"encoding/binary"
	"fmt"
)

// BuildControl returns an LL Control PDU payload: op followed by ctrData.
// Wrap it with Control for the air.
func BuildControl(op Opcode, ctrData []byte) []byte {
	b := make([]byte, 1+len(ctrData))
	b[0] = byte(op)
	copy(b[1:], ctrData)
	return b
}

// ctrData validates p as a control payload with one of the opcodes ops and
// returns its CtrData.
func ctrData(p []byte, ops ...Opcode) ([]byte, error) {
	if err := ValidateControl(p); err != nil {
		return nil, err
	}
	for _, op := range ops {
		if Opcode(p[0]) == op {
			return p[1:], nil
		}
	}
	return nil, fmt.Errorf("%w: expected %v, got %v", ErrType, ops[0], Opcode(p[0]))
}

// ConnUpdate is the CtrData of LL_CONNECTION_UPDATE_IND (§2.4.2.1).
type ConnUpdate struct {
	WinSize   uint8  // units of 1.25 ms
	WinOffset uint16 // units of 1.25 ms
	Interval  uint16 // units of 1.25 ms
	Latency   uint16 // connection events
	Timeout   uint16 // units of 10 ms
	Instant   uint16 // connection event counter value
}

// BuildConnectionUpdateInd builds LL_CONNECTION_UPDATE_IND.
func BuildConnectionUpdateInd(u ConnUpdate) []byte {
	b := make([]byte, 12)
	b[0] = byte(OpConnectionUpdateInd)
	b[1] = u.WinSize
	binary.LittleEndian.PutUint16(b[2:], u.WinOffset)
	binary.LittleEndian.PutUint16(b[4:], u.Interval)
	binary.LittleEndian.PutUint16(b[6:], u.Latency)
	binary.LittleEndian.PutUint16(b[8:], u.Timeout)
	binary.LittleEndian.PutUint16(b[10:], u.Instant)
	return b
}

// ParseConnectionUpdateInd decodes LL_CONNECTION_UPDATE_IND.
func ParseConnectionUpdateInd(p []byte) (ConnUpdate, error) {
	d, err := ctrData(p, OpConnectionUpdateInd)
	if err != nil {
		return ConnUpdate{}, err
	}
	return ConnUpdate{
		WinSize:   d[0],
		WinOffset: binary.LittleEndian.Uint16(d[1:]),
		Interval:  binary.LittleEndian.Uint16(d[3:]),
		Latency:   binary.LittleEndian.Uint16(d[5:]),
		Timeout:   binary.LittleEndian.Uint16(d[7:]),
		Instant:   binary.LittleEndian.Uint16(d[9:]),
	}, nil
}

// BuildChannelMapInd builds LL_CHANNEL_MAP_IND (§2.4.2.2).
func BuildChannelMapInd(chm ChannelMap, instant uint16) []byte {
	b := make([]byte, 8)
	b[0] = byte(OpChannelMapInd)
	copy(b[1:6], chm[:])
	binary.LittleEndian.PutUint16(b[6:], instant)
	return b
}

// ParseChannelMapInd decodes LL_CHANNEL_MAP_IND.
func ParseChannelMapInd(p []byte) (chm ChannelMap, instant uint16, err error) {
	d, err := ctrData(p, OpChannelMapInd)
	if err != nil {
		return chm, 0, err
	}
	copy(chm[:], d[:5])
	return chm, binary.LittleEndian.Uint16(d[5:]), nil
}

// BuildTerminateInd builds LL_TERMINATE_IND with an HCI error code
// (§2.4.2.3), e.g. 0x13 Remote User Terminated Connection.
func BuildTerminateInd(errorCode uint8) []byte {
	return []byte{byte(OpTerminateInd), errorCode}
}

// ParseTerminateInd returns the error code of LL_TERMINATE_IND.
func ParseTerminateInd(p []byte) (uint8, error) { return oneOctet(p, OpTerminateInd) }

// BuildRejectInd builds LL_REJECT_IND (§2.4.2.14).
func BuildRejectInd(errorCode uint8) []byte { return []byte{byte(OpRejectInd), errorCode} }

// ParseRejectInd returns the error code of LL_REJECT_IND.
func ParseRejectInd(p []byte) (uint8, error) { return oneOctet(p, OpRejectInd) }

// BuildRejectExtInd builds LL_REJECT_EXT_IND (§2.4.2.18): the opcode of the
// rejected PDU and an HCI error code.
func BuildRejectExtInd(rejectOpcode Opcode, errorCode uint8) []byte {
	return []byte{byte(OpRejectExtInd), byte(rejectOpcode), errorCode}
}

// ParseRejectExtInd decodes LL_REJECT_EXT_IND.
func ParseRejectExtInd(p []byte) (rejectOpcode Opcode, errorCode uint8, err error) {
	d, err := ctrData(p, OpRejectExtInd)
	if err != nil {
		return 0, 0, err
	}
	return Opcode(d[0]), d[1], nil
}

// BuildUnknownRsp builds LL_UNKNOWN_RSP naming the opcode that was not
// understood (§2.4.2.8).
func BuildUnknownRsp(unknownType Opcode) []byte {
	return []byte{byte(OpUnknownRsp), byte(unknownType)}
}

// ParseUnknownRsp returns the UnknownType of LL_UNKNOWN_RSP.
func ParseUnknownRsp(p []byte) (Opcode, error) {
	v, err := oneOctet(p, OpUnknownRsp)
	return Opcode(v), err
}

func oneOctet(p []byte, op Opcode) (uint8, error) {
	d, err := ctrData(p, op)
	if err != nil {
		return 0, err
	}
	return d[0], nil
}

func noData(op Opcode) []byte { return []byte{byte(op)} }

// BuildStartEncReq builds LL_START_ENC_REQ (§2.4.2.6).
func BuildStartEncReq() []byte { return noData(OpStartEncReq) }

// BuildStartEncRsp builds LL_START_ENC_RSP (§2.4.2.7).
func BuildStartEncRsp() []byte { return noData(OpStartEncRsp) }

// BuildPauseEncReq builds LL_PAUSE_ENC_REQ (§2.4.2.11).
func BuildPauseEncReq() []byte { return noData(OpPauseEncReq) }

// BuildPauseEncRsp builds LL_PAUSE_ENC_RSP (§2.4.2.12).
func BuildPauseEncRsp() []byte { return noData(OpPauseEncRsp) }

// BuildPingReq builds LL_PING_REQ (§2.4.2.19).
func BuildPingReq() []byte { return noData(OpPingReq) }

// BuildPingRsp builds LL_PING_RSP (§2.4.2.20).
func BuildPingRsp() []byte { return noData(OpPingRsp) }

func featurePDU(op Opcode, f uint64) []byte {
	b := make([]byte, 9)
	b[0] = byte(op)
	binary.LittleEndian.PutUint64(b[1:], f)
	return b
}

// BuildFeatureReq builds LL_FEATURE_REQ with the 8-octet FeatureSet
// (§2.4.2.9; bit n of features is bit n of the LE feature mask, Vol 6 Part B
// §4.6).
func BuildFeatureReq(features uint64) []byte { return featurePDU(OpFeatureReq, features) }

// BuildFeatureRsp builds LL_FEATURE_RSP (§2.4.2.10).
func BuildFeatureRsp(features uint64) []byte { return featurePDU(OpFeatureRsp, features) }

// BuildPeripheralFeatureReq builds LL_PERIPHERAL_FEATURE_REQ (§2.4.2.15).
func BuildPeripheralFeatureReq(features uint64) []byte {
	return featurePDU(OpPeripheralFeatureReq, features)
}

// ParseFeatures returns the FeatureSet of LL_FEATURE_REQ, LL_FEATURE_RSP or
// LL_PERIPHERAL_FEATURE_REQ.
func ParseFeatures(p []byte) (uint64, error) {
	d, err := ctrData(p, OpFeatureReq, OpFeatureRsp, OpPeripheralFeatureReq)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(d), nil
}

// Version is the CtrData of LL_VERSION_IND (§2.4.2.13).
type Version struct {
	VersNr    uint8  // Link Layer version (Assigned Numbers; 0x0D = 5.4)
	CompID    uint16 // company identifier
	SubVersNr uint16 // implementation-defined
}

// BuildVersionInd builds LL_VERSION_IND.
func BuildVersionInd(v Version) []byte {
	b := make([]byte, 6)
	b[0] = byte(OpVersionInd)
	b[1] = v.VersNr
	binary.LittleEndian.PutUint16(b[2:], v.CompID)
	binary.LittleEndian.PutUint16(b[4:], v.SubVersNr)
	return b
}

// ParseVersionInd decodes LL_VERSION_IND.
func ParseVersionInd(p []byte) (Version, error) {
	d, err := ctrData(p, OpVersionInd)
	if err != nil {
		return Version{}, err
	}
	return Version{VersNr: d[0], CompID: binary.LittleEndian.Uint16(d[1:]), SubVersNr: binary.LittleEndian.Uint16(d[3:])}, nil
}

// ConnParams is the CtrData of LL_CONNECTION_PARAM_REQ and
// LL_CONNECTION_PARAM_RSP (§2.4.2.16, §2.4.2.17).
type ConnParams struct {
	IntervalMin             uint16 // units of 1.25 ms
	IntervalMax             uint16 // units of 1.25 ms
	Latency                 uint16 // connection events
	Timeout                 uint16 // units of 10 ms
	PreferredPeriodicity    uint8  // units of 1.25 ms, 0 = none
	ReferenceConnEventCount uint16
	Offsets                 [6]uint16 // Offset0..Offset5, units of 1.25 ms, 0xFFFF = unused
}

func connParams(op Opcode, c ConnParams) []byte {
	b := make([]byte, 24)
	b[0] = byte(op)
	binary.LittleEndian.PutUint16(b[1:], c.IntervalMin)
	binary.LittleEndian.PutUint16(b[3:], c.IntervalMax)
	binary.LittleEndian.PutUint16(b[5:], c.Latency)
	binary.LittleEndian.PutUint16(b[7:], c.Timeout)
	b[9] = c.PreferredPeriodicity
	binary.LittleEndian.PutUint16(b[10:], c.ReferenceConnEventCount)
	for i, o := range c.Offsets {
		binary.LittleEndian.PutUint16(b[12+2*i:], o)
	}
	return b
}

// BuildConnectionParamReq builds LL_CONNECTION_PARAM_REQ.
func BuildConnectionParamReq(c ConnParams) []byte { return connParams(OpConnectionParamReq, c) }

// BuildConnectionParamRsp builds LL_CONNECTION_PARAM_RSP.
func BuildConnectionParamRsp(c ConnParams) []byte { return connParams(OpConnectionParamRsp, c) }

// ParseConnectionParam decodes LL_CONNECTION_PARAM_REQ or _RSP.
func ParseConnectionParam(p []byte) (ConnParams, error) {
	d, err := ctrData(p, OpConnectionParamReq, OpConnectionParamRsp)
	if err != nil {
		return ConnParams{}, err
	}
	c := ConnParams{
		IntervalMin:             binary.LittleEndian.Uint16(d[0:]),
		IntervalMax:             binary.LittleEndian.Uint16(d[2:]),
		Latency:                 binary.LittleEndian.Uint16(d[4:]),
		Timeout:                 binary.LittleEndian.Uint16(d[6:]),
		PreferredPeriodicity:    d[8],
		ReferenceConnEventCount: binary.LittleEndian.Uint16(d[9:]),
	}
	for i := range c.Offsets {
		c.Offsets[i] = binary.LittleEndian.Uint16(d[11+2*i:])
	}
	return c, nil
}

// LengthParams is the CtrData of LL_LENGTH_REQ and LL_LENGTH_RSP
// (§2.4.2.21, §2.4.2.22). Octets count payload octets (27..251); times are
// in microseconds (328..17040).
type LengthParams struct {
	MaxRxOctets uint16
	MaxRxTime   uint16
	MaxTxOctets uint16
	MaxTxTime   uint16
}

func lengthPDU(op Opcode, l LengthParams) []byte {
	b := make([]byte, 9)
	b[0] = byte(op)
	binary.LittleEndian.PutUint16(b[1:], l.MaxRxOctets)
	binary.LittleEndian.PutUint16(b[3:], l.MaxRxTime)
	binary.LittleEndian.PutUint16(b[5:], l.MaxTxOctets)
	binary.LittleEndian.PutUint16(b[7:], l.MaxTxTime)
	return b
}

// BuildLengthReq builds LL_LENGTH_REQ.
func BuildLengthReq(l LengthParams) []byte { return lengthPDU(OpLengthReq, l) }

// BuildLengthRsp builds LL_LENGTH_RSP.
func BuildLengthRsp(l LengthParams) []byte { return lengthPDU(OpLengthRsp, l) }

// ParseLength decodes LL_LENGTH_REQ or LL_LENGTH_RSP.
func ParseLength(p []byte) (LengthParams, error) {
	d, err := ctrData(p, OpLengthReq, OpLengthRsp)
	if err != nil {
		return LengthParams{}, err
	}
	return LengthParams{
		MaxRxOctets: binary.LittleEndian.Uint16(d[0:]),
		MaxRxTime:   binary.LittleEndian.Uint16(d[2:]),
		MaxTxOctets: binary.LittleEndian.Uint16(d[4:]),
		MaxTxTime:   binary.LittleEndian.Uint16(d[6:]),
	}, nil
}

// EncReq is the CtrData of LL_ENC_REQ (§2.4.2.4). SKDc/IVc are the
// central's session key diversifier and IV (SKDm/IVm before Core v5.3).
type EncReq struct {
	Rand [8]byte
	EDIV uint16
	SKDc [8]byte
	IVc  [4]byte
}

// BuildEncReq builds LL_ENC_REQ.
func BuildEncReq(e EncReq) []byte {
	b := make([]byte, 23)
	b[0] = byte(OpEncReq)
	copy(b[1:9], e.Rand[:])
	binary.LittleEndian.PutUint16(b[9:], e.EDIV)
	copy(b[11:19], e.SKDc[:])
	copy(b[19:23], e.IVc[:])
	return b
}

// ParseEncReq decodes LL_ENC_REQ.
func ParseEncReq(p []byte) (EncReq, error) {
	d, err := ctrData(p, OpEncReq)
	if err != nil {
		return EncReq{}, err
	}
	var e EncReq
	copy(e.Rand[:], d[0:8])
	e.EDIV = binary.LittleEndian.Uint16(d[8:])
	copy(e.SKDc[:], d[10:18])
	copy(e.IVc[:], d[18:22])
	return e, nil
}

// EncRsp is the CtrData of LL_ENC_RSP (§2.4.2.5): the peripheral's session
// key diversifier and IV (SKDs/IVs before Core v5.3).
type EncRsp struct {
	SKDp [8]byte
	IVp  [4]byte
}

// BuildEncRsp builds LL_ENC_RSP.
func BuildEncRsp(e EncRsp) []byte {
	b := make([]byte, 13)
	b[0] = byte(OpEncRsp)
	copy(b[1:9], e.SKDp[:])
	copy(b[9:13], e.IVp[:])
	return b
}

// ParseEncRsp decodes LL_ENC_RSP.
func ParseEncRsp(p []byte) (EncRsp, error) {
	d, err := ctrData(p, OpEncRsp)
	if err != nil {
		return EncRsp{}, err
	}
	var e EncRsp
	copy(e.SKDp[:], d[0:8])
	copy(e.IVp[:], d[8:12])
	return e, nil
}
