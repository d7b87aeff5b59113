package meshnode

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/pbadv"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

var (
	testNetKey = [16]byte{0x7d, 0xd7, 0x36, 0x4c, 0xd8, 0x42, 0xad, 0x18, 0xc1, 0x7c, 0x2b, 0x82, 0x0c, 0x84, 0xc3, 0xd6}
	testAppKey = [16]byte{0x63, 0x96, 0x47, 0x71, 0x73, 0x4f, 0xbd, 0x76, 0xe3, 0xb4, 0x05, 0x19, 0xd1, 0xd9, 0x4a, 0x48}
)

func uuidOf(i int) [16]byte {
	return [16]byte{0xb1, 0xe5, 0x1a, 0x00, 14: byte(i >> 8), 15: byte(i)}
}

func quiet(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

// airNet is a provisioner and nodes on the in-memory advertising medium.
type airNet struct {
	t     testing.TB
	sched *sim.Scheduler
	air   *pbadv.Air
	p     *Provisioner
	pev   []Event
	nodes []*Node
	nev   [][]Event
}

func newAirNet(t testing.TB, log *zap.Logger, pc ProvisionerConfig) *airNet {
	a := &airNet{t: t, sched: sim.New(3)}
	a.air = pbadv.NewAir(a.sched)
	pc.NetKey, pc.AppKey = testNetKey, testAppKey
	var p *Provisioner
	b, _ := a.air.Attach(func(ad []byte) { p.ReceiveAD(ad) })
	p, err := NewProvisionerOnBearer(log.Named("prov"), a.sched, b, pc)
	require.NoError(t, err)
	p.OnEvent = func(e Event) { a.pev = append(a.pev, e) }
	a.p = p
	return a
}

func (a *airNet) add(log *zap.Logger, nc NodeConfig) *Node {
	var n *Node
	b, _ := a.air.Attach(func(ad []byte) { n.ReceiveAD(ad) })
	n, err := NewNodeOnBearer(log.Named(fmt.Sprintf("node%d", len(a.nodes))), a.sched, b, nc)
	require.NoError(a.t, err)
	i := len(a.nodes)
	a.nev = append(a.nev, nil)
	n.OnEvent = func(e Event) { a.nev[i] = append(a.nev[i], e) }
	a.nodes = append(a.nodes, n)
	return n
}

func (a *airNet) start() {
	a.p.Start()
	for _, n := range a.nodes {
		n.Start()
	}
}

func (a *airNet) configured() int {
	k := 0
	for _, e := range a.pev {
		if c, ok := e.(NodeConfigured); ok && c.Err == nil {
			k++
		}
	}
	return k
}

func find[T Event](evs []Event) (T, bool) {
	for _, e := range evs {
		if v, ok := e.(T); ok {
			return v, true
		}
	}
	var z T
	return z, false
}

func count[T Event](evs []Event) int {
	k := 0
	for _, e := range evs {
		if _, ok := e.(T); ok {
			k++
		}
	}
	return k
}

// TestProvisionAndConfigureOnAir: the provisioner hears three devices'
// beacons, provisions them over PB-ADV, reads their Composition Data,
// adds the AppKey and binds it to every OnOff Server (a two-element node
// gets two bindings), then switches a node on.
func TestProvisionAndConfigureOnAir(t *testing.T) {
	log := quiet(t)
	a := newAirNet(t, log, ProvisionerConfig{Any: true})
	for i := range 3 {
		a.add(log, NodeConfig{UUID: uuidOf(i), Elements: 1 + i%2})
	}
	a.start()
	a.sched.RunWhile(sim.Time(120*sim.Second), func() bool { return a.configured() < 3 })
	require.Equal(t, 3, a.configured(), "%v", a.pev)
	addrs := map[uint16]bool{}
	for i, n := range a.nodes {
		require.True(t, n.Provisioned())
		addrs[n.Address()] = true
		pv, ok := find[Provisioned](a.nev[i])
		require.True(t, ok)
		require.Equal(t, "PB-ADV", pv.Bearer)
		require.Equal(t, "A1B1", pv.Route)
		require.Equal(t, 1, count[AppKeyAdded](a.nev[i]))
		require.Equal(t, 1+i%2, count[ModelBound](a.nev[i]))
		require.Len(t, n.OnOff[0].Model().AppKeys(), 1)
	}
	require.Len(t, addrs, 3)
	require.Equal(t, 3, count[CompositionReceived](a.pev))

	n := a.nodes[1]
	var on *bool
	a.p.SetOnOff(n.Address()+1, true, func(v bool, err error) { require.NoError(t, err); on = &v })
	a.sched.RunWhile(a.sched.Now().Add(10*sim.Second), func() bool { return on == nil })
	require.NotNil(t, on)
	require.True(t, *on)
	require.True(t, n.OnOff[1].OnOff(), "the second element's server")
	ch, ok := find[OnOffChanged](a.nev[1])
	require.True(t, ok)
	require.Equal(t, OnOffChanged{Element: 1, On: true, Src: 0x0001}, ch)
}

// TestRoutesOnAir provisions a built-in node with the built-in
// provisioner on every route, A1/A2 × B1..B4: the OOB values go from the
// node's OOBOutput event to Provisioner.Enter (B3) and from the
// provisioner's OOBShow event to Node.Input (B4), as a user would carry
// them.
func TestRoutesOnAir(t *testing.T) {
	for _, a2 := range []bool{false, true} {
		for _, m := range []string{"B1", "B2", "B3", "B4"} {
			route := map[bool]string{false: "A1", true: "A2"}[a2] + m
			t.Run(route, func(t *testing.T) {
				log := quiet(t)
				nc := NodeConfig{UUID: uuidOf(7), PublicKeyOOB: a2}
				tg := Target{UUID: uuidOf(7)}
				switch m {
				case "B2":
					nc.StaticOOB = []byte("0123456789abcdef")
					tg.StaticOOB = nc.StaticOOB
				case "B3":
					nc.OutputSize, nc.OutputActions = 6, []string{"numeric"}
					tg.Output = true
				case "B4":
					nc.InputSize, nc.InputActions = 4, []string{"alphanumeric"}
					tg.Input = true
				}
				a := newAirNet(t, log, ProvisionerConfig{})
				n := a.add(log, nc)
				if a2 {
					tg.PublicKey = n.PublicKey()
					require.Len(t, tg.PublicKey, 64)
				}
				a.p.cfg.Targets = []Target{tg}
				n.OnEvent = func(e Event) {
					a.nev[0] = append(a.nev[0], e)
					if o, ok := e.(OOBOutput); ok {
						a.sched.After(sim.Second, func() { require.NoError(t, a.p.Enter(o.UUID, o.Value)) })
					}
				}
				a.p.OnEvent = func(e Event) {
					a.pev = append(a.pev, e)
					if s, ok := e.(OOBShow); ok {
						a.sched.After(sim.Second, func() { require.NoError(t, n.Input(s.Value)) })
					}
				}
				a.start()
				a.sched.RunWhile(sim.Time(120*sim.Second), func() bool { return a.configured() < 1 })
				require.Equal(t, 1, a.configured(), "%v", a.pev)
				pv, _ := find[Provisioned](a.nev[0])
				require.Equal(t, route, pv.Route)
				if m == "B3" {
					_, ok := find[OOBPrompt](a.pev)
					require.True(t, ok)
				}
				if m == "B4" {
					_, ok := find[OOBInputRequest](a.nev[0])
					require.True(t, ok)
				}
			})
		}
	}
}

// TestWrongStaticOOB: a provisioner with the wrong static OOB value fails
// with Confirmation Failed; the device stays unprovisioned, and the
// provisioner gives up after maxAttempts.
func TestWrongStaticOOB(t *testing.T) {
	log := quiet(t)
	a := newAirNet(t, log, ProvisionerConfig{Targets: []Target{{UUID: uuidOf(1), StaticOOB: []byte("wrong")}}})
	n := a.add(log, NodeConfig{UUID: uuidOf(1), StaticOOB: []byte("right"), OnlyOOB: true})
	a.start()
	a.sched.RunFor(300 * sim.Second)
	require.False(t, n.Provisioned())
	require.Equal(t, maxAttempts, count[ProvisioningFailed](a.pev))
	f, _ := find[ProvisioningFailed](a.nev[0])
	require.Equal(t, prov.ConfirmationFailed, f.Code)
}

// TestNodeResetAndReprovision: Node Reset over the network makes the
// node an unprovisioned device again (its state file deleted); it beacons,
// and the provisioner (Any) provisions it again, at a new address.
func TestNodeResetAndReprovision(t *testing.T) {
	log := quiet(t)
	a := newAirNet(t, log, ProvisionerConfig{Any: true})
	path := filepath.Join(t.TempDir(), "n.json")
	n := a.add(log, NodeConfig{UUID: uuidOf(3), StatePath: path})
	a.start()
	a.sched.RunWhile(sim.Time(60*sim.Second), func() bool { return a.configured() < 1 })
	require.Equal(t, 1, a.configured())
	first := n.Address()
	_, err := os.Stat(path)
	require.NoError(t, err)

	done := false
	a.p.Config.NodeReset(first, 0, func(err error) { require.NoError(t, err); done = true })
	a.sched.RunWhile(a.sched.Now().Add(30*sim.Second), func() bool { return !done })
	require.True(t, done)
	a.sched.RunWhile(a.sched.Now().Add(60*sim.Second), func() bool { return a.configured() < 2 })
	require.Equal(t, 2, a.configured())
	require.Equal(t, 1, count[Reset](a.nev[0]))
	require.True(t, n.Provisioned())
	require.NotEqual(t, first, n.Address())
	st, err := os.Stat(path)
	require.NoError(t, err, "a new state file for the new provisioning")
	require.NotZero(t, st.Size())
}
