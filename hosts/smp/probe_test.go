package smp_test

import (
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// The passkey probe against a responder with a fixed passkey (Vol 3 Part
// H §2.3.5.6.3): every failed attempt reveals the bit of the round the
// responder rejected, so the probe needs one attempt per 1 bit (it
// guesses 0) plus the last one, which pairs and bonds. The responder's
// repeated-attempts wait (§2.3.6) answers the retries that come too
// early with Repeated Attempts, and the probe waits longer.
func TestPasskeyProbeRevealsFixedPasskey(t *testing.T) {
	for _, tc := range []struct {
		passkey uint32
		wait    sim.Duration // the responder's first repeated-attempts wait
	}{
		{0, 0},
		{123456, 0},
		{999999, 100 * sim.Millisecond},
		{524288, 100 * sim.Millisecond}, // only bit 19: found in the last round
	} {
		t.Run(fmt.Sprintf("%06d", tc.passkey), func(t *testing.T) {
			r := newRig(t, &smp.Config{IOCap: smp.KeyboardDisplay, Bonding: true},
				&smp.Config{IOCap: smp.DisplayOnly, MITM: true, Bonding: true, Passkey: ptr(tc.passkey), RepeatedAttemptsWait: tc.wait})
			r.connect()
			pr := &smp.PasskeyProbe{}
			var got uint32
			var gotErr error
			finished := false
			r.C.ProbePasskey(r.CConn.Handle, pr, smp.ProbeOptions{Retry: 100 * sim.Millisecond}, func(k uint32, err error) {
				got, gotErr, finished = k, err, true
			})
			r.run(2000 * sim.Second)
			require.True(t, finished)
			require.NoError(t, gotErr)
			assert.Equal(t, tc.passkey, got)
			ones := bits.OnesCount32(tc.passkey)
			assert.Equal(t, ones+1, pr.Attempts(), "one attempt per 1 bit, then the pairing")

			// The responder detected each wrong guess (Confirm Value
			// Failed) and bonded at the end.
			var wrong, early int
			for _, f := range events[smp.PairingFailed](r.PEv) {
				switch f.Reason {
				case smp.ReasonConfirmValueFailed:
					wrong++
					assert.False(t, f.Remote)
				case smp.ReasonRepeatedAttempts:
					early++
				default:
					t.Errorf("unexpected failure %v", f.Reason)
				}
			}
			assert.Equal(t, ones, wrong)
			if ones > 1 {
				assert.Positive(t, early, "the probe came back before the wait was over at least once")
			}
			pc := last[smp.PairingComplete](t, r.PEv)
			assert.True(t, pc.Authenticated)
			assert.Equal(t, 1, r.P.Store().Len())

			// One finding per bit, then the passkey.
			bitsF := findings(r.CEv, smp.FindingPasskeyBit)
			require.Len(t, bitsF, 20)
			seen := map[int]bool{}
			for _, f := range bitsF {
				var i int
				var v uint32
				_, err := fmt.Sscanf(f.Message, "bit %d of the passkey is %d", &i, &v)
				require.NoError(t, err, f.Message)
				assert.Equal(t, tc.passkey>>i&1, v, f.Message)
				assert.False(t, seen[i], "bit %d reported twice", i)
				seen[i] = true
			}
			rev := findings(r.CEv, smp.FindingPasskeyRevealed)
			require.Len(t, rev, 1)
			assert.True(t, strings.HasPrefix(rev[0].Message, fmt.Sprintf("passkey revealed: %06d", tc.passkey)), rev[0].Message)
			// The probe hands the agent back.
			_, isProbe := r.C.Agent().(*smp.PasskeyProbe)
			assert.False(t, isProbe)
		})
	}
}

// Against a responder that draws a new passkey for every pairing (as
// §2.3.5.6.3 intends) the bits learned keep contradicting each other and
// the probe gives up.
func TestPasskeyProbeRandomPasskey(t *testing.T) {
	r := newRig(t, &smp.Config{IOCap: smp.KeyboardOnly, Bonding: true},
		&smp.Config{IOCap: smp.DisplayOnly, MITM: true, Bonding: true, RepeatedAttemptsWait: 10 * sim.Millisecond})
	r.connect()
	var gotErr error
	finished := false
	r.C.ProbePasskey(r.CConn.Handle, nil, smp.ProbeOptions{Retry: 10 * sim.Millisecond, MaxRetry: 50 * sim.Millisecond, MaxAttempts: 12},
		func(_ uint32, err error) { gotErr, finished = err, true })
	r.run(600 * sim.Second)
	require.True(t, finished)
	require.ErrorIs(t, gotErr, smp.ErrProbeGaveUp)
	assert.Empty(t, events[smp.PairingComplete](r.PEv))
	assert.Empty(t, findings(r.CEv, smp.FindingPasskeyRevealed))
}

// A responder that refuses pairing stops the probe at once.
func TestPasskeyProbeStopsOnOtherFailures(t *testing.T) {
	r := newRig(t, &smp.Config{IOCap: smp.KeyboardOnly, Bonding: true}, &smp.Config{NoPairing: true})
	r.connect()
	var gotErr error
	r.C.ProbePasskey(r.CConn.Handle, nil, smp.ProbeOptions{}, func(_ uint32, err error) { gotErr = err })
	r.run(5 * sim.Second)
	require.ErrorIs(t, gotErr, smp.ReasonPairingNotSupported)
	assert.Len(t, events[smp.PairingFailed](r.CEv), 1)
}

// SetPairable switches a responder between refusing pairing (Pairing Not
// Supported, §3.5.5) and accepting it.
func TestSetPairable(t *testing.T) {
	r := newRig(t, &smp.Config{Bonding: true}, &smp.Config{Bonding: true})
	r.connect()
	r.P.SetPairable(false)
	require.False(t, r.P.Pairable())
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(2 * sim.Second)
	assert.Equal(t, smp.ReasonPairingNotSupported, last[smp.PairingFailed](t, r.CEv).Reason)
	r.P.SetPairable(true)
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(2 * sim.Second)
	assert.Len(t, events[smp.PairingComplete](r.PEv), 1)
}
