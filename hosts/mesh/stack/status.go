package stack

import "fmt"

// Status is a foundation model status code (Mesh Protocol v1.1 §4.3.5):
// what the Configuration Server answers for a state change, returned by
// the Stack's configuration operations.
type Status uint8

// Status codes.
const (
	StatusSuccess               Status = 0x00
	StatusInvalidAddress        Status = 0x01
	StatusInvalidModel          Status = 0x02
	StatusInvalidAppKeyIndex    Status = 0x03
	StatusInvalidNetKeyIndex    Status = 0x04
	StatusInsufficientResources Status = 0x05
	StatusKeyIndexAlreadyStored Status = 0x06
	StatusInvalidPublishParams  Status = 0x07
	StatusNotASubscribeModel    Status = 0x08
	StatusStorageFailure        Status = 0x09
	StatusFeatureNotSupported   Status = 0x0A
	StatusCannotUpdate          Status = 0x0B
	StatusCannotRemove          Status = 0x0C
	StatusCannotBind            Status = 0x0D
	StatusTemporarilyUnable     Status = 0x0E
	StatusCannotSet             Status = 0x0F
	StatusUnspecifiedError      Status = 0x10
	StatusInvalidBinding        Status = 0x11
)

var statusNames = [...]string{"Success", "Invalid Address", "Invalid Model", "Invalid AppKey Index",
	"Invalid NetKey Index", "Insufficient Resources", "Key Index Already Stored", "Invalid Publish Parameters",
	"Not a Subscribe Model", "Storage Failure", "Feature Not Supported", "Cannot Update", "Cannot Remove",
	"Cannot Bind", "Temporarily Unable to Change State", "Cannot Set", "Unspecified Error", "Invalid Binding"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status %#02x", uint8(s))
}

// Err returns nil for Success and the status as an error otherwise.
func (s Status) Err() error {
	if s == StatusSuccess {
		return nil
	}
	return StatusError(s)
}

// StatusError is a non-success status as an error.
type StatusError Status

func (e StatusError) Error() string { return "mesh: " + Status(e).String() }
