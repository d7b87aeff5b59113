package smp_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// next returns the next SMP PDU the raw side received.
func (r *rig) next() []byte {
	r.t.Helper()
	require.NotEmpty(r.t, r.raw, "no SMP PDU from the device under test")
	b := r.raw[0]
	r.raw = r.raw[1:]
	return b
}

// legacyJWAsRawCentral plays the central of an LE legacy Just Works
// pairing by hand (TK = 0) up to encryption with the STK, as BlueZ on the
// Raspberry Pi of the field trace does, and returns the peripheral's
// Pairing Response.
func legacyJWAsRawCentral(t *testing.T, r *rig, preq []byte, mrandWire string) []byte {
	r.sendRaw(preq)
	r.run(100 * sim.Millisecond)
	pres := r.next()
	require.Equal(t, byte(0x02), pres[0], "Pairing Response: %x", pres)
	var tk [16]byte
	mrand := [16]byte(smpcrypto.Reverse(hx(t, mrandWire)))
	c1 := func(rnd [16]byte) [16]byte {
		return smpcrypto.C1(tk, rnd, [7]byte(smpcrypto.Reverse(preq)), [7]byte(smpcrypto.Reverse(pres)), 0, 0,
			[6]byte(smpcrypto.Reverse(centralAddr.Addr[:])), [6]byte(smpcrypto.Reverse(periphAddr.Addr[:])))
	}
	mconfirm := c1(mrand)
	r.sendRaw(append([]byte{0x03}, smpcrypto.Reverse(mconfirm[:])...))
	r.run(100 * sim.Millisecond)
	sconf := r.next()
	require.Equal(t, byte(0x03), sconf[0])
	r.sendRaw(append([]byte{0x04}, smpcrypto.Reverse(mrand[:])...))
	r.run(100 * sim.Millisecond)
	srandPDU := r.next()
	require.Equal(t, byte(0x04), srandPDU[0])
	srand := [16]byte(smpcrypto.Reverse(srandPDU[1:]))
	want := c1(srand)
	require.Equal(t, smpcrypto.Reverse(want[:]), sconf[1:], "Sconfirm matches Srand")
	stk := smpcrypto.S1(tk, srand, mrand)
	r.Central.StartEncryption(r.CConn.Handle, 0, 0, smpcrypto.Rev16(stk), nil)
	r.run(100 * sim.Millisecond)
	enc, _ := r.CCtl.Encrypted(r.CConn.Handle)
	require.True(t, enc, "encrypted with the STK")
	return pres
}

// The field trace rpi-key-distribution.btmon.txt replayed against a
// strict peripheral: BlueZ on a Raspberry Pi pairs (legacy Just Works),
// the peripheral negotiates initiator keys "Sign" only, and the central
// sends Encryption Information (LTK ffeeddccbbaa99887766554433221100),
// Central Identification and Signing Information anyway. The strict
// peripheral reports the key that was not negotiated and the non-random
// LTK, and answers Pairing Failed 0x08 Unspecified Reason — as the real
// peripheral did.
func TestFieldTraceRPiKeyDistribution(t *testing.T) {
	for _, strict := range []bool{true, false} {
		name := "strict"
		if !strict {
			name = "lenient"
		}
		t.Run(name, func(t *testing.T) {
			enc, sign := smp.DistEncKey, smp.DistSignKey
			r := newRig(t, nil, &smp.Config{IOCap: smp.NoInputNoOutput, Bonding: true, SC: smp.LegacyOnly,
				Distribute: &enc, Request: &sign, Strict: strict})
			r.connect()
			// "SMP: Pairing Request ... KeyboardOnly, Bonding, MITM, Legacy,
			// Max 16, Initiator EncKey Sign, Responder EncKey Sign".
			pres := legacyJWAsRawCentral(t, r, hx(t, "01020005100505"), "25498f1cc873d7450460df3b5ce2ab7e")
			// "SMP: Pairing Response ... NoInputNoOutput, Bonding, No MITM,
			// Legacy, Max 16, Initiator Sign (0x04), Responder EncKey (0x01)".
			assert.Equal(t, hx(t, "02030001100401"), pres)
			// The peripheral distributes its LTK, EDIV and Rand.
			require.Equal(t, byte(0x06), r.next()[0])
			require.Equal(t, byte(0x07), r.next()[0])
			require.Empty(t, r.raw)
			// The central's keys, bytes as btmon prints them.
			encInfo := append([]byte{0x06}, hx(t, "ffeeddccbbaa99887766554433221100")...)
			centralID := hx(t, "070c001122334455667788")
			signInfo := append([]byte{0x0a}, hx(t, "ffeeddccbbaa99887766554433221100")...)
			for _, b := range [][]byte{encInfo, centralID, signInfo} {
				r.sendRaw(b)
			}
			r.run(sim.Second)
			nonRandom := findings(r.PEv, smp.FindingNonRandomKey)
			notNeg := findings(r.PEv, smp.FindingKeyNotNegotiated)
			require.NotEmpty(t, nonRandom)
			require.NotEmpty(t, notNeg)
			assert.Equal(t, encInfo, nonRandom[0].PDU)
			assert.Contains(t, nonRandom[0].Message, "counting sequence")
			assert.Equal(t, encInfo, notNeg[0].PDU)
			assert.Equal(t, centralAddr, notNeg[0].Peer)
			if strict {
				assert.Equal(t, [][]byte{{0x05, 0x08}}, r.raw, "one Pairing Failed, Unspecified Reason")
				f := last[smp.PairingFailed](t, r.PEv)
				assert.Equal(t, smp.ReasonUnspecified, f.Reason)
				assert.False(t, f.Remote)
				assert.Empty(t, events[smp.PairingComplete](r.PEv))
				assert.Zero(t, r.P.Store().Len())
				return
			}
			// Lenient: the keys that were not negotiated are ignored, the
			// negotiated CSRK is kept (and reported as non-random).
			assert.Len(t, notNeg, 2, "Encryption Information and Central Identification")
			assert.Len(t, nonRandom, 3, "LTK, Rand and CSRK")
			assert.Empty(t, r.raw)
			pc := last[smp.PairingComplete](t, r.PEv)
			assert.Nil(t, pc.Keys.LTK)
			require.NotNil(t, pc.Keys.PeerCSRK)
			assert.Equal(t, "ffeeddccbbaa99887766554433221100", pc.Keys.PeerCSRK.String())
		})
	}
}

// scRawCentralStart sends an SC Just Works Pairing Request and takes the
// Pairing Response.
func scRawCentralStart(t *testing.T, r *rig) {
	r.raw = nil
	r.sendRaw([]byte{0x01, 0x03, 0x00, 0x09, 0x10, 0x00, 0x00})
	r.run(100 * sim.Millisecond)
	require.Equal(t, byte(0x02), r.next()[0])
}

func publicKeyPDU(pk smpcrypto.PublicKey) []byte {
	b := []byte{0x0c}
	b = append(b, smpcrypto.Reverse(pk.X[:])...)
	return append(b, smpcrypto.Reverse(pk.Y[:])...)
}

// Public key checks (§2.3.5.6.1): a point off the curve fails the pairing
// with DHKey Check Failed; the debug key and a key used again are
// reported.
func TestPublicKeyFindings(t *testing.T) {
	t.Run("SM/PER/SCJW/BI-04-C invalid point", func(t *testing.T) {
		r := newRig(t, nil, &smp.Config{})
		r.connect()
		scRawCentralStart(t, r)
		bad := smpcrypto.DebugPublicKey
		bad.Y[31] ^= 0x01
		r.sendRaw(publicKeyPDU(bad))
		r.run(100 * sim.Millisecond)
		assert.Equal(t, []byte{0x05, 0x0B}, r.next())
		require.Len(t, findings(r.PEv, smp.FindingInvalidPublicKey), 1)
		assert.Equal(t, smp.ReasonDHKeyCheckFailed, last[smp.PairingFailed](t, r.PEv).Reason)
	})
	t.Run("SM/PER/SCJW/BV-05-C debug key and reuse", func(t *testing.T) {
		r := newRig(t, nil, &smp.Config{})
		r.connect()
		scRawCentralStart(t, r)
		r.sendRaw(publicKeyPDU(smpcrypto.DebugPublicKey))
		r.run(100 * sim.Millisecond)
		require.Len(t, findings(r.PEv, smp.FindingDebugKey), 1)
		assert.Equal(t, byte(0x0c), r.next()[0], "pairing continues: the peripheral's public key")
		// A fixed key, used on two connections.
		kp, err := smpcrypto.KeyPairFromPrivate([32]byte{31: 7, 5: 99})
		require.NoError(t, err)
		for i := range 2 {
			r.CConn.Disconnect(hci.StatusRemoteUserTerminated)
			r.run(sim.Second)
			r.connect()
			scRawCentralStart(t, r)
			r.sendRaw(publicKeyPDU(kp.Public))
			r.run(100 * sim.Millisecond)
			assert.Len(t, findings(r.PEv, smp.FindingPublicKeyReused), i, "connection %d", i+1)
		}
	})
	t.Run("SM/CEN/SCJW/BI-05-C reflected key", func(t *testing.T) {
		r := newRig(t, &smp.Config{}, nil)
		r.connect()
		require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
		r.run(100 * sim.Millisecond)
		require.Equal(t, byte(0x01), r.next()[0])
		r.sendRaw([]byte{0x02, 0x03, 0x00, 0x08, 0x10, 0x00, 0x00})
		r.run(100 * sim.Millisecond)
		pka := r.next()
		require.Equal(t, byte(0x0c), pka[0])
		r.sendRaw(pka) // the central's own key back
		r.run(100 * sim.Millisecond)
		assert.Equal(t, []byte{0x05, 0x0B}, r.next())
		require.Len(t, findings(r.CEv, smp.FindingInvalidPublicKey), 1)
	})
	t.Run("SM/CEN/KDU/BI-06-C response asks for keys not offered", func(t *testing.T) {
		none := smp.KeyDist(0)
		r := newRig(t, &smp.Config{Bonding: true, Distribute: &none}, nil)
		r.connect()
		require.NoError(t, r.C.Pair(r.CConn.Handle, nil))
		r.run(100 * sim.Millisecond)
		r.next()
		r.sendRaw([]byte{0x02, 0x03, 0x00, 0x09, 0x10, 0x01, 0x07})
		r.run(100 * sim.Millisecond)
		assert.Equal(t, []byte{0x05, 0x0A}, r.next())
		require.Len(t, findings(r.CEv, smp.FindingValueOutOfRange), 1)
	})
}

// A central that ignores the Security Request is reported after the
// timeout; one that pairs is not.
func TestSecurityRequestIgnored(t *testing.T) {
	r := newRig(t, nil, &smp.Config{Bonding: true, MITM: true, SecurityRequestTimeout: 5 * sim.Second})
	r.connect()
	require.NoError(t, r.P.SecurityRequest(r.PConn.Handle))
	r.run(100 * sim.Millisecond)
	assert.Equal(t, []byte{0x0B, 0x0D}, r.next(), "Bonding, MITM, SC")
	r.run(4 * sim.Second)
	assert.Empty(t, findings(r.PEv, smp.FindingSecurityRequestIgnored))
	r.run(sim.Second)
	f := findings(r.PEv, smp.FindingSecurityRequestIgnored)
	require.Len(t, f, 1)
	assert.Nil(t, f[0].PDU)

	r2 := newRig(t, &smp.Config{Bonding: true}, &smp.Config{Bonding: true})
	r2.connect()
	require.NoError(t, r2.P.SecurityRequest(r2.PConn.Handle))
	r2.run(20 * sim.Second)
	last[smp.PairingComplete](t, r2.CEv)
	assert.Empty(t, r2.P.Findings())
}

func TestNonRandom(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		flag bool
	}{
		{"ffeeddccbbaa99887766554433221100", true},
		{"00112233445566778899aabbccddeeff", true},
		{"000102030405060708090a0b0c0d0e0f", true},
		{"00000000000000000000000000000000", true},
		{"41414141414141414141414141414141", true},
		{"deadbeefdeadbeefdeadbeefdeadbeef", true},
		{"4c68384139f574d836bcf34e9dfb01bf", true},
		{"bf01fb9d4ef3bc36d874f5394138684c", true}, // the same, reversed
		{"0101010102020202030303030404ffff", true},
		{"8877665544332211", true},
		{"7689a6b5371537b24f2c7c7805688df6", false}, // the STK of the field trace
		{"b22ef80c481a8b4929e7159e0c2b0ba3", false},
		{"eb935f0728e82007", false},
		{"9a8b7c", false}, // too short to judge
	} {
		got := smp.NonRandom(hx(t, tc.hex))
		assert.Equal(t, tc.flag, got != "", "%s: %q", tc.hex, got)
	}
}
