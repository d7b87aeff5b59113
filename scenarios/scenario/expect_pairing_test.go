package scenario

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// The pairing expectation's method and secure_connections: they match
// the way the pairing was done, and a wrong one fails with what happened.
func TestPairingMethodExpectation(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+`steps:
  - connect: {device: Phone, peer: Oxi}
  - pair: {device: Phone, bond: true, secure_connections: true}
  - disconnect: Phone
expect:
  - pairing: {device: Phone, result: success, method: just-works, secure_connections: true, count: 1}
  - pairing: {device: Phone, result: success, method: oob}
  - pairing: {device: Phone, result: success, secure_connections: false}
`))
	require.NoError(t, err)
	res, err := Run(s, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	e := res.Expectations
	require.True(t, e[0].Passed, res.Summary())
	require.Contains(t, e[0].Expected, "pairing success by just-works (LE Secure Connections) on Phone")
	require.False(t, e[1].Passed)
	require.Contains(t, e[1].Observed, "pairing success (Just Works, LE SC, bonded true)")
	require.False(t, e[2].Passed)
	require.Contains(t, e[2].Expected, "(LE legacy pairing)")
}

func TestPairingMethodErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"expect:\n  - pairing: {device: Phone, result: success, method: telepathy}\n",
			`s.yaml:11: expect[0].pairing.method: want one of just-works, passkey-entry, numeric-comparison, oob, got "telepathy"`},
		{"expect:\n  - pairing: {device: Phone, result: success, secure_connections: maybe}\n",
			"s.yaml:11: expect[0].pairing.secure_connections: want true or false"},
		{"expect:\n  - pairing: {device: Phone, result: failed, method: oob}\n",
			"s.yaml:11: expect[0].pairing.method: method describes a successful pairing"},
	} {
		_, err := Parse("s.yaml", []byte(base+tc.yaml))
		require.Error(t, err, tc.yaml)
		require.Contains(t, err.Error(), tc.want)
	}
}
