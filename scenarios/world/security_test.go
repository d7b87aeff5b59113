package world

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecuritySection(t *testing.T) {
	w, err := Parse("w.yaml", []byte(`devices:
  - name: Lock
    profile: generic
    security:
      io_capability: display-only
      mitm: true
      secure_connections: only
      passkey: 123456
      min_key_size: 16
      security_request: true
      forget_keys_after: 3
      bond_file: /tmp/lock.json
      rpa_rotate: 60s
    services:
      - uuid: "1815"
        characteristics:
          - uuid: "2A56"
            properties: [read, write]
            security: authenticated
`))
	require.NoError(t, err)
	s := w.Devices[0].Security
	require.Equal(t, "display-only", s.IOCapability)
	require.True(t, s.MITM)
	require.True(t, s.Bonding, "bonding defaults to true")
	require.Equal(t, "only", s.SecureConnections)
	require.Equal(t, uint32(123456), *s.Passkey)
	require.Equal(t, 16, s.MinKeySize)
	require.True(t, s.SecurityRequest)
	require.Equal(t, 3, s.ForgetKeysAfter)
	require.Equal(t, "/tmp/lock.json", s.BondFile)
	require.Equal(t, "authenticated", w.Devices[0].Services[0].Characteristics[0].Security)
}

func TestSecurityErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      io_capability: telepathy\n",
			"w.yaml:5: devices[0].security.io_capability:"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      passkey: 1234567\n",
			"w.yaml:5: devices[0].security.passkey:"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      io_capability: no-input-no-output\n      passkey: 1234\n",
			"cannot show or take a passkey"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      mitm: true\n",
			"every pairing would fail"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      oob_legacy_tk: abcd\n",
			"w.yaml:5: devices[0].security.oob_legacy_tk: want 16 bytes as 32 hex digits"},
		{"devices:\n  - name: A\n    profile: central\n    security:\n      bonding: true\n",
			"w.yaml:4: devices[0].security:"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      bondig: true\n",
			`unknown field "bondig"`},
	} {
		_, err := Parse("w.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		require.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}
