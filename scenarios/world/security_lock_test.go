package world

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An e-lock's pairing_mode, and its security defaults.
func TestELockSecurity(t *testing.T) {
	yes, no := true, false
	for _, tt := range []struct {
		name, src string
		want      Security
	}{
		{"no security section: display-only, MITM, pairing mode by bonds", "devices:\n  - {name: L, profile: e-lock}\n",
			ELockSecurity()},
		{"pairing mode off", "devices:\n  - name: L\n    profile: e-lock\n    security:\n      io_capability: display-only\n      passkey: 123456\n      pairing_mode: false\n",
			func() Security {
				s := DefaultSecurity()
				s.IOCapability, s.Passkey, s.PairingMode = "display-only", ptrU32(123456), &no
				return s
			}()},
		{"pairing mode on", "devices:\n  - name: L\n    profile: e-lock\n    security: {io_capability: display-only, mitm: true, pairing_mode: true}\n",
			func() Security {
				s := ELockSecurity()
				s.PairingMode = &yes
				return s
			}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse("world.yaml", []byte(tt.src))
			require.NoError(t, err)
			got := w.Devices[0].Security
			assert.Equal(t, tt.want.IOCapability, got.IOCapability)
			assert.Equal(t, tt.want.MITM, got.MITM)
			assert.Equal(t, tt.want.Passkey, got.Passkey)
			assert.Equal(t, tt.want.PairingMode, got.PairingMode)
			assert.Equal(t, tt.want.Bonding, got.Bonding)
		})
	}
	for _, tt := range []struct{ name, src, want string }{
		{"pairing_mode on another profile", "devices:\n  - name: G\n    profile: generic\n    security:\n      bonding: true\n      pairing_mode: true\n",
			"world.yaml:6: devices[0].security.pairing_mode: only the e-lock profile has a pairing mode"},
		{"pairing_mode not a boolean", "devices:\n  - name: L\n    profile: e-lock\n    security:\n      pairing_mode: sometimes\n",
			`world.yaml:5: devices[0].security.pairing_mode: want true or false, got "sometimes"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("world.yaml", []byte(tt.src))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func ptrU32(v uint32) *uint32 { return &v }
