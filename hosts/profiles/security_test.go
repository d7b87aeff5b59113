package profiles_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

func quiet(t *testing.T) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)) }

func noErrors(t *testing.T, evs []profiles.Event) {
	t.Helper()
	for _, e := range evs {
		if err, ok := e.(profiles.Error); ok {
			t.Errorf("error event: %v", err)
		}
	}
}

func generic(t *testing.T, w *world, cfg profiles.GenericConfig) (*profiles.Generic, *[]profiles.Event) {
	ctl := w.ctl(periphAddr)
	g, err := profiles.NewGeneric(w.log.Named("generic"), w.s, ctl.Send, cfg)
	require.NoError(t, err)
	ctl.Attach(g.Receive)
	var evs []profiles.Event
	g.OnEvent = func(e profiles.Event) { evs = append(evs, e) }
	g.Start()
	return g, &evs
}

// An oximeter whose PLX measurements need encryption: the central's
// subscriptions and read fail with Insufficient Authentication, it pairs
// (as BlueZ does) and retries, and the measurements flow on the encrypted
// link.
func TestOximeterMeasurementsNeedEncryption(t *testing.T) {
	w := newWorld(t, quiet(t))
	_, _, oevs := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true},
		MeasurementSecurity: profiles.CharSecurity{Encryption: true}})
	c, cctl, cevs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter",
		Read:      []att.UUID{profiles.UUIDPLXFeatures},
		Subscribe: []att.UUID{profiles.UUIDPLXContinuous, profiles.UUIDPLXSpotCheck}})
	w.s.RunFor(10 * sim.Second)
	noErrors(t, *cevs)
	n, pc := count[profiles.PairingComplete](*cevs)
	require.Equal(t, 1, n, "paired once, for all three requests")
	assert.True(t, pc.Bonded)
	assert.Equal(t, smp.JustWorks, pc.Method)
	n, _ = count[profiles.Subscribed](*cevs)
	assert.Equal(t, 2, n)
	n, _ = count[profiles.Read](*cevs)
	assert.Equal(t, 1, n)
	n, _ = count[profiles.Notification](*cevs)
	assert.Greater(t, n, 5)
	n, _ = count[profiles.ProceduresDone](*cevs)
	assert.Equal(t, 1, n, "after the retries")
	enc, _ := cctl.Encrypted(c.Conn.Handle)
	assert.True(t, enc)
	n, _ = count[profiles.PairingComplete](*oevs)
	assert.Equal(t, 1, n)
}

// With ManualSecurity the central leaves the errors alone.
func TestCentralManualSecurity(t *testing.T) {
	w := newWorld(t, quiet(t))
	oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true},
		MeasurementSecurity: profiles.CharSecurity{Encryption: true}})
	_, _, cevs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter", Read: []att.UUID{profiles.UUIDPLXFeatures},
		Security: profiles.CentralSecurity{ManualSecurity: true}})
	w.s.RunFor(5 * sim.Second)
	_, e := count[profiles.Error](*cevs)
	assert.ErrorIs(t, e.Err, att.ErrInsufficientAuthn)
	n, _ := count[profiles.PairingStarted](*cevs)
	assert.Zero(t, n)
}

// The field bug of oximeter-lost-bond.btmon.txt end to end with the
// built-in central: Security Request, legacy Just Works pairing and
// bonding; reconnection encrypted from the bond; the oximeter loses its
// keys; the next reconnection gets PIN or Key Missing and the central
// disconnects with Authentication Failure.
func TestOximeterLostBond(t *testing.T) {
	w := newWorld(t, quiet(t))
	o, octl, oevs := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true,
		SecurityRequest: true, Security: profiles.SecurityConfig{LegacyOnly: true}}})
	c, cctl, cevs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter", Hold: 2 * time.Second})
	w.s.RunFor(5 * sim.Second)
	n, pc := count[profiles.PairingComplete](*cevs)
	require.Equal(t, 1, n)
	assert.False(t, pc.SC)
	assert.Equal(t, smp.DistEncKey|smp.DistIdKey|smp.DistSignKey, pc.Received)

	// Reconnect: encrypted with the stored LTK (legacy EDIV/Rand), no
	// pairing.
	*cevs = nil
	c.Scan()
	w.s.RunFor(5 * sim.Second)
	n, _ = count[profiles.PairingStarted](*cevs)
	assert.Zero(t, n)
	_, ec := count[profiles.EncryptionChanged](*cevs)
	assert.True(t, ec.Enabled && ec.FromBond, "%+v", ec)
	assert.NotZero(t, cctl.Params[hci.OpLEEnableEncryption][10:12], "EDIV of the stored legacy key")

	// The oximeter forgets.
	forgot, err := o.ForgetKeys()
	require.NoError(t, err)
	assert.Equal(t, 1, forgot)
	*cevs, *oevs = nil, nil
	c.Scan()
	w.s.RunFor(5 * sim.Second)
	_, ec = count[profiles.EncryptionChanged](*cevs)
	assert.Equal(t, hci.StatusPINOrKeyMissing, ec.Status)
	_, d := count[profiles.Disconnected](*oevs)
	assert.Equal(t, hci.StatusAuthenticationFailure, d.Reason, "BlueZ: Disconnect, Authentication Failure")
	assert.Equal(t, 1, octl.NegativeReplies)
}

// Security Request on connect with a bonded central: encryption, not
// pairing. And ForgetAfter reproduces the lost bond by itself.
func TestForgetAfterConnections(t *testing.T) {
	w := newWorld(t, quiet(t))
	_, _, oevs := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true,
		SecurityRequest: true, Security: profiles.SecurityConfig{ForgetAfter: 2}}})
	c, _, cevs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter", Hold: time.Second})
	for range 3 {
		w.s.RunFor(5 * sim.Second)
		c.Scan()
	}
	w.s.RunFor(5 * sim.Second)
	n, _ := count[profiles.PairingComplete](*cevs)
	assert.Equal(t, 1, n)
	_, bd := count[profiles.BondDeleted](*oevs)
	assert.Equal(t, "forget-after", bd.Reason)
	_, ec := count[profiles.EncryptionChanged](*cevs)
	assert.Equal(t, hci.StatusPINOrKeyMissing, ec.Status)
}

// A private peripheral advertises with resolvable private addresses that
// change every RPARotation; once bonded, the central resolves them to the
// peripheral's identity.
func TestPrivacy(t *testing.T) {
	w := newWorld(t, quiet(t))
	g, gevs := generic(t, w, profiles.GenericConfig{PeripheralConfig: profiles.PeripheralConfig{Name: "Private", Connectable: true,
		Privacy: true, RPARotation: 60 * time.Second}})
	w.s.RunFor(100 * sim.Millisecond)
	_, ready := count[profiles.Ready](*gevs)
	require.True(t, ready.Addr.IsResolvablePrivate(), "%s", ready.Addr)
	assert.Equal(t, hci.AddrRandom, ready.AddrType)
	first := ready.Addr

	c, _, cevs := w.central(t, profiles.CentralConfig{Target: "Private", Hold: time.Second, Security: profiles.CentralSecurity{PairOnConnect: true}})
	w.s.RunFor(5 * sim.Second)
	_, conn := count[profiles.Connected](*cevs)
	assert.Equal(t, first, conn.PeerAddr)
	_, pc := count[profiles.PairingComplete](*cevs)
	assert.Equal(t, smp.Address{Type: hci.AddrPublic, Addr: periphAddr}, pc.Peer, "the identity address was distributed")
	require.NotNil(t, pc.Keys.PeerIRK)

	w.s.RunFor(2 * 60 * sim.Second)
	n, changed := count[profiles.AddressChanged](*gevs)
	assert.Equal(t, 2, n, "rotated every 60 s")
	assert.NotEqual(t, first, changed.Addr)
	assert.Equal(t, changed.Addr, g.OwnAddress().Addr)

	*cevs = nil
	c.Scan()
	w.s.RunFor(3 * sim.Second)
	_, d := count[profiles.Discovered](*cevs)
	assert.Equal(t, changed.Addr, d.Addr)
	assert.True(t, d.Resolved)
	assert.Equal(t, smp.Address{Type: hci.AddrPublic, Addr: periphAddr}, d.Identity)
	_, res := count[profiles.IdentityResolved](*cevs)
	assert.Equal(t, periphAddr, res.Identity.Addr)
	_, ec := count[profiles.EncryptionChanged](*cevs)
	assert.True(t, ec.Enabled && ec.FromBond, "reconnection to the RPA encrypted from the bond: %v", *cevs)
}

// aioble-style pairing options, characteristic authentication and
// authorization, and the device's user typing a passkey from outside.
func TestPairOptionsAuthAndKeyboard(t *testing.T) {
	w := newWorld(t, quiet(t))
	authUUID, authzUUID := att.UUID16(0xFFA1), att.UUID16(0xFFA2)
	g, gevs := generic(t, w, profiles.GenericConfig{
		PeripheralConfig: profiles.PeripheralConfig{Name: "Lock", Connectable: true,
			Security: profiles.SecurityConfig{IOCapability: "keyboard-only"}},
		Services: []profiles.ServiceConfig{{UUID: att.UUID16(0xFFA0), Characteristics: []profiles.CharacteristicConfig{
			{UUID: authUUID, Props: gatt.PropRead, Value: []byte{1}, Security: profiles.CharSecurity{Authentication: true, MinKeySize: 16}},
			{UUID: authzUUID, Props: gatt.PropRead | gatt.PropWrite, Value: []byte{2}, Security: profiles.CharSecurity{Encryption: true, Authorization: true}},
		}}},
	})
	ca := &smp.ScriptedAgent{}
	_, _, cevs := w.central(t, profiles.CentralConfig{Target: "Lock", Read: []att.UUID{authUUID, authzUUID},
		Security: profiles.CentralSecurity{SecurityConfig: profiles.SecurityConfig{IOCapability: "display-only", Agent: ca},
			PairOnConnect: true, Pair: &smp.PairOptions{Bond: true, LESecure: true, MITM: true, IO: smp.DisplayOnly}}})
	w.s.RunFor(2 * sim.Second)
	require.Len(t, ca.Displayed, 1, "the central shows a passkey")
	n, _ := count[profiles.PairingComplete](*cevs)
	require.Zero(t, n, "waiting for the lock's user")
	assert.Error(t, g.EnterPasskey(1234567), "seven digits")
	require.NoError(t, g.EnterPasskey(ca.Displayed[0]))
	w.s.RunFor(3 * sim.Second)
	noErrors(t, *cevs)
	_, pc := count[profiles.PairingComplete](*cevs)
	assert.True(t, pc.Authenticated && pc.SC)
	assert.Equal(t, smp.PasskeyResponderInputs, pc.Method)
	n, _ = count[profiles.Read](*cevs)
	assert.Equal(t, 2, n, "authenticated read and authorized read (bonded, encrypted)")
	assert.ErrorIs(t, g.EnterPasskey(1), smp.ErrNothingPending)
	n, _ = count[profiles.PairingComplete](*gevs)
	assert.Equal(t, 1, n)
}
