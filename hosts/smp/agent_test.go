package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// Users who answer late (AsyncAgent): the pairing holds, the peer's
// commands that arrive meanwhile wait, and it completes once they answer
// — or the SMP timeout ends it.
func TestAsyncUsers(t *testing.T) {
	tests := []struct {
		name      string
		c, p      smp.Config
		answer    []string // "c" or "p": whose user answers, in order
		completes bool
	}{
		{name: "SM/CEN/PKE/BV-05-C legacy, the central's user types late",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true, SC: smp.LegacyOnly}, p: smp.Config{IOCap: smp.DisplayOnly, SC: smp.LegacyOnly},
			answer: []string{"c"}, completes: true},
		{name: "SM/PER/PKE/BV-06-C legacy, the peripheral's user types late",
			c: smp.Config{IOCap: smp.DisplayOnly, MITM: true, SC: smp.LegacyOnly}, p: smp.Config{IOCap: smp.KeyboardOnly, SC: smp.LegacyOnly},
			answer: []string{"p"}, completes: true},
		{name: "SM/CEN/SCPK/BV-04-C SC, the central's user types late",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true}, p: smp.Config{IOCap: smp.DisplayOnly},
			answer: []string{"c"}, completes: true},
		{name: "SM/PER/SCPK/BV-05-C SC, the peripheral's user types late",
			c: smp.Config{IOCap: smp.DisplayOnly, MITM: true}, p: smp.Config{IOCap: smp.KeyboardDisplay},
			answer: []string{"p"}, completes: true},
		{name: "SM/PER/SCJW/BV-06-C numeric comparison, the central's user answers first",
			c: smp.Config{IOCap: smp.DisplayYesNo, MITM: true}, p: smp.Config{IOCap: smp.DisplayYesNo},
			answer: []string{"c", "p"}, completes: true},
		{name: "SM/CEN/SCJW/BV-07-C numeric comparison, the peripheral's user answers first",
			c: smp.Config{IOCap: smp.DisplayYesNo, MITM: true}, p: smp.Config{IOCap: smp.DisplayYesNo},
			answer: []string{"p", "c"}, completes: true},
		{name: "SM/CEN/PKE/BI-06-C the user never types: SMP timeout",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true}, p: smp.Config{IOCap: smp.DisplayOnly},
			answer: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, pa := &smp.ScriptedAgent{Async: true}, &smp.ScriptedAgent{Async: true}
			ca.PasskeyFrom, pa.PasskeyFrom = pa.LastDisplayed, ca.LastDisplayed
			tt.c.Agent, tt.p.Agent = ca, pa
			r := newRig(t, &tt.c, &tt.p)
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			for _, who := range tt.answer {
				r.run(5 * sim.Second)
				require.Empty(t, events[smp.PairingComplete](r.CEv), "waiting for the user")
				a := ca
				if who == "p" {
					a = pa
				}
				require.Equal(t, 1, a.Answer(), "%s's user was asked", who)
			}
			r.run(40 * sim.Second)
			if !tt.completes {
				assert.True(t, last[smp.PairingFailed](t, r.CEv).Timeout)
				return
			}
			cc := last[smp.PairingComplete](t, r.CEv)
			last[smp.PairingComplete](t, r.PEv)
			assert.True(t, cc.Authenticated)
			if cc.Method == smp.NumericComparison {
				assert.Equal(t, ca.Compared, pa.Compared)
			}
		})
	}
}

// UserAgent: input from outside the simulation ("blesim ctl NAME passkey
// 123456").
func TestUserAgent(t *testing.T) {
	ua := &smp.UserAgent{Log: zap.NewNop(), ManualConfirm: true}
	pa := &smp.ScriptedAgent{}
	r := newRig(t, &smp.Config{IOCap: smp.DisplayOnly, MITM: true, Agent: pa}, &smp.Config{IOCap: smp.KeyboardOnly, Agent: ua})
	r.connect()
	assert.ErrorIs(t, ua.EnterPasskey(1), smp.ErrNothingPending)
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(3 * sim.Second)
	pk, cf := ua.Waiting()
	require.True(t, pk)
	require.False(t, cf)
	assert.Error(t, ua.EnterPasskey(1000000))
	require.NoError(t, ua.EnterPasskey(pa.LastDisplayed()))
	r.run(sim.Second)
	last[smp.PairingComplete](t, r.PEv)

	// Numeric comparison answered by Confirm, and Cancel.
	for _, yes := range []bool{true, false} {
		ua2 := &smp.UserAgent{Log: zap.NewNop(), ManualConfirm: true}
		r2 := newRig(t, &smp.Config{IOCap: smp.DisplayYesNo, MITM: true, Agent: &smp.ScriptedAgent{}}, &smp.Config{IOCap: smp.DisplayYesNo, Agent: ua2})
		r2.connect()
		require.NoError(t, r2.C.Pair(r2.CConn.Handle, nil))
		r2.run(sim.Second)
		_, cf := ua2.Waiting()
		require.True(t, cf)
		if yes {
			require.NoError(t, ua2.Confirm(true))
		} else {
			require.NoError(t, ua2.Cancel())
		}
		r2.run(sim.Second)
		if yes {
			last[smp.PairingComplete](t, r2.CEv)
		} else {
			assert.Equal(t, smp.ReasonNumericComparisonFailed, last[smp.PairingFailed](t, r2.CEv).Reason)
		}
	}
}
