package transport

import (
	"fmt"

	mcrypto "blesim/hosts/mesh/crypto"
)

// TransMIC sizes (§3.6.2.2).
const (
	SmallMIC = 4
	BigMIC   = 8
)

// Key is the key of an upper transport access PDU (§3.6.2): an AppKey,
// identified on air by AKF=1 and its AID, or a device key (AKF=0, AID 0).
type Key struct {
	Device bool
	Key    mcrypto.Key
	AID    uint8  // k4(AppKey); 0 for a device key
	Index  uint16 // AppKey Index (not used for device keys)
	NetIdx uint16 // the NetKey Index the AppKey is bound to
}

// AppKey returns the Key of an AppKey.
func AppKey(index, netIdx uint16, k mcrypto.Key) Key {
	return Key{Key: k, AID: mcrypto.AID(k), Index: index, NetIdx: netIdx}
}

// DevKey returns the Key of a device key.
func DevKey(k mcrypto.Key) Key { return Key{Device: true, Key: k} }

// nonce is the application or device nonce (§3.9.5.2, §3.9.5.3);
// aszmic is SZMIC for segmented messages and false for unsegmented ones.
func (k Key) nonce(aszmic bool, seq uint32, src, dst uint16, iv uint32) mcrypto.Nonce {
	if k.Device {
		return mcrypto.DeviceNonce(aszmic, seq, src, dst, iv)
	}
	return mcrypto.ApplicationNonce(aszmic, seq, src, dst, iv)
}

// Seal encrypts an access payload into an upper transport access PDU
// (§3.9.7.1): EncAccessPayload || TransMIC. seq is the SEQ of the
// message (of its first segment when segmented); label is the Label UUID
// of a virtual destination (additional data), else nil.
func (k Key) Seal(payload []byte, bigMIC, aszmic bool, seq uint32, src, dst uint16, iv uint32, label []byte) ([]byte, error) {
	mic := SmallMIC
	if bigMIC {
		mic = BigMIC
	}
	if len(payload) == 0 || len(payload)+mic > MaxAccessPDU {
		return nil, fmt.Errorf("upper transport: access payload of %d octets (1..%d)", len(payload), MaxAccessPDU-mic)
	}
	return mcrypto.Seal(k.Key, k.nonce(aszmic, seq, src, dst, iv), payload, label, mic)
}

// Open decrypts an upper transport access PDU; it fails when the TransMIC
// does not match.
func (k Key) Open(pdu []byte, bigMIC, aszmic bool, seq uint32, src, dst uint16, iv uint32, label []byte) ([]byte, error) {
	mic := SmallMIC
	if bigMIC {
		mic = BigMIC
	}
	if len(pdu) <= mic {
		return nil, fmt.Errorf("upper transport: access PDU of %d octets", len(pdu))
	}
	return mcrypto.Open(k.Key, k.nonce(aszmic, seq, src, dst, iv), pdu, label, mic)
}
