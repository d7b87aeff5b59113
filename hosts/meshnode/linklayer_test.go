package meshnode

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/hosts/mesh/pbgatt"
	"blesim/linklayer"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// world is the built-in mesh hosts on real virtual controllers (link
// layer) over the radio medium: advertising, scanning, collisions, air
// time.
type world struct {
	t     testing.TB
	s     *sim.Scheduler
	m     *radio.Medium
	ctrls []*linklayer.Controller
}

func newWorld(t testing.TB, seed uint64) *world {
	s := sim.New(seed)
	return &world{t: t, s: s, m: radio.NewMedium(s, radio.DefaultConfig())}
}

// wire makes a controller at pos and connects a host built by mk to it
// with 50 µs of HCI transport latency each way.
func (w *world) wire(name string, pos radio.Position, mk func(send func([]byte)) (interface{ Receive([]byte) }, error)) *linklayer.Controller {
	i := len(w.ctrls)
	addr := hci.BDAddr{byte(i), byte(i >> 8), 0x00, 0x5E, 0x5E, 0xC0}
	c := linklayer.New(w.s, w.m, linklayer.Config{Name: name, Address: addr, Position: pos}, nil)
	host, err := mk(func(h4 []byte) {
		p := append([]byte(nil), h4...)
		w.s.After(50*sim.Microsecond, func() { c.FromHost(p) })
	})
	require.NoError(w.t, err)
	c.SetHostSink(func(h4 []byte) {
		p := append([]byte(nil), h4...)
		w.s.After(50*sim.Microsecond, func() { host.Receive(p) })
	})
	w.ctrls = append(w.ctrls, c)
	return c
}

func (w *world) provisioner(log *zap.Logger, cfg ProvisionerConfig, evs *[]Event) *Provisioner {
	cfg.NetKey, cfg.AppKey = testNetKey, testAppKey
	var p *Provisioner
	w.wire("provisioner", radio.Position{}, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		p, err = NewProvisioner(log.Named("prov"), w.s, send, cfg)
		return p, err
	})
	p.OnEvent = func(e Event) { *evs = append(*evs, e) }
	return p
}

func (w *world) node(log *zap.Logger, pos radio.Position, cfg NodeConfig, evs *[]Event) *Node {
	var n *Node
	w.wire(cfg.Name, pos, func(send func([]byte)) (interface{ Receive([]byte) }, error) {
		var err error
		n, err = NewNode(log.Named(cfg.Name), w.s, send, cfg)
		return n, err
	})
	n.OnEvent = func(e Event) { *evs = append(*evs, e) }
	return n
}

// TestOverLinkLayer: the built-in provisioner provisions and configures
// three nodes through their virtual controllers (ADV_NONCONN_IND out,
// passive scanning in), switches one on, and a node restarted from its
// state file is still in the network.
func TestOverLinkLayer(t *testing.T) {
	log := quiet(t)
	w := newWorld(t, 5)
	dir := t.TempDir()
	var pev []Event
	p := w.provisioner(log, ProvisionerConfig{Any: true}, &pev)
	var nev [3][]Event
	var nodes []*Node
	for i := range 3 {
		nodes = append(nodes, w.node(log, radio.Position{X: float64(1 + i)}, NodeConfig{Name: fmt.Sprintf("node%d", i),
			UUID: uuidOf(i), StatePath: filepath.Join(dir, fmt.Sprintf("node%d.json", i))}, &nev[i]))
	}
	p.Start()
	for _, n := range nodes {
		n.Start()
	}
	configured := func() int {
		k := 0
		for _, e := range pev {
			if c, ok := e.(NodeConfigured); ok && c.Err == nil {
				k++
			}
		}
		return k
	}
	w.s.RunWhile(sim.Time(120*sim.Second), func() bool { return configured() < 3 })
	require.Equal(t, 3, configured(), "%v", pev)
	t.Logf("3 nodes provisioned and configured over the link layer in %v virtual", w.s.Now())

	var on *bool
	target := nodes[2].Address()
	p.SetOnOff(target, true, func(v bool, err error) { require.NoError(t, err); on = &v })
	w.s.RunWhile(w.s.Now().Add(20*sim.Second), func() bool { return on == nil })
	require.NotNil(t, on)
	require.True(t, nodes[2].OnOff[0].OnOff())

	// Restart node 2 from its state file on a fresh controller.
	w.ctrls[3].Detach()
	var rev []Event
	again := w.node(log, radio.Position{X: 3}, NodeConfig{Name: "node2b", UUID: uuidOf(2),
		StatePath: filepath.Join(dir, "node2.json")}, &rev)
	again.Start()
	w.s.RunFor(sim.Second)
	r, ok := find[Restored](rev)
	require.True(t, ok, "%v", rev)
	require.Equal(t, target, r.Address)
	// The restarted node powers up Off (Generic OnPowerUp default) and
	// still takes the network's messages.
	on = nil
	p.SetOnOff(target, true, func(v bool, err error) { require.NoError(t, err); on = &v })
	w.s.RunWhile(w.s.Now().Add(20*sim.Second), func() bool { return on == nil })
	require.NotNil(t, on)
	require.True(t, *on)
	ch, ok := find[OnOffChanged](rev)
	require.True(t, ok)
	require.Equal(t, OnOffChanged{On: true, Src: 0x0001}, ch)
}

// TestPBGATTOverLinkLayer: a device offering only PB-GATT (connectable
// advertising with the Mesh Provisioning Service) is provisioned by the
// built-in provisioner as a GATT central through the controllers, on
// route A2B2 and route A1B3, and then configured over the advertising
// bearer.
func TestPBGATTOverLinkLayer(t *testing.T) {
	for _, route := range []string{"A2B2", "A1B3"} {
		t.Run(route, func(t *testing.T) {
			log := quiet(t)
			w := newWorld(t, 8)
			var pev, nev []Event
			nc := NodeConfig{Name: "gatt-node", UUID: uuidOf(9), PBGATT: true}
			tg := Target{UUID: uuidOf(9)}
			if route == "A2B2" {
				nc.PublicKeyOOB, nc.StaticOOB, tg.StaticOOB = true, []byte("static!"), []byte("static!")
			} else {
				nc.OutputSize, nc.OutputActions, tg.Output = 4, []string{"blink"}, true
			}
			p := w.provisioner(log, ProvisionerConfig{PBGATT: true, Targets: []Target{tg}}, &pev)
			n := w.node(log, radio.Position{X: 2}, nc, &nev)
			if route == "A2B2" {
				tg.PublicKey = n.PublicKey()
				p.cfg.Targets = []Target{tg}
			}
			n.OnEvent = func(e Event) {
				nev = append(nev, e)
				if o, ok := e.(OOBOutput); ok {
					w.s.After(2*sim.Second, func() { require.NoError(t, p.Enter(o.UUID, o.Value)) })
				}
			}
			p.Start()
			n.Start()
			w.s.RunWhile(sim.Time(60*sim.Second), func() bool {
				_, ok := find[NodeConfigured](pev)
				return !ok
			})
			c, ok := find[NodeConfigured](pev)
			require.True(t, ok, "%v", pev)
			require.NoError(t, c.Err)
			pv, ok := find[Provisioned](nev)
			require.True(t, ok)
			require.Equal(t, "PB-GATT", pv.Bearer)
			require.Equal(t, route, pv.Route)
			pp, _ := find[Provisioned](pev)
			require.Equal(t, "PB-GATT", pp.Bearer)
			w.s.RunFor(sim.Second)
			require.Zero(t, p.hci.gatt.mux.Conns(), "the provisioner disconnected")
			t.Logf("%v: %v", w.s.Now(), pev)
		})
	}
}

// TestBothBearers: a device offering PB-ADV and PB-GATT alternates its
// connectable PB-GATT advertising with its beacons; a PB-ADV provisioner
// provisions it, and it stops advertising the Mesh Provisioning Service.
func TestBothBearers(t *testing.T) {
	log := quiet(t)
	w := newWorld(t, 11)
	var pev, nev []Event
	p := w.provisioner(log, ProvisionerConfig{}, &pev)
	n := w.node(log, radio.Position{X: 1}, NodeConfig{Name: "both", UUID: uuidOf(4), PBADV: true, PBGATT: true}, &nev)
	// A PB-GATT provisioner's view: the connectable advertising is there.
	var gattAdv int
	p.Bearer().OnReport = func(r hcihost.AdvertisingReport) {
		if _, _, ok := pbgatt.ParseAdvData(r.Data); ok && r.EventType == hcihost.AdvInd {
			gattAdv++
		}
	}
	n.Start()
	p.Start()
	w.s.RunFor(3 * sim.Second)
	require.Positive(t, gattAdv, "connectable PB-GATT advertising")
	_, ok := find[DeviceDiscovered](pev)
	require.True(t, ok, "and the beacons")
	p.Provision(uuidOf(4))
	w.s.RunWhile(sim.Time(60*sim.Second), func() bool {
		_, ok := find[NodeConfigured](pev)
		return !ok
	})
	pv, ok := find[Provisioned](nev)
	require.True(t, ok, "%v", pev)
	require.Equal(t, "PB-ADV", pv.Bearer)
	w.s.RunFor(sim.Second)
	gattAdv = 0
	w.s.RunFor(3 * sim.Second)
	require.Zero(t, gattAdv, "no PB-GATT advertising once provisioned")
}
