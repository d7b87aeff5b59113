package smp_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

func (r *rig) reconnect() {
	r.t.Helper()
	r.CConn.Disconnect(hci.StatusRemoteUserTerminated)
	r.run(sim.Second)
	r.connect()
}

func bondAndReconnect(t *testing.T, ccfg, pcfg *smp.Config) *rig {
	t.Helper()
	ccfg.Bonding, pcfg.Bonding = true, true
	r := newRig(t, ccfg, pcfg)
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	last[smp.PairingComplete](t, r.CEv)
	r.reconnect()
	r.CEv, r.PEv = nil, nil
	return r
}

// Reconnection (SM/CEN/EKS/BV-01-C style): the central encrypts with the
// bond (legacy: the peripheral's LTK, EDIV and Rand; SC: the LTK with
// EDIV = Rand = 0) and the peripheral finds the key in its bonds.
func TestReconnectionEncryption(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   smp.SCMode
		io   smp.IOCapability
	}{{"SM/CEN/EKS/BV-01-C legacy", smp.LegacyOnly, smp.NoInputNoOutput}, {"SM/CEN/EKS/BV-02-C SC numeric comparison", smp.SCSupported, smp.DisplayYesNo}} {
		t.Run(tc.name, func(t *testing.T) {
			r := bondAndReconnect(t, &smp.Config{SC: tc.sc, IOCap: tc.io, MITM: tc.sc != smp.LegacyOnly, Agent: &smp.ScriptedAgent{}}, &smp.Config{SC: tc.sc, IOCap: tc.io, Agent: &smp.ScriptedAgent{}})
			assert.True(t, r.CConn.HasLTK)
			assert.True(t, r.PConn.HasLTK)
			require.NoError(t, r.C.Encrypt(r.CConn.Handle))
			r.run(100 * sim.Millisecond)
			ce, pe := last[smp.EncryptionChanged](t, r.CEv), last[smp.EncryptionChanged](t, r.PEv)
			for _, e := range []smp.EncryptionChanged{ce, pe} {
				assert.Equal(t, hci.StatusSuccess, e.Status)
				assert.True(t, e.Enabled)
				assert.True(t, e.FromBond)
				assert.Equal(t, 16, e.KeySize)
				assert.Equal(t, tc.sc != smp.LegacyOnly, e.Authenticated)
			}
			_, ck := r.CCtl.Encrypted(r.CConn.Handle)
			_, pk := r.PCtl.Encrypted(r.PConn.Handle)
			assert.Equal(t, ck, pk)
			b, _ := r.C.Store().Get(periphAddr)
			assert.Equal(t, smp.Key(ck), *b.LTK)
			assert.Equal(t, tc.sc != smp.LegacyOnly, r.PConn.Authenticated)
			assert.Empty(t, events[smp.PairingStarted](r.CEv), "no pairing")
			assert.Equal(t, 2, b.Connections)
			// Encrypting again refreshes the key (Encryption Key Refresh
			// Complete).
			require.NoError(t, r.C.Encrypt(r.CConn.Handle))
			r.run(100 * sim.Millisecond)
			ce = last[smp.EncryptionChanged](t, r.CEv)
			assert.True(t, ce.Refresh && ce.Enabled && ce.FromBond)
		})
	}
}

// The field trace oximeter-lost-bond.btmon.txt: the oximeter sends a
// Security Request, BlueZ pairs (legacy Just Works, the oximeter
// distributes EncKey) and bonds. On a later connection the oximeter has
// lost its bond: BlueZ answers the Security Request with LE Start
// Encryption with the stored key, the oximeter's host gives a negative
// reply, BlueZ gets Encryption Change "PIN or Key Missing" and
// disconnects with Authentication Failure.
func TestFieldTraceOximeterLostBond(t *testing.T) {
	none, enc := smp.KeyDist(0), smp.DistEncKey
	ccfg := &smp.Config{IOCap: smp.NoInputNoOutput, SC: smp.LegacyOnly, Distribute: &none, Request: &enc}
	pcfg := &smp.Config{IOCap: smp.NoInputNoOutput, SC: smp.LegacyOnly, Distribute: &enc, Request: &none}
	ccfg.Bonding, pcfg.Bonding = true, true
	r := newRig(t, ccfg, pcfg)
	r.connect()
	require.NoError(t, r.P.SecurityRequest(r.PConn.Handle))
	r.run(sim.Second)
	cc := last[smp.PairingComplete](t, r.CEv)
	assert.Equal(t, smp.JustWorks, cc.Method)
	assert.Equal(t, smp.DistEncKey, cc.Received)
	assert.Equal(t, smp.KeyDist(0), cc.Sent)

	// The oximeter loses its bond.
	n, err := r.P.ForgetAll()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "forget-all", last[smp.BondDeleted](t, r.PEv).Reason)
	r.reconnect()
	r.CEv, r.PEv = nil, nil
	r.CClosed, r.PClosed = nil, nil
	assert.False(t, r.PConn.HasLTK)
	require.NoError(t, r.P.SecurityRequest(r.PConn.Handle))
	r.run(sim.Second)
	assert.Empty(t, events[smp.PairingStarted](r.CEv), "the central does not pair, it encrypts")
	ce := last[smp.EncryptionChanged](t, r.CEv)
	assert.Equal(t, hci.StatusPINOrKeyMissing, ce.Status)
	assert.False(t, ce.Enabled)
	assert.Equal(t, 1, r.PCtl.NegativeReplies)
	assert.Equal(t, hci.StatusPINOrKeyMissing, last[smp.EncryptionChanged](t, r.PEv).Status)
	// BlueZ: "Disconnect ... Reason: Authentication Failure (0x05)".
	assert.Equal(t, []hci.Status{hci.StatusLocalHostTerminated}, r.CClosed)
	assert.Equal(t, []hci.Status{hci.StatusAuthenticationFailure}, r.PClosed)
}

// A central configured to re-pair when the peripheral lost its key.
func TestRepairOnKeyMissing(t *testing.T) {
	r := bondAndReconnect(t, &smp.Config{KeyMissing: smp.RepairOnKeyMissing}, &smp.Config{})
	require.NoError(t, r.P.Forget(centralAddr))
	r.PConn.HasLTK = false
	require.NoError(t, r.C.Encrypt(r.CConn.Handle))
	r.run(sim.Second)
	assert.Equal(t, hci.StatusPINOrKeyMissing, events[smp.EncryptionChanged](r.CEv)[0].Status)
	assert.Equal(t, "key-missing", last[smp.BondDeleted](t, r.CEv).Reason)
	last[smp.PairingComplete](t, r.CEv)
	enc, _ := r.CCtl.Encrypted(r.CConn.Handle)
	assert.True(t, enc)
	assert.False(t, r.CConn.Closed())
}

// ForgetAfter: the peripheral loses its bond at the N-th connection after
// bonding.
func TestForgetAfter(t *testing.T) {
	r := bondAndReconnect(t, &smp.Config{}, &smp.Config{ForgetAfter: 2})
	_, ok := r.P.Store().Get(centralAddr)
	assert.True(t, ok, "second connection: kept")
	r.reconnect()
	_, ok = r.P.Store().Get(centralAddr)
	assert.False(t, ok, "third connection: forgotten")
	assert.Equal(t, "forget-after", last[smp.BondDeleted](t, r.PEv).Reason)
	require.NoError(t, r.C.Encrypt(r.CConn.Handle))
	r.run(sim.Second)
	assert.Equal(t, hci.StatusPINOrKeyMissing, last[smp.EncryptionChanged](t, r.CEv).Status)
}

// A Security Request asking for MITM on a link whose bond is
// unauthenticated makes the central pair again (with MITM).
func TestSecurityRequestUpgradesToMITM(t *testing.T) {
	ca, pa := &smp.ScriptedAgent{}, &smp.ScriptedAgent{}
	r := newRig(t, &smp.Config{Bonding: true, IOCap: smp.DisplayYesNo, Agent: ca}, &smp.Config{Bonding: true, IOCap: smp.DisplayYesNo, Agent: pa})
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	assert.Equal(t, smp.JustWorks, last[smp.PairingComplete](t, r.CEv).Method)
	r.reconnect()
	// Now the peripheral wants MITM.
	r.sendSecurityRequestMITM()
	r.run(sim.Second)
	pc := last[smp.PairingComplete](t, r.CEv)
	assert.Equal(t, smp.NumericComparison, pc.Method)
	assert.True(t, pc.Authenticated)
	b, _ := r.C.Store().Get(periphAddr)
	assert.True(t, b.Authenticated)
}

// sendSecurityRequestMITM sends a Security Request with Bonding|MITM|SC
// from the peripheral side, bypassing its Manager.
func (r *rig) sendSecurityRequestMITM() {
	r.t.Helper()
	require.NoError(r.t, r.PConn.Send(6, []byte{0x0B, 0x0D}))
}

// Privacy: a bonded peripheral that connects from a resolvable private
// address is recognised by the central (its RPA resolves with the IRK it
// distributed), which then encrypts with the bond.
func TestRPAResolution(t *testing.T) {
	var rpa hci.BDAddr
	pcfg := &smp.Config{OwnAddress: func() smp.Address {
		if rpa == (hci.BDAddr{}) {
			return periphAddr
		}
		return smp.Address{Type: hci.AddrRandom, Addr: rpa}
	}}
	r := bondAndReconnect(t, &smp.Config{}, pcfg)
	rpa = r.P.NewRPA()
	require.True(t, rpa.IsResolvablePrivate())
	id, ok := r.C.Resolve(smp.Address{Type: hci.AddrRandom, Addr: rpa})
	require.True(t, ok)
	assert.Equal(t, periphAddr, id)
	_, ok = r.C.Resolve(smp.Address{Type: hci.AddrRandom, Addr: r.C.NewRPA()})
	assert.False(t, ok, "the central's own RPA is not a peer's")

	r.CConn.Disconnect(hci.StatusRemoteUserTerminated)
	r.run(sim.Second)
	r.Central.SetRandomAddress(hci.BDAddr{}, nil) // no-op for the central; the peripheral's address:
	r.Periph.SetRandomAddress(rpa, nil)
	r.run(10 * sim.Millisecond)
	r.CConn, r.PConn = nil, nil
	r.World.ConnectRandom(r.CCtl, r.PCtl)
	r.run(10 * sim.Millisecond)
	require.NotNil(t, r.CConn)
	assert.Equal(t, rpa, r.CConn.PeerAddr)
	res := last[smp.IdentityResolved](t, r.CEv)
	assert.Equal(t, periphAddr, res.Identity)
	assert.Equal(t, rpa, res.RPA)
	assert.True(t, r.CConn.HasLTK)
	require.NoError(t, r.C.Encrypt(r.CConn.Handle))
	r.run(100 * sim.Millisecond)
	assert.True(t, last[smp.EncryptionChanged](t, r.CEv).Enabled)
	// A new pairing from the RPA works too (c1/f5 use the RPA).
	r.CEv = nil
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	assert.Equal(t, periphAddr, last[smp.PairingComplete](t, r.CEv).Peer)
}

// The bond store file: written atomically with mode 0600, reloaded by a
// new Manager, which then encrypts a reconnection without pairing.
func TestBondStoreFile(t *testing.T) {
	dir := t.TempDir()
	cpath, ppath := filepath.Join(dir, "central.json"), filepath.Join(dir, "periph.json")
	cs, err := smp.OpenStore(cpath)
	require.NoError(t, err)
	ps, err := smp.OpenStore(ppath)
	require.NoError(t, err)
	r := newRig(t, &smp.Config{Bonding: true, Store: cs, SC: smp.LegacyOnly}, &smp.Config{Bonding: true, Store: ps, SC: smp.LegacyOnly})
	r.connect()
	require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
	r.run(sim.Second)
	for _, p := range []string{cpath, ppath} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 2, "no temporary files left")
	raw, err := os.ReadFile(cpath)
	require.NoError(t, err)
	var f map[string]any
	require.NoError(t, json.Unmarshal(raw, &f))
	assert.EqualValues(t, 1, f["version"])
	assert.Contains(t, string(raw), `"peer": "B0:00:00:00:00:B1/public"`)

	// A new pair of hosts loads the files.
	cs2, err := smp.OpenStore(cpath)
	require.NoError(t, err)
	ps2, err := smp.OpenStore(ppath)
	require.NoError(t, err)
	assert.Equal(t, cs.All(), cs2.All())
	assert.Equal(t, ps.All(), ps2.All())
	irk, ok := ps2.LocalIRK()
	assert.True(t, ok)
	b, _ := cs2.Get(periphAddr)
	assert.Equal(t, irk, *b.PeerIRK, "the peripheral's IRK survives restarts")
	r2 := newRig(t, &smp.Config{Store: cs2}, &smp.Config{Store: ps2})
	r2.connect()
	require.NoError(t, r2.C.Encrypt(r2.CConn.Handle))
	r2.run(100 * sim.Millisecond)
	assert.True(t, last[smp.EncryptionChanged](t, r2.CEv).Enabled)

	// Forgetting rewrites the file.
	require.NoError(t, r2.C.Forget(periphAddr))
	cs3, err := smp.OpenStore(cpath)
	require.NoError(t, err)
	assert.Zero(t, cs3.Len())
}

func TestStoreAPI(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bonds.json")
	s, err := smp.OpenStore(path)
	require.NoError(t, err)
	assert.Zero(t, s.Len())
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "opening does not create the file")
	k := smp.Key{1, 2, 3}
	a1 := smp.Address{Type: hci.AddrRandom, Addr: hci.BDAddr{1, 2, 3, 4, 5, 0xC6}}
	a2 := smp.Address{Type: hci.AddrPublic, Addr: hci.BDAddr{9, 8, 7, 6, 5, 4}}
	require.NoError(t, s.Put(smp.Bond{Peer: a1, LTK: &k, EDIV: 7, Rand: 99, KeySize: 16, SC: true}))
	require.NoError(t, s.Put(smp.Bond{Peer: smp.Address{Type: hci.AddrPublicIdentity, Addr: a2.Addr}, KeySize: 7}))
	b, ok := s.Get(a2)
	require.True(t, ok, "identity address types are normalised")
	assert.Equal(t, 7, b.KeySize)
	require.NoError(t, s.Load())
	assert.Equal(t, 2, s.Len())
	b1, _ := s.Get(a1)
	assert.Equal(t, smp.Bond{Peer: a1, LTK: &k, EDIV: 7, Rand: 99, KeySize: 16, SC: true}, b1, "reloaded")
	raw, _ := os.ReadFile(path)
	assert.Contains(t, string(raw), `"rand": "0x0000000000000063"`)
	require.NoError(t, s.Delete(a1))
	require.NoError(t, s.Delete(a1), "deleting twice is fine")
	assert.Equal(t, 1, s.Len())
	require.NoError(t, s.DeleteAll())
	s2, err := smp.OpenStore(path)
	require.NoError(t, err)
	assert.Zero(t, s2.Len())

	// A failed write leaves the old file whole and no temporary file.
	require.NoError(t, s.Put(smp.Bond{Peer: a1, KeySize: 16}))
	before, _ := os.ReadFile(path)
	restore := smp.FailRenameForTest()
	err = s.Put(smp.Bond{Peer: a2, KeySize: 16})
	restore()
	require.ErrorContains(t, err, "bonds.json")
	after, _ := os.ReadFile(path)
	assert.Equal(t, before, after)
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 1)
	require.NoError(t, os.Chmod(dir, 0o500))
	err = s.Put(smp.Bond{Peer: a2, KeySize: 16})
	require.NoError(t, os.Chmod(dir, 0o700))
	if os.Geteuid() != 0 { // root ignores directory permissions
		require.Error(t, err)
		after, _ := os.ReadFile(path)
		assert.Equal(t, before, after)
	}

	// Broken files are errors that name the file.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version":1,"bonds":[{"peer":"nonsense"}]}`), 0o600))
	_, err = smp.OpenStore(bad)
	require.ErrorContains(t, err, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version":2}`), 0o600))
	_, err = smp.OpenStore(bad)
	require.ErrorContains(t, err, "version 2")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version":1,"bonds":[{"peer":"01:02:03:04:05:06/public","key_size":3}]}`), 0o600))
	_, err = smp.OpenStore(bad)
	require.ErrorContains(t, err, "key size 3")
}
