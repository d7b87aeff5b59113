package hci

import "fmt"

// Status is an HCI error code (Core v5.4 Vol 1 Part F §1.3). A zero Status
// means success; every other value is an error and implements the error
// interface so handlers can return it directly.
type Status uint8

// Error codes used by blesim (Core v5.4 Vol 1 Part F §2).
const (
	StatusSuccess                       Status = 0x00
	StatusUnknownCommand                Status = 0x01
	StatusUnknownConnectionID           Status = 0x02
	StatusHardwareFailure               Status = 0x03
	StatusPageTimeout                   Status = 0x04
	StatusAuthenticationFailure         Status = 0x05
	StatusPINOrKeyMissing               Status = 0x06
	StatusMemoryCapacityExceeded        Status = 0x07
	StatusConnectionTimeout             Status = 0x08
	StatusConnectionLimitExceeded       Status = 0x09
	StatusACLConnectionAlreadyExists    Status = 0x0B
	StatusCommandDisallowed             Status = 0x0C
	StatusRejectedLimitedResources      Status = 0x0D
	StatusConnectionAcceptTimeout       Status = 0x10
	StatusUnsupportedFeature            Status = 0x11
	StatusInvalidParameters             Status = 0x12
	StatusRemoteUserTerminated          Status = 0x13
	StatusRemoteLowResources            Status = 0x14
	StatusRemotePowerOff                Status = 0x15
	StatusLocalHostTerminated           Status = 0x16
	StatusRepeatedAttempts              Status = 0x17
	StatusPairingNotAllowed             Status = 0x18
	StatusUnsupportedRemoteFeature      Status = 0x1A
	StatusInvalidLLParameters           Status = 0x1E
	StatusUnspecifiedError              Status = 0x1F
	StatusUnsupportedLLParameterValue   Status = 0x20
	StatusLLResponseTimeout             Status = 0x22
	StatusLLProcedureCollision          Status = 0x23
	StatusLLPDUNotAllowed               Status = 0x24
	StatusInstantPassed                 Status = 0x28
	StatusDifferentTransactionCollision Status = 0x2A
	StatusUnacceptableConnectionParams  Status = 0x3B
	StatusAdvertisingTimeout            Status = 0x3C
	StatusMICFailure                    Status = 0x3D
	StatusConnectionFailedToEstablish   Status = 0x3E
	StatusUnknownAdvertisingIdentifier  Status = 0x42
	StatusOperationCancelledByHost      Status = 0x44
	StatusPacketTooLong                 Status = 0x45
)

var statusNames = map[Status]string{
	StatusSuccess:                       "Success",
	StatusUnknownCommand:                "Unknown HCI Command",
	StatusUnknownConnectionID:           "Unknown Connection Identifier",
	StatusHardwareFailure:               "Hardware Failure",
	StatusPageTimeout:                   "Page Timeout",
	StatusAuthenticationFailure:         "Authentication Failure",
	StatusPINOrKeyMissing:               "PIN or Key Missing",
	StatusMemoryCapacityExceeded:        "Memory Capacity Exceeded",
	StatusConnectionTimeout:             "Connection Timeout",
	StatusConnectionLimitExceeded:       "Connection Limit Exceeded",
	StatusACLConnectionAlreadyExists:    "ACL Connection Already Exists",
	StatusCommandDisallowed:             "Command Disallowed",
	StatusRejectedLimitedResources:      "Connection Rejected due to Limited Resources",
	StatusConnectionAcceptTimeout:       "Connection Accept Timeout Exceeded",
	StatusUnsupportedFeature:            "Unsupported Feature or Parameter Value",
	StatusInvalidParameters:             "Invalid HCI Command Parameters",
	StatusRemoteUserTerminated:          "Remote User Terminated Connection",
	StatusRemoteLowResources:            "Remote Device Terminated Connection due to Low Resources",
	StatusRemotePowerOff:                "Remote Device Terminated Connection due to Power Off",
	StatusLocalHostTerminated:           "Connection Terminated By Local Host",
	StatusRepeatedAttempts:              "Repeated Attempts",
	StatusPairingNotAllowed:             "Pairing Not Allowed",
	StatusUnsupportedRemoteFeature:      "Unsupported Remote Feature",
	StatusInvalidLLParameters:           "Invalid LMP Parameters / Invalid LL Parameters",
	StatusUnspecifiedError:              "Unspecified Error",
	StatusUnsupportedLLParameterValue:   "Unsupported LMP Parameter Value / Unsupported LL Parameter Value",
	StatusLLResponseTimeout:             "LMP Response Timeout / LL Response Timeout",
	StatusLLProcedureCollision:          "LMP Error Transaction Collision / LL Procedure Collision",
	StatusLLPDUNotAllowed:               "LMP PDU Not Allowed",
	StatusInstantPassed:                 "Instant Passed",
	StatusDifferentTransactionCollision: "Different Transaction Collision",
	StatusUnacceptableConnectionParams:  "Unacceptable Connection Parameters",
	StatusAdvertisingTimeout:            "Advertising Timeout",
	StatusMICFailure:                    "Connection Terminated due to MIC Failure",
	StatusConnectionFailedToEstablish:   "Connection Failed to be Established",
	StatusUnknownAdvertisingIdentifier:  "Unknown Advertising Identifier",
	StatusOperationCancelledByHost:      "Operation Cancelled by Host",
	StatusPacketTooLong:                 "Packet Too Long",
}

// String returns the spec name of the status, e.g. "PIN or Key Missing".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(0x%02x)", uint8(s))
}

// Error implements error: "PIN or Key Missing (0x06)".
func (s Status) Error() string { return fmt.Sprintf("%s (0x%02x)", s.String(), uint8(s)) }

// Err returns nil for StatusSuccess and the Status as an error otherwise.
func (s Status) Err() error {
	if s == StatusSuccess {
		return nil
	}
	return s
}
