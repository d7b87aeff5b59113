package hci

import "fmt"

// Opcode is an HCI command opcode: OGF in the upper 6 bits, OCF in the lower
// 10 (Core v5.4 Vol 4 Part E §5.4.1).
type Opcode uint16

// MakeOpcode builds an opcode from its group and command fields.
func MakeOpcode(ogf uint8, ocf uint16) Opcode { return Opcode(uint16(ogf)<<10 | ocf&0x3ff) }

// OGF returns the opcode group field.
func (o Opcode) OGF() uint8 { return uint8(o >> 10) }

// OCF returns the opcode command field.
func (o Opcode) OCF() uint16 { return uint16(o) & 0x3ff }

// Opcode groups (Core v5.4 Vol 4 Part E §7).
const (
	OGFLinkControl   = 0x01
	OGFControllerBB  = 0x03
	OGFInformational = 0x04
	OGFStatus        = 0x05
	OGFLE            = 0x08
	OGFVendor        = 0x3f
)

// Commands blesim knows by name. Whether the controller implements one is
// decided by its handler table, not by this list.
const (
	OpDisconnect              Opcode = 0x0406 // §7.1.6
	OpReadRemoteVersionInfo   Opcode = 0x041D // §7.1.23
	OpSetEventMask            Opcode = 0x0C01 // §7.3.1
	OpReset                   Opcode = 0x0C03 // §7.3.2
	OpSetEventFilter          Opcode = 0x0C05
	OpReadLocalName           Opcode = 0x0C14
	OpWriteLocalName          Opcode = 0x0C13
	OpReadClassOfDevice       Opcode = 0x0C23
	OpReadVoiceSetting        Opcode = 0x0C25
	OpReadTransmitPowerLevel  Opcode = 0x0C2D
	OpSetControllerToHostFlow Opcode = 0x0C31
	OpHostBufferSize          Opcode = 0x0C33
	OpHostNumCompletedPackets Opcode = 0x0C35
	OpReadLEHostSupport       Opcode = 0x0C6C
	OpWriteLEHostSupport      Opcode = 0x0C6D
	OpSetEventMaskPage2       Opcode = 0x0C63
	OpReadAuthPayloadTimeout  Opcode = 0x0C7B
	OpWriteAuthPayloadTimeout Opcode = 0x0C7C

	OpReadLocalVersion           Opcode = 0x1001 // §7.4.1
	OpReadLocalSupportedCommands Opcode = 0x1002 // §7.4.2
	OpReadLocalSupportedFeatures Opcode = 0x1003 // §7.4.3
	OpReadLocalExtendedFeatures  Opcode = 0x1004
	OpReadBufferSize             Opcode = 0x1005
	OpReadBDADDR                 Opcode = 0x1009 // §7.4.6
	OpReadLocalSupportedCodecs   Opcode = 0x100B

	OpReadRSSI Opcode = 0x1405 // §7.5.4

	OpLESetEventMask                 Opcode = 0x2001 // §7.8.1
	OpLEReadBufferSize               Opcode = 0x2002 // §7.8.2
	OpLEReadLocalSupportedFeatures   Opcode = 0x2003 // §7.8.3
	OpLESetRandomAddress             Opcode = 0x2005 // §7.8.4
	OpLESetAdvertisingParameters     Opcode = 0x2006 // §7.8.5
	OpLEReadAdvertisingTxPower       Opcode = 0x2007 // §7.8.6
	OpLESetAdvertisingData           Opcode = 0x2008 // §7.8.7
	OpLESetScanResponseData          Opcode = 0x2009 // §7.8.8
	OpLESetAdvertisingEnable         Opcode = 0x200A // §7.8.9
	OpLESetScanParameters            Opcode = 0x200B // §7.8.10
	OpLESetScanEnable                Opcode = 0x200C // §7.8.11
	OpLECreateConnection             Opcode = 0x200D // §7.8.12
	OpLECreateConnectionCancel       Opcode = 0x200E // §7.8.13
	OpLEReadAcceptListSize           Opcode = 0x200F // §7.8.14
	OpLEClearAcceptList              Opcode = 0x2010 // §7.8.15
	OpLEAddDeviceToAcceptList        Opcode = 0x2011 // §7.8.16
	OpLERemoveDeviceFromAcceptList   Opcode = 0x2012 // §7.8.17
	OpLEConnectionUpdate             Opcode = 0x2013 // §7.8.18
	OpLESetHostChannelClassification Opcode = 0x2014 // §7.8.19
	OpLEReadChannelMap               Opcode = 0x2015 // §7.8.20
	OpLEReadRemoteFeatures           Opcode = 0x2016 // §7.8.21
	OpLEEncrypt                      Opcode = 0x2017 // §7.8.22
	OpLERand                         Opcode = 0x2018 // §7.8.23
	OpLEEnableEncryption             Opcode = 0x2019 // §7.8.24
	OpLELongTermKeyRequestReply      Opcode = 0x201A // §7.8.25
	OpLELongTermKeyRequestNegReply   Opcode = 0x201B // §7.8.26
	OpLEReadSupportedStates          Opcode = 0x201C // §7.8.27
	OpLERemoteConnParamReqReply      Opcode = 0x2020 // §7.8.31
	OpLERemoteConnParamReqNegReply   Opcode = 0x2021 // §7.8.32
	OpLESetDataLength                Opcode = 0x2022 // §7.8.33
	OpLEReadSuggestedDefaultDataLen  Opcode = 0x2023 // §7.8.34
	OpLEWriteSuggestedDefaultDataLen Opcode = 0x2024 // §7.8.35
	OpLEAddDeviceToResolvingList     Opcode = 0x2027
	OpLEClearResolvingList           Opcode = 0x2029
	OpLEReadResolvingListSize        Opcode = 0x202A
	OpLESetAddressResolutionEnable   Opcode = 0x202D
	OpLEReadMaximumDataLength        Opcode = 0x202F // §7.8.46
	OpLEReadPHY                      Opcode = 0x2030
	OpLESetDefaultPHY                Opcode = 0x2031
	OpLEReadTransmitPower            Opcode = 0x204B
	OpLESetExtendedAdvertisingParams Opcode = 0x2036
	OpLESetExtendedScanParameters    Opcode = 0x2041

	// Named from the Supported_Commands table (supported.go) when they
	// have no entry in opcodeNames.
	OpReadEncryptionKeySize             Opcode = 0x1408 // §7.5.7
	OpLERemoveDeviceFromResolvingList   Opcode = 0x2028 // §7.8.39
	OpLEReadPeerResolvableAddress       Opcode = 0x202B // §7.8.42
	OpLEReadLocalResolvableAddress      Opcode = 0x202C // §7.8.43
	OpLESetResolvablePrivateAddrTimeout Opcode = 0x202E // §7.8.45
	OpLESetPHY                          Opcode = 0x2032 // §7.8.49
	OpLESetExtendedScanEnable           Opcode = 0x2042 // §7.8.65
	OpLEExtendedCreateConnection        Opcode = 0x2043 // §7.8.66
	OpLESetPrivacyMode                  Opcode = 0x204E // §7.8.77
)

var opcodeNames = map[Opcode]string{
	OpDisconnect:                     "Disconnect",
	OpReadRemoteVersionInfo:          "Read Remote Version Information",
	OpSetEventMask:                   "Set Event Mask",
	OpReset:                          "Reset",
	OpSetEventFilter:                 "Set Event Filter",
	OpReadLocalName:                  "Read Local Name",
	OpWriteLocalName:                 "Write Local Name",
	OpReadClassOfDevice:              "Read Class of Device",
	OpReadVoiceSetting:               "Read Voice Setting",
	OpReadTransmitPowerLevel:         "Read Transmit Power Level",
	OpSetControllerToHostFlow:        "Set Controller To Host Flow Control",
	OpHostBufferSize:                 "Host Buffer Size",
	OpHostNumCompletedPackets:        "Host Number Of Completed Packets",
	OpReadLEHostSupport:              "Read LE Host Support",
	OpWriteLEHostSupport:             "Write LE Host Support",
	OpSetEventMaskPage2:              "Set Event Mask Page 2",
	OpReadAuthPayloadTimeout:         "Read Authenticated Payload Timeout",
	OpWriteAuthPayloadTimeout:        "Write Authenticated Payload Timeout",
	OpReadLocalVersion:               "Read Local Version Information",
	OpReadLocalSupportedCommands:     "Read Local Supported Commands",
	OpReadLocalSupportedFeatures:     "Read Local Supported Features",
	OpReadLocalExtendedFeatures:      "Read Local Extended Features",
	OpReadBufferSize:                 "Read Buffer Size",
	OpReadBDADDR:                     "Read BD ADDR",
	OpReadLocalSupportedCodecs:       "Read Local Supported Codecs",
	OpReadRSSI:                       "Read RSSI",
	OpLESetEventMask:                 "LE Set Event Mask",
	OpLEReadBufferSize:               "LE Read Buffer Size",
	OpLEReadLocalSupportedFeatures:   "LE Read Local Supported Features",
	OpLESetRandomAddress:             "LE Set Random Address",
	OpLESetAdvertisingParameters:     "LE Set Advertising Parameters",
	OpLEReadAdvertisingTxPower:       "LE Read Advertising Physical Channel Tx Power",
	OpLESetAdvertisingData:           "LE Set Advertising Data",
	OpLESetScanResponseData:          "LE Set Scan Response Data",
	OpLESetAdvertisingEnable:         "LE Set Advertising Enable",
	OpLESetScanParameters:            "LE Set Scan Parameters",
	OpLESetScanEnable:                "LE Set Scan Enable",
	OpLECreateConnection:             "LE Create Connection",
	OpLECreateConnectionCancel:       "LE Create Connection Cancel",
	OpLEReadAcceptListSize:           "LE Read Filter Accept List Size",
	OpLEClearAcceptList:              "LE Clear Filter Accept List",
	OpLEAddDeviceToAcceptList:        "LE Add Device To Filter Accept List",
	OpLERemoveDeviceFromAcceptList:   "LE Remove Device From Filter Accept List",
	OpLEConnectionUpdate:             "LE Connection Update",
	OpLESetHostChannelClassification: "LE Set Host Channel Classification",
	OpLEReadChannelMap:               "LE Read Channel Map",
	OpLEReadRemoteFeatures:           "LE Read Remote Features",
	OpLEEncrypt:                      "LE Encrypt",
	OpLERand:                         "LE Rand",
	OpLEEnableEncryption:             "LE Enable Encryption",
	OpLELongTermKeyRequestReply:      "LE Long Term Key Request Reply",
	OpLELongTermKeyRequestNegReply:   "LE Long Term Key Request Negative Reply",
	OpLEReadSupportedStates:          "LE Read Supported States",
	OpLERemoteConnParamReqReply:      "LE Remote Connection Parameter Request Reply",
	OpLERemoteConnParamReqNegReply:   "LE Remote Connection Parameter Request Negative Reply",
	OpLESetDataLength:                "LE Set Data Length",
	OpLEReadSuggestedDefaultDataLen:  "LE Read Suggested Default Data Length",
	OpLEWriteSuggestedDefaultDataLen: "LE Write Suggested Default Data Length",
	OpLEAddDeviceToResolvingList:     "LE Add Device To Resolving List",
	OpLEClearResolvingList:           "LE Clear Resolving List",
	OpLEReadResolvingListSize:        "LE Read Resolving List Size",
	OpLESetAddressResolutionEnable:   "LE Set Address Resolution Enable",
	OpLEReadMaximumDataLength:        "LE Read Maximum Data Length",
	OpLEReadPHY:                      "LE Read PHY",
	OpLESetDefaultPHY:                "LE Set Default PHY",
	OpLEReadTransmitPower:            "LE Read Transmit Power",
	OpLESetExtendedAdvertisingParams: "LE Set Extended Advertising Parameters",
	OpLESetExtendedScanParameters:    "LE Set Extended Scan Parameters",
}

// String returns the spec name, or "Opcode(0x....)" for unknown opcodes.
func (o Opcode) String() string {
	if n, ok := opcodeNames[o]; ok {
		return n
	}
	if e, ok := lookupSupported(o); ok {
		return e.name
	}
	return fmt.Sprintf("Opcode(0x%04x ogf=0x%02x ocf=0x%03x)", uint16(o), o.OGF(), o.OCF())
}
