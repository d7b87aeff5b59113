package scenario

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// lockBase is a small valid e-lock scenario; tests append steps and
// expectations.
const lockBase = `name: t
description: a test
seed: 2
devices:
  - name: Phone
    profile: central
  - name: Lock
    profile: e-lock
    position: [1, 0]
    security: {io_capability: display-only, mitm: true, passkey: 123456}
`

// Errors in the e-lock steps and expectations name file, line and field.
func TestLockStepParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"pairing_mode without on", lockBase + "steps:\n  - pairing_mode: {device: Lock}\n", `s.yaml:12: steps[0].pairing_mode: missing required field "on"`},
		{"pairing_mode on not a boolean", lockBase + "steps:\n  - pairing_mode: {device: Lock, on: yes please}\n", `s.yaml:12: steps[0].pairing_mode.on: want true or false, got "yes please"`},
		{"pairing_mode as a name", lockBase + "steps:\n  - pairing_mode: Lock\n", `s.yaml:12: steps[0].pairing_mode: want a mapping with device, on, got "Lock"`},
		{"pairing_mode unknown device", lockBase + "steps:\n  - pairing_mode: {device: Lok, on: true}\n", `s.yaml:12: steps[0].pairing_mode.device: no device "Lok"`},
		{"passkey too long", lockBase + "steps:\n  - passkey: {device: Phone, value: 1234567}\n", `s.yaml:12: steps[0].passkey.value: want a passkey of up to 6 digits, 0 to 999999 (e.g. 123456 or "012345"), got "1234567"`},
		{"passkey not digits", lockBase + "steps:\n  - passkey:\n      device: Phone\n      value: twelve\n", `s.yaml:14: steps[0].passkey.value: want a passkey of up to 6 digits`},
		{"passkey without value", lockBase + "steps:\n  - passkey: {device: Phone}\n", `s.yaml:12: steps[0].passkey: missing required field "value"`},
		{"passkey on the lock", lockBase + "steps:\n  - passkey: {device: Lock, value: 1}\n", `s.yaml:12: steps[0].passkey.device: "Lock" is a e-lock; this needs a device with profile central`},
		{"probe from the lock", lockBase + "steps:\n  - probe_passkey: Lock\n", `s.yaml:12: steps[0].probe_passkey: "Lock" is a e-lock; this needs a device with profile central`},
		{"probe bad timeout", lockBase + "steps:\n  - probe_passkey: {device: Phone, timeout: forever}\n", `s.yaml:12: steps[0].probe_passkey.timeout: want a duration such as 500ms or 2s, got "forever"`},
		{"probe unknown field", lockBase + "steps:\n  - probe_passkey: {device: Phone, attempts: 3}\n", `s.yaml:12: steps[0].probe_passkey: unknown field "attempts"`},
		{"att_error without uuid", lockBase + "expect:\n  - att_error: {device: Phone, code: 0x05}\n", `s.yaml:12: expect[0].att_error: missing required field "uuid"`},
		{"att_error bad code", lockBase + "expect:\n  - att_error: {device: Phone, uuid: \"2A19\", code: denied}\n", `s.yaml:12: expect[0].att_error.code: want an ATT error code from 0x00 to 0xFF (e.g. 0x06), got "denied"`},
		{"finding message not text", lockBase + "expect:\n  - finding: {device: Phone, code: passkey-revealed, message: [1]}\n", `s.yaml:12: expect[0].finding.message: want text the finding's message contains, got a list of 1 items`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.text))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLockStepsParse(t *testing.T) {
	s, err := Parse("s.yaml", []byte(lockBase+`steps:
  - pairing_mode: {device: Lock, on: false}
  - passkey: {device: Phone, value: "012345"}
  - probe_passkey: Phone
  - probe_passkey: {device: Phone, timeout: 5m}
expect:
  - att_error: {device: Phone, uuid: "6c6f636b-0002-4000-8000-626c6573696d", code: 0x0F, count: 2}
  - finding: {device: Phone, code: passkey-revealed, message: "passkey revealed: 123456"}
`))
	require.NoError(t, err)
	require.Len(t, s.Steps, 4)
	assert.Equal(t, ActPairingMode, s.Steps[0].Action)
	assert.Equal(t, "Lock", s.Steps[0].Device)
	assert.False(t, s.Steps[0].On)
	assert.Equal(t, uint32(12345), s.Steps[1].Passkey, "leading zeros are digits, not octal")
	assert.Equal(t, DefaultProbeTimeout, s.Steps[2].Wait)
	assert.Equal(t, 5*time.Minute, s.Steps[3].Wait)
	require.Len(t, s.Expect, 2)
	assert.Equal(t, uint8(0x0F), *s.Expect[0].ATTError)
	assert.Equal(t, 2, *s.Expect[0].Count)
	assert.Equal(t, "passkey revealed: 123456", s.Expect[1].Message)
}

// A pairing_mode step on a device that is not an e-lock is reported in the
// result; a mistyped passkey fails the pairing (0x04); att_error matches
// the code and the characteristic.
func TestLockStepsRun(t *testing.T) {
	s, err := Parse("s.yaml", []byte(lockBase+`  - {name: Oxi, profile: oximeter, position: [2, 0]}
steps:
  - pairing_mode: {device: Oxi, on: true}
  - at: 0s
    connect: {device: Phone, peer: Lock}
  - wait: 1s
  - write: {device: Phone, uuid: "6c6f636b-0003-4000-8000-626c6573696d", value: "hex:02"}
  - passkey: {device: Phone, value: 654321}
  - pair: {device: Phone, mitm: true, io_capability: keyboard-only}
expect:
  - att_error: {device: Phone, uuid: "6c6f636b-0003-4000-8000-626c6573696d", code: 0x05}
  - att_error: {device: Phone, uuid: "6c6f636b-0003-4000-8000-626c6573696d", code: 0x0F}
  - att_error: {device: Phone, uuid: "6c6f636b-0002-4000-8000-626c6573696d"}
  - pairing: {device: Phone, result: failed, reason: 0x04}
  - pairing: {device: Lock, result: failed, reason: 0x04}
`))
	require.NoError(t, err)
	res, err := Run(s, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.Len(t, res.Expectations, 5)
	passed := []bool{true, false, false, true, true}
	for i, e := range res.Expectations {
		assert.Equal(t, passed[i], e.Passed, "%s", res.Summary())
	}
	assert.Contains(t, res.Steps[0].Error, "Oxi (oximeter) has no pairing mode")
}
