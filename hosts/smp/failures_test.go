package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Each Pairing Failed reason (Vol 3 Part H §3.5.5, table 3.7) between two
// built-in devices: who detects the failure, what the other is told, and
// that nothing is bonded or encrypted.
func TestPairingFailedReasons(t *testing.T) {
	tk := smp.Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name     string
		c, p     smp.Config
		ca, pa   smp.ScriptedAgent
		reason   smp.Reason
		detector string // "central" or "peripheral"
	}{
		{name: "SM/CEN/PKE/BI-01-C passkey entry cancelled", reason: smp.ReasonPasskeyEntryFailed, detector: "central",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true}, p: smp.Config{IOCap: smp.DisplayOnly},
			ca: smp.ScriptedAgent{Cancel: true}},
		{name: "SM/PER/OOB/BI-02-C OOB not available", reason: smp.ReasonOOBNotAvailable, detector: "peripheral",
			c: smp.Config{SC: smp.LegacyOnly}, p: smp.Config{SC: smp.LegacyOnly, OOB: &smp.OOBData{TK: &tk}, OOBRequired: true}},
		{name: "SM/PER/SCJW/BI-01-C SC only vs legacy central", reason: smp.ReasonAuthenticationRequirements, detector: "peripheral",
			c: smp.Config{SC: smp.LegacyOnly}, p: smp.Config{SC: smp.SCOnly}},
		{name: "SM/CEN/SCJW/BI-01-C SC only central vs legacy peripheral", reason: smp.ReasonAuthenticationRequirements, detector: "central",
			c: smp.Config{SC: smp.SCOnly}, p: smp.Config{SC: smp.LegacyOnly}},
		{name: "SM/PER/JW/BI-02-C MITM required but Just Works", reason: smp.ReasonAuthenticationRequirements, detector: "peripheral",
			c: smp.Config{IOCap: smp.NoInputNoOutput}, p: smp.Config{IOCap: smp.DisplayOnly, MITM: true}},
		{name: "SM/CEN/JW/BI-01-C central requires MITM, peripheral NoInputNoOutput", reason: smp.ReasonAuthenticationRequirements, detector: "central",
			c: smp.Config{IOCap: smp.KeyboardDisplay, MITM: true}, p: smp.Config{IOCap: smp.NoInputNoOutput}},
		{name: "SM/PER/PKE/BI-03-C legacy wrong passkey", reason: smp.ReasonConfirmValueFailed, detector: "peripheral",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true, SC: smp.LegacyOnly}, p: smp.Config{IOCap: smp.DisplayOnly, SC: smp.LegacyOnly, Passkey: ptr(uint32(123456))},
			ca: smp.ScriptedAgent{Passkey: 123457}},
		{name: "SM/PER/SCPK/BI-03-C SC wrong passkey", reason: smp.ReasonConfirmValueFailed, detector: "peripheral",
			c: smp.Config{IOCap: smp.KeyboardOnly, MITM: true}, p: smp.Config{IOCap: smp.DisplayOnly, Passkey: ptr(uint32(123456))},
			ca: smp.ScriptedAgent{Passkey: 654321}},
		{name: "SM/CEN/OOB/BI-01-C legacy OOB with different TKs", reason: smp.ReasonConfirmValueFailed, detector: "peripheral",
			c: smp.Config{SC: smp.LegacyOnly, OOB: &smp.OOBData{TK: &smp.Key{9}}}, p: smp.Config{SC: smp.LegacyOnly, OOB: &smp.OOBData{TK: &tk}}},
		{name: "SM/PER/GEN/BI-01-C pairing not supported", reason: smp.ReasonPairingNotSupported, detector: "peripheral",
			p: smp.Config{NoPairing: true}},
		{name: "SM/PER/KDU/BI-01-C key too short for the peripheral", reason: smp.ReasonEncryptionKeySize, detector: "peripheral",
			c: smp.Config{MaxKeySize: 10}, p: smp.Config{MinKeySize: 16}},
		{name: "SM/CEN/KDU/BI-01-C key too short for the central", reason: smp.ReasonEncryptionKeySize, detector: "central",
			c: smp.Config{MinKeySize: 12}, p: smp.Config{MaxKeySize: 8}},
		{name: "SM/CEN/SCJW/BI-02-C numeric comparison rejected by the central", reason: smp.ReasonNumericComparisonFailed, detector: "central",
			c: smp.Config{IOCap: smp.DisplayYesNo, MITM: true}, p: smp.Config{IOCap: smp.DisplayYesNo},
			ca: smp.ScriptedAgent{Reject: true}},
		{name: "SM/PER/SCJW/BI-03-C numeric comparison rejected by the peripheral", reason: smp.ReasonNumericComparisonFailed, detector: "peripheral",
			c: smp.Config{IOCap: smp.DisplayYesNo, MITM: true}, p: smp.Config{IOCap: smp.DisplayYesNo},
			pa: smp.ScriptedAgent{Reject: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Agent, tt.p.Agent = &tt.ca, &tt.pa
			tt.c.Bonding, tt.p.Bonding = true, true
			r := newRig(t, &tt.c, &tt.p)
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(2 * sim.Second)
			cf, pf := last[smp.PairingFailed](t, r.CEv), last[smp.PairingFailed](t, r.PEv)
			assert.Equal(t, tt.reason, cf.Reason)
			assert.Equal(t, tt.reason, pf.Reason)
			assert.Equal(t, tt.detector == "peripheral", cf.Remote, "the central is told")
			assert.Equal(t, tt.detector == "central", pf.Remote, "the peripheral is told")
			assert.Empty(t, events[smp.PairingComplete](r.CEv))
			assert.Empty(t, events[smp.PairingComplete](r.PEv))
			assert.Zero(t, r.C.Store().Len()+r.P.Store().Len())
			enc, _ := r.CCtl.Encrypted(r.CConn.Handle)
			assert.False(t, enc)
			r.NoViolations(t)
		})
	}
}

// Repeated attempts (§2.3.6): after a Confirm Value Failed the peripheral
// answers the next Pairing Request from the same central with Repeated
// Attempts until its waiting interval ends, and the interval doubles
// with every further failure.
func TestRepeatedAttempts(t *testing.T) {
	pk := uint32(111111)
	ca := &smp.ScriptedAgent{Passkey: 222222}
	r := newRig(t, &smp.Config{IOCap: smp.KeyboardOnly, MITM: true, Agent: ca},
		&smp.Config{IOCap: smp.DisplayOnly, Passkey: &pk, RepeatedAttemptsWait: 5 * sim.Second})
	r.connect()
	h := r.CConn.Handle
	pair := func() smp.PairingFailed {
		t.Helper()
		n := len(events[smp.PairingFailed](r.CEv))
		require.NoError(t, r.C.Pair(h, nil))
		r.run(500 * sim.Millisecond)
		fs := events[smp.PairingFailed](r.CEv)
		require.Len(t, fs, n+1)
		return fs[n]
	}
	start := r.Sched.Now()
	assert.Equal(t, smp.ReasonConfirmValueFailed, pair().Reason)
	until := r.P.RepeatedAttemptsWait(centralAddr)
	require.NotZero(t, until)
	assert.InDelta(t, float64(start.Add(5*sim.Second)), float64(until), float64(sim.Second))
	assert.Equal(t, smp.ReasonRepeatedAttempts, pair().Reason, "too early")
	assert.Equal(t, smp.ReasonRepeatedAttempts, pair().Reason, "still too early")
	r.run(5 * sim.Second)
	assert.Equal(t, smp.ReasonConfirmValueFailed, pair().Reason, "allowed again, wrong passkey again")
	until2 := r.P.RepeatedAttemptsWait(centralAddr)
	assert.InDelta(t, float64(r.Sched.Now().Add(10*sim.Second)), float64(until2), float64(sim.Second), "the wait doubled")
	r.run(11 * sim.Second)
	ca.Passkey = pk
	require.NoError(t, r.C.Pair(h, nil))
	r.run(sim.Second)
	last[smp.PairingComplete](t, r.PEv)
	assert.Zero(t, r.P.RepeatedAttemptsWait(centralAddr), "success clears the record")
	// The central, which detected nothing, never waited.
	assert.Zero(t, r.C.RepeatedAttemptsWait(periphAddr))
}

// Malformed and out-of-place commands from a raw peer: the codes of
// table 3.7 that only a misbehaving peer can cause.
func TestRawPeerFailures(t *testing.T) {
	goodReq := []byte{0x01, 0x03, 0x00, 0x09, 0x10, 0x07, 0x07}
	tests := []struct {
		name    string
		central bool // the raw side is the central (the peripheral is tested)
		send    [][]byte
		want    [][]byte // SMP PDUs the raw side receives
		finding smp.FindingCode
	}{
		{name: "SM/PER/GEN/BI-02-C reserved code", central: true, send: [][]byte{{0x1F, 0x00}}, want: [][]byte{{0x05, 0x07}}},
		{name: "SM/CEN/GEN/BI-01-C Pairing Request to the central", central: false, send: [][]byte{goodReq}, want: [][]byte{{0x05, 0x07}}},
		{name: "SM/PER/GEN/BI-03-C Security Request to the peripheral", central: true, send: [][]byte{{0x0B, 0x01}}, want: [][]byte{{0x05, 0x07}}},
		{name: "SM/PER/GEN/BI-04-C short Pairing Request", central: true, send: [][]byte{{0x01, 0x03, 0x00, 0x01, 0x10, 0x07}}, want: [][]byte{{0x05, 0x0A}}},
		{name: "SM/PER/GEN/BI-05-C long Pairing Confirm", central: true, send: [][]byte{append([]byte{0x03}, make([]byte, 17)...)}, want: [][]byte{{0x05, 0x0A}}},
		{name: "SM/PER/GEN/BI-06-C IO capability out of range", central: true, send: [][]byte{{0x01, 0x09, 0x00, 0x01, 0x10, 0x07, 0x07}}, want: [][]byte{{0x05, 0x0A}}, finding: smp.FindingValueOutOfRange},
		{name: "SM/PER/GEN/BI-07-C OOB flag out of range", central: true, send: [][]byte{{0x01, 0x03, 0x02, 0x01, 0x10, 0x07, 0x07}}, want: [][]byte{{0x05, 0x0A}}, finding: smp.FindingValueOutOfRange},
		{name: "SM/PER/KDU/BI-02-C max key size 17", central: true, send: [][]byte{{0x01, 0x03, 0x00, 0x01, 0x11, 0x07, 0x07}}, want: [][]byte{{0x05, 0x0A}}, finding: smp.FindingValueOutOfRange},
		{name: "SM/PER/KDU/BI-03-C max key size 6", central: true, send: [][]byte{{0x01, 0x03, 0x00, 0x01, 0x06, 0x07, 0x07}}, want: [][]byte{{0x05, 0x06}}, finding: smp.FindingValueOutOfRange},
		{name: "SM/PER/GEN/BI-08-C Pairing Random instead of Public Key", central: true,
			send: [][]byte{goodReq, append([]byte{0x04}, seq16()...)}, want: [][]byte{nil, {0x05, 0x08}}, finding: smp.FindingUnexpectedPDU},
		{name: "SM/PER/GEN/BV-01-C reserved AuthReq bits are only reported", central: true,
			send: [][]byte{{0x01, 0x03, 0x00, 0xC9, 0x10, 0x07, 0x07}}, want: [][]byte{{0x02, 0x00, 0x00, 0x08, 0x10, 0x00, 0x00}}, finding: smp.FindingValueOutOfRange},
		{name: "SM/PER/GEN/BV-02-C empty PDU dropped", central: true, send: [][]byte{{}}, want: nil},
		{name: "SM/PER/GEN/BV-03-C stray Pairing Confirm dropped", central: true, send: [][]byte{append([]byte{0x03}, seq16()...)}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *rig
			if tt.central {
				r = newRig(t, nil, &smp.Config{})
			} else {
				r = newRig(t, &smp.Config{}, nil)
			}
			r.connect()
			var got [][]byte
			for _, b := range tt.send {
				r.sendRaw(b)
				r.run(100 * sim.Millisecond)
				if len(r.raw) > 0 {
					got = append(got, r.raw[0])
					r.raw = r.raw[1:]
				} else {
					got = append(got, nil)
				}
			}
			want := tt.want
			if want == nil {
				want = make([][]byte, len(tt.send))
			}
			// Only compare the first PDU of an answer (a Pairing Response
			// may be followed by a public key, etc.).
			for i := range want {
				if want[i] == nil {
					continue
				}
				require.Equal(t, want[i][:min(len(want[i]), 2)], got[i][:min(len(got[i]), 2)], "answer %d: %x", i, got[i])
				if len(want[i]) > 2 {
					require.Equal(t, want[i], got[i])
				}
			}
			for i := range want {
				if want[i] == nil && i < len(got) && len(tt.want) == 0 {
					assert.Nil(t, got[i])
				}
			}
			evs := r.PEv
			if !tt.central {
				evs = r.CEv
			}
			if tt.finding != "" {
				require.NotEmpty(t, findings(evs, tt.finding), "%v", evs)
			}
		})
	}
}

func seq16() []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(0x31*(i+3) ^ 0x5c)
	}
	return b
}

// SMP timeout (§3.4): 30 s after the last command sent, the pairing fails
// and no SMP command is sent or processed on that link any more.
func TestSMPTimeout(t *testing.T) {
	r := newRig(t, nil, &smp.Config{})
	r.connect()
	r.sendRaw([]byte{0x01, 0x03, 0x00, 0x09, 0x10, 0x00, 0x00})
	r.run(100 * sim.Millisecond)
	require.Len(t, r.raw, 1, "Pairing Response")
	r.run(29 * sim.Second)
	assert.Empty(t, events[smp.PairingFailed](r.PEv))
	r.run(sim.Second)
	f := last[smp.PairingFailed](t, r.PEv)
	assert.True(t, f.Timeout)
	// The link stays up but SMP is dead.
	r.raw = nil
	r.sendRaw([]byte{0x01, 0x03, 0x00, 0x09, 0x10, 0x00, 0x00})
	r.sendRaw([]byte{0x1F})
	r.run(sim.Second)
	assert.Empty(t, r.raw, "no SMP after the timeout")
	assert.ErrorIs(t, r.P.SecurityRequest(r.PConn.Handle), smp.ErrTimedOut)
	assert.False(t, r.PConn.Closed())
	// A new connection starts afresh.
	r.PConn.Disconnect(hci.StatusRemoteUserTerminated)
	r.run(sim.Second)
	r.connect()
	r.raw = nil
	r.sendRaw([]byte{0x01, 0x03, 0x00, 0x09, 0x10, 0x00, 0x00})
	r.run(100 * sim.Millisecond)
	require.NotEmpty(t, r.raw)
	assert.Equal(t, byte(0x02), r.raw[0][0])
}

// The central's timer: a peripheral that never answers the Pairing
// Request.
func TestSMPTimeoutCentral(t *testing.T) {
	r := newRig(t, &smp.Config{}, nil)
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(31 * sim.Second)
	f := last[smp.PairingFailed](t, r.CEv)
	assert.True(t, f.Timeout)
	assert.ErrorIs(t, r.C.Pair(r.CConn.Handle, nil), smp.ErrTimedOut)
}
