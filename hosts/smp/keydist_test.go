package smp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Key distribution strictly as negotiated (Vol 3 Part H §3.6.1): the
// responder answers with the intersection of what was asked and what it
// offers, each side sends exactly its negotiated keys in order, EncKey is
// ignored in Secure Connections, nothing is distributed or stored without
// bonding.
func TestKeyDistribution(t *testing.T) {
	D := func(d smp.KeyDist) *smp.KeyDist { return &d }
	enc, id, sign, all := smp.DistEncKey, smp.DistIdKey, smp.DistSignKey, smp.DistAll
	tests := []struct {
		name                string
		c, p                smp.Config
		cSent, cRecv        smp.KeyDist
		bonded              bool
		centralHasLTK       bool
		centralHasPeerIRK   bool
		peripheralHasLTKOwn bool
	}{
		{name: "SM/CEN/KDU/BV-01-C legacy, all keys both ways", c: smp.Config{SC: smp.LegacyOnly}, p: smp.Config{SC: smp.LegacyOnly},
			cSent: all, cRecv: all, bonded: true, centralHasLTK: true, centralHasPeerIRK: true, peripheralHasLTKOwn: true},
		{name: "SM/CEN/KDU/BV-02-C SC ignores EncKey", c: smp.Config{}, p: smp.Config{},
			cSent: id | sign, cRecv: id | sign, bonded: true, centralHasLTK: true, centralHasPeerIRK: true},
		{name: "SM/PER/KDU/BV-03-C BlueZ asks EncKey+Sign, peripheral gives EncKey and wants Sign", c: smp.Config{SC: smp.LegacyOnly, Distribute: D(enc | sign), Request: D(enc | sign)},
			p:     smp.Config{SC: smp.LegacyOnly, Distribute: D(enc), Request: D(sign)},
			cSent: sign, cRecv: enc, bonded: true, centralHasLTK: true, peripheralHasLTKOwn: true},
		{name: "SM/PER/KDU/BV-04-C peripheral distributes nothing", c: smp.Config{SC: smp.LegacyOnly}, p: smp.Config{SC: smp.LegacyOnly, Distribute: D(0)},
			cSent: all, cRecv: 0, bonded: true},
		{name: "SM/CEN/KDU/BV-05-C only identity keys, SC", c: smp.Config{Distribute: D(id), Request: D(id)}, p: smp.Config{},
			cSent: id, cRecv: id, bonded: true, centralHasLTK: true, centralHasPeerIRK: true},
		{name: "SM/CEN/KDU/BV-06-C no bonding, legacy", c: smp.Config{SC: smp.LegacyOnly, Bonding: false}, p: smp.Config{SC: smp.LegacyOnly},
			cSent: 0, cRecv: 0, bonded: false},
		{name: "SM/PER/KDU/BV-07-C peripheral does not bond", c: smp.Config{}, p: smp.Config{Bonding: false},
			cSent: 0, cRecv: 0, bonded: false, centralHasLTK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "SM/CEN/KDU/BV-06-C no bonding, legacy" {
				tt.c.Bonding = true
			}
			if tt.name != "SM/PER/KDU/BV-07-C peripheral does not bond" {
				tt.p.Bonding = true
			}
			r := newRig(t, &tt.c, &tt.p)
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(sim.Second)
			cc, pc := last[smp.PairingComplete](t, r.CEv), last[smp.PairingComplete](t, r.PEv)
			assert.Equal(t, tt.cSent, cc.Sent)
			assert.Equal(t, tt.cRecv, cc.Received)
			assert.Equal(t, tt.cSent, pc.Received)
			assert.Equal(t, tt.cRecv, pc.Sent)
			assert.Equal(t, tt.bonded, cc.Bonded)
			assert.Equal(t, tt.bonded, pc.Bonded)
			assert.Equal(t, tt.centralHasLTK, cc.Keys.LTK != nil)
			assert.Equal(t, tt.centralHasPeerIRK, cc.Keys.PeerIRK != nil)
			assert.Equal(t, tt.peripheralHasLTKOwn, pc.Keys.Local.LTK != nil)
			assert.Equal(t, tt.cRecv&sign != 0, cc.Keys.PeerCSRK != nil)
			assert.Equal(t, tt.cSent&sign != 0, pc.Keys.PeerCSRK != nil)
			n := 0
			if tt.bonded {
				n = 1
			}
			assert.Equal(t, n, r.C.Store().Len())
			assert.Equal(t, n, r.P.Store().Len())
			assert.Empty(t, r.C.Findings())
			assert.Empty(t, r.P.Findings())
		})
	}
}

// The peripheral distributes an identity address different from its
// connection address: the central keys the bond by the identity.
func TestIdentityAddressDistribution(t *testing.T) {
	identity := smp.Address{Type: hci.AddrRandom, Addr: hci.BDAddr{0xE0, 0xF3, 0x76, 0x4C, 0xA7, 0xD2}}
	// The peripheral connects with its public address (OwnAddress) but
	// distributes a static random identity.
	r := newRig(t, &smp.Config{Bonding: true}, &smp.Config{Bonding: true, Identity: &identity,
		OwnAddress: func() smp.Address { return periphAddr }})
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	cc := last[smp.PairingComplete](t, r.CEv)
	assert.Equal(t, identity, cc.Peer)
	_, ok := r.C.Store().Get(identity)
	assert.True(t, ok)
	_, ok = r.C.Store().Get(periphAddr)
	assert.False(t, ok)
	id, _ := r.C.PeerIdentity(r.CConn.Handle)
	assert.Equal(t, identity, id)
}

// Key size negotiation and reduction (§2.3.4): the smaller maximum wins,
// and the STK/LTK and the distributed LTK keep only that many octets (the
// rest are zero: in wire order, the last ones).
func TestKeySizeReduction(t *testing.T) {
	for _, sc := range []smp.SCMode{smp.LegacyOnly, smp.SCSupported} {
		t.Run(sc.String(), func(t *testing.T) {
			r := newRig(t, &smp.Config{Bonding: true, SC: sc, MaxKeySize: 9}, &smp.Config{Bonding: true, SC: sc, MaxKeySize: 12})
			r.connect()
			require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
			r.run(sim.Second)
			cc := last[smp.PairingComplete](t, r.CEv)
			assert.Equal(t, 9, cc.KeySize)
			_, k := r.CCtl.Encrypted(r.CConn.Handle)
			assert.Equal(t, make([]byte, 7), k[9:], "link key reduced to 9 octets: %x", k)
			assert.NotEqual(t, make([]byte, 9), k[:9])
			assert.Equal(t, make([]byte, 7), cc.Keys.LTK[9:], "bond LTK reduced")
			assert.Equal(t, 9, r.CConn.KeySize)
			assert.Equal(t, 9, r.PConn.KeySize)
			b, _ := r.P.Store().Get(centralAddr)
			assert.Equal(t, 9, b.KeySize)
			assert.Empty(t, r.P.Findings(), "a reduced key is not flagged as non-random")
		})
	}
}
