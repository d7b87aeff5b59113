package profiles_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/linklayer"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// airWorld runs the built-in hosts on the real virtual controllers
// (linklayer) over the radio medium: pairing then really encrypts the
// link with AES-CCM, and a wrong key really fails.
type airWorld struct {
	s *sim.Scheduler
	m *radio.Medium
}

func (w *airWorld) wire(t *testing.T, name string, addr hci.BDAddr, x float64, mk func(send func([]byte)) (interface{ Receive([]byte) }, error)) *linklayer.Controller {
	c := linklayer.New(w.s, w.m, linklayer.Config{Name: name, Address: addr, Position: radio.Position{X: x}}, nil)
	host, err := mk(func(h4 []byte) {
		p := append([]byte(nil), h4...)
		w.s.After(50*sim.Microsecond, func() { c.FromHost(p) })
	})
	require.NoError(t, err)
	c.SetHostSink(func(h4 []byte) {
		p := append([]byte(nil), h4...)
		w.s.After(50*sim.Microsecond, func() { host.Receive(p) })
	})
	return c
}

// Pairing, encrypted GATT, reconnection from the bond and the lost bond,
// over the real link layer: SC and legacy.
func TestOverLinkLayer(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "SC"
		if legacy {
			name = "legacy"
		}
		t.Run(name, func(t *testing.T) {
			s := sim.New(7)
			w := &airWorld{s: s, m: radio.NewMedium(s, radio.Config{})}
			log := quiet(t)
			var o *profiles.Oximeter
			var oevs, cevs []profiles.Event
			w.wire(t, "Oximeter", hci.BDAddr{0x16, 0, 0, 0, 0, 0xC0}, 1, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
				var err error
				o, err = profiles.NewOximeter(log.Named("oxi"), s, send, profiles.OximeterConfig{
					PeripheralConfig: profiles.PeripheralConfig{Name: "Oxi", Connectable: true, SecurityRequest: true,
						Security: profiles.SecurityConfig{LegacyOnly: legacy}},
					MeasurementSecurity: profiles.CharSecurity{Encryption: true}})
				if o != nil {
					o.OnEvent = func(e profiles.Event) { oevs = append(oevs, e) }
				}
				return o, err
			})
			var c *profiles.Central
			w.wire(t, "Central", hci.BDAddr{0x01, 0, 0xAA, 0, 0, 0}, 0, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
				var err error
				c, err = profiles.NewCentral(log.Named("central"), s, send, profiles.CentralConfig{Target: "Oxi",
					Subscribe: []att.UUID{profiles.UUIDPLXContinuous}, Read: []att.UUID{profiles.UUIDPLXFeatures}, Hold: 4 * time.Second})
				if c != nil {
					c.OnEvent = func(e profiles.Event) { cevs = append(cevs, e) }
				}
				return c, err
			})
			o.Start()
			c.Start()
			s.RunFor(10 * sim.Second)
			noErrors(t, cevs)
			_, pc := count[profiles.PairingComplete](cevs)
			require.True(t, pc.Bonded, "%v", cevs)
			assert.Equal(t, !legacy, pc.SC)
			n, _ := count[profiles.Notification](cevs)
			assert.Greater(t, n, 1, "measurements over the encrypted link")
			n, _ = count[profiles.Read](cevs)
			assert.Equal(t, 1, n)

			// Reconnection: encrypted from the bond by the real controllers.
			cevs = nil
			c.Scan()
			s.RunFor(10 * sim.Second)
			noErrors(t, cevs)
			n, _ = count[profiles.PairingStarted](cevs)
			assert.Zero(t, n)
			_, ec := count[profiles.EncryptionChanged](cevs)
			assert.True(t, ec.Enabled && ec.FromBond)
			n, _ = count[profiles.Notification](cevs)
			assert.Greater(t, n, 1)

			// Lost bond: PIN or Key Missing from the real controller, and
			// the central disconnects with Authentication Failure.
			_, err := o.ForgetKeys()
			require.NoError(t, err)
			cevs, oevs = nil, nil
			c.Scan()
			s.RunFor(10 * sim.Second)
			_, ec = count[profiles.EncryptionChanged](cevs)
			assert.Equal(t, hci.StatusPINOrKeyMissing, ec.Status)
			_, d := count[profiles.Disconnected](oevs)
			assert.Equal(t, hci.StatusAuthenticationFailure, d.Reason)
			t.Logf("%d scheduler events, virtual time %s", s.Events(), s.Now())
		})
	}
}

// A central whose bond holds a wrong key (its copy was corrupted): the
// peripheral's link layer fails the MIC of the central's first encrypted
// PDU (LL_START_ENC_RSP) and drops the link with 0x3D; the central's side
// ends with a supervision timeout.
func TestWrongKeyOverLinkLayer(t *testing.T) {
	s := sim.New(9)
	w := &airWorld{s: s, m: radio.NewMedium(s, radio.Config{})}
	log := quiet(t)
	var o *profiles.Oximeter
	var cevs, oevs []profiles.Event
	w.wire(t, "Oximeter", hci.BDAddr{0x16, 0, 0, 0, 0, 0xC0}, 1, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		o, err = profiles.NewOximeter(log, s, send, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Name: "Oxi", Connectable: true}})
		if o != nil {
			o.OnEvent = func(e profiles.Event) { oevs = append(oevs, e) }
		}
		return o, err
	})
	var c *profiles.Central
	w.wire(t, "Central", hci.BDAddr{0x01, 0, 0xAA, 0, 0, 0}, 0, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		c, err = profiles.NewCentral(log, s, send, profiles.CentralConfig{Target: "Oxi", Hold: 2 * time.Second,
			Security: profiles.CentralSecurity{PairOnConnect: true}})
		if c != nil {
			c.OnEvent = func(e profiles.Event) { cevs = append(cevs, e) }
		}
		return c, err
	})
	o.Start()
	c.Start()
	s.RunFor(8 * sim.Second)
	_, pc := count[profiles.PairingComplete](cevs)
	require.True(t, pc.Bonded)
	b, ok := c.SMP.Store().Get(pc.Peer)
	require.True(t, ok)
	bad := *b.LTK
	bad[0] ^= 0xff
	b.LTK = &bad
	require.NoError(t, c.SMP.Store().Put(b))
	cevs, oevs = nil, nil
	c.Scan()
	s.RunFor(8 * sim.Second)
	_, d := count[profiles.Disconnected](oevs)
	assert.Equal(t, hci.StatusMICFailure, d.Reason, "%v", oevs)
	_, d = count[profiles.Disconnected](cevs)
	assert.Equal(t, hci.StatusConnectionTimeout, d.Reason, "%v", cevs)
	_, ec := count[profiles.EncryptionChanged](cevs)
	assert.False(t, ec.Enabled)
}
