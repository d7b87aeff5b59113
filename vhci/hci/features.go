package hci

import (
	"encoding/binary"
	"fmt"
)

// LEFeature is a bit number in the LE feature set, FeatureSet of LE Read
// Local Supported Features (Core v5.4 Vol 4 Part E §7.8.3) and of the
// LL_FEATURE_REQ/RSP PDUs (Vol 6 Part B §4.6): bit N is octet N/8, bit N%8.
type LEFeature uint8

// LE feature bits (Core v5.4 Vol 6 Part B §4.6, Table 4.4).
const (
	LEFeatEncryption                  LEFeature = 0
	LEFeatConnParamRequest            LEFeature = 1
	LEFeatExtendedRejectInd           LEFeature = 2
	LEFeatPeripheralFeatureExchange   LEFeature = 3
	LEFeatPing                        LEFeature = 4
	LEFeatDataPacketLengthExtension   LEFeature = 5
	LEFeatLLPrivacy                   LEFeature = 6
	LEFeatExtendedScannerFilterPolicy LEFeature = 7
	LEFeat2MPHY                       LEFeature = 8
	LEFeatStableModIndexTx            LEFeature = 9
	LEFeatStableModIndexRx            LEFeature = 10
	LEFeatCodedPHY                    LEFeature = 11
	LEFeatExtendedAdvertising         LEFeature = 12
	LEFeatPeriodicAdvertising         LEFeature = 13
	LEFeatChannelSelectionAlgorithm2  LEFeature = 14
	LEFeatPowerClass1                 LEFeature = 15
	LEFeatMinUsedChannels             LEFeature = 16
	LEFeatConnectionCTERequest        LEFeature = 17
	LEFeatConnectionCTEResponse       LEFeature = 18
	LEFeatConnectionlessCTETx         LEFeature = 19
	LEFeatConnectionlessCTERx         LEFeature = 20
	LEFeatAntennaSwitchingTx          LEFeature = 21
	LEFeatAntennaSwitchingRx          LEFeature = 22
	LEFeatReceivingCTE                LEFeature = 23
	LEFeatPASTSender                  LEFeature = 24
	LEFeatPASTRecipient               LEFeature = 25
	LEFeatSleepClockAccuracyUpdates   LEFeature = 26
	LEFeatRemotePublicKeyValidation   LEFeature = 27
	LEFeatCISCentral                  LEFeature = 28
	LEFeatCISPeripheral               LEFeature = 29
	LEFeatIsochronousBroadcaster      LEFeature = 30
	LEFeatSynchronizedReceiver        LEFeature = 31
	LEFeatISOChannelsHostSupport      LEFeature = 32
	LEFeatPowerControlRequest         LEFeature = 33
	LEFeatPowerChangeIndication       LEFeature = 34
	LEFeatPathLossMonitoring          LEFeature = 35
	LEFeatPeriodicAdvertisingADI      LEFeature = 36
	LEFeatConnectionSubrating         LEFeature = 37
	LEFeatConnectionSubratingHost     LEFeature = 38
	LEFeatChannelClassification       LEFeature = 39
	LEFeatAdvertisingCodingSelection  LEFeature = 40
	LEFeatAdvertisingCodingSelectHost LEFeature = 41
	LEFeatPAwRAdvertiser              LEFeature = 43
	LEFeatPAwRScanner                 LEFeature = 44 // bit 42 is reserved in v5.4
)

const (
	leFeatureCount = 45 // bits with a name in v5.4
	maxFeatureBit  = 63
)

var leFeatureNames = [leFeatureCount]string{
	"LE Encryption",
	"Connection Parameters Request procedure",
	"Extended Reject Indication",
	"Peripheral-initiated Features Exchange",
	"LE Ping",
	"LE Data Packet Length Extension",
	"LL Privacy",
	"Extended Scanner Filter Policies",
	"LE 2M PHY",
	"Stable Modulation Index - Transmitter",
	"Stable Modulation Index - Receiver",
	"LE Coded PHY",
	"LE Extended Advertising",
	"LE Periodic Advertising",
	"Channel Selection Algorithm #2",
	"LE Power Class 1",
	"Minimum Number of Used Channels procedure",
	"Connection CTE Request",
	"Connection CTE Response",
	"Connectionless CTE Transmitter",
	"Connectionless CTE Receiver",
	"Antenna Switching During CTE Transmission (AoD)",
	"Antenna Switching During CTE Reception (AoA)",
	"Receiving Constant Tone Extensions",
	"Periodic Advertising Sync Transfer - Sender",
	"Periodic Advertising Sync Transfer - Recipient",
	"Sleep Clock Accuracy Updates",
	"Remote Public Key Validation",
	"Connected Isochronous Stream - Central",
	"Connected Isochronous Stream - Peripheral",
	"Isochronous Broadcaster",
	"Synchronized Receiver",
	"Connected Isochronous Stream (Host Support)",
	"LE Power Control Request",
	"LE Power Change Indication",
	"LE Path Loss Monitoring",
	"Periodic Advertising ADI support",
	"Connection Subrating",
	"Connection Subrating (Host Support)",
	"Channel Classification",
	"Advertising Coding Selection",
	"Advertising Coding Selection (Host Support)",
	"",
	"Periodic Advertising with Responses - Advertiser",
	"Periodic Advertising with Responses - Scanner",
}

// String returns the spec name of the feature.
func (f LEFeature) String() string {
	if int(f) < len(leFeatureNames) && leFeatureNames[f] != "" {
		return leFeatureNames[f]
	}
	return fmt.Sprintf("LEFeature(%d)", uint8(f))
}

// LEFeatures is an 8-octet LE feature set as carried in HCI and LL PDUs
// (little-endian bit order: bit N is octet N/8, bit N%8).
type LEFeatures [8]byte

// Has reports whether bit f is set. Bits above 63 are never set.
func (s LEFeatures) Has(f LEFeature) bool {
	return f <= maxFeatureBit && s[f/8]&(1<<(f%8)) != 0
}

// Set sets bit f (bits above 63 are ignored).
func (s *LEFeatures) Set(f LEFeature) {
	if f <= maxFeatureBit {
		s[f/8] |= 1 << (f % 8)
	}
}

// Uint64 returns the set as a little-endian 64-bit value.
func (s LEFeatures) Uint64() uint64 { return binary.LittleEndian.Uint64(s[:]) }

// MakeLEFeatures builds a feature set with the given bits.
func MakeLEFeatures(fs ...LEFeature) LEFeatures {
	var s LEFeatures
	for _, f := range fs {
		s.Set(f)
	}
	return s
}

// LMPFeature is a bit number in an LMP feature page (Core v5.4 Vol 2 Part C
// §3.3), as returned by Read Local Supported Features (Vol 4 Part E §7.4.3,
// page 0) and Read Local Extended Features (§7.4.4). Bit N is octet N/8,
// bit N%8.
type LMPFeature uint8

// LMP feature bits an LE-only controller and its host care about
// (Vol 2 Part C §3.3, Table 3.2).
const (
	// Page 0.
	LMPFeatEncryption            LMPFeature = 2  // byte 0 bit 2
	LMPFeatBREDRNotSupported     LMPFeature = 37 // byte 4 bit 5
	LMPFeatLESupportedController LMPFeature = 38 // byte 4 bit 6
	LMPFeatSimultaneousLEBREDR   LMPFeature = 49 // byte 6 bit 1
	LMPFeatSecureSimplePairing   LMPFeature = 51 // byte 6 bit 3
	LMPFeatExtendedFeatures      LMPFeature = 63 // byte 7 bit 7

	// Page 1 (host-controlled features).
	LMPFeatSSPHost         LMPFeature = 0 // page 1 byte 0 bit 0
	LMPFeatLESupportedHost LMPFeature = 1 // page 1 byte 0 bit 1
	LMPFeatSCHost          LMPFeature = 3 // page 1 byte 0 bit 3
)

// LMPFeatures is one 8-octet LMP feature page.
type LMPFeatures [8]byte

// Has reports whether bit f is set.
func (s LMPFeatures) Has(f LMPFeature) bool {
	return f <= maxFeatureBit && s[f/8]&(1<<(f%8)) != 0
}

// Set sets bit f (bits above 63 are ignored).
func (s *LMPFeatures) Set(f LMPFeature) {
	if f <= maxFeatureBit {
		s[f/8] |= 1 << (f % 8)
	}
}

// LEOnlyLMPFeatures is page 0 of an LE-only controller: "LE Supported
// (Controller)" and "BR/EDR Not Supported", nothing else. The kernel uses
// exactly these two bits to treat the controller as LE-only.
func LEOnlyLMPFeatures() LMPFeatures {
	var s LMPFeatures
	s.Set(LMPFeatBREDRNotSupported)
	s.Set(LMPFeatLESupportedController)
	return s
}
