package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// side is one device's part of a pairing test case.
type side struct {
	io   smp.IOCapability
	mitm bool
	sc   smp.SCMode
}

func (s side) config(a *smp.ScriptedAgent) *smp.Config {
	return &smp.Config{IOCap: s.io, MITM: s.mitm, SC: s.sc, Bonding: true, Agent: a}
}

// Every association model end to end, in both roles, over the fake
// controller: feature exchange, authentication, encryption with the STK or
// LTK (both controllers must end up with the same key, or the link would
// die with a MIC failure), key distribution and bonding.
func TestAssociationModels(t *testing.T) {
	tk := smp.Key{0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}
	const (
		oobNone = iota
		oobLegacy
		oobSCBoth
		oobSCCentralHasPeripherals // only the central received the peripheral's OOB data
	)
	tests := []struct {
		name    string
		c, p    side
		oob     int
		method  smp.Method
		sc      bool
		bothKey bool // both users type the same passkey
	}{
		{name: "SM/CEN/JW/BV-01-C legacy Just Works", c: side{io: smp.NoInputNoOutput, sc: smp.LegacyOnly}, p: side{io: smp.NoInputNoOutput, sc: smp.LegacyOnly}, method: smp.JustWorks},
		{name: "SM/PER/JW/BV-02-C legacy Just Works, display devices without MITM", c: side{io: smp.DisplayYesNo, sc: smp.LegacyOnly}, p: side{io: smp.DisplayOnly, sc: smp.LegacyOnly}, method: smp.JustWorks},
		{name: "SM/CEN/JW/BI-xx legacy peripheral vs SC central", c: side{io: smp.NoInputNoOutput}, p: side{io: smp.NoInputNoOutput, sc: smp.LegacyOnly}, method: smp.JustWorks},
		{name: "SM/CEN/PKE/BV-01-C legacy passkey, central types", c: side{io: smp.KeyboardOnly, mitm: true, sc: smp.LegacyOnly}, p: side{io: smp.DisplayOnly, mitm: true, sc: smp.LegacyOnly}, method: smp.PasskeyInitiatorInputs},
		{name: "SM/PER/PKE/BV-02-C legacy passkey, peripheral types", c: side{io: smp.DisplayOnly, mitm: true, sc: smp.LegacyOnly}, p: side{io: smp.KeyboardOnly, mitm: true, sc: smp.LegacyOnly}, method: smp.PasskeyResponderInputs},
		{name: "SM/PER/PKE/BV-03-C legacy passkey, keyboard display both", c: side{io: smp.KeyboardDisplay, mitm: true, sc: smp.LegacyOnly}, p: side{io: smp.KeyboardDisplay, sc: smp.LegacyOnly}, method: smp.PasskeyResponderInputs},
		{name: "SM/CEN/PKE/BV-04-C legacy passkey, both keyboards", c: side{io: smp.KeyboardOnly, mitm: true, sc: smp.LegacyOnly}, p: side{io: smp.KeyboardOnly, sc: smp.LegacyOnly}, method: smp.PasskeyBothInput, bothKey: true},
		{name: "SM/CEN/OOB/BV-01-C legacy OOB", c: side{io: smp.NoInputNoOutput, sc: smp.LegacyOnly}, p: side{io: smp.NoInputNoOutput, mitm: true, sc: smp.LegacyOnly}, oob: oobLegacy, method: smp.OutOfBand},
		{name: "SM/CEN/SCJW/BV-01-C SC Just Works", c: side{io: smp.NoInputNoOutput}, p: side{io: smp.NoInputNoOutput}, method: smp.JustWorks, sc: true},
		{name: "SM/PER/SCJW/BV-02-C SC Just Works, NoInputNoOutput peripheral", c: side{io: smp.KeyboardDisplay}, p: side{io: smp.NoInputNoOutput}, method: smp.JustWorks, sc: true},
		{name: "SM/CEN/SCJW/BV-04-C SC Numeric Comparison", c: side{io: smp.DisplayYesNo, mitm: true}, p: side{io: smp.DisplayYesNo, mitm: true}, method: smp.NumericComparison, sc: true},
		{name: "SM/PER/SCJW/BV-03-C SC Numeric Comparison, keyboard display", c: side{io: smp.KeyboardDisplay, mitm: true}, p: side{io: smp.DisplayYesNo}, method: smp.NumericComparison, sc: true},
		{name: "SM/CEN/SCPK/BV-01-C SC passkey, central types", c: side{io: smp.KeyboardOnly, mitm: true}, p: side{io: smp.DisplayOnly}, method: smp.PasskeyInitiatorInputs, sc: true},
		{name: "SM/PER/SCPK/BV-02-C SC passkey, peripheral types", c: side{io: smp.DisplayOnly, mitm: true}, p: side{io: smp.KeyboardDisplay, mitm: true}, method: smp.PasskeyResponderInputs, sc: true},
		{name: "SM/CEN/SCPK/BV-03-C SC passkey, both keyboards", c: side{io: smp.KeyboardOnly}, p: side{io: smp.KeyboardOnly, mitm: true}, method: smp.PasskeyBothInput, sc: true, bothKey: true},
		{name: "SM/CEN/SCOB/BV-01-C SC OOB both ways", c: side{io: smp.NoInputNoOutput}, p: side{io: smp.NoInputNoOutput}, oob: oobSCBoth, method: smp.OutOfBand, sc: true},
		{name: "SM/PER/SCOB/BV-02-C SC OOB, only the central got OOB data", c: side{io: smp.DisplayYesNo}, p: side{io: smp.NoInputNoOutput, mitm: true}, oob: oobSCCentralHasPeripherals, method: smp.OutOfBand, sc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, pa := &smp.ScriptedAgent{}, &smp.ScriptedAgent{}
			ca.PasskeyFrom, pa.PasskeyFrom = pa.LastDisplayed, ca.LastDisplayed
			if tt.bothKey {
				ca.PasskeyFrom, pa.PasskeyFrom = nil, nil
				ca.Passkey, pa.Passkey = 246810, 246810
			}
			ccfg, pcfg := tt.c.config(ca), tt.p.config(pa)
			switch tt.oob {
			case oobLegacy:
				ccfg.OOB, pcfg.OOB = &smp.OOBData{TK: &tk}, &smp.OOBData{TK: &tk}
			case oobSCBoth, oobSCCentralHasPeripherals:
				ccfg.OOB, pcfg.OOB = &smp.OOBData{}, &smp.OOBData{}
			}
			r := newRig(t, ccfg, pcfg)
			switch tt.oob {
			case oobSCBoth:
				cr, cc, err := r.C.LocalSCOOB()
				require.NoError(t, err)
				pr, pc, err := r.P.LocalSCOOB()
				require.NoError(t, err)
				ccfg.OOB.PeerR, ccfg.OOB.PeerC = &pr, &pc
				pcfg.OOB.PeerR, pcfg.OOB.PeerC = &cr, &cc
			case oobSCCentralHasPeripherals:
				pr, pc, err := r.P.LocalSCOOB()
				require.NoError(t, err)
				ccfg.OOB.PeerR, ccfg.OOB.PeerC = &pr, &pc
			}
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(2 * sim.Second)
			r.NoViolations(t)
			require.Empty(t, events[smp.PairingFailed](r.CEv), "central: %v", r.CEv)
			require.Empty(t, events[smp.PairingFailed](r.PEv), "peripheral: %v", r.PEv)
			cc, pc := last[smp.PairingComplete](t, r.CEv), last[smp.PairingComplete](t, r.PEv)
			for _, c := range []smp.PairingComplete{cc, pc} {
				assert.Equal(t, tt.method, c.Method)
				assert.Equal(t, tt.sc, c.SC)
				assert.Equal(t, tt.method != smp.JustWorks, c.Authenticated)
				assert.Equal(t, 16, c.KeySize)
				assert.True(t, c.Bonded)
			}
			assert.Equal(t, periphAddr, cc.Peer)
			assert.Equal(t, centralAddr, pc.Peer)
			// Both controllers encrypt with the same key.
			ce, ck := r.CCtl.Encrypted(r.CConn.Handle)
			pe, pk := r.PCtl.Encrypted(r.PConn.Handle)
			require.True(t, ce)
			require.True(t, pe)
			require.Equal(t, ck, pk)
			assert.True(t, r.CConn.Encrypted && r.PConn.Encrypted)
			assert.Equal(t, tt.method != smp.JustWorks, r.CConn.Authenticated)
			assert.Equal(t, 16, r.PConn.KeySize)
			// The bonds agree.
			cb, ok := r.C.Store().Get(periphAddr)
			require.True(t, ok)
			pb, ok := r.P.Store().Get(centralAddr)
			require.True(t, ok)
			if tt.sc {
				require.Equal(t, smp.Key(ck), *cb.LTK, "SC: the link key is the LTK")
				require.Equal(t, *cb.LTK, *pb.LTK)
			} else {
				require.Equal(t, *cb.LTK, *pb.Local.LTK, "the peripheral's distributed LTK")
				require.Equal(t, cb.EDIV, pb.Local.EDIV)
				require.Equal(t, cb.Rand, pb.Local.Rand)
				require.Equal(t, *pb.LTK, *cb.Local.LTK, "the central's distributed LTK")
				require.NotEqual(t, smp.Key(ck), *cb.LTK, "legacy: the link runs on the STK")
			}
			require.Equal(t, *cb.PeerIRK, *pb.Local.IRK)
			require.Equal(t, *pb.PeerCSRK, *cb.Local.CSRK)
			// The users saw what the model calls for.
			switch {
			case tt.bothKey:
				assert.Equal(t, 1, ca.Requested)
				assert.Equal(t, 1, pa.Requested)
			case tt.method.Passkey():
				shower, typer := pa, ca
				if tt.method == smp.PasskeyResponderInputs {
					shower, typer = ca, pa
				}
				require.Len(t, shower.Displayed, 1)
				assert.Equal(t, 1, typer.Requested)
				assert.Empty(t, typer.Displayed)
			case tt.method == smp.NumericComparison:
				require.Len(t, ca.Compared, 1)
				require.Equal(t, ca.Compared, pa.Compared)
				assert.Less(t, ca.Compared[0], uint32(1000000))
			default:
				assert.Empty(t, ca.Displayed)
				assert.Empty(t, pa.Displayed)
				assert.Zero(t, ca.Requested+pa.Requested)
			}
			assert.Empty(t, r.C.Findings())
			assert.Empty(t, r.P.Findings())
		})
	}
}

// TestMethodTables checks the association model tables (Vol 3 Part H
// §2.3.5.1, Tables 2.6, 2.7 and 2.8) cell by cell against the spec text.
func TestMethodTables(t *testing.T) {
	const (
		DO, DY, KO, NO, KD = smp.DisplayOnly, smp.DisplayYesNo, smp.KeyboardOnly, smp.NoInputNoOutput, smp.KeyboardDisplay
	)
	JW, PI, PR, PB, NC := smp.JustWorks, smp.PasskeyInitiatorInputs, smp.PasskeyResponderInputs, smp.PasskeyBothInput, smp.NumericComparison
	// Table 2.8, rows = responder, columns = initiator; {legacy, SC}.
	want := map[smp.IOCapability]map[smp.IOCapability][2]smp.Method{
		DO: {DO: {JW, JW}, DY: {JW, JW}, KO: {PI, PI}, NO: {JW, JW}, KD: {PI, PI}},
		DY: {DO: {JW, JW}, DY: {JW, NC}, KO: {PI, PI}, NO: {JW, JW}, KD: {PI, NC}},
		KO: {DO: {PR, PR}, DY: {PR, PR}, KO: {PB, PB}, NO: {JW, JW}, KD: {PR, PR}},
		NO: {DO: {JW, JW}, DY: {JW, JW}, KO: {JW, JW}, NO: {JW, JW}, KD: {JW, JW}},
		KD: {DO: {PR, PR}, DY: {PR, NC}, KO: {PI, PI}, NO: {JW, JW}, KD: {PR, NC}},
	}
	for resp, row := range want {
		for init, m := range row {
			for sc := range 2 {
				req := smp.PairingParams{IOCap: init, AuthReq: smp.AuthMITM}
				rsp := smp.PairingParams{IOCap: resp}
				assert.Equal(t, m[sc], smp.SelectMethod(req, rsp, sc == 1), "init %s resp %s sc %d", init, resp, sc)
				// MITM on either side is enough; on neither it is Just Works.
				assert.Equal(t, m[sc], smp.SelectMethod(smp.PairingParams{IOCap: init}, smp.PairingParams{IOCap: resp, AuthReq: smp.AuthMITM}, sc == 1))
				assert.Equal(t, JW, smp.SelectMethod(smp.PairingParams{IOCap: init}, rsp, sc == 1))
			}
		}
	}
	// Table 2.6 (legacy): OOB only when both have OOB data, whatever MITM.
	// Table 2.7 (SC): OOB when either has.
	for _, tc := range []struct {
		iOOB, rOOB   uint8
		legacy, scOK bool
	}{{0, 0, false, false}, {1, 0, false, true}, {0, 1, false, true}, {1, 1, true, true}} {
		req := smp.PairingParams{IOCap: KD, OOB: tc.iOOB}
		rsp := smp.PairingParams{IOCap: KD, OOB: tc.rOOB}
		assert.Equal(t, tc.legacy, smp.SelectMethod(req, rsp, false) == smp.OutOfBand, "legacy %+v", tc)
		assert.Equal(t, tc.scOK, smp.SelectMethod(req, rsp, true) == smp.OutOfBand, "sc %+v", tc)
	}
}
