package hcihost

import (
	"fmt"

	"blesim/vhci/hci"
)

// Encryption commands (Core v5.4 Vol 4 Part E §7.8.24–§7.8.26). Keys are
// passed in HCI order, least significant octet first — the order SMP
// carries them in.
//
// The exchange, as the controller runs it (Vol 6 Part B §5.1.3):
//
//	central host                     peripheral host
//	LE Enable Encryption ──► Command Status
//	                                 ◄── LE Long Term Key Request (Rand, EDIV)
//	                        LE Long Term Key Request Reply (LTK) ──► Command Complete
//	                     or LE Long Term Key Request Negative Reply ──► Command Complete
//	Encryption Change (0x00, on)     Encryption Change (0x00, on)      [reply, keys match]
//	Encryption Change (0x06, off)                                      [negative reply]
//	Disconnection Complete (0x3D MIC Failure) on both                  [keys differ]
//
// On a link that is already encrypted the same exchange refreshes the key
// and ends with Encryption Key Refresh Complete instead of Encryption
// Change.

// StartEncryption sends LE Enable Encryption (§7.8.24; "LE Start
// Encryption" in btmon) for a connection where the local device is the
// central: Random_Number, Encrypted_Diversifier, Long_Term_Key. cb (may be
// nil) fires on the Command Status; the outcome arrives as
// EncryptionChange or EncryptionKeyRefreshComplete.
func (h *Host) StartEncryption(handle uint16, rand uint64, ediv uint16, ltk [16]byte, cb CommandFunc) {
	w := &hci.Writer{}
	w.U16(handle).U64(rand).U16(ediv).Bytes(ltk[:])
	h.Command(hci.OpLEEnableEncryption, w.B, cb)
}

// LTKReply sends LE Long Term Key Request Reply (§7.8.25) with the key for
// an LTKRequest. cb (may be nil) fires on the Command Complete.
func (h *Host) LTKReply(handle uint16, ltk [16]byte, cb CommandFunc) {
	w := &hci.Writer{}
	w.U16(handle).Bytes(ltk[:])
	h.Command(hci.OpLELongTermKeyRequestReply, w.B, checkHandle(handle, cb))
}

// LTKNegativeReply sends LE Long Term Key Request Negative Reply
// (§7.8.26): the host has no key, and the central's controller reports
// Encryption Change with status 0x06 PIN or Key Missing.
func (h *Host) LTKNegativeReply(handle uint16, cb CommandFunc) {
	w := &hci.Writer{}
	w.U16(handle)
	h.Command(hci.OpLELongTermKeyRequestNegReply, w.B, checkHandle(handle, cb))
}

// checkHandle checks that a Command Complete returns the handle it was
// sent for (the return parameters of §7.8.25 and §7.8.26).
func checkHandle(handle uint16, cb CommandFunc) CommandFunc {
	return func(ret []byte, err error) {
		if err == nil {
			r := hci.NewReader(ret)
			got := r.U16() & 0x0fff
			if e := r.Exact(); e != nil {
				err = fmt.Errorf("%w: %v", ErrBadReturn, e)
			} else if got != handle {
				err = fmt.Errorf("%w: Command Complete for handle 0x%03x, sent for 0x%03x", ErrBadReturn, got, handle)
			}
		}
		if cb != nil {
			cb(ret, err)
		}
	}
}
