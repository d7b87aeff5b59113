package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// A device with Faults.SendUnnegotiatedKeys distributes keys the Pairing
// Response did not negotiate (Vol 3 Part H §3.6.1), with fixed key
// material when asked. The peer reports FindingKeyNotNegotiated (and
// FindingNonRandomKey for weak values); a strict peer fails the pairing
// with Pairing Failed Unspecified Reason (0x08) at the first such key, a
// lenient one ignores those keys and completes.
func TestUnnegotiatedKeys(t *testing.T) {
	D := func(d smp.KeyDist) *smp.KeyDist { return &d }
	enc, id, sign := smp.DistEncKey, smp.DistIdKey, smp.DistSignKey
	rpiLTK := smp.Key(hx(t, "ffeeddccbbaa99887766554433221100"))
	rpiFaults := smp.Faults{SendUnnegotiatedKeys: true, FixedLTK: &rpiLTK, FixedEDIV: ptr(uint16(0x000c)), FixedRand: ptr(uint64(0x8877665544332211))}
	// The Raspberry Pi of field-traces/rpi-key-distribution.btmon.txt:
	// KeyboardOnly, Bonding + MITM requested, legacy, EncKey|Sign both
	// ways; and the peripheral: NoInputNoOutput, initiator Sign only,
	// responder EncKey only.
	rpi := smp.Config{IOCap: smp.KeyboardOnly, Bonding: true, RequestMITM: true, SC: smp.LegacyOnly,
		Distribute: D(enc | sign), Request: D(enc | sign), Faults: rpiFaults}
	periph := smp.Config{IOCap: smp.NoInputNoOutput, Bonding: true, SC: smp.LegacyOnly, Distribute: D(enc), Request: D(sign)}
	with := func(c smp.Config, f func(*smp.Config)) smp.Config { f(&c); return c }
	strict := func(c *smp.Config) { c.Strict = true }

	type want struct {
		failed      bool       // the pairing fails: Pairing Failed 0x08 from the detector
		detector    string     // "central" or "peripheral": who reports the findings
		notNeg      []smp.Code // FindingKeyNotNegotiated, in order
		nonRandom   int        // FindingNonRandomKey count
		nonRandomIn string     // ... the first one's message mentions this
	}
	tests := []struct {
		name string
		c, p smp.Config
		want want
	}{
		{name: "field trace: strict peripheral fails the pairing", c: rpi, p: with(periph, strict),
			want: want{failed: true, detector: "peripheral", notNeg: []smp.Code{smp.CodeEncryptionInformation}, nonRandom: 1, nonRandomIn: "LTK in Encryption Information is a counting sequence"}},
		{name: "field trace: lenient peripheral ignores the keys", c: rpi, p: periph,
			want: want{detector: "peripheral", notNeg: []smp.Code{smp.CodeEncryptionInformation, smp.CodeCentralIdentification}, nonRandom: 2, nonRandomIn: "LTK"}},
		{name: "conforming central (control)", c: with(rpi, func(c *smp.Config) { c.Faults = smp.Faults{} }), p: with(periph, strict),
			want: want{detector: "peripheral"}},
		{name: "SC: an LTK distributed at all is not negotiated", c: smp.Config{Bonding: true, Faults: smp.Faults{SendUnnegotiatedKeys: true}},
			p:    smp.Config{Bonding: true, Strict: true},
			want: want{failed: true, detector: "peripheral", notNeg: []smp.Code{smp.CodeEncryptionInformation}}},
		{name: "peripheral sends every key, strict central asked for IdKey only", c: smp.Config{Bonding: true, SC: smp.LegacyOnly, Request: D(id), Strict: true},
			p:    smp.Config{Bonding: true, SC: smp.LegacyOnly, Faults: smp.Faults{SendUnnegotiatedKeys: true}},
			want: want{failed: true, detector: "central", notNeg: []smp.Code{smp.CodeEncryptionInformation}}},
		{name: "negotiated keys with Rand zero: strict peripheral fails", c: smp.Config{Bonding: true, SC: smp.LegacyOnly,
			Faults: smp.Faults{FixedEDIV: ptr(uint16(0)), FixedRand: ptr(uint64(0))}}, p: smp.Config{Bonding: true, SC: smp.LegacyOnly, Strict: true},
			want: want{failed: true, detector: "peripheral", nonRandom: 1, nonRandomIn: "Rand in Central Identification is all octets are 0x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, &tt.c, &tt.p)
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(sim.Second)
			det, other := r.PEv, r.CEv
			if tt.want.detector == "central" {
				det, other = r.CEv, r.PEv
			}
			var codes []smp.Code
			for _, f := range findings(det, smp.FindingKeyNotNegotiated) {
				codes = append(codes, smp.Code(f.PDU[0]))
			}
			assert.Equal(t, tt.want.notNeg, codes, "keys not negotiated")
			nr := findings(det, smp.FindingNonRandomKey)
			require.Len(t, nr, tt.want.nonRandom, "non-random keys: %v", nr)
			if len(nr) > 0 {
				assert.Contains(t, nr[0].Message, tt.want.nonRandomIn)
			}
			assert.Empty(t, events[smp.Finding](other), "the misbehaving side reports nothing")
			if !tt.want.failed {
				assert.Empty(t, events[smp.PairingFailed](det))
				pc := last[smp.PairingComplete](t, det)
				assert.Equal(t, smp.JustWorks, last[smp.PairingComplete](t, other).Method)
				if tt.want.detector == "peripheral" {
					assert.Nil(t, pc.Keys.LTK, "keys that were not negotiated are not kept")
				}
				return
			}
			f := last[smp.PairingFailed](t, det)
			assert.Equal(t, smp.ReasonUnspecified, f.Reason)
			assert.False(t, f.Remote)
			assert.Empty(t, events[smp.PairingComplete](det))
			rf := last[smp.PairingFailed](t, other)
			assert.Equal(t, smp.ReasonUnspecified, rf.Reason)
			assert.True(t, rf.Remote, "the misbehaving side hears Pairing Failed")
		})
	}
}

// The fixed key material is what goes on the air, bytes as btmon prints
// them in the field trace.
func TestFixedKeyMaterialOnAir(t *testing.T) {
	ltk := smp.Key(hx(t, "ffeeddccbbaa99887766554433221100"))
	enc := smp.DistEncKey
	r := newRig(t, &smp.Config{Bonding: true, SC: smp.LegacyOnly, Distribute: &enc,
		Faults: smp.Faults{FixedLTK: &ltk, FixedEDIV: ptr(uint16(0x000c)), FixedRand: ptr(uint64(0x8877665544332211))}},
		&smp.Config{Bonding: true, SC: smp.LegacyOnly})
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	var pdus [][]byte
	for _, f := range events[smp.Finding](r.PEv) {
		pdus = append(pdus, f.PDU)
	}
	assert.Equal(t, [][]byte{append([]byte{0x06}, ltk[:]...), hx(t, "070c001122334455667788")}, pdus)
	cc := last[smp.PairingComplete](t, r.CEv)
	assert.Equal(t, ltk, *cc.Keys.Local.LTK, "the central's bond keeps the LTK it sent")
	b, ok := r.P.Store().Get(centralAddr)
	require.True(t, ok)
	assert.Equal(t, ltk, *b.LTK, "lenient peripheral keeps negotiated (if weak) keys")
	assert.Equal(t, uint16(0x000c), b.EDIV)
}

// RequestMITM sets the MITM flag of the Pairing Request without requiring
// an authenticated key: against NoInputNoOutput the pairing is Just Works
// and completes, where MITM fails it with Authentication Requirements.
func TestRequestMITM(t *testing.T) {
	for _, tt := range []struct {
		name       string
		c          smp.Config
		authReq    byte
		failReason smp.Reason
	}{
		{name: "request", c: smp.Config{IOCap: smp.KeyboardOnly, Bonding: true, RequestMITM: true, SC: smp.LegacyOnly}, authReq: 0x05},
		{name: "require", c: smp.Config{IOCap: smp.KeyboardOnly, Bonding: true, MITM: true, SC: smp.LegacyOnly}, authReq: 0x05,
			failReason: smp.ReasonAuthenticationRequirements},
		{name: "neither", c: smp.Config{IOCap: smp.KeyboardOnly, Bonding: true, SC: smp.LegacyOnly}, authReq: 0x01},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := newRig(t, &tt.c, nil)
			raw.connect()
			require.NoError(t, raw.C.Pair(raw.CConn.Handle, nil))
			raw.run(100 * sim.Millisecond)
			preq := raw.next()
			require.Equal(t, byte(0x01), preq[0])
			assert.Equal(t, tt.authReq, preq[3], "AuthReq of %x", preq)

			r := newRig(t, &tt.c, &smp.Config{IOCap: smp.NoInputNoOutput, Bonding: true})
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(sim.Second)
			if tt.failReason != 0 {
				assert.Equal(t, tt.failReason, last[smp.PairingFailed](t, r.CEv).Reason)
				return
			}
			pc := last[smp.PairingComplete](t, r.CEv)
			assert.Equal(t, smp.JustWorks, pc.Method)
			assert.False(t, pc.Authenticated)
		})
	}
}

// Fixed LE Secure Connections OOB data (an NFC tag): the peer that got r
// and C pairs OOB, again and again with the same key pair; a wrong C
// fails with Confirm Value Failed.
func TestFixedLocalOOB(t *testing.T) {
	tag := smp.LocalOOB{PrivateKey: [32]byte{31: 0x2a}, R: smp.Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
	r0, c0, err := tag.Data()
	require.NoError(t, err)
	assert.Equal(t, tag.R, r0)
	wrongC := c0
	wrongC[0] ^= 1
	_, _, err = smp.LocalOOB{}.Data()
	require.Error(t, err, "the zero scalar is not a private key")
	for _, tt := range []struct {
		name   string
		c      smp.Key
		reason smp.Reason
	}{
		{name: "right confirm", c: c0},
		{name: "wrong confirm", c: wrongC, reason: smp.ReasonConfirmValueFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, &smp.Config{Bonding: true, OOB: &smp.OOBData{PeerR: &r0, PeerC: &tt.c}},
				&smp.Config{Bonding: true, LocalOOB: &tag})
			for i := range 2 {
				if i == 0 {
					r.connect()
				} else {
					r.reconnect()
				}
				require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
				r.run(sim.Second)
				if tt.reason != 0 {
					assert.Equal(t, tt.reason, last[smp.PairingFailed](t, r.CEv).Reason)
					assert.Equal(t, tt.reason, last[smp.PairingFailed](t, r.PEv).Reason)
					return
				}
				pc := last[smp.PairingComplete](t, r.CEv)
				assert.Equal(t, smp.OutOfBand, pc.Method)
				assert.True(t, pc.SC)
			}
			assert.Len(t, findings(r.CEv, smp.FindingPublicKeyReused), 1, "a tag's fixed key is the same every pairing")
		})
	}
	_, err = smp.New(quietLog(t), newRig(t, nil, nil).Central, nil, smp.Config{LocalOOB: &smp.LocalOOB{}})
	require.Error(t, err)
}
