package pdu

import (
	"errors"
	"fmt"
)

// Opcode is an LL Control PDU opcode (Core v5.4 Vol 6 Part B §2.4.2,
// Table 2.20).
type Opcode uint8

// LL Control PDU opcodes (§2.4.2).
const (
	OpConnectionUpdateInd  Opcode = 0x00 // LL_CONNECTION_UPDATE_IND
	OpChannelMapInd        Opcode = 0x01 // LL_CHANNEL_MAP_IND
	OpTerminateInd         Opcode = 0x02 // LL_TERMINATE_IND
	OpEncReq               Opcode = 0x03 // LL_ENC_REQ
	OpEncRsp               Opcode = 0x04 // LL_ENC_RSP
	OpStartEncReq          Opcode = 0x05 // LL_START_ENC_REQ
	OpStartEncRsp          Opcode = 0x06 // LL_START_ENC_RSP
	OpUnknownRsp           Opcode = 0x07 // LL_UNKNOWN_RSP
	OpFeatureReq           Opcode = 0x08 // LL_FEATURE_REQ
	OpFeatureRsp           Opcode = 0x09 // LL_FEATURE_RSP
	OpPauseEncReq          Opcode = 0x0A // LL_PAUSE_ENC_REQ
	OpPauseEncRsp          Opcode = 0x0B // LL_PAUSE_ENC_RSP
	OpVersionInd           Opcode = 0x0C // LL_VERSION_IND
	OpRejectInd            Opcode = 0x0D // LL_REJECT_IND
	OpPeripheralFeatureReq Opcode = 0x0E // LL_PERIPHERAL_FEATURE_REQ
	OpConnectionParamReq   Opcode = 0x0F // LL_CONNECTION_PARAM_REQ
	OpConnectionParamRsp   Opcode = 0x10 // LL_CONNECTION_PARAM_RSP
	OpRejectExtInd         Opcode = 0x11 // LL_REJECT_EXT_IND
	OpPingReq              Opcode = 0x12 // LL_PING_REQ
	OpPingRsp              Opcode = 0x13 // LL_PING_RSP
	OpLengthReq            Opcode = 0x14 // LL_LENGTH_REQ
	OpLengthRsp            Opcode = 0x15 // LL_LENGTH_RSP
	OpPhyReq               Opcode = 0x16 // LL_PHY_REQ
	OpPhyRsp               Opcode = 0x17 // LL_PHY_RSP
	OpPhyUpdateInd         Opcode = 0x18 // LL_PHY_UPDATE_IND
	OpMinUsedChannelsInd   Opcode = 0x19 // LL_MIN_USED_CHANNELS_IND
	OpCTEReq               Opcode = 0x1A // LL_CTE_REQ
	OpCTERsp               Opcode = 0x1B // LL_CTE_RSP
	OpPeriodicSyncInd      Opcode = 0x1C // LL_PERIODIC_SYNC_IND
	OpClockAccuracyReq     Opcode = 0x1D // LL_CLOCK_ACCURACY_REQ
	OpClockAccuracyRsp     Opcode = 0x1E // LL_CLOCK_ACCURACY_RSP
	OpCISReq               Opcode = 0x1F // LL_CIS_REQ
	OpCISRsp               Opcode = 0x20 // LL_CIS_RSP
	OpCISInd               Opcode = 0x21 // LL_CIS_IND
	OpCISTerminateInd      Opcode = 0x22 // LL_CIS_TERMINATE_IND
	OpPowerControlReq      Opcode = 0x23 // LL_POWER_CONTROL_REQ
	OpPowerControlRsp      Opcode = 0x24 // LL_POWER_CONTROL_RSP
	OpPowerChangeInd       Opcode = 0x25 // LL_POWER_CHANGE_IND
	OpSubrateReq           Opcode = 0x26 // LL_SUBRATE_REQ
	OpSubrateInd           Opcode = 0x27 // LL_SUBRATE_IND
	OpChannelReportingInd  Opcode = 0x28 // LL_CHANNEL_REPORTING_IND
	OpChannelStatusInd     Opcode = 0x29 // LL_CHANNEL_STATUS_IND
	OpPeriodicSyncWRInd    Opcode = 0x2A // LL_PERIODIC_SYNC_WR_IND
	numOpcodes                    = 0x2B
)

// controlInfo is one row of Table 2.20: the name and the exact CtrData
// length of the PDU (§2.4.2.1 .. §2.4.2.43).
type controlInfo struct {
	name string
	len  int
}

// controlTable returns the row for op; ok is false for opcodes the Core v5.4
// table does not define.
func controlTable(op Opcode) (controlInfo, bool) {
	// A switch keeps the table a constant expression (no package globals).
	switch op {
	case OpConnectionUpdateInd:
		return controlInfo{"LL_CONNECTION_UPDATE_IND", 11}, true // §2.4.2.1
	case OpChannelMapInd:
		return controlInfo{"LL_CHANNEL_MAP_IND", 7}, true // §2.4.2.2
	case OpTerminateInd:
		return controlInfo{"LL_TERMINATE_IND", 1}, true // §2.4.2.3
	case OpEncReq:
		return controlInfo{"LL_ENC_REQ", 22}, true // §2.4.2.4
	case OpEncRsp:
		return controlInfo{"LL_ENC_RSP", 12}, true // §2.4.2.5
	case OpStartEncReq:
		return controlInfo{"LL_START_ENC_REQ", 0}, true // §2.4.2.6
	case OpStartEncRsp:
		return controlInfo{"LL_START_ENC_RSP", 0}, true // §2.4.2.7
	case OpUnknownRsp:
		return controlInfo{"LL_UNKNOWN_RSP", 1}, true // §2.4.2.8
	case OpFeatureReq:
		return controlInfo{"LL_FEATURE_REQ", 8}, true // §2.4.2.9
	case OpFeatureRsp:
		return controlInfo{"LL_FEATURE_RSP", 8}, true // §2.4.2.10
	case OpPauseEncReq:
		return controlInfo{"LL_PAUSE_ENC_REQ", 0}, true // §2.4.2.11
	case OpPauseEncRsp:
		return controlInfo{"LL_PAUSE_ENC_RSP", 0}, true // §2.4.2.12
	case OpVersionInd:
		return controlInfo{"LL_VERSION_IND", 5}, true // §2.4.2.13
	case OpRejectInd:
		return controlInfo{"LL_REJECT_IND", 1}, true // §2.4.2.14
	case OpPeripheralFeatureReq:
		return controlInfo{"LL_PERIPHERAL_FEATURE_REQ", 8}, true // §2.4.2.15
	case OpConnectionParamReq:
		return controlInfo{"LL_CONNECTION_PARAM_REQ", 23}, true // §2.4.2.16
	case OpConnectionParamRsp:
		return controlInfo{"LL_CONNECTION_PARAM_RSP", 23}, true // §2.4.2.17
	case OpRejectExtInd:
		return controlInfo{"LL_REJECT_EXT_IND", 2}, true // §2.4.2.18
	case OpPingReq:
		return controlInfo{"LL_PING_REQ", 0}, true // §2.4.2.19
	case OpPingRsp:
		return controlInfo{"LL_PING_RSP", 0}, true // §2.4.2.20
	case OpLengthReq:
		return controlInfo{"LL_LENGTH_REQ", 8}, true // §2.4.2.21
	case OpLengthRsp:
		return controlInfo{"LL_LENGTH_RSP", 8}, true // §2.4.2.22
	case OpPhyReq:
		return controlInfo{"LL_PHY_REQ", 2}, true // §2.4.2.23
	case OpPhyRsp:
		return controlInfo{"LL_PHY_RSP", 2}, true // §2.4.2.24
	case OpPhyUpdateInd:
		return controlInfo{"LL_PHY_UPDATE_IND", 4}, true // §2.4.2.25
	case OpMinUsedChannelsInd:
		return controlInfo{"LL_MIN_USED_CHANNELS_IND", 2}, true // §2.4.2.26
	case OpCTEReq:
		return controlInfo{"LL_CTE_REQ", 1}, true // §2.4.2.27
	case OpCTERsp:
		return controlInfo{"LL_CTE_RSP", 0}, true // §2.4.2.28
	case OpPeriodicSyncInd:
		return controlInfo{"LL_PERIODIC_SYNC_IND", 34}, true // §2.4.2.29
	case OpClockAccuracyReq:
		return controlInfo{"LL_CLOCK_ACCURACY_REQ", 1}, true // §2.4.2.30
	case OpClockAccuracyRsp:
		return controlInfo{"LL_CLOCK_ACCURACY_RSP", 1}, true // §2.4.2.31
	case OpCISReq:
		return controlInfo{"LL_CIS_REQ", 35}, true // §2.4.2.32
	case OpCISRsp:
		return controlInfo{"LL_CIS_RSP", 8}, true // §2.4.2.33
	case OpCISInd:
		return controlInfo{"LL_CIS_IND", 15}, true // §2.4.2.34
	case OpCISTerminateInd:
		return controlInfo{"LL_CIS_TERMINATE_IND", 3}, true // §2.4.2.35
	case OpPowerControlReq:
		return controlInfo{"LL_POWER_CONTROL_REQ", 3}, true // §2.4.2.36
	case OpPowerControlRsp:
		return controlInfo{"LL_POWER_CONTROL_RSP", 4}, true // §2.4.2.37
	case OpPowerChangeInd:
		return controlInfo{"LL_POWER_CHANGE_IND", 4}, true // §2.4.2.38
	case OpSubrateReq:
		return controlInfo{"LL_SUBRATE_REQ", 10}, true // §2.4.2.39
	case OpSubrateInd:
		return controlInfo{"LL_SUBRATE_IND", 10}, true // §2.4.2.40
	case OpChannelReportingInd:
		return controlInfo{"LL_CHANNEL_REPORTING_IND", 3}, true // §2.4.2.41
	case OpChannelStatusInd:
		return controlInfo{"LL_CHANNEL_STATUS_IND", 10}, true // §2.4.2.42
	case OpPeriodicSyncWRInd:
		return controlInfo{"LL_PERIODIC_SYNC_WR_IND", 42}, true // §2.4.2.43
	}
	return controlInfo{}, false
}

// Known reports whether op is defined by Core v5.4 Table 2.20.
func (op Opcode) Known() bool {
	_, ok := controlTable(op)
	return ok
}

// CtrDataLen returns the exact CtrData length of op's PDU and whether op is
// known.
func (op Opcode) CtrDataLen() (int, bool) {
	c, ok := controlTable(op)
	return c.len, ok
}

// String returns the specification name, e.g. "LL_VERSION_IND".
func (op Opcode) String() string {
	if c, ok := controlTable(op); ok {
		return c.name
	}
	return fmt.Sprintf("LL_CONTROL_0x%02X", uint8(op))
}

// UnknownOpcodeError reports an LL control opcode this package does not
// know. It matches ErrUnknownOpcode with errors.Is. Answer it with
// BuildUnknownRsp(e.Opcode) (§5.1.4 / §2.4.2.8).
type UnknownOpcodeError struct{ Opcode Opcode }

func (e *UnknownOpcodeError) Error() string {
	return fmt.Sprintf("pdu: unknown LL control opcode 0x%02X", uint8(e.Opcode))
}

// Is makes errors.Is(err, ErrUnknownOpcode) true.
func (e *UnknownOpcodeError) Is(target error) bool { return target == ErrUnknownOpcode }

// UnknownOpcode returns the opcode carried by err if it is (or wraps) an
// *UnknownOpcodeError.
func UnknownOpcode(err error) (Opcode, bool) {
	var u *UnknownOpcodeError
	if errors.As(err, &u) {
		return u.Opcode, true
	}
	return 0, false
}

// ValidateControl checks a decrypted LL Control PDU payload (opcode octet
// followed by CtrData, §2.4.2): an empty payload is ErrShort, an opcode not
// in Table 2.20 is an *UnknownOpcodeError (errors.Is ErrUnknownOpcode), and
// a CtrData of any other length than the table's is ErrControlLength.
func ValidateControl(payload []byte) error {
	if len(payload) == 0 {
		return fmt.Errorf("%w: LL Control PDU with no opcode", ErrShort)
	}
	op := Opcode(payload[0])
	c, ok := controlTable(op)
	if !ok {
		return &UnknownOpcodeError{Opcode: op}
	}
	if got := len(payload) - 1; got != c.len {
		return fmt.Errorf("%w: %s CtrData must be %d octets, got %d", ErrControlLength, c.name, c.len, got)
	}
	return nil
}

// ControlPDU is a view of an LL Control PDU payload: Opcode then CtrData.
type ControlPDU []byte

// Opcode returns the opcode (0 if empty: check Len or ValidateControl).
func (c ControlPDU) Opcode() Opcode {
	if len(c) == 0 {
		return 0
	}
	return Opcode(c[0])
}

// CtrData returns the octets after the opcode (aliasing c).
func (c ControlPDU) CtrData() []byte {
	if len(c) == 0 {
		return nil
	}
	return c[1:]
}

// Validate is ValidateControl(c).
func (c ControlPDU) Validate() error { return ValidateControl(c) }
