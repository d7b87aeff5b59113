package smp

import (
	"fmt"
	"io"

	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// SCMode says whether a device supports LE Secure Connections.
type SCMode uint8

// LE Secure Connections modes.
const (
	// SCSupported sets the SC bit and falls back to legacy pairing with a
	// peer that does not (the default).
	SCSupported SCMode = iota
	// SCOnly is Secure Connections Only mode (Vol 3 Part C §10.2.4):
	// legacy pairing is refused with Authentication Requirements.
	SCOnly
	// LegacyOnly never sets the SC bit (a pre-4.2 device).
	LegacyOnly
)

func (m SCMode) String() string {
	switch m {
	case SCSupported:
		return "sc"
	case SCOnly:
		return "sc-only"
	case LegacyOnly:
		return "legacy"
	}
	return fmt.Sprintf("SCMode(%d)", uint8(m))
}

// KeyMissingPolicy is what a central does when the peripheral has no key
// for the LTK it tries to encrypt with (Encryption Change with status
// 0x06 PIN or Key Missing).
type KeyMissingPolicy uint8

// Key-missing policies.
const (
	// DisconnectOnKeyMissing disconnects with 0x05 Authentication
	// Failure, as BlueZ does (the default).
	DisconnectOnKeyMissing KeyMissingPolicy = iota
	// RepairOnKeyMissing deletes the bond and pairs again.
	RepairOnKeyMissing
	// IgnoreKeyMissing only reports the event.
	IgnoreKeyMissing
)

// OOBData is what a device received out of band from its peer (a QR code,
// NFC): the OOB data flag of its pairing command is set when it has some
// (Vol 3 Part H §2.3.3).
type OOBData struct {
	// TK is the 128-bit temporary key for LE legacy OOB pairing, in wire
	// order (§2.3.5.4).
	TK *Key
	// PeerR and PeerC are the peer's LE Secure Connections OOB random
	// value and confirm value, in wire order (§2.3.5.6.4); the peer makes
	// them with Manager.LocalSCOOB.
	PeerR, PeerC *Key
}

func (o *OOBData) has(sc bool) bool {
	if o == nil {
		return false
	}
	if sc {
		return o.PeerR != nil && o.PeerC != nil
	}
	return o.TK != nil
}

// Config is one device's Security Manager configuration. The zero value
// is a DisplayOnly device (IO capability 0x00; a passkey it "displays"
// goes to its Agent, by default the log) that does not require MITM
// protection, supports Secure Connections, does not bond and accepts keys
// of 7 to 16 octets. Set IOCap to NoInputNoOutput for a device with
// neither display nor keyboard.
type Config struct {
	// IOCap is the IO capability (Vol 3 Part H §2.3.2).
	IOCap IOCapability
	// Bonding sets Bonding_Flags: keys are distributed and stored.
	Bonding bool
	// MITM requires an authenticated (MITM-protected) key: a pairing
	// that can only be Just Works fails with Authentication Requirements.
	MITM bool
	// SC selects LE Secure Connections support.
	SC SCMode
	// MaxKeySize (default 16) and MinKeySize (default 7) bound the
	// encryption key size (§2.3.4). A peer offering less than MinKeySize
	// gets Pairing Failed Encryption Key Size.
	MaxKeySize, MinKeySize int
	// Passkey is the fixed passkey this device displays (e.g. printed on
	// a label or QR code); nil draws a random one for every pairing.
	Passkey *uint32
	// OOB is the out-of-band data received from the peer; OOBRequired
	// refuses pairing with OOB Not Available when the model is not OOB.
	OOB         *OOBData
	OOBRequired bool
	// LocalOOB is this device's fixed LE Secure Connections OOB data,
	// used in every OOB pairing (unless Manager.LocalSCOOB prepared
	// fresh data for the next one); nil: a new key pair each pairing.
	LocalOOB *LocalOOB
	// RequestMITM sets the MITM flag in this device's pairing commands
	// without requiring an authenticated key: a pairing the IO
	// capabilities make Just Works goes on (Vol 3 Part H §2.3.5.1 leaves
	// the decision to the host). BlueZ does this whenever its IO
	// capability is not NoInputNoOutput and the security level asked for
	// is below high. MITM both sets the flag and requires the key.
	RequestMITM bool
	// Faults make the device misbehave on purpose (see Faults).
	Faults Faults
	// Distribute is the set of keys this device offers to distribute and
	// Request the set it asks the peer for, when bonding (default: EncKey,
	// IdKey and Sign both ways). A responder answers with the
	// intersection of the request and these.
	Distribute, Request *KeyDist
	// IRK is this device's identity resolving key (wire order),
	// distributed with IdKey and used for its resolvable private
	// addresses; nil uses the bond store's, generating one if needed.
	IRK *Key
	// Identity is this device's identity address, distributed with IdKey
	// (default: the controller's public address).
	Identity *Address
	// OwnAddress returns the address this device uses on air (for c1, f5
	// and f6); default: Identity.
	OwnAddress func() Address
	// Agent talks to the user (default: a LogAgent with Passkey).
	Agent Agent
	// Strict makes a conformance finding about keys (undistributed or
	// non-random keys) fail the pairing with Unspecified Reason;
	// otherwise such keys are reported and ignored.
	Strict bool
	// NoPairing answers every Pairing Request with Pairing Not Supported.
	NoPairing bool
	// DebugKeys uses the LE Secure Connections debug key pair
	// (§2.3.5.6.1), so a sniffer can decrypt the link.
	DebugKeys bool
	// Timeout is the SMP timeout (default 30 s, §3.4).
	Timeout sim.Duration
	// RepeatedAttemptsWait is the first waiting interval after a failed
	// pairing (default 2 s); it doubles after every further failure with
	// the same peer, up to 64 times the first (§2.3.6).
	RepeatedAttemptsWait sim.Duration
	// SecurityRequestTimeout is how long a peripheral waits after its
	// Security Request for the central to pair or encrypt before it
	// reports a finding (default 10 s).
	SecurityRequestTimeout sim.Duration
	// ForgetAfter deletes a bond at the start of the N-th connection
	// after the one that created it (0: never), reproducing devices that
	// lose their bonds.
	ForgetAfter int
	// KeyMissing is a central's reaction to Encryption Change 0x06.
	KeyMissing KeyMissingPolicy
	// Store holds the bonds (default: an in-memory store).
	Store *Store
	// Rand is the source of keys and nonces (default: the scheduler's
	// seeded source, so runs are reproducible).
	Rand io.Reader
}

// Address is an LE device address with its type (0x00 public, 0x01
// random).
type Address struct {
	Type hci.AddressType
	Addr hci.BDAddr
}

func (a Address) String() string {
	t := "public"
	if a.Type&1 == 1 {
		t = "random"
	}
	return a.Addr.String() + "/" + t
}

// MarshalText encodes "C0:11:22:33:44:55/random".
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes what MarshalText encodes.
func (a *Address) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) < 18 || s[17] != '/' {
		return fmt.Errorf("smp: address %q: want XX:XX:XX:XX:XX:XX/public or /random", s)
	}
	addr, err := hci.ParseBDAddr(s[:17])
	if err != nil {
		return err
	}
	switch s[18:] {
	case "public":
		a.Type = hci.AddrPublic
	case "random":
		a.Type = hci.AddrRandom
	default:
		return fmt.Errorf("smp: address %q: type must be public or random", s)
	}
	a.Addr = addr
	return nil
}

// norm maps the identity address types of HCI (0x02, 0x03) to 0x00/0x01.
func (a Address) norm() Address { a.Type &= 1; return a }

func (c *Config) defaults() error {
	if c.MaxKeySize == 0 {
		c.MaxKeySize = 16
	}
	if c.MinKeySize == 0 {
		c.MinKeySize = 7
	}
	if c.MinKeySize < 7 || c.MaxKeySize > 16 || c.MinKeySize > c.MaxKeySize {
		return fmt.Errorf("smp: key sizes %d..%d outside 7..16", c.MinKeySize, c.MaxKeySize)
	}
	if !c.IOCap.Valid() {
		return fmt.Errorf("smp: IO capability %d invalid", c.IOCap)
	}
	if c.Passkey != nil && *c.Passkey > 999999 {
		return fmt.Errorf("smp: passkey %d has more than 6 digits", *c.Passkey)
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * sim.Second
	}
	if c.RepeatedAttemptsWait == 0 {
		c.RepeatedAttemptsWait = 2 * sim.Second
	}
	if c.SecurityRequestTimeout == 0 {
		c.SecurityRequestTimeout = 10 * sim.Second
	}
	return nil
}

func (c *Config) distribute() KeyDist {
	if c.Distribute != nil {
		return *c.Distribute &^ (DistLinkKey | DistReservedMask)
	}
	return DistAll
}

func (c *Config) request() KeyDist {
	if c.Request != nil {
		return *c.Request &^ (DistLinkKey | DistReservedMask)
	}
	return DistAll
}

// PairOptions override the Config for one pairing started by a central,
// in the manner of MicroPython aioble's connection.pair(bond=True,
// le_secure=True, mitm=False, io=3).
type PairOptions struct {
	Bond     bool
	LESecure bool
	MITM     bool
	IO       IOCapability
}
