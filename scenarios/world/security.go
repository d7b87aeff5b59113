package world

import (
	"encoding/hex"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Security is a device's pairing and bonding behaviour (Core v5.4 Vol 3
// Part H §2.3), a peripheral's or a central's. DefaultSecurity is what a
// device without a security section does: Just Works (no input, no
// output), bonding, Secure Connections preferred with legacy allowed, no
// Security Request.
type Security struct {
	// IOCapability is one of IOCapabilities (Vol 3 Part H §2.3.2).
	IOCapability string
	// Bonding: keep keys after pairing (AuthReq Bonding flag).
	Bonding bool
	// MITM: require authenticated (MITM-protected) pairing.
	MITM bool
	// SecureConnections is "prefer" (SC when the peer has it, else
	// legacy), "only" (refuse legacy pairing) or "legacy" (never SC).
	SecureConnections string
	// Passkey, when set, is the fixed 6-digit passkey (printed on a label
	// or QR code in products); nil: a random passkey each time, shown in
	// the log.
	Passkey *uint32
	// OOBLegacyTK is the 16-byte legacy OOB temporary key.
	OOBLegacyTK []byte
	// MinKeySize is the smallest encryption key size accepted, 7..16.
	MinKeySize int
	// SecurityRequest: send an SMP Security Request when connected.
	SecurityRequest bool
	// ForgetKeysAfter forgets every bond after that many connections
	// (0: never) — the lost-bond field bug.
	ForgetKeysAfter int
	// BondFile is where bonds are kept (default: STATE_DIR/NAME.bonds.json).
	BondFile string
	// RPARotate, when set, advertises with a resolvable private address
	// generated from the device's IRK, renewed at this period.
	RPARotate time.Duration
	// LoadBondsAtBoot (default true): the device loads its saved bonds
	// when it boots. false is the firmware bug that saves bonds on every
	// change but never restores them: after a reboot the device has
	// forgotten them while its bond file still holds them.
	LoadBondsAtBoot bool
	// KeySecurity: key distribution, misbehaviour, SC OOB data
	// (security_keys.go).
	KeySecurity
	// PairingMode (e-lock only) is the lock's pairing mode at start; nil:
	// on while the lock has no bond (security_lock.go).
	PairingMode *bool
	Line        int
}

// IOCapabilities are the security.io_capability values, in the order of
// the SMP IO Capability codes 0x00..0x04.
var IOCapabilities = []string{"display-only", "display-yes-no", "keyboard-only", "no-input-no-output", "keyboard-display"}

// SCModes are the security.secure_connections values.
var SCModes = []string{"prefer", "only", "legacy"}

// CharSecurity values: what a characteristic requires of the link.
var CharSecurity = []string{"none", "encrypted", "authenticated", "authorized"}

var securityFields = []string{"io_capability", "bonding", "mitm", "secure_connections", "passkey",
	"oob_legacy_tk", "min_key_size", "security_request", "forget_keys_after",
	"bond_file", "rpa_rotate", "load_bonds_at_boot"}

func init() { securityFields = append(securityFields, keySecurityFields...) } // security_keys.go

// DefaultSecurity is a device's security without a security section.
func DefaultSecurity() Security {
	return Security{IOCapability: "no-input-no-output", Bonding: true, SecureConnections: "prefer", MinKeySize: 7, LoadBondsAtBoot: true}
}

// security decodes a device's security mapping.
func (d *decoder) security(n *yaml.Node, path string) Security {
	s := DefaultSecurity()
	s.Line = n.Line
	m, ok := d.fields(n, path, "a mapping with "+joinList(securityFields), securityFields)
	if !ok {
		return s
	}
	if v := m["io_capability"].val; v != nil {
		s.IOCapability, _ = d.enum(v, path+".io_capability", "IO capability", IOCapabilities)
	}
	for name, dst := range map[string]*bool{"bonding": &s.Bonding, "mitm": &s.MITM, "security_request": &s.SecurityRequest, "load_bonds_at_boot": &s.LoadBondsAtBoot} {
		if v := m[name].val; v != nil {
			if b, ok := d.boolean(v, path+"."+name); ok {
				*dst = b
			}
		}
	}
	if v := m["secure_connections"].val; v != nil {
		s.SecureConnections, _ = d.enum(v, path+".secure_connections", "mode", SCModes)
	}
	if v := m["passkey"].val; v != nil {
		if p, ok := d.integer(v, path+".passkey", "a 6-digit passkey, 0 to 999999", 0, 999999); ok {
			pk := uint32(p)
			s.Passkey = &pk
		}
	}
	s.OOBLegacyTK = d.key16(m["oob_legacy_tk"].val, path+".oob_legacy_tk")
	if v := m["min_key_size"].val; v != nil {
		if k, ok := d.integer(v, path+".min_key_size", "a key size in bytes", 7, 16); ok {
			s.MinKeySize = int(k)
		}
	}
	if v := m["forget_keys_after"].val; v != nil {
		if k, ok := d.integer(v, path+".forget_keys_after", "a number of connections (0: never)", 0, 1<<20); ok {
			s.ForgetKeysAfter = int(k)
		}
	}
	if v := m["bond_file"].val; v != nil {
		s.BondFile, _ = d.str(v, path+".bond_file", "a file path")
	}
	if v := m["rpa_rotate"].val; v != nil {
		s.RPARotate, _ = d.duration(v, path+".rpa_rotate", time.Second, 24*time.Hour)
	}
	d.keySecurity(&s.KeySecurity, m, path, s.Bonding)
	s.PairingMode = d.pairingMode(m["pairing_mode"].val, path) // security_lock.go
	if k := m["passkey"].key; k != nil && s.IOCapability == "no-input-no-output" {
		d.errorf(k, path+".passkey", "a device with io_capability no-input-no-output cannot show or take a passkey; set io_capability: display-only (the passkey is printed on the device) or keyboard-display")
	}
	if k := m["mitm"].key; k != nil && s.MITM && s.IOCapability == "no-input-no-output" && s.OOBLegacyTK == nil && s.OOBSC == nil {
		d.errorf(k, path+".mitm", "MITM protection needs a passkey, numeric comparison or OOB data, but io_capability is no-input-no-output and no OOB data is given: every pairing would fail")
	}
	return s
}

// key16 decodes an optional 16-byte key given as 32 hex digits.
func (d *decoder) key16(n *yaml.Node, path string) []byte {
	if n == nil {
		return nil
	}
	s, ok := d.str(n, path, "16 bytes as 32 hex digits")
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(strings.ReplaceAll(s, " ", ""), "hex:"))
	if err != nil || len(b) != 16 {
		d.errorf(n, path, "want 16 bytes as 32 hex digits, got %s", quote(s))
		return nil
	}
	return b
}
