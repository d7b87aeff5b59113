package profiles

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/vhci/hci"
)

// SecurityConfig is a device's pairing and bonding behaviour (Core v5.4
// Vol 3 Part H, see package smp). The zero value is what most small
// peripherals do: Just Works as NoInputNoOutput, LE Secure Connections
// with a legacy fallback, and bonding.
type SecurityConfig struct {
	// NoPairing refuses pairing with Pairing Not Supported.
	NoPairing bool `yaml:"no_pairing"`
	// IOCapability is "display-only", "display-yes-no", "keyboard-only",
	// "no-input-no-output" or "keyboard-display" (smp.ParseIOCapability
	// forms); "" is NoInputNoOutput.
	IOCapability string `yaml:"io_capability"`
	// NoBonding pairs without distributing or storing keys (Bonding_Flags
	// No Bonding); by default keys are distributed and kept (in BondFile
	// when set).
	NoBonding bool `yaml:"no_bonding"`
	// MITM requires an authenticated key: Just Works is refused with
	// Authentication Requirements.
	MITM bool `yaml:"mitm"`
	// SecureConnectionsOnly refuses legacy pairing (Authentication
	// Requirements); LegacyOnly never offers LE Secure Connections (a
	// pre-4.2 device). Neither: SC with a legacy fallback.
	SecureConnectionsOnly bool `yaml:"sc_only"`
	LegacyOnly            bool `yaml:"legacy_only"`
	// Passkey is a fixed 6-digit passkey (printed on the product or a QR
	// code): displayed when this device displays, typed by the default
	// agent when it has a keyboard. nil: a random passkey, shown in the
	// log.
	Passkey *uint32 `yaml:"passkey"`
	// OOB is out-of-band data from the peer (legacy TK; SC r and C);
	// OOBRequired refuses other methods with OOB Not Available.
	OOB         *smp.OOBData `yaml:"-"`
	OOBRequired bool         `yaml:"oob_required"`
	// LocalOOB is this device's fixed LE Secure Connections OOB data
	// (an NFC tag's private key and r); nil: fresh keys every pairing.
	LocalOOB *smp.LocalOOB `yaml:"-"`
	// RequestMITM sets the MITM flag without requiring an authenticated
	// key (as BlueZ does below security level high).
	RequestMITM bool `yaml:"request_mitm"`
	// Faults make the device break the specification on purpose (keys
	// distributed that were not negotiated, fixed key material).
	Faults smp.Faults `yaml:"-"`
	// MinKeySize and MaxKeySize bound the encryption key size (defaults
	// 7 and 16).
	MinKeySize int `yaml:"min_key_size"`
	MaxKeySize int `yaml:"max_key_size"`
	// Distribute and Request override the keys offered and asked for
	// when bonding (default: EncKey, IdKey and Sign).
	Distribute *smp.KeyDist `yaml:"-"`
	Request    *smp.KeyDist `yaml:"-"`
	// BondFile keeps the bonds (JSON, rewritten atomically, mode 0600);
	// empty keeps them in memory.
	BondFile string `yaml:"bond_file"`
	// ForgetAfter loses a bond at the N-th connection after bonding (the
	// "lost bond" field bug); 0 never.
	ForgetAfter int `yaml:"forget_after"`
	// Strict fails a pairing in which the peer distributes keys that
	// were not negotiated or that are not random (Unspecified Reason);
	// otherwise they are reported as findings and ignored.
	Strict bool `yaml:"strict"`
	// DebugKeys uses the LE Secure Connections debug key pair.
	DebugKeys bool `yaml:"debug_keys"`
	// IRK is the identity resolving key (wire order); nil keeps a random
	// one in the bond store.
	IRK *smp.Key `yaml:"-"`
	// Agent talks to the user. The default is an smp.UserAgent: passkeys
	// and numbers go to the log, a passkey to type is Passkey or waits
	// for EnterPasskey, numeric comparisons are accepted.
	Agent smp.Agent `yaml:"-"`
}

func (s SecurityConfig) smpConfig(log *zap.Logger) (smp.Config, error) {
	io := smp.NoInputNoOutput
	if s.IOCapability != "" {
		var err error
		if io, err = smp.ParseIOCapability(s.IOCapability); err != nil {
			return smp.Config{}, fmt.Errorf("security.io_capability: %w", err)
		}
	}
	c := smp.Config{IOCap: io, Bonding: !s.NoBonding, MITM: s.MITM, MaxKeySize: s.MaxKeySize, MinKeySize: s.MinKeySize,
		Passkey: s.Passkey, OOB: s.OOB, OOBRequired: s.OOBRequired, Distribute: s.Distribute, Request: s.Request,
		IRK: s.IRK, Agent: s.Agent, Strict: s.Strict, NoPairing: s.NoPairing, DebugKeys: s.DebugKeys, ForgetAfter: s.ForgetAfter,
		LocalOOB: s.LocalOOB, RequestMITM: s.RequestMITM, Faults: s.Faults}
	switch {
	case s.SecureConnectionsOnly && s.LegacyOnly:
		return c, fmt.Errorf("security: secure connections only and legacy only exclude each other")
	case s.SecureConnectionsOnly:
		c.SC = smp.SCOnly
	case s.LegacyOnly:
		c.SC = smp.LegacyOnly
	}
	if s.BondFile != "" {
		st, err := smp.OpenStore(s.BondFile)
		if err != nil {
			return c, err
		}
		c.Store = st
	}
	if c.Agent == nil {
		c.Agent = &smp.UserAgent{Log: log, Passkey: s.Passkey}
	}
	return c, nil
}

// CharSecurity is the security a characteristic's value needs (Vol 3
// Part G §8.1): reads and writes on a link without it get Insufficient
// Authentication, Encryption, Encryption Key Size or Authorization, and
// subscribing needs the same.
type CharSecurity struct {
	Encryption     bool `yaml:"encryption"`
	Authentication bool `yaml:"authentication"` // an authenticated (MITM) key
	// Authorization: the peripheral authorizes bonded peers on an
	// encrypted link.
	Authorization bool `yaml:"authorization"`
	MinKeySize    int  `yaml:"min_key_size"` // 7..16, 0 = any
}

// apply sets c's permissions: those its properties give (read, write)
// plus the security bits.
func (s CharSecurity) apply(c *gatt.Characteristic) {
	if c.Perm == 0 {
		if c.Props&gatt.PropRead != 0 {
			c.Perm |= gatt.PermRead
		}
		if c.Props&(gatt.PropWrite|gatt.PropWriteNoRsp) != 0 {
			c.Perm |= gatt.PermWrite
		}
	}
	if s.Encryption {
		c.Perm |= gatt.PermReadEncrypt | gatt.PermWriteEncrypt
	}
	if s.Authentication {
		c.Perm |= gatt.PermReadAuthen | gatt.PermWriteAuthen
	}
	if s.Authorization {
		c.Perm |= gatt.PermReadAuthz | gatt.PermWriteAuthz
	}
	c.MinKeySize = s.MinKeySize
}

// newSMP makes a device's Security Manager and forwards its events.
// identity is nil for the controller's public address (known after
// bring-up); own returns the address used on air.
func newSMP(log *zap.Logger, host *hcihost.Host, mux *l2cap.Mux, sec SecurityConfig, identity *smp.Address,
	own func() smp.Address, emit func(Event), keyMissing smp.KeyMissingPolicy) (*smp.Manager, error) {
	cfg, err := sec.smpConfig(log)
	if err != nil {
		return nil, err
	}
	cfg.OwnAddress, cfg.Identity, cfg.KeyMissing = own, identity, keyMissing
	m, err := smp.New(log, host, mux, cfg)
	if err != nil {
		return nil, err
	}
	m.OnEvent = func(e smp.Event) { emit(securityEvent(e)) }
	return m, nil
}

// securityEvent wraps an smp event as a profiles Event.
func securityEvent(e smp.Event) Event {
	switch v := e.(type) {
	case smp.PairingStarted:
		return PairingStarted{v}
	case smp.PairingComplete:
		return PairingComplete{v}
	case smp.PairingFailed:
		return PairingFailed{v}
	case smp.EncryptionChanged:
		return EncryptionChanged{v}
	case smp.Finding:
		return Finding{v}
	case smp.BondDeleted:
		return BondDeleted{v}
	case smp.IdentityResolved:
		return IdentityResolved{v}
	}
	return nil
}

// Security events, wrapping package smp's (fields are promoted: e.Reason,
// e.Keys, e.Authenticated…).
type (
	// PairingStarted: a pairing began.
	PairingStarted struct{ smp.PairingStarted }
	// PairingComplete: a pairing finished; Keys are the exchanged keys.
	PairingComplete struct{ smp.PairingComplete }
	// PairingFailed: a pairing failed with Reason.
	PairingFailed struct{ smp.PairingFailed }
	// EncryptionChanged: encryption started, refreshed or failed
	// (Status 0x06 PIN or Key Missing when the peer lost its bond).
	EncryptionChanged struct{ smp.EncryptionChanged }
	// Finding: a conformance finding about the peer.
	Finding struct{ smp.Finding }
	// BondDeleted: a bond was removed.
	BondDeleted struct{ smp.BondDeleted }
	// IdentityResolved: a peer's RPA was resolved with a bonded IRK.
	IdentityResolved struct{ smp.IdentityResolved }
)

func (PairingStarted) isEvent()    {}
func (PairingComplete) isEvent()   {}
func (PairingFailed) isEvent()     {}
func (EncryptionChanged) isEvent() {}
func (Finding) isEvent()           {}
func (BondDeleted) isEvent()       {}
func (IdentityResolved) isEvent()  {}

// userAgent returns the device's agent when it takes input from outside.
func userAgent(m *smp.Manager) (*smp.UserAgent, error) {
	if ua, ok := m.Agent().(*smp.UserAgent); ok {
		return ua, nil
	}
	return nil, fmt.Errorf("the device's agent (%T) takes no input", m.Agent())
}

// userInput is the part of a device driven by "blesim ctl": its user's
// passkey and yes/no answers. Call on the simulation goroutine.
type userInput struct{ smp *smp.Manager }

// EnterPasskey types the passkey the other device shows (when this
// device's user is asked for one).
func (u userInput) EnterPasskey(passkey uint32) error {
	ua, err := userAgent(u.smp)
	if err != nil {
		return err
	}
	return ua.EnterPasskey(passkey)
}

// ConfirmNumber answers a numeric comparison that waits for the user
// (smp.UserAgent.ManualConfirm).
func (u userInput) ConfirmNumber(yes bool) error {
	ua, err := userAgent(u.smp)
	if err != nil {
		return err
	}
	return ua.Confirm(yes)
}

// DefaultRPARotation is how often a private peripheral changes its
// resolvable private address unless configured (Vol 6 Part B §1.3.2.2
// recommends 15 minutes; Vol 3 Part C Appendix A TGAP(private_addr_int)).
const DefaultRPARotation = 15 * time.Minute

// staticIdentity is the identity of a device configured with a static
// random address, nil for a public one.
func staticIdentity(addrType hci.AddressType, addr hci.BDAddr) *smp.Address {
	if addrType == hci.AddrRandom {
		return &smp.Address{Type: hci.AddrRandom, Addr: addr}
	}
	return nil
}
