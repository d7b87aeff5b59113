package transport

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/hosts/mesh/internal/vectors"
	"blesim/hosts/mesh/network"
	"blesim/linklayer/sim"
)

// TestLowerSamples83 decodes the lower transport PDU of every §8.3
// network sample and encodes it back to the same octets, and checks the
// fields the spec prints.
func TestLowerSamples83(t *testing.T) {
	s := samples(t)
	for _, m := range s.Network {
		b := vectors.Hex(t, m.Transport)
		l, err := ParseLower(m.CTL == 1, b)
		require.NoError(t, err, m.ID)
		require.Equal(t, m.Transport, hex.EncodeToString(l.Marshal()), m.ID)
	}
	l, _ := ParseLower(false, vectors.Hex(t, netSample(t, s, "8.3.6 segment 1").Transport))
	require.Equal(t, Lower{Seg: true, SeqZero: 0x09ab, SegO: 1, SegN: 1, Payload: l.Payload}, l)
	l, _ = ParseLower(false, vectors.Hex(t, netSample(t, s, "8.3.24 segment 0").Transport))
	require.True(t, l.SZMIC && l.AKF && l.Seg)
	require.Equal(t, uint8(0x26), l.AID)
	l, _ = ParseLower(true, vectors.Hex(t, netSample(t, s, "8.3.7").Transport))
	require.Equal(t, OpSegmentAck, l.Opcode)
	a, err := ParseSegmentAck(l.Payload)
	require.NoError(t, err)
	require.Equal(t, SegmentAck{OBO: true, SeqZero: 0x09ab, BlockAck: 2}, a)
	require.Equal(t, netSample(t, s, "8.3.7").Transport, hex.EncodeToString(a.Lower().Marshal()))
	l, _ = ParseLower(true, vectors.Hex(t, netSample(t, s, "8.3.1").Transport))
	require.Equal(t, uint8(0x03), l.Opcode, "8.3.1 is a Friend Request")
}

// TestSegmentedSample836 (MESH/NODE/TNPT) sends the §8.3.6 Config AppKey
// Add with the device key: its two segments are the sample octets; the
// Friend's Segment Acknowledgment of segment 1 (8.3.7) makes the node send
// segment 0 again with the next SEQ (8.3.8), and the acknowledgment of
// both (8.3.9) completes the message.
func TestSegmentedSample836(t *testing.T) {
	s := samples(t)
	up := s.Upper[0]
	require.Equal(t, "8.3.6 (device key)", up.ID)
	sched := sim.New(1)
	seg0 := netSample(t, s, "8.3.6 segment 0")
	n := newNode(t, sched, 0x0003, vectors.Hex16(t, seg0.NetKey), 0x12345678)
	n.seq = 0x3129ab
	var result []error
	require.NoError(t, n.tr.SendAccess(Message{Subnet: n.sub, Src: 0x0003, Dst: 0x1201, TTL: 4,
		Key: DevKey(vectors.Hex16(t, up.Key)), Payload: vectors.Hex(t, up.Access)},
		func(err error) { result = append(result, err) }))
	sched.RunFor(100 * sim.Millisecond)
	require.Equal(t, []string{seg0.NetworkPDU, netSample(t, s, "8.3.6 segment 1").NetworkPDU}, n.pdus())

	n.net.Receive(ad(t, netSample(t, s, "8.3.7").NetworkPDU))
	sched.RunFor(10 * sim.Millisecond)
	require.Len(t, n.pdus(), 3)
	require.Equal(t, netSample(t, s, "8.3.8").NetworkPDU, n.pdus()[2])
	require.Empty(t, result)

	n.net.Receive(ad(t, netSample(t, s, "8.3.9").NetworkPDU))
	sched.RunFor(5 * sim.Second)
	require.Equal(t, []error{nil}, result)
	require.Len(t, n.pdus(), 3, "nothing more once acknowledged")
	require.Zero(t, n.tr.Pending())
}

// TestReceiveSample836: the addressee of 8.3.6 reassembles the segments,
// opens them with its device key, and acknowledges both.
func TestReceiveSample836(t *testing.T) {
	s := samples(t)
	up := s.Upper[0]
	sched := sim.New(1)
	seg0 := netSample(t, s, "8.3.6 segment 0")
	n := newNode(t, sched, 0x1201, vectors.Hex16(t, seg0.NetKey), 0x12345678)
	n.devKeys = []Key{DevKey(vectors.Hex16(t, up.Key))}
	n.net.Receive(ad(t, seg0.NetworkPDU))
	require.Empty(t, n.got)
	n.net.Receive(ad(t, netSample(t, s, "8.3.6 segment 1").NetworkPDU))
	require.Len(t, n.got, 1)
	a := n.got[0]
	require.Equal(t, up.Access, hex.EncodeToString(a.Payload))
	require.Equal(t, uint16(0x0003), a.Src)
	require.Equal(t, uint32(0x3129ab), a.Seq)
	require.True(t, a.Key.Device)
	ls := n.lowers()
	require.Len(t, ls, 1)
	ack, err := ParseSegmentAck(ls[0].Payload)
	require.NoError(t, err)
	require.Equal(t, SegmentAck{SeqZero: 0x09ab, BlockAck: 3}, ack)

	// The retransmitted segment 0 (8.3.8) of the complete message is
	// acknowledged again and not delivered twice.
	n.net.Receive(ad(t, netSample(t, s, "8.3.8").NetworkPDU))
	require.Len(t, n.got, 1)
	require.Len(t, n.lowers(), 2)
}

// TestUpperSamples83 sends the §8.3.20–8.3.24 access messages with the
// AppKey (AID 0x26) to all-nodes, a group and virtual addresses (Label
// UUID as additional data, 32- and 64-bit TransMIC) and checks every
// network PDU; then a node with the AppKey receives them.
func TestUpperSamples83(t *testing.T) {
	s := samples(t)
	for _, up := range s.Upper[1:] {
		t.Run(up.ID, func(t *testing.T) {
			id := strings.Fields(up.ID)[0]
			var want []string
			for _, m := range s.Network {
				if strings.Fields(m.ID)[0] == id {
					want = append(want, m.NetworkPDU)
				}
			}
			require.NotEmpty(t, want)
			sched := sim.New(1)
			net := netSample(t, s, strings.TrimSpace(id+map[bool]string{true: " segment 0", false: ""}[len(want) > 1]))
			iv := u32(t, up.IVIndex)
			n := newNode(t, sched, 0x1234, vectors.Hex16(t, net.NetKey), iv)
			n.seq = u32(t, up.SEQ)
			key := AppKey(0, 0, vectors.Hex16(t, up.Key))
			require.Equal(t, up.AID, hex.EncodeToString([]byte{key.AID}))
			m := Message{Subnet: n.sub, Src: 0x1234, Dst: uint16(u32(t, up.DST)), TTL: 3, Key: key,
				Payload: vectors.Hex(t, up.Access), BigMIC: up.ASZMIC == 1}
			if up.Label != "" {
				m.Label = vectors.Hex(t, up.Label)
			}
			require.NoError(t, n.tr.SendAccess(m, nil))
			sched.RunFor(time(len(want)))
			require.GreaterOrEqual(t, len(n.pdus()), len(want))
			require.Equal(t, want, n.pdus()[:len(want)])

			rx := newNode(t, sched, 0x0042, vectors.Hex16(t, net.NetKey), iv)
			rx.appKeys = []Key{key}
			rx.groups = []uint16{0xc105}
			if up.Label != "" {
				rx.labels = [][]byte{vectors.Hex(t, up.Label)}
			}
			for _, p := range want {
				rx.net.Receive(ad(t, p))
			}
			require.Len(t, rx.got, 1)
			require.Equal(t, up.Access, hex.EncodeToString(rx.got[0].Payload))
			require.Equal(t, m.Dst, rx.got[0].Dst)
			require.Empty(t, rx.lowers(), "no acknowledgment for a group or virtual destination")
		})
	}
}

func time(segments int) sim.Duration { return sim.Duration(segments) * 100 * sim.Millisecond }

var _ = network.AllNodes
