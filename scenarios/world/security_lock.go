package world

import "gopkg.in/yaml.v3"

// The e-lock's part of the security section: pairing_mode.

func init() { securityFields = append(securityFields, "pairing_mode") }

// pairingMode decodes security.pairing_mode (nil when not given).
func (d *decoder) pairingMode(n *yaml.Node, path string) *bool {
	if n == nil {
		return nil
	}
	if b, ok := d.boolean(n, path+".pairing_mode"); ok {
		return &b
	}
	return nil
}

// ELockSecurity is an e-lock's security without a security section: it
// displays a passkey (printed on the lock) and requires MITM protection.
func ELockSecurity() Security {
	s := DefaultSecurity()
	s.IOCapability, s.MITM = "display-only", true
	return s
}

// checkELock applies the e-lock's security defaults and reports
// pairing_mode on other profiles.
func (d *decoder) checkELock(dv *Device, m map[string]field, path string) {
	sec := m["security"]
	if dv.Profile == ProfileELock {
		if sec.val == nil {
			dv.Security = ELockSecurity()
		}
		return
	}
	if dv.Security.PairingMode == nil || sec.val == nil {
		return
	}
	key := sec.key
	for i := 0; i+1 < len(sec.val.Content); i += 2 {
		if sec.val.Content[i].Value == "pairing_mode" {
			key = sec.val.Content[i]
		}
	}
	d.errorf(key, path+".security.pairing_mode", "only the e-lock profile has a pairing mode")
}
