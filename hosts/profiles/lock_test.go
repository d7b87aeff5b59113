package profiles_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

var (
	lockAddr     = hci.BDAddr{0x01, 0x0B, 0, 0, 0, 0xC0}
	phoneAddr    = hci.BDAddr{0x01, 0x0A, 0, 0, 0, 0xC0}
	attackerAddr = hci.BDAddr{0x66, 0x0A, 0, 0, 0, 0xC0}
	lockPasskey  = uint32(123456)
)

// lockWorld is an e-lock and centrals on real virtual controllers (the
// accept list and filter policy are the link layer's).
type lockWorld struct {
	*airWorld
	t    *testing.T
	lock *profiles.Lock
	levs []profiles.Event
}

func newLockWorld(t *testing.T, cfg profiles.LockConfig) *lockWorld {
	s := sim.New(11)
	w := &lockWorld{airWorld: &airWorld{s: s, m: radio.NewMedium(s, radio.Config{})}, t: t}
	cfg.Name, cfg.Connectable, cfg.AddressType, cfg.Address = "Lock", true, hci.AddrRandom, lockAddr
	if cfg.Security.Passkey == nil {
		cfg.Security.Passkey = &lockPasskey
	}
	w.wire(t, "Lock", lockAddr, 1, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		w.lock, err = profiles.NewLock(quiet(t).Named("lock"), s, send, cfg)
		if w.lock != nil {
			w.lock.OnEvent = func(e profiles.Event) { w.levs = append(w.levs, e) }
		}
		return w.lock, err
	})
	w.lock.Start()
	return w
}

// central adds a central with a static random address that types the
// lock's passkey and connects to it when started.
func (w *lockWorld) central(addr hci.BDAddr, cfg profiles.CentralConfig) (*profiles.Central, *[]profiles.Event) {
	cfg.Target, cfg.AddressType, cfg.Address = "Lock", hci.AddrRandom, addr
	if cfg.Security.IOCapability == "" {
		cfg.Security.IOCapability = "keyboard-only"
		cfg.Security.Passkey = &lockPasskey
	}
	var c *profiles.Central
	evs := &[]profiles.Event{}
	w.wire(w.t, addr.String(), addr, 0, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		c, err = profiles.NewCentral(quiet(w.t).Named("central"), w.s, send, cfg)
		if c != nil {
			c.OnEvent = func(e profiles.Event) { *evs = append(*evs, e) }
		}
		return c, err
	})
	return c, evs
}

// gattResult runs one client operation to completion.
func gattResult(t *testing.T, s *sim.Scheduler, op func(done func(error))) error {
	t.Helper()
	var got error
	finished := false
	op(func(err error) { got, finished = err, true })
	s.RunFor(2 * sim.Second)
	require.True(t, finished, "no answer")
	return got
}

// The Lock Service over links of each security level: closed (0x05)
// without encryption and over an unauthenticated key, open over an
// authenticated one, where the Control Point locks and unlocks (with a
// notification of the Lock State) and refuses unknown opcodes (0x80) and
// wrong lengths (0x0D).
func TestLockService(t *testing.T) {
	type op struct {
		name  string
		write []byte // nil: read the Lock State
		want  error
		state uint8 // the Lock State after the operation
	}
	closed := []op{
		{"read", nil, att.ErrInsufficientAuthn, profiles.LockStateLocked},
		{"unlock", []byte{profiles.LockOpUnlock}, att.ErrInsufficientAuthn, profiles.LockStateLocked},
	}
	for _, tc := range []struct {
		name     string
		lockMITM bool
		pair     *smp.PairOptions // nil: no pairing
		ops      []op
	}{
		{"no encryption", true, nil, closed},
		{"Just Works (unauthenticated key)", false, &smp.PairOptions{Bond: true, LESecure: true, IO: smp.NoInputNoOutput}, closed},
		{"Passkey Entry (authenticated key)", true, &smp.PairOptions{Bond: true, LESecure: true, MITM: true, IO: smp.KeyboardOnly}, []op{
			{"read", nil, nil, profiles.LockStateLocked},
			{"unlock", []byte{profiles.LockOpUnlock}, nil, profiles.LockStateUnlocked},
			{"unknown opcode", []byte{0x07}, profiles.ErrLockOpcodeNotSupported, profiles.LockStateUnlocked},
			{"two octets", []byte{profiles.LockOpLock, 0}, att.ErrInvalidAttrValueLength, profiles.LockStateUnlocked},
			{"lock", []byte{profiles.LockOpLock}, nil, profiles.LockStateLocked},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLockWorld(t, profiles.LockConfig{PeripheralConfig: profiles.PeripheralConfig{
				Security: profiles.SecurityConfig{IOCapability: "display-only", MITM: tc.lockMITM}}})
			c, cevs := w.central(phoneAddr, profiles.CentralConfig{Security: profiles.CentralSecurity{ManualSecurity: true}})
			c.Start()
			w.s.RunFor(3 * sim.Second)
			require.NotNil(t, c.Client)
			if tc.pair != nil {
				require.NoError(t, gattResult(t, w.s, func(done func(error)) { c.SMP.PairThen(c.Conn.Handle, tc.pair, done) }))
				_, pc := count[profiles.PairingComplete](*cevs)
				assert.Equal(t, tc.lockMITM, pc.Authenticated)
			}
			st := c.Client.Characteristic(profiles.UUIDLockState)
			cp := c.Client.Characteristic(profiles.UUIDLockControlPoint)
			require.NotNil(t, st)
			require.NotNil(t, cp)
			var notified [][]byte
			if tc.pair != nil && tc.lockMITM {
				require.NoError(t, gattResult(t, w.s, func(done func(error)) {
					c.Client.Subscribe(st, func(v []byte, _ bool) { notified = append(notified, v) }, done)
				}))
			}
			for _, o := range tc.ops {
				var got []byte
				err := gattResult(t, w.s, func(done func(error)) {
					if o.write == nil {
						c.Client.Read(st.ValueHandle, func(v []byte, err error) { got = v; done(err) })
					} else {
						c.Client.Write(cp.ValueHandle, o.write, done)
					}
				})
				if o.want == nil {
					require.NoError(t, err, o.name)
				} else {
					require.ErrorIs(t, err, o.want, o.name)
				}
				if o.write == nil && o.want == nil {
					assert.Equal(t, []byte{o.state}, got, o.name)
				}
				assert.Equal(t, o.state == profiles.LockStateLocked, w.lock.Locked(), o.name)
			}
			if tc.pair != nil && tc.lockMITM {
				assert.Equal(t, [][]byte{{profiles.LockStateUnlocked}, {profiles.LockStateLocked}}, notified)
				n, lc := count[profiles.LockChanged](w.levs)
				assert.Equal(t, 2, n)
				assert.Equal(t, smp.Address{Type: hci.AddrRandom, Addr: phoneAddr}, lc.Peer)
			} else {
				n, _ := count[profiles.LockChanged](w.levs)
				assert.Zero(t, n)
			}
		})
	}
}

// connectionsFrom counts the lock's connections from addr.
func connectionsFrom(evs []profiles.Event, addr hci.BDAddr) int {
	n := 0
	for _, e := range evs {
		if c, ok := e.(profiles.Connected); ok && c.PeerAddr == addr {
			n++
		}
	}
	return n
}

// Pairing mode: on, a phone pairs and bonds; off, the lock's controller
// takes connections only from bonded phones (the attacker's connection
// fails to be established, 0x3E, and the lock never sees it) and the lock
// refuses pairing (Pairing Not Supported); a lost bond takes the phone
// off the accept list; pairing mode on lets it in again.
func TestLockPairingModeAcceptList(t *testing.T) {
	w := newLockWorld(t, profiles.LockConfig{PeripheralConfig: profiles.PeripheralConfig{
		Security: profiles.SecurityConfig{IOCapability: "display-only", MITM: true}}})
	require.True(t, w.lock.PairingMode(), "out of the box: no bond, pairing mode on")
	mitm := &smp.PairOptions{Bond: true, LESecure: true, MITM: true, IO: smp.KeyboardOnly}
	phone, pevs := w.central(phoneAddr, profiles.CentralConfig{Security: profiles.CentralSecurity{PairOnConnect: true, Pair: mitm}})
	attacker, aevs := w.central(attackerAddr, profiles.CentralConfig{Security: profiles.CentralSecurity{PairOnConnect: true, Pair: mitm}})

	phone.Start()
	w.s.RunFor(4 * sim.Second)
	_, pc := count[profiles.PairingComplete](*pevs)
	require.True(t, pc.Bonded && pc.Authenticated, "%v", *pevs)
	phone.Disconnect()
	w.s.RunFor(sim.Second)

	w.lock.SetPairingMode(false)
	w.s.RunFor(sim.Second)
	_, pm := count[profiles.PairingModeChanged](w.levs)
	assert.False(t, pm.On)

	// The attacker is not on the accept list.
	attacker.Start()
	w.s.RunFor(4 * sim.Second)
	n, _ := count[profiles.Connected](*aevs)
	assert.Equal(t, 1, n, "its controller reports the connection created")
	_, d := count[profiles.Disconnected](*aevs)
	assert.Equal(t, hci.StatusConnectionFailedToEstablish, d.Reason)
	assert.Zero(t, connectionsFrom(w.levs, attackerAddr), "the lock never saw the attacker")
	n, _ = count[profiles.PairingStarted](w.levs)
	assert.Equal(t, 1, n, "only the phone's pairing reached the lock")

	// The bonded phone is, and encrypts with its bond; pairing anew is
	// refused outside pairing mode.
	*pevs = nil
	phone.Scan()
	w.s.RunFor(3 * sim.Second)
	require.NotNil(t, phone.Conn, "%v", *pevs)
	_, ec := count[profiles.EncryptionChanged](*pevs)
	assert.True(t, ec.Enabled && ec.FromBond && ec.Authenticated)
	err := gattResult(t, w.s, func(done func(error)) { phone.SMP.PairThen(phone.Conn.Handle, mitm, done) })
	assert.ErrorIs(t, err, smp.ReasonPairingNotSupported)
	phone.Disconnect()
	w.s.RunFor(sim.Second)

	// The lock loses its bonds: the phone is off the list too.
	_, err = w.lock.ForgetKeys()
	require.NoError(t, err)
	w.s.RunFor(sim.Second)
	*pevs = nil
	before := connectionsFrom(w.levs, phoneAddr)
	phone.Scan()
	w.s.RunFor(3 * sim.Second)
	_, d = count[profiles.Disconnected](*pevs)
	assert.Equal(t, hci.StatusConnectionFailedToEstablish, d.Reason, "%v", *pevs)
	assert.Equal(t, before, connectionsFrom(w.levs, phoneAddr))

	// Pairing mode on: anyone may connect and pair (the phone deletes its
	// stale bond first).
	require.NoError(t, phone.DeleteBond(smp.Address{Type: hci.AddrRandom, Addr: lockAddr}))
	w.lock.SetPairingMode(true)
	w.s.RunFor(sim.Second)
	*pevs = nil
	phone.Scan()
	w.s.RunFor(4 * sim.Second)
	require.NotNil(t, phone.Conn)
	n, _ = count[profiles.PairingComplete](*pevs)
	assert.Equal(t, 1, n, "%v", *pevs)
	noErrors(t, w.levs)
}

// The pairing mode at start: on without bonds (out of the box), off with
// one, unless the configuration says.
func TestLockInitialPairingMode(t *testing.T) {
	on, off := true, false
	for _, tc := range []struct {
		name   string
		bonded bool
		mode   *bool
		want   bool
	}{
		{"no bond", false, nil, true},
		{"a bond", true, nil, false},
		{"a bond, on", true, &on, true},
		{"no bond, off", false, &off, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "lock.bonds.json")
			if tc.bonded {
				st, err := smp.OpenStore(file)
				require.NoError(t, err)
				ltk := smp.Key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
				require.NoError(t, st.Put(smp.Bond{Peer: smp.Address{Type: hci.AddrRandom, Addr: phoneAddr}, LTK: &ltk, Authenticated: true}))
			}
			l, err := profiles.NewLock(quiet(t), sim.New(1), func([]byte) {}, profiles.LockConfig{PairingMode: tc.mode,
				PeripheralConfig: profiles.PeripheralConfig{Security: profiles.SecurityConfig{BondFile: file}}})
			require.NoError(t, err)
			assert.Equal(t, tc.want, l.PairingMode())
			assert.Equal(t, tc.want, l.SMP.Pairable())
			l.SetPairingMode(!tc.want)
			assert.Equal(t, !tc.want, l.SMP.Pairable())
		})
	}
}
