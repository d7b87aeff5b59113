package prov

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/internal/vectors"
)

func hx(b []byte) string { return hex.EncodeToString(b) }

func loadProv(t testing.TB) vectors.Provisioning {
	var v vectors.Provisioning
	vectors.Load(t, "mesh_provisioning.json", &v)
	return v
}

// TestSampleData87Derivation checks every intermediate value of the §8.7
// (CMAC) and §8.17.2 (HMAC-SHA256) chains: public keys, ECDH, confirmation
// inputs, salts and keys, confirmations, provisioning salt, session key,
// nonce, device key and the encrypted provisioning data.
func TestSampleData87Derivation(t *testing.T) {
	v := loadProv(t)
	for _, a := range []struct {
		name string
		alg  Algorithm
		vec  vectors.Algorithm
	}{{"8.7 CMAC", AlgorithmCMAC, v.CMAC}, {"8.17.2 HMAC-SHA256", AlgorithmHMAC, v.HMAC}} {
		t.Run(a.name, func(t *testing.T) {
			vec := a.vec
			h := func(s string) []byte { return vectors.Hex(t, s) }
			pk, dk := mustKey(t, vec.ProvisionerPrivate), mustKey(t, vec.DevicePrivate)
			pubP, pubD := PublicKeyBytes(pk.PublicKey()), PublicKeyBytes(dk.PublicKey())
			if vec.ProvisionerPublicX != "" {
				require.Equal(t, vec.ProvisionerPublicX+vec.ProvisionerPublicY, hx(pubP))
				require.Equal(t, vec.DevicePublicX+vec.DevicePublicY, hx(pubD))
			}
			x := exchange{invite: h(vec.Invite), caps: h(vec.Capabilities), startRaw: h(vec.Start), pubP: pubP, pubD: pubD, own: pk}
			x.start.Algorithm = a.alg
			require.NoError(t, x.ecdh(pubD))
			require.Equal(t, vec.ECDHSecret, hx(x.secret))
			s2, err := dk.ECDH(pk.PublicKey())
			require.NoError(t, err)
			require.Equal(t, vec.ECDHSecret, hx(s2), "both sides agree")
			require.Equal(t, vec.ConfirmationInputs, hx(x.confirmationInputs()))

			salt := confirmationSalt(a.alg, x.confirmationInputs())
			require.Equal(t, vec.ConfirmationSalt, hx(salt))
			auth := h(vec.AuthValue)
			ck := confirmationKey(a.alg, x.secret, salt, auth)
			require.Equal(t, vec.ConfirmationKey, hx(ck))
			require.Equal(t, vec.ConfirmationProv, hx(confirmation(a.alg, ck, h(vec.RandomProvisioner), auth)))
			require.Equal(t, vec.ConfirmationDevice, hx(confirmation(a.alg, ck, h(vec.RandomDevice), auth)))

			s := deriveSession(x.secret, salt, h(vec.RandomProvisioner), h(vec.RandomDevice))
			require.Equal(t, vec.ProvisioningSalt, hx(s.ProvisioningSalt[:]))
			require.Equal(t, vec.SessionKey, hx(s.SessionKey[:]))
			require.Equal(t, vec.SessionNonce, hx(s.SessionNonce[:]))
			require.Equal(t, vec.DeviceKey, hx(s.DevKey[:]))

			d, err := ParseData(h(vec.ProvisioningData))
			require.NoError(t, err)
			require.Equal(t, vec.ProvisioningData, hx(d.Marshal()))
			sealed, err := sealData(s, d)
			require.NoError(t, err)
			require.Equal(t, vec.EncProvisioningData+vec.ProvisioningDataMIC, hx(sealed))
			back, err := openData(s, sealed)
			require.NoError(t, err)
			require.Equal(t, d, back)
			sealed[3] ^= 0x40
			_, err = openData(s, sealed)
			require.Equal(t, DecryptionFailed, CodeOf(err))
		})
	}
	// The §8.7 Capabilities and Start decode as the sample describes.
	c, err := ParseCapabilities(vectors.Hex(t, v.CMAC.Capabilities))
	require.NoError(t, err)
	require.Equal(t, Capabilities{Elements: 1, Algorithms: AlgorithmsCMAC}, c)
	require.Equal(t, v.CMAC.Capabilities, hx(c.Marshal()))
	c, err = ParseCapabilities(vectors.Hex(t, v.HMAC.Capabilities))
	require.NoError(t, err)
	require.Equal(t, Capabilities{Elements: 1, Algorithms: AlgorithmsCMAC | AlgorithmsHMAC, StaticOOB: true}, c)
	st, err := ParseStart(vectors.Hex(t, v.HMAC.Start))
	require.NoError(t, err)
	require.Equal(t, Start{Algorithm: AlgorithmHMAC, Method: StaticOOB}, st)
	require.NoError(t, st.Check(c))
}

// TestSampleData87Sessions runs both state machines with the §8.7 keys and
// randoms and checks that they exchange exactly the provisioning PDUs of
// the sample transcript (8.7.3–8.7.13), and the same with the §8.17.2
// HMAC-SHA256 values (static OOB).
func TestSampleData87Sessions(t *testing.T) {
	v := loadProv(t)
	t.Run("8.7 CMAC", func(t *testing.T) {
		vec := v.CMAC
		s := newSetup(t)
		s.dcfg.Algorithms = AlgorithmsCMAC
		s.dcfg.Rand = fixed(vectors.Hex(t, vec.DevicePrivate), vectors.Hex(t, vec.RandomDevice))
		s.pcfg.Key = mustKey(t, vec.ProvisionerPrivate)
		s.pcfg.Rand = fixed(vectors.Hex(t, vec.RandomProvisioner))
		w := s.run()
		var want []string
		for _, st := range v.Transcript.Steps {
			if st.ProvisioningPDU != "" {
				want = append(want, st.From+" "+st.ProvisioningPDU)
			}
		}
		require.Equal(t, want, w.pdus())
		require.Equal(t, []CloseReason{CloseSuccess}, w.closes)
		require.Equal(t, "provisioner", w.closedBy)
		require.NoError(t, w.devResult.Err)
		require.NoError(t, w.provResult.Err)
		require.Equal(t, vec.DeviceKey, hx(w.devResult.DevKey[:]))
		require.Equal(t, vec.DeviceKey, hx(w.provResult.DevKey[:]))
		require.Equal(t, sampleData(t), w.devResult.Data)
		require.Equal(t, Complete, w.dev.State())
		require.Equal(t, Complete, w.prov.State())
	})
	t.Run("8.17.2 HMAC-SHA256", func(t *testing.T) {
		vec := v.HMAC
		s := newSetup(t)
		auth := vectors.Hex(t, vec.AuthValue)
		s.dcfg.StaticOOB = auth
		s.dcfg.Rand = fixed(vectors.Hex(t, vec.DevicePrivate), vectors.Hex(t, vec.RandomDevice))
		s.pcfg.Key = mustKey(t, vec.ProvisionerPrivate)
		s.pcfg.Rand = fixed(vectors.Hex(t, vec.RandomProvisioner))
		s.target.StaticOOB = auth
		w := s.run()
		require.NoError(t, w.devResult.Err)
		require.NoError(t, w.provResult.Err)
		pdus := w.pdus()
		require.Equal(t, "device 01"+vec.Capabilities, pdus[1])
		require.Equal(t, "provisioner 02"+vec.Start, pdus[2], "ChooseStart picks HMAC with static OOB")
		require.Equal(t, "provisioner 05"+vec.ConfirmationProv, pdus[5])
		require.Equal(t, "device 05"+vec.ConfirmationDevice, pdus[6])
		require.Equal(t, "provisioner 07"+vec.EncProvisioningData+vec.ProvisioningDataMIC, pdus[9])
		require.Equal(t, vec.DeviceKey, hx(w.devResult.DevKey[:]))
	})
}

// routeCase is one provisioning route with the capabilities it needs.
type routeCase struct {
	route  string
	tsID   string // the Mesh test-suite node test that exercises it
	oobKey bool
	method AuthMethod
	action uint8
	size   uint8
}

// Routes A1/A2 × B1..B4. The MESH/NODE/PROV/BV-0x-C numbers follow the
// route list of the Mesh test suite (as mapped in public PTS driver code).
func routeCases() []routeCase {
	var cs []routeCase
	add := func(route, id string, a2 bool, m AuthMethod, actions []uint8) {
		if len(actions) == 0 {
			cs = append(cs, routeCase{route, id, a2, m, 0, 0})
		}
		for i, act := range actions {
			cs = append(cs, routeCase{route, id, a2, m, act, uint8(1 + (i*3)%8)})
		}
	}
	outputs := []uint8{uint8(ActionBlink), uint8(ActionBeep), uint8(ActionVibrate), uint8(ActionOutputNumeric), uint8(ActionOutputAlphanumeric)}
	inputs := []uint8{uint8(ActionPush), uint8(ActionTwist), uint8(ActionInputNumeric), uint8(ActionInputAlphanumeric)}
	add("A1B1", "MESH/NODE/PROV/BV-07-C", false, NoOOB, nil)
	add("A1B2", "MESH/NODE/PROV/BV-03-C", false, StaticOOB, nil)
	add("A1B3", "MESH/NODE/PROV/BV-01-C", false, OutputOOB, outputs)
	add("A1B4", "MESH/NODE/PROV/BV-02-C", false, InputOOB, inputs)
	add("A2B1", "MESH/NODE/PROV/BV-08-C", true, NoOOB, nil)
	add("A2B2", "MESH/NODE/PROV/BV-06-C", true, StaticOOB, nil)
	add("A2B3", "MESH/NODE/PROV/BV-04-C", true, OutputOOB, outputs)
	add("A2B4", "MESH/NODE/PROV/BV-05-C", true, InputOOB, inputs)
	return cs
}

// configure gives the setup the capabilities of c and the provisioner the
// explicit Start.
func (s *setup) configure(c routeCase, alg Algorithm) Start {
	s.withOOB()
	s.dcfg.OutputSize, s.dcfg.OutputActions = 8, 0x1f
	s.dcfg.InputSize, s.dcfg.InputActions = 8, 0x0f
	s.dcfg.StaticOOB = []byte("a static OOB value shared out of band")[:32]
	s.target.StaticOOB = s.dcfg.StaticOOB
	if c.oobKey {
		k, err := NewKey(seeded(99))
		require.NoError(s.t, err)
		s.dcfg.OOBKey = k
		s.target.DevicePublicKey = PublicKeyBytes(k.PublicKey())
	}
	st := Start{Algorithm: alg, PublicKeyOOB: c.oobKey, Method: c.method, Action: c.action, Size: c.size}
	s.target.Start = &st
	return st
}

// TestRoutes provisions over all eight routes, every output and input
// action, with both algorithms, checking both roles' results.
func TestRoutes(t *testing.T) {
	for _, alg := range []Algorithm{AlgorithmCMAC, AlgorithmHMAC} {
		for _, c := range routeCases() {
			name := fmt.Sprintf("%s/%s/%s", c.route, c.tsID, alg)
			if c.method >= OutputOOB {
				name += fmt.Sprintf("/action%d-size%d", c.action, c.size)
			}
			t.Run(name, func(t *testing.T) {
				s := newSetup(t)
				st := s.configure(c, alg)
				require.Equal(t, c.route, st.Route())
				w := s.run()
				require.NoError(t, w.devResult.Err)
				require.NoError(t, w.provResult.Err)
				require.Equal(t, w.devResult.DevKey, w.provResult.DevKey)
				require.NotEqual(t, mcrypto.Key{}, w.devResult.DevKey)
				require.Equal(t, sampleData(t), w.devResult.Data)
				require.Equal(t, st, w.devResult.Start)
				require.Equal(t, []CloseReason{CloseSuccess}, w.closes)
				// The device sends its public key only in route A1, and Input
				// Complete only in B4.
				var types []PDUType
				for _, p := range w.log {
					if p.from == "device" {
						types = append(types, PDUType(p.pdu[0]))
					}
				}
				require.Equal(t, !c.oobKey, contains(types, TypePublicKey))
				require.Equal(t, c.method == InputOOB, contains(types, TypeInputComplete))
				if c.method >= OutputOOB {
					require.Equal(t, w.dev.OOB(), w.prov.OOB(), "both sides used the value the user carried")
					if st.isAlpha() {
						require.Len(t, w.dev.OOB().Text, int(c.size))
					} else if st.isCount() {
						require.NotZero(t, w.dev.OOB().Number)
					}
				}
			})
		}
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestWrongOOB: a value the user mistypes fails the confirmation on both
// routes that carry one (and a wrong static OOB likewise).
func TestWrongOOB(t *testing.T) {
	for _, c := range routeCases() {
		if c.method == NoOOB || (c.method == OutputOOB && c.action != uint8(ActionOutputNumeric)) ||
			(c.method == InputOOB && c.action != uint8(ActionInputNumeric)) {
			continue
		}
		t.Run(c.route, func(t *testing.T) {
			s := newSetup(t)
			s.configure(c, AlgorithmCMAC)
			s.u.typo = true
			if c.method == StaticOOB {
				s.target.StaticOOB = []byte("another value")
			}
			w := s.run()
			// The device checks the provisioner's confirmation first.
			require.Equal(t, ConfirmationFailed, CodeOf(w.devResult.Err))
			require.Equal(t, ConfirmationFailed, CodeOf(w.provResult.Err))
			require.True(t, w.provResult.Remote)
			require.Equal(t, []CloseReason{CloseFail}, w.closes)
			require.Equal(t, "provisioner", w.closedBy, "the provisioner closes the link after Provisioning Failed")
		})
	}
}

// TestChooseStart checks the default policy.
func TestChooseStart(t *testing.T) {
	all := AlgorithmsCMAC | AlgorithmsHMAC
	prompt := func(OutputAction, uint8, func(OOBValue)) {}
	show := func(InputAction, OOBValue) {}
	for _, tc := range []struct {
		name string
		c    Capabilities
		t    Target
		want Start
		err  bool
	}{
		{"nothing: A1B1 CMAC", Capabilities{Elements: 1, Algorithms: all}, Target{}, Start{}, false},
		{"HMAC only", Capabilities{Elements: 1, Algorithms: AlgorithmsHMAC}, Target{}, Start{Algorithm: AlgorithmHMAC}, false},
		{"static + key: A2B2 HMAC", Capabilities{Elements: 1, Algorithms: all, PublicKeyOOB: true, StaticOOB: true},
			Target{StaticOOB: []byte{1}, DevicePublicKey: make([]byte, 64)}, Start{Algorithm: AlgorithmHMAC, PublicKeyOOB: true, Method: StaticOOB}, false},
		{"key offered but not known: A1", Capabilities{Elements: 1, Algorithms: AlgorithmsCMAC, PublicKeyOOB: true}, Target{}, Start{}, false},
		{"output numeric preferred", Capabilities{Elements: 1, Algorithms: AlgorithmsCMAC, OutputSize: 4, OutputActions: OutputBlink | OutputNumeric},
			Target{Prompt: prompt}, Start{Method: OutputOOB, Action: uint8(ActionOutputNumeric), Size: 4}, false},
		{"input twist", Capabilities{Elements: 1, Algorithms: AlgorithmsCMAC, InputSize: 2, InputActions: InputTwist},
			Target{Show: show}, Start{Method: InputOOB, Action: uint8(ActionTwist), Size: 2}, false},
		{"only OOB auth but nothing usable", Capabilities{Elements: 1, Algorithms: all, OnlyOOBAuth: true}, Target{}, Start{}, true},
		{"no common algorithm", Capabilities{Elements: 1, Algorithms: 0x4}, Target{}, Start{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChooseStart(tc.c, tc.t, all)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestFreshKeyEachAttempt: in route A1 a device draws a new key pair for
// every session; with route A2 it always uses its OOB key.
func TestFreshKeyEachAttempt(t *testing.T) {
	s := newSetup(t)
	d, err := NewDevice(s.dcfg)
	require.NoError(t, err)
	keys := map[string]bool{}
	for range 3 {
		w := &wire{}
		p, err := NewProvisioner(s.pcfg)
		require.NoError(t, err)
		w.dev = d.Open(end{w, "device"})
		w.prov = p.Open(end{w, "provisioner"}, s.target)
		w.run()
		r, ok := w.dev.Result()
		require.True(t, ok)
		require.NoError(t, r.Err)
		keys[hx(w.dev.x.pubD)] = true
	}
	require.Len(t, keys, 3, "three attempts, three device public keys")

	k, err := NewKey(seeded(5))
	require.NoError(t, err)
	s.dcfg.OOBKey = k
	s.target.DevicePublicKey = PublicKeyBytes(k.PublicKey())
	d, err = NewDevice(s.dcfg)
	require.NoError(t, err)
	for range 2 {
		w := &wire{}
		p, _ := NewProvisioner(s.pcfg)
		w.dev = d.Open(end{w, "device"})
		w.prov = p.Open(end{w, "provisioner"}, s.target)
		w.run()
		require.Equal(t, PublicKeyBytes(k.PublicKey()), w.dev.x.pubD)
		require.True(t, w.dev.x.start.PublicKeyOOB)
	}
}

func TestNewKeyDeterministic(t *testing.T) {
	a, err := NewKey(seeded(3))
	require.NoError(t, err)
	b, err := NewKey(seeded(3))
	require.NoError(t, err)
	require.True(t, a.Equal(b))
	// An all-0xff draw is above the curve order and is drawn again.
	k, err := NewKey(fixed(bytesOf(0xff, 32)))
	require.NoError(t, err)
	require.NotNil(t, k)
	_, err = NewKey(bytes.NewReader(nil))
	require.Error(t, err, "a reader that runs dry")
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func TestParseOOBValue(t *testing.T) {
	v, err := ParseOOBValue(false, 6, " 123456 ")
	require.NoError(t, err)
	require.Equal(t, Num(123456), v)
	_, err = ParseOOBValue(false, 3, "1234")
	require.Error(t, err, "more digits than the size")
	v, err = ParseOOBValue(true, 4, "ab1z")
	require.NoError(t, err)
	require.Equal(t, Text("AB1Z"), v)
	_, err = ParseOOBValue(true, 4, "ab-1")
	require.Error(t, err)
	require.Equal(t, "AB1Z", v.String())
	require.Equal(t, "42", Num(42).String())
}
