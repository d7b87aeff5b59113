package smp

import "blesim/vhci/hci"

// Event is what a Manager reports to its OnEvent callback.
type Event interface{ isEvent() }

// PairingStarted: a pairing began on a connection (Pairing Request sent
// or received).
type PairingStarted struct {
	Handle    uint16
	Peer      Address
	Initiator bool
}

// PairingComplete: a pairing finished. Keys holds every key exchanged (it
// is stored in the bond store when Bonded).
type PairingComplete struct {
	Handle        uint16
	Peer          Address // the peer's identity address when it sent one
	Method        Method
	SC            bool
	Authenticated bool
	KeySize       int
	Bonded        bool
	Sent          KeyDist // keys this device distributed
	Received      KeyDist // keys the peer distributed
	Keys          Bond
}

// PairingFailed: a pairing failed. Remote is true when the peer sent
// Pairing Failed; Timeout when the SMP timer expired (no more SMP on that
// link); Err carries an HCI status when encryption failed.
type PairingFailed struct {
	Handle  uint16
	Peer    Address
	Reason  Reason
	Remote  bool
	Timeout bool
	Err     error
}

// EncryptionChanged: encryption started, was refreshed, or failed on a
// connection (HCI Encryption Change or Encryption Key Refresh Complete).
// FromBond is true when the key came from the bond store rather than a
// pairing on this connection.
type EncryptionChanged struct {
	Handle        uint16
	Peer          Address
	Status        hci.Status
	Enabled       bool
	Refresh       bool
	FromBond      bool
	KeySize       int
	Authenticated bool
}

// BondDeleted: a bond was removed (Reason: "forget", "forget-all",
// "forget-after", "key-missing", "re-pairing").
type BondDeleted struct {
	Peer   Address
	Reason string
}

// IdentityResolved: a peer's resolvable private address was resolved with
// a bonded IRK.
type IdentityResolved struct {
	Handle   uint16
	RPA      hci.BDAddr
	Identity Address
}

func (PairingStarted) isEvent()    {}
func (PairingComplete) isEvent()   {}
func (PairingFailed) isEvent()     {}
func (EncryptionChanged) isEvent() {}
func (BondDeleted) isEvent()       {}
func (IdentityResolved) isEvent()  {}
func (Finding) isEvent()           {}
