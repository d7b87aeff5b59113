package transport

import (
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/internal/vectors"
	"blesim/hosts/mesh/network"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

func u32(t testing.TB, s string) uint32 {
	v, err := strconv.ParseUint(s, 16, 32)
	require.NoError(t, err)
	return uint32(v)
}

// node is a network and transport layer with just enough node state
// around them: one subnet, a sequence counter, a replay protection list
// and the keys the test gives it.
type node struct {
	t       testing.TB
	sched   *sim.Scheduler
	addr    uint16
	net     *network.Layer
	tr      *Layer
	sub     *network.Subnet
	seq     uint32
	rpl     map[uint16][2]uint32
	devKeys []Key
	appKeys []Key
	labels  [][]byte
	groups  []uint16
	got     []*Access
	ctl     []*Control
	sent    [][]byte // AD structures
	out     func(ad []byte)
}

func newNode(t testing.TB, sched *sim.Scheduler, addr uint16, netKey mcrypto.Key, iv uint32) *node {
	n := &node{t: t, sched: sched, addr: addr, rpl: map[uint16][2]uint32{}}
	n.net = network.New(network.Config{Log: zaptest.NewLogger(t).Named("net"), Sched: sched,
		Send: func(ad []byte) {
			n.sent = append(n.sent, append([]byte(nil), ad...))
			if n.out != nil {
				n.out(ad)
			}
		},
		Own:   func(a uint16) bool { return a == addr },
		OnPDU: func(p *network.PDU) { n.tr.Receive(p) }})
	n.sub = network.NewSubnet(0, netKey)
	n.net.AddSubnet(n.sub)
	n.net.SetIV(network.IVState{Index: iv})
	n.tr = New(Config{Log: zaptest.NewLogger(t).Named("tr"), Sched: sched, Net: n.net,
		Seq: func() (uint32, error) { n.seq++; return n.seq - 1, nil },
		ForMe: func(dst uint16) bool {
			if dst == addr || dst == network.AllNodes {
				return true
			}
			for _, g := range n.groups {
				if g == dst {
					return true
				}
			}
			return network.IsVirtual(dst) && len(n.labels) > 0
		},
		DevKeys: func(src, dst uint16) []Key { return n.devKeys },
		AppKeys: func(netIdx uint16, aid uint8) []Key {
			var out []Key
			for _, k := range n.appKeys {
				if k.AID == aid {
					out = append(out, k)
				}
			}
			return out
		},
		Labels: func(uint16) [][]byte { return n.labels },
		Replay: func(src uint16, iv, seq uint32) bool {
			e, ok := n.rpl[src]
			return !ok || iv > e[0] || (iv == e[0] && seq > e[1])
		},
		Accepted:  func(src uint16, iv, seq uint32) { n.rpl[src] = [2]uint32{iv, seq} },
		OnAccess:  func(a *Access) { n.got = append(n.got, a) },
		OnControl: func(c *Control) { n.ctl = append(n.ctl, c) },
	})
	return n
}

// link makes everything a sends reach b after 10 ms unless drop says
// otherwise (drop sees the network PDUs in order, counting from 0).
func link(a, b *node, drop func(i int, ad []byte) bool) {
	i := 0
	a.out = func(ad []byte) {
		c := append([]byte(nil), ad...)
		k := i
		i++
		if drop != nil && drop(k, c) {
			return
		}
		a.sched.After(10*sim.Millisecond, func() { b.net.Receive(c) })
	}
}

// pdus are the network PDUs a node sent, in hex.
func (n *node) pdus() []string {
	var out []string
	for _, ad := range n.sent {
		if ad[1] == byte(pdu.ADMeshMessage) {
			out = append(out, hex.EncodeToString(ad[2:]))
		}
	}
	return out
}

// lowers decodes the node's sent network PDUs with its own subnet.
func (n *node) lowers() []Lower {
	var out []Lower
	for _, ad := range n.sent {
		h, tr, err := n.sub.Cipher.Decrypt(n.net.IV().TxIndex(), ad[2:])
		require.NoError(n.t, err)
		l, err := ParseLower(h.CTL, tr)
		require.NoError(n.t, err)
		out = append(out, l)
	}
	return out
}

func ad(t testing.TB, pduHex string) []byte {
	b := vectors.Hex(t, pduHex)
	return append([]byte{byte(1 + len(b)), byte(pdu.ADMeshMessage)}, b...)
}

func samples(t testing.TB) vectors.Samples {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	return s
}

func netSample(t testing.TB, s vectors.Samples, id string) vectors.NetworkSample {
	for _, m := range s.Network {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no sample %q", id)
	return vectors.NetworkSample{}
}
