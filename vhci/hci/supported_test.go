package hci

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Positions from the Supported_Commands table (Core v5.4 Vol 4 Part E
// §6.27); the comments name hosts that test the bit.
var knownBits = []struct {
	op         Opcode
	octet, bit int
}{
	{OpDisconnect, 0, 5},
	{OpReadRemoteVersionInfo, 2, 7},
	{OpSetEventMask, 5, 6},
	{OpReset, 5, 7},
	{OpSetEventFilter, 6, 0},
	{0x0C0D, 6, 5}, // Read Stored Link Key: kernel commands[6] & 0x20
	{0x080F, 5, 4}, // Write Default Link Policy Settings: kernel commands[5] & 0x10
	{0x0C1B, 8, 0}, // Read Page Scan Activity: kernel commands[8] & 0x01
	{OpWriteLocalName, 7, 0},
	{OpReadLocalName, 7, 1},
	{OpReadClassOfDevice, 9, 0},
	{OpReadVoiceSetting, 9, 2}, // kernel read_voice_setting_capable: commands[9] & 0x04
	{OpReadTransmitPowerLevel, 10, 2},
	{OpSetControllerToHostFlow, 10, 5},
	{OpHostBufferSize, 10, 6},
	{OpHostNumCompletedPackets, 10, 7},
	{0x0C46, 13, 0}, // Read Page Scan Type: kernel commands[13] & 0x01
	{OpReadLocalVersion, 14, 3},
	{OpReadLocalSupportedFeatures, 14, 5},
	{OpReadLocalExtendedFeatures, 14, 6},
	{OpReadBufferSize, 14, 7},
	{OpReadBDADDR, 15, 1},
	{OpReadRSSI, 15, 5},
	{0x0C5A, 18, 2},                  // Read Default Erroneous Data Reporting: kernel commands[18] & 0x04
	{OpReadEncryptionKeySize, 20, 4}, // kernel read_key_size_capable: commands[20] & 0x10
	{OpSetEventMaskPage2, 22, 2},
	{OpReadLEHostSupport, 24, 5},
	{OpWriteLEHostSupport, 24, 6},
	{OpLESetEventMask, 25, 0},
	{OpLEReadBufferSize, 25, 1},
	{OpLEReadLocalSupportedFeatures, 25, 2},
	{OpLESetRandomAddress, 25, 4},
	{OpLESetAdvertisingParameters, 25, 5},
	{OpLEReadAdvertisingTxPower, 25, 6},
	{OpLESetAdvertisingData, 25, 7},
	{OpLESetScanResponseData, 26, 0},
	{OpLESetAdvertisingEnable, 26, 1},
	{OpLESetScanParameters, 26, 2},
	{OpLESetScanEnable, 26, 3},    // kernel commands[26] & 0x08 -> LE Advertising Report event
	{OpLECreateConnection, 26, 4}, // kernel commands[26] & 0x10 -> LE Connection Complete event
	{OpLECreateConnectionCancel, 26, 5},
	{OpLEReadAcceptListSize, 26, 6},
	{OpLEClearAcceptList, 26, 7},
	{OpLEAddDeviceToAcceptList, 27, 0},
	{OpLERemoveDeviceFromAcceptList, 27, 1},
	{OpLEConnectionUpdate, 27, 2}, // kernel commands[27] & 0x04
	{OpLESetHostChannelClassification, 27, 3},
	{OpLEReadChannelMap, 27, 4},
	{OpLEReadRemoteFeatures, 27, 5}, // kernel commands[27] & 0x20
	{OpLEEncrypt, 27, 6},
	{OpLERand, 27, 7},
	{OpLEEnableEncryption, 28, 0},
	{OpLELongTermKeyRequestReply, 28, 1},
	{OpLELongTermKeyRequestNegReply, 28, 2},
	{OpLEReadSupportedStates, 28, 3},
	{OpReadLocalSupportedCodecs, 29, 5},
	{OpReadAuthPayloadTimeout, 32, 4},
	{OpWriteAuthPayloadTimeout, 32, 5},
	{OpLERemoteConnParamReqReply, 33, 4},
	{OpLERemoteConnParamReqNegReply, 33, 5},
	{OpLESetDataLength, 33, 6},
	{OpLEReadSuggestedDefaultDataLen, 33, 7},
	{OpLEWriteSuggestedDefaultDataLen, 34, 0},
	{0x2025, 34, 1}, // LE Read Local P-256 Public Key: kernel commands[34] & 0x02
	{0x2026, 34, 2}, // LE Generate DHKey: kernel commands[34] & 0x04
	{OpLEAddDeviceToResolvingList, 34, 3},
	{OpLERemoveDeviceFromResolvingList, 34, 4},
	{OpLEClearResolvingList, 34, 5},
	{OpLEReadResolvingListSize, 34, 6},
	{OpLEReadPeerResolvableAddress, 34, 7},
	{OpLEReadLocalResolvableAddress, 35, 0},
	{OpLESetAddressResolutionEnable, 35, 1},
	{OpLESetResolvablePrivateAddrTimeout, 35, 2}, // kernel commands[35] & 0x04
	{OpLEReadMaximumDataLength, 35, 3},
	{OpLEReadPHY, 35, 4},
	{OpLESetDefaultPHY, 35, 5}, // kernel commands[35] & 0x20
	{OpLESetPHY, 35, 6},        // kernel commands[35] & 0x40
	{OpLESetExtendedAdvertisingParams, 36, 2},
	{OpLESetExtendedScanParameters, 37, 5}, // kernel use_ext_scan: commands[37] & 0x20
	{OpLESetExtendedScanEnable, 37, 6},     // ... && commands[37] & 0x40
	{OpLEExtendedCreateConnection, 37, 7},  // kernel use_ext_conn: commands[37] & 0x80
	{OpLEReadTransmitPower, 38, 7},         // kernel commands[38] & 0x80
	{OpLESetPrivacyMode, 39, 2},            // kernel privacy_mode_capable: commands[39] & 0x04
	{0x2060, 41, 5},                        // LE Read Buffer Size [v2]: Zephyr host tests octet 41 bit 5
	{0x205E, 41, 2},                        // LE Generate DHKey [v2]: Zephyr host tests octet 41 bit 2
	{0x207B, 45, 0},                        // LE Transmitter Test [v4]: Zephyr controller
	{0x100D, 45, 2},                        // Read Local Supported Codecs [v2]: BlueZ, Zephyr
	{0x2076, 44, 3},                        // LE Enhanced Read Transmit Power Level
	{0x207A, 44, 7},                        // LE Set Transmit Power Reporting Enable
}

func TestSupportedCommandBitKnown(t *testing.T) {
	for _, k := range knownBits {
		o, b, ok := SupportedCommandBit(k.op)
		if assert.True(t, ok, "%s (0x%04x) has no position", k.op, uint16(k.op)) {
			assert.Equal(t, [2]int{k.octet, k.bit}, [2]int{o, b}, "%s (0x%04x)", k.op, uint16(k.op))
		}
	}
}

func TestSupportedCommandBitNone(t *testing.T) {
	for _, op := range []Opcode{OpReadLocalSupportedCommands, 0, 0xFC01, 0x20FF, 0x0C03 + 0x400*7} {
		_, _, ok := SupportedCommandBit(op)
		assert.False(t, ok, "%s", op)
	}
}

// Every named opcode has a position, except Read Local Supported Commands
// (octet 14 bit 4 is reserved).
func TestEveryNamedOpcodeHasABit(t *testing.T) {
	for op := range opcodeNames {
		if op == OpReadLocalSupportedCommands {
			continue
		}
		_, _, ok := SupportedCommandBit(op)
		assert.True(t, ok, "%s (0x%04x) missing from the Supported_Commands table", op, uint16(op))
	}
}

func TestSupportedTableInvariants(t *testing.T) {
	seen := map[[2]uint8]Opcode{}
	for i, e := range supportedCommands {
		if i > 0 {
			require.Less(t, supportedCommands[i-1].op, e.op, "table not sorted at %d (%s)", i, e.name)
		}
		assert.Less(t, e.octet, uint8(64), e.name)
		assert.Less(t, e.bit, uint8(8), e.name)
		assert.NotEmpty(t, e.name)
		assert.NotEqual(t, [2]uint8{14, 4}, [2]uint8{e.octet, e.bit}, "octet 14 bit 4 is reserved")
		pos := [2]uint8{e.octet, e.bit}
		if prev, dup := seen[pos]; dup {
			t.Errorf("octet %d bit %d used by both %s and %s", e.octet, e.bit, prev, e.op)
		}
		seen[pos] = e.op
		o, b, ok := SupportedCommandBit(e.op)
		assert.True(t, ok)
		assert.Equal(t, [2]int{int(e.octet), int(e.bit)}, [2]int{o, b})
	}
}

func TestSupportedCommandsMask(t *testing.T) {
	m := SupportedCommandsMask([]Opcode{OpDisconnect, OpReset, OpLESetScanEnable, OpReadLocalSupportedCommands, 0xFC00, OpReset})
	var want [64]byte
	want[0] = 0x20
	want[5] = 0x80
	want[26] = 0x08
	assert.Equal(t, want, m)
	assert.Equal(t, []Opcode{OpDisconnect, OpReset, OpLESetScanEnable}, SupportedCommandsFromMask(m[:]))
	assert.Empty(t, SupportedCommandsFromMask(nil))

	// Round trip over the whole table.
	var all []Opcode
	for _, e := range supportedCommands {
		all = append(all, e.op)
	}
	full := SupportedCommandsMask(all)
	assert.Equal(t, all, SupportedCommandsFromMask(full[:]))
}

func TestOpcodeStringFallsBackToTable(t *testing.T) {
	assert.Equal(t, "Reset", OpReset.String())
	assert.Equal(t, "LE Set PHY", OpLESetPHY.String())
	assert.Equal(t, "LE Read Local P-256 Public Key", Opcode(0x2025).String())
	assert.Contains(t, Opcode(0xFC01).String(), "ogf=0x3f")
}
