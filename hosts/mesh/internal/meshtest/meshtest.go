// Package meshtest builds small provisioned mesh networks for tests: a
// configuration client (the provisioner's node, with Configuration Client
// and Generic OnOff Client) and nodes (Configuration Server and Generic
// OnOff Server) on one in-memory advertising medium.
package meshtest

import (
	"testing"

	"go.uber.org/zap"

	"blesim/hosts/mesh/config"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/pbadv"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/store"
	"blesim/linklayer/sim"
)

// Network keys of test networks.
var (
	NetKey = mcrypto.Key{0x7d, 0xd7, 0x36, 0x4c, 0xd8, 0x42, 0xad, 0x18, 0xc1, 0x7c, 0x2b, 0x82, 0x0c, 0x84, 0xc3, 0xd6}
	AppKey = mcrypto.Key{0x63, 0x96, 0x47, 0x71, 0x73, 0x4f, 0xbd, 0x76, 0xe3, 0xb4, 0x05, 0x19, 0xd1, 0xd9, 0x4a, 0x48}
)

// Net is a test network.
type Net struct {
	T      testing.TB
	Sched  *sim.Scheduler
	Air    *pbadv.Air
	Log    *zap.Logger
	Client *Client
}

// Client is the configuration client's node.
type Client struct {
	Stack *stack.Stack
	Cfg   *config.Client
	OnOff *generic.Client
}

// Node is a configured node.
type Node struct {
	Stack  *stack.Stack
	Server *config.Server
	OnOff  *generic.Server
	Events []config.Event
}

// New makes a network whose client has address 0x0001 and knows AppKey
// index 0.
func New(t testing.TB, log *zap.Logger) *Net {
	n := &Net{T: t, Sched: sim.New(1), Log: log}
	n.Air = pbadv.NewAir(n.Sched)
	var st *stack.Stack
	b, _ := n.Air.Attach(func(ad []byte) { st.Receive(ad) })
	st, err := stack.New(stack.Config{Log: log.Named("client"), Sched: n.Sched, Send: b.Send, CRPL: 0x7fff})
	must(t, err)
	c := &Client{Stack: st}
	c.Cfg, err = config.NewClient(log, st)
	must(t, err)
	c.OnOff, err = generic.NewClient(log, st, 0)
	must(t, err)
	must(t, st.Provision(0x0001, 0, NetKey, 0, 0, mcrypto.Key{0xcc}, [16]byte{}))
	if s := st.AddAppKey(0, 0, AppKey); s != stack.StatusSuccess {
		t.Fatalf("client AppKey: %v", s)
	}
	if s := st.Bind(0x0001, c.OnOff.Model().ID, 0); s != stack.StatusSuccess {
		t.Fatalf("client bind: %v", s)
	}
	n.Client = c
	return n
}

// NodeConfig tunes AddNode.
type NodeConfig struct {
	StatePath string
	Relay     bool
	Elements  int
}

// AddNode provisions a node with address addr (as the provisioning data
// would) and tells the client its device key.
func (n *Net) AddNode(addr uint16, cfg NodeConfig) *Node {
	node := n.NewNode(cfg)
	dev := mcrypto.Key{0xde, byte(addr >> 8), byte(addr)}
	must(n.T, node.Stack.Provision(addr, 0, NetKey, 0, 0, dev, [16]byte{byte(addr)}))
	n.Client.Stack.AddRemote(store.Remote{Address: addr, Elements: node.Stack.Elements(), DevKey: dev})
	return node
}

// NewNode builds an unprovisioned node on the air.
func (n *Net) NewNode(cfg NodeConfig) *Node {
	var st *stack.Stack
	b, _ := n.Air.Attach(func(ad []byte) { st.Receive(ad) })
	locs := make([]uint16, max(cfg.Elements, 1))
	for i := range locs {
		locs[i] = uint16(0x0100 + i)
	}
	st, err := stack.New(stack.Config{Log: n.Log.Named("node"), Sched: n.Sched, Send: b.Send, Company: 0x05F1,
		Product: 0x0001, Version: 0x0100, Locations: locs, StatePath: cfg.StatePath, Relay: cfg.Relay, Beacon: true})
	must(n.T, err)
	node := &Node{Stack: st}
	node.Server, err = config.NewServer(n.Log, st)
	must(n.T, err)
	node.Server.OnEvent = func(e config.Event) { node.Events = append(node.Events, e) }
	for i := range locs {
		s, err := generic.NewServer(n.Log, st, i)
		must(n.T, err)
		if i == 0 {
			node.OnOff = s
		}
	}
	return node
}

// Run runs the simulation for d.
func (n *Net) Run(d sim.Duration) { n.Sched.RunFor(d) }

// Wait runs until done reports true (at most limit).
func (n *Net) Wait(limit sim.Duration, done func() bool) bool {
	return n.Sched.RunWhile(n.Sched.Now().Add(limit), func() bool { return !done() })
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
