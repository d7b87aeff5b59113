package world

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
		{"devices:\n  - name: A\n    profile: central\n    security:\n      security_request: true\n",
			"w.yaml:5: devices[0].security.security_request: a central does not advertise or send Security Requests"},
		{"devices:\n  - name: A\n    profile: oximeter\n    security:\n      bondig: true\n",
			`unknown field "bondig"`},
	} {
		_, err := Parse("w.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		require.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}

// The key distribution, misbehaviour and SC OOB fields, on a central (the
// Raspberry Pi of field-traces/rpi-key-distribution.btmon.txt) and on
// peripherals.
func TestKeySecurity(t *testing.T) {
	w, err := Parse("w.yaml", []byte(`devices:
  - name: Pi
    profile: central
    security:
      io_capability: keyboard-only
      request_mitm: true
      secure_connections: legacy
      initiator_keys: [enc-key, sign]
      responder_keys: [enc-key, sign]
      send_unnegotiated_keys: true
      fixed_ltk: "hex:ffeeddccbbaa99887766554433221100"
      fixed_ediv: 0x000c
      fixed_rand: 0x8877665544332211
  - name: Sensor
    profile: generic
    security:
      initiator_keys: [sign]
      responder_keys: [enc-key]
      strict_key_distribution: true
      oob_sc:
        private_key: "hex:000000000000000000000000000000000000000000000000000000000000002a"
        random: "hex:0102030405060708090a0b0c0d0e0f10"
  - name: Phone
    profile: central
    security:
      initiator_keys: []
      oob_sc: {peer_random: "0102030405060708090a0b0c0d0e0f10", peer_confirm: "hex:00112233445566778899aabbccddeeff"}
`))
	require.NoError(t, err)
	pi, sensor, phone := w.Devices[0].Security, w.Devices[1].Security, w.Devices[2].Security
	require.NotNil(t, pi.InitiatorKeys)
	assert.Equal(t, KeyEnc|KeySign, *pi.InitiatorKeys)
	assert.Equal(t, KeyEnc|KeySign, *pi.ResponderKeys)
	assert.True(t, pi.RequestMITM)
	assert.False(t, pi.MITM)
	assert.True(t, pi.SendUnnegotiatedKeys)
	assert.False(t, pi.StrictKeyDistribution)
	assert.Equal(t, []byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}, pi.FixedLTK)
	assert.Equal(t, uint16(0x000c), *pi.FixedEDIV)
	assert.Equal(t, uint64(0x8877665544332211), *pi.FixedRand)
	assert.Nil(t, pi.OOBSC)

	assert.Equal(t, KeySign, *sensor.InitiatorKeys)
	assert.Equal(t, KeyEnc, *sensor.ResponderKeys)
	assert.True(t, sensor.StrictKeyDistribution)
	require.NotNil(t, sensor.OOBSC)
	assert.Len(t, sensor.OOBSC.PrivateKey, 32)
	assert.Equal(t, byte(0x2a), sensor.OOBSC.PrivateKey[31])
	assert.Equal(t, byte(0x01), sensor.OOBSC.Random[0])
	assert.Nil(t, sensor.OOBSC.PeerRandom)

	assert.Equal(t, KeyDist(0), *phone.InitiatorKeys, "[] distributes nothing")
	assert.Nil(t, phone.ResponderKeys, "default: all keys")
	assert.Equal(t, byte(0x11), phone.OOBSC.PeerConfirm[1])
	assert.Nil(t, phone.OOBSC.PrivateKey)
	assert.Nil(t, DefaultSecurity().InitiatorKeys)
}

func TestKeySecurityErrors(t *testing.T) {
	const head = "devices:\n  - name: A\n    profile: generic\n    security:\n"
	for _, tc := range []struct{ yaml, want string }{
		{head + "      initiator_keys: [enc-key, link-key]\n", `w.yaml:5: devices[0].security.initiator_keys[1]: unknown key "link-key"`},
		{head + "      responder_keys: [sign, sign]\n", `w.yaml:5: devices[0].security.responder_keys[1]: "sign" is listed twice`},
		{head + "      responder_keys: sign\n", "w.yaml:5: devices[0].security.responder_keys: want a list of keys from: enc-key, id-key"},
		{head + "      strict_key_distribution: yes please\n", "w.yaml:5: devices[0].security.strict_key_distribution: want true or false"},
		{head + "      fixed_ltk: \"hex:ffee\"\n", "w.yaml:5: devices[0].security.fixed_ltk: want 16 bytes as 32 hex digits"},
		{head + "      fixed_ediv: 0x10000\n", "w.yaml:5: devices[0].security.fixed_ediv: want an EDIV from 0 to 65535"},
		{head + "      fixed_rand: -1\n", "w.yaml:5: devices[0].security.fixed_rand: want a whole number"},
		{head + "      bonding: false\n      fixed_rand: 7\n", "w.yaml:6: devices[0].security.fixed_rand: keys are only distributed when bonding"},
		{head + "      oob_sc: {random: \"hex:0102030405060708090a0b0c0d0e0f10\"}\n", "w.yaml:5: devices[0].security.oob_sc.random: random needs private_key too"},
		{head + "      oob_sc: {peer_confirm: \"hex:0102030405060708090a0b0c0d0e0f10\"}\n", "devices[0].security.oob_sc.peer_confirm: peer_confirm needs peer_random too"},
		{head + "      oob_sc: {}\n", "w.yaml:5: devices[0].security.oob_sc: want this device's private_key and random"},
		{head + "      oob_sc: {private_key: \"hex:00\", random: \"hex:0102030405060708090a0b0c0d0e0f10\"}\n", "w.yaml:5: devices[0].security.oob_sc.private_key: want 32 bytes as 64 hex digits"},
		{head + "      oob_sc:\n        private_key: \"hex:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"\n        random: \"hex:0102030405060708090a0b0c0d0e0f10\"\n",
			"w.yaml:6: devices[0].security.oob_sc.private_key: not a P-256 private key"},
		{head + "      oob_sc: {peer_random: \"hex:01\", peer_confirm: \"hex:0102030405060708090a0b0c0d0e0f10\", salt: 1}\n", `unknown field "salt"`},
		{"devices:\n  - name: A\n    profile: central\n    security:\n      rpa_rotate: 15m\n", "w.yaml:5: devices[0].security.rpa_rotate: a central does not advertise"},
	} {
		_, err := Parse("w.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want, tc.yaml)
	}
	// OOB data lets a no-input-no-output device require MITM.
	_, err := Parse("w.yaml", []byte(head+"      mitm: true\n      oob_sc: {peer_random: \"hex:0102030405060708090a0b0c0d0e0f10\", peer_confirm: \"hex:0102030405060708090a0b0c0d0e0f10\"}\n"))
	require.NoError(t, err)
}

// Every security field is documented in the world reference.
func TestKeySecurityReference(t *testing.T) {
	for _, f := range append(append([]string{}, keySecurityFields...), oobSCFields...) {
		assert.True(t, strings.Contains(Reference, "  "+f+" ") || strings.Contains(Reference, "  "+f+"\n"), "Reference documents %s", f)
	}
}
