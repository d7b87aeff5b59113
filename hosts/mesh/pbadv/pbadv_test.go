package pbadv

import (
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/beacon"
	"blesim/hosts/mesh/internal/vectors"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

func hx(b []byte) string { return hex.EncodeToString(b) }

func loadVec(t testing.TB) vectors.Provisioning {
	var v vectors.Provisioning
	vectors.Load(t, "mesh_provisioning.json", &v)
	return v
}

func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return rand.NewChaCha8(s)
}

func fixed(seed uint64, prefix ...[]byte) io.Reader {
	return io.MultiReader(bytes.NewReader(bytes.Join(prefix, nil)), seeded(seed))
}

// TestFCS87 checks the 3GPP TS 27.010 FCS of every provisioning PDU of the
// §8.7 transcript.
func TestFCS87(t *testing.T) {
	v := loadVec(t)
	n := 0
	for _, st := range v.Transcript.Steps {
		if st.ProvisioningPDU == "" {
			continue
		}
		n++
		require.Equal(t, st.FCS, hx([]byte{FCS(vectors.Hex(t, st.ProvisioningPDU))}), st.ID)
	}
	require.Equal(t, 11, n)
}

// TestSegment87 segments every provisioning PDU of the §8.7 transcript and
// checks the PB-ADV PDUs octet for octet (Transaction Start with SegN,
// TotalLength and FCS, 20 + 23-octet segments), and that each PB-ADV PDU
// of the transcript parses and re-encodes to itself.
func TestSegment87(t *testing.T) {
	v := loadVec(t)
	link := uint32(0x23af5850)
	for _, st := range v.Transcript.Steps {
		t.Run(st.ID+" "+st.Name, func(t *testing.T) {
			for _, m := range st.Messages {
				raw := vectors.Hex(t, m)
				p, err := Parse(raw)
				require.NoError(t, err)
				require.Equal(t, link, p.LinkID)
				require.Equal(t, m, hx(p.Marshal()))
			}
			if st.ProvisioningPDU == "" {
				return
			}
			trans := vectors.Hex(t, st.Transaction)[0]
			segs, err := Segment(link, trans, vectors.Hex(t, st.ProvisioningPDU))
			require.NoError(t, err)
			var got []string
			for _, s := range segs {
				got = append(got, hx(s.Marshal()))
			}
			require.Equal(t, st.Messages, got)
			require.Equal(t, st.TotalLength, hx([]byte{byte(segs[0].TotalLength >> 8), byte(segs[0].TotalLength)}))
			// Reassembly in reverse order gives the PDU back.
			var r reassembly
			var whole []byte
			for i := len(segs) - 1; i >= 0; i-- {
				w, err := r.add(segs[i])
				require.NoError(t, err)
				if i > 0 {
					require.Nil(t, w)
				}
				whole = w
			}
			require.Equal(t, st.ProvisioningPDU, hx(whole))
		})
	}
}

// bed is an in-memory PB-ADV world: one provisioner and some devices on an
// Air, each with its provisioning role.
type bed struct {
	t     *testing.T
	sched *sim.Scheduler
	air   *Air
	log   *zap.Logger
	tx    []string // every transmission, "from hex"
	pv    *Provisioner
	prov  *prov.Provisioner
	devs  []*node
}

type node struct {
	ep     *Device
	role   *prov.Device
	sess   *prov.DeviceSession
	result *prov.Result
	links  int
}

func newBed(t *testing.T, linkIDs io.Reader, pcfg prov.ProvisionerConfig, cfg Config) *bed {
	b := &bed{t: t, sched: sim.New(1), log: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))}
	b.air = NewAir(b.sched)
	b.air.Tap = func(from int, ad []byte) { b.tx = append(b.tx, hx(ad)) }
	var bearer Bearer
	bearer, _ = b.air.Attach(func(ad []byte) { b.pv.Receive(ad) })
	b.pv = NewProvisioner(b.log.Named("pb-adv-prov"), b.sched, bearer, linkIDs, cfg)
	pcfg.Log = b.log.Named("provisioner")
	pcfg.Sched = b.sched
	var err error
	b.prov, err = prov.NewProvisioner(pcfg)
	require.NoError(t, err)
	return b
}

func (b *bed) addDevice(uuid [16]byte, dcfg prov.DeviceConfig, cfg Config) *node {
	n := &node{}
	var bearer Bearer
	bearer, _ = b.air.Attach(func(ad []byte) { n.ep.Receive(ad) })
	dcfg.Log = b.log.Named("device")
	dcfg.Sched = b.sched
	dcfg.Done = func(r prov.Result) { n.result = &r }
	var err error
	n.role, err = prov.NewDevice(dcfg)
	require.NoError(b.t, err)
	n.ep = NewDevice(b.log.Named("pb-adv-dev"), b.sched, bearer, uuid, cfg)
	n.ep.OnLink = func(l *Link) Handler {
		n.links++
		n.sess = n.role.Open(l)
		return n.sess
	}
	b.devs = append(b.devs, n)
	return n
}

// provision opens a link to uuid and starts a provisioner session on it.
func (b *bed) provision(uuid [16]byte, t prov.Target) (*Link, *prov.Result) {
	var res prov.Result
	done := false
	t.Done = func(r prov.Result) { res, done = r, true }
	l, err := b.pv.Open(uuid)
	require.NoError(b.t, err)
	l.SetHandler(b.prov.Open(l, t))
	b.sched.RunWhile(b.sched.Now().Add(10*60*sim.Second), func() bool { return !done })
	require.True(b.t, done, "provisioning finished")
	return l, &res
}

func sampleTarget(t testing.TB, v vectors.Provisioning) prov.Target {
	d, err := prov.ParseData(vectors.Hex(t, v.CMAC.ProvisioningData))
	require.NoError(t, err)
	return prov.Target{Data: func(uint8) (prov.Data, error) { return d, nil }}
}

// TestTranscript87 provisions the §8.7 device with the §8.7 keys, randoms
// and Link ID over an in-memory PB-ADV bearer and checks that the air
// carries exactly the transcript of §8.7.1–8.7.14, PDU for PDU and octet
// for octet (Link Open/ACK, every segment with its FCS, every Transaction
// Acknowledgment, Link Close).
func TestTranscript87(t *testing.T) {
	v := loadVec(t)
	vec := v.CMAC
	key, err := prov.NewKey(bytes.NewReader(vectors.Hex(t, vec.ProvisionerPrivate)))
	require.NoError(t, err)
	b := newBed(t, bytes.NewReader(vectors.Hex(t, v.Transcript.LinkID)),
		prov.ProvisionerConfig{Key: key, Rand: fixed(2, vectors.Hex(t, vec.RandomProvisioner))}, Config{})
	uuid := vectors.Hex16(t, v.Transcript.DeviceUUID)
	dev := b.addDevice(uuid, prov.DeviceConfig{Algorithms: prov.AlgorithmsCMAC,
		Rand: fixed(1, vectors.Hex(t, vec.DevicePrivate), vectors.Hex(t, vec.RandomDevice))}, Config{})
	l, res := b.provision(uuid, sampleTarget(t, v))
	require.NoError(t, res.Err)
	b.sched.RunFor(5 * sim.Second) // the Link Close repeats
	require.NotNil(t, dev.result)
	require.NoError(t, dev.result.Err)
	require.Equal(t, vec.DeviceKey, hx(dev.result.DevKey[:]))
	require.True(t, l.Closed())
	require.Nil(t, dev.ep.Link())
	require.Zero(t, b.pv.Links())

	var want []string
	for _, st := range v.Transcript.Steps {
		for _, m := range st.Messages {
			want = append(want, hx(AD(vectors.Hex(t, m))))
		}
	}
	close := want[len(want)-1]
	got := b.tx
	require.Equal(t, []string{close, close, close}, got[len(got)-3:], "Link Close goes out 3 times")
	require.Equal(t, want, got[:len(got)-2])
	require.Zero(t, l.Retransmissions)
}

func uuidN(i int) [16]byte {
	var u [16]byte
	u[0], u[15] = 0xa0, byte(i)
	return u
}

// TestLossAndRetransmission: with a third of all transmissions lost, every
// transaction is retransmitted until acknowledged and provisioning
// completes on both sides with the same device key.
func TestLossAndRetransmission(t *testing.T) {
	for seed := range uint64(8) {
		b := newBed(t, seeded(seed), prov.ProvisionerConfig{Rand: seeded(seed + 100)}, Config{})
		r := rand.New(rand.NewPCG(seed, 1))
		b.air.Drop = func(from, to int, ad []byte) bool { return r.IntN(3) == 0 }
		dev := b.addDevice(uuidN(1), prov.DeviceConfig{Rand: seeded(seed + 200)}, Config{})
		l, res := b.provision(uuidN(1), sampleTarget(t, loadVec(t)))
		require.NoError(t, res.Err, "seed %d", seed)
		require.NotNil(t, dev.result)
		require.NoError(t, dev.result.Err)
		require.Equal(t, dev.result.DevKey, res.DevKey)
		require.Positive(t, l.Retransmissions)
		require.Equal(t, 1, dev.links, "one link, however many Link Opens")
	}
}

// TestTransactionTimeout: a device that goes silent after the link opens
// makes the provisioner's transaction time out after 30 s; the link closes
// with reason Timeout and the session fails.
func TestTransactionTimeout(t *testing.T) {
	b := newBed(t, seeded(1), prov.ProvisionerConfig{Rand: seeded(2)}, Config{})
	b.addDevice(uuidN(1), prov.DeviceConfig{Rand: seeded(3)}, Config{})
	b.air.Drop = func(from, to int, ad []byte) bool {
		p, err := Parse(ad[2:])
		return from == 1 && err == nil && p.Kind != BearerControl // the device's ACK gets through, nothing else
	}
	start := b.sched.Now()
	l, res := b.provision(uuidN(1), prov.Target{})
	var ce *prov.ClosedError
	require.ErrorAs(t, res.Err, &ce)
	require.Equal(t, prov.CloseTimeout, ce.Reason)
	require.True(t, l.Closed())
	el := b.sched.Now().Sub(start)
	require.GreaterOrEqual(t, el, TransactionTimeout)
	require.Less(t, el, TransactionTimeout+sim.Second)
	require.Greater(t, l.Retransmissions, 50, "the Invite went out every 500 ms")
	b.sched.RunFor(2 * sim.Second)
	require.Nil(t, b.devs[0].ep.Link(), "the device got the Link Close")
	require.NotNil(t, b.devs[0].result)
}

// TestLinkOpenTimeout: no device answers; after 60 s the provisioner gives
// the link up with reason Timeout.
func TestLinkOpenTimeout(t *testing.T) {
	b := newBed(t, seeded(1), prov.ProvisionerConfig{Rand: seeded(2)}, Config{})
	_, res := b.provision(uuidN(9), prov.Target{})
	var ce *prov.ClosedError
	require.ErrorAs(t, res.Err, &ce)
	require.Equal(t, prov.CloseTimeout, ce.Reason)
	require.Equal(t, LinkTimeout, b.sched.Now().Sub(0))
	require.Zero(t, b.pv.Links())
}

// TestDeviceFailureClosesLink: a device that fails acknowledges the
// transaction, then sends Provisioning Failed (MESH/NODE/PROV/BV-10-C
// order); the provisioner closes the link with reason Fail; the device
// beacons again.
func TestDeviceFailureClosesLink(t *testing.T) {
	b := newBed(t, seeded(1), prov.ProvisionerConfig{Rand: seeded(2)}, Config{})
	dev := b.addDevice(uuidN(1), prov.DeviceConfig{Rand: seeded(3), Accept: func(prov.Result) error {
		return &prov.Error{Code: prov.OutOfResources, Msg: "no room"}
	}}, Config{})
	dev.ep.Beacon(beacon.Unprovisioned{UUID: uuidN(1)}, sim.Second)
	beacons := 0
	b.pv.OnBeacon = func(u beacon.Unprovisioned) {
		require.Equal(t, uuidN(1), u.UUID)
		beacons++
	}
	b.sched.RunFor(3500 * sim.Millisecond)
	require.Equal(t, 4, beacons)

	var fromDevice []PDU
	b.air.Tap = func(from int, ad []byte) {
		if from == 1 && ad[1] == byte(pdu.ADMeshPBADV) {
			p, err := Parse(ad[2:])
			require.NoError(t, err)
			fromDevice = append(fromDevice, p)
		}
	}
	beacons = 0
	l, res := b.provision(uuidN(1), sampleTarget(t, loadVec(t)))
	require.Equal(t, prov.OutOfResources, prov.CodeOf(res.Err))
	require.True(t, res.Remote)
	require.True(t, l.Closed())
	require.Zero(t, beacons, "no beacons while the link is open")
	n := len(fromDevice)
	require.GreaterOrEqual(t, n, 2)
	ack, failed := fromDevice[n-2], fromDevice[n-1]
	require.Equal(t, TransactionAck, ack.Kind)
	require.Equal(t, uint8(0x05), ack.Trans, "the Data transaction is acknowledged first")
	require.Equal(t, TransactionStart, failed.Kind)
	require.Equal(t, []byte{byte(prov.TypeFailed), byte(prov.OutOfResources)}, failed.Data)

	b.sched.RunFor(2500 * sim.Millisecond)
	require.Nil(t, dev.ep.Link())
	require.Equal(t, prov.Failed, dev.sess.State())
	require.GreaterOrEqual(t, beacons, 2, "beaconing resumes after the link closes")

	// The next attempt works on a new link, with a fresh key pair.
	first := dev.sess
	dev.role, _ = prov.NewDevice(prov.DeviceConfig{Rand: seeded(4), Log: b.log, Done: func(r prov.Result) { dev.result = &r }})
	_, res = b.provision(uuidN(1), sampleTarget(t, loadVec(t)))
	require.NoError(t, res.Err)
	require.NotSame(t, first, dev.sess)
	require.Equal(t, 2, dev.links)
}

// TestLinkOpenOtherUUID: a device ignores Link Opens for other UUIDs and,
// while a link is open, for other links; a repeated Link Open gets its
// Link ACK again.
func TestLinkOpenOtherUUID(t *testing.T) {
	sched := sim.New(1)
	var sent []PDU
	d := NewDevice(zap.NewNop(), sched, bearerFunc(func(ad []byte) {
		p, err := Parse(ad[2:])
		require.NoError(t, err)
		sent = append(sent, p)
	}), uuidN(1), Config{})
	opens := 0
	d.OnLink = func(*Link) Handler { opens++; return nil }
	lo := func(id uint32, u [16]byte) []byte {
		return AD(PDU{LinkID: id, Kind: BearerControl, Opcode: LinkOpen, UUID: u}.Marshal())
	}
	d.Receive(lo(1, uuidN(2)))
	require.Zero(t, opens)
	d.Receive(lo(1, uuidN(1)))
	require.Equal(t, 1, opens)
	d.Receive(lo(1, uuidN(1)))
	d.Receive(lo(2, uuidN(1)))
	require.Equal(t, 1, opens)
	require.Len(t, sent, 2, "two Link ACKs for link 1, none for link 2")
	for _, p := range sent {
		require.Equal(t, LinkACK, p.Opcode)
		require.Equal(t, uint32(1), p.LinkID)
	}
	// Garbage and other AD types are ignored.
	d.Receive([]byte{2, 0x01, 0x06, 5, 0x29, 1, 2, 3, 4, 0xff, 0xff})
	d.Receive(nil)
}

type bearerFunc func(ad []byte)

func (f bearerFunc) Send(ad []byte) { f(ad) }

// TestDuplicateAndReorder: a retransmitted transaction is acknowledged
// again but delivered once; segments arriving before their Start are kept;
// a corrupted transaction (bad FCS) is not acknowledged.
func TestDuplicateAndReorder(t *testing.T) {
	sched := sim.New(1)
	var acks []uint8
	var got [][]byte
	l := newLink(zap.NewNop(), sched, bearerFunc(func(ad []byte) {
		p, _ := Parse(ad[2:])
		if p.Kind == TransactionAck {
			acks = append(acks, p.Trans)
		}
	}), Config{}.withDefaults(), 7, uuidN(1), true)
	l.state = open
	l.handler = handlerFunc(func(p []byte) { got = append(got, p) })
	pub := bytes.Repeat([]byte{3}, 65)
	segs, err := Segment(7, 0, pub)
	require.NoError(t, err)
	l.receive(segs[2])
	l.receive(segs[1])
	require.Empty(t, acks)
	l.receive(segs[0])
	require.Equal(t, []uint8{0}, acks)
	require.Equal(t, [][]byte{pub}, got)
	l.receive(segs[0]) // the provisioner did not hear the ack
	require.Equal(t, []uint8{0, 0}, acks)
	require.Len(t, got, 1, "delivered once")
	bad, _ := Segment(7, 1, []byte{5, 1, 2})
	bad[0].FCS ^= 1
	l.receive(bad[0])
	require.Len(t, acks, 2, "bad FCS: no ack")
	good, _ := Segment(7, 1, []byte{5, 1, 2})
	l.receive(good[0])
	require.Equal(t, []uint8{0, 0, 1}, acks)
	skip, _ := Segment(7, 5, []byte{8})
	l.receive(skip[0])
	require.Len(t, acks, 3, "transaction 5 is not the next one (2): ignored")
}

type handlerFunc func([]byte)

func (f handlerFunc) Receive(p []byte)            { f(p) }
func (f handlerFunc) LinkClosed(prov.CloseReason) {}

func TestParseErrors(t *testing.T) {
	for _, h := range []string{
		"", "23af5850", "23af585000",
		"23af585000000002",       // Start too short
		"23af585000000003140000", // TotalLength 3, 2 octets
		"23af585000040002140000", // SegN 1 with a short first segment
		"23af5850000400ff14" + "00112233445566778899aabbccddeeff00112233", // TotalLength 255 for SegN 1
		"23af58500005",   // Ack with padding
		"23af5850000100", // Ack with data
		"23af585000020a", // Continuation index 0
		"23af58500006",   // Continuation without data
		"23af58500003",   // Link Open without UUID
		"23af5850000700", // Link ACK with data
		"23af5850000b",   // Link Close without reason
		"23af5850000f",   // RFU opcode
		"23af5850000370cf7c9732a345b691494810d2e9cbf4aabbccddeeff0011", // too long
	} {
		b, _ := hex.DecodeString(h)
		_, err := Parse(b)
		require.Error(t, err, h)
	}
	_, err := Segment(1, 0, nil)
	require.Error(t, err)
	_, err = Segment(1, 0, make([]byte, MaxTransactionLen+1))
	require.Error(t, err)
	segs, err := Segment(1, 0, make([]byte, MaxTransactionLen))
	require.NoError(t, err)
	require.Len(t, segs, 64)
	require.Equal(t, uint8(0x81), next(0x80))
	require.Equal(t, uint8(0x80), next(0xff))
	require.Equal(t, uint8(0x00), next(0x7f))
}
