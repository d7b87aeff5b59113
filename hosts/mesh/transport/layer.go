package transport

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/linklayer/sim"
)

// Access is a received access message after upper transport decryption.
type Access struct {
	Src, Dst uint16
	TTL      uint8 // as received
	Subnet   *network.Subnet
	Key      Key    // the key that opened it
	Label    []byte // the Label UUID of a virtual destination
	IVIndex  uint32
	Seq      uint32 // SEQ of the message (of its first segment)
	Payload  []byte
}

// Control is a received transport control message other than a Segment
// Acknowledgment (§3.6.5: Friend, Heartbeat, ...).
type Control struct {
	Src, Dst uint16
	TTL      uint8
	Subnet   *network.Subnet
	Opcode   uint8
	Params   []byte
}

// Config wires a Layer to its network layer and to the node's state.
type Config struct {
	Log   *zap.Logger
	Sched *sim.Scheduler
	Net   *network.Layer
	SAR   SAR
	// Seq allocates the next sequence number for a PDU this node
	// originates.
	Seq func() (uint32, error)
	// ForMe reports whether the node takes messages sent to dst (one of
	// its element addresses, a group or virtual address it subscribes to,
	// a fixed group address that applies).
	ForMe func(dst uint16) bool
	// DevKeys lists the device keys that may open an AKF=0 message from
	// src to dst (the node's own, and on a configuration client the keys of
	// the nodes it configures).
	DevKeys func(src, dst uint16) []Key
	// AppKeys lists the AppKeys bound to NetKey Index netIdx with AID aid.
	AppKeys func(netIdx uint16, aid uint8) []Key
	// Labels lists the Label UUIDs whose virtual address is addr.
	Labels func(addr uint16) [][]byte
	// Replay reports whether a message from src with ivIndex and seq is
	// newer than what the replay protection list holds (§3.9.8);
	// Accepted records it.
	Replay   func(src uint16, ivIndex, seq uint32) bool
	Accepted func(src uint16, ivIndex, seq uint32)
	// DefaultTTL is the Default TTL state (for Segment Acknowledgments).
	DefaultTTL func() uint8
	OnAccess   func(m *Access)
	OnControl  func(m *Control)
}

// Stats counts what the layer did.
type Stats struct {
	AccessIn, AccessOut     int
	SegmentsIn, SegmentsOut int
	AcksIn, AcksOut         int
	Retransmissions         int
	Replayed                int // dropped by the replay protection list
	Undecryptable           int // no key opened the upper transport PDU
	Discarded               int // incomplete messages dropped by the discard timer
	Failed                  int // outgoing segmented messages that were not acknowledged
}

// Layer is the lower and upper transport of one node.
type Layer struct {
	cfg   Config
	log   *zap.Logger
	sar   SAR
	out   map[uint16][]*outgoing // segmented messages per destination; the first is active
	in    map[uint16]*incoming   // messages being reassembled, by SRC
	done  map[uint16]completed   // the last reassembled message per SRC
	Stats Stats
}

// New returns a transport layer.
func New(cfg Config) *Layer {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.DefaultTTL == nil {
		cfg.DefaultTTL = func() uint8 { return 5 }
	}
	if cfg.Labels == nil {
		cfg.Labels = func(uint16) [][]byte { return nil }
	}
	return &Layer{cfg: cfg, log: cfg.Log, sar: cfg.SAR.withDefaults(),
		out: map[uint16][]*outgoing{}, in: map[uint16]*incoming{}, done: map[uint16]completed{}}
}

// SAR is the effective SAR configuration.
func (l *Layer) SAR() SAR { return l.sar }

// Message is an access message to send.
type Message struct {
	Subnet  *network.Subnet
	Src     uint16
	Dst     uint16
	TTL     uint8 // 0..127; UseDefaultTTL takes the Default TTL
	Key     Key
	Label   []byte // Label UUID when Dst is a virtual address
	Payload []byte // the access payload (opcode and parameters)
	// BigMIC asks for a 64-bit TransMIC (the message is then segmented).
	BigMIC bool
	// Segmented sends even a short message as a segmented one, so that it
	// is acknowledged (unicast destinations).
	Segmented bool
}

// UseDefaultTTL in Message.TTL selects the Default TTL state.
const UseDefaultTTL uint8 = 0xFF

// ErrTimeout is the outcome of a segmented message to a unicast address
// that was not completely acknowledged in time.
var ErrTimeout = errors.New("transport: segmented message not acknowledged")

// ErrBusy is the outcome of a segmented message the receiver refused
// (Segment Acknowledgment with BlockAck 0).
var ErrBusy = errors.New("transport: receiver busy (BlockAck 0)")

// SendAccess secures and sends an access message (§3.6.4.1, §3.5.3.3).
// done (may be nil) is called once: for an unsegmented message or one to
// a group or virtual address after its last transmission, for a segmented
// message to a unicast address when every segment is acknowledged, or with
// an error.
func (l *Layer) SendAccess(m Message, done func(error)) error {
	if m.Subnet == nil {
		return network.ErrNoSubnet
	}
	if !network.IsUnicast(m.Src) || m.Dst == network.Unassigned {
		return fmt.Errorf("transport: SRC %#04x, DST %#04x", m.Src, m.Dst)
	}
	if network.IsVirtual(m.Dst) && len(m.Label) != 16 {
		return fmt.Errorf("transport: virtual destination %#04x needs its Label UUID", m.Dst)
	}
	if m.TTL == UseDefaultTTL {
		m.TTL = l.cfg.DefaultTTL()
	}
	if m.TTL == 1 || m.TTL > 127 {
		return fmt.Errorf("transport: TTL %d (want 0 or 2..127)", m.TTL)
	}
	mic := SmallMIC
	if m.BigMIC {
		mic = BigMIC
	}
	if len(m.Payload) == 0 || len(m.Payload)+mic > MaxAccessPDU {
		return fmt.Errorf("transport: access payload of %d octets (1..%d)", len(m.Payload), MaxAccessPDU-mic)
	}
	seg := m.Segmented || m.BigMIC || len(m.Payload)+mic > MaxUnsegAccess
	lower := Lower{AKF: !m.Key.Device, Seg: seg, SZMIC: seg && m.BigMIC}
	if !m.Key.Device {
		lower.AID = m.Key.AID
	}
	seal := func() ([]byte, uint32, error) {
		seq, err := l.cfg.Seq()
		if err != nil {
			return nil, 0, err
		}
		iv := l.cfg.Net.IV().TxIndex()
		upper, err := m.Key.Seal(m.Payload, m.BigMIC, lower.SZMIC, seq, m.Src, m.Dst, iv, m.Label)
		return upper, seq, err
	}
	l.Stats.AccessOut++
	if seg {
		l.segment(m.Subnet, m.Src, m.Dst, m.TTL, lower, seal, done)
		return nil
	}
	upper, seq, err := seal()
	if err == nil {
		lower.Payload = upper
		err = l.cfg.Net.Send(m.Subnet, mcrypto.NetworkHeader{TTL: m.TTL, SEQ: seq, SRC: m.Src, DST: m.Dst}, lower.Marshal())
	}
	if done != nil {
		l.cfg.Sched.After(0, func() { done(err) })
	}
	return err
}

// SendControl sends a transport control message (§3.6.5), segmented when
// its parameters do not fit one PDU.
func (l *Layer) SendControl(sub *network.Subnet, src, dst uint16, ttl, opcode uint8, params []byte, done func(error)) error {
	if sub == nil {
		return network.ErrNoSubnet
	}
	if len(params) > MaxControlPDU {
		return fmt.Errorf("transport: control message of %d octets", len(params))
	}
	lower := Lower{CTL: true, Opcode: opcode & 0x7f}
	if len(params) > MaxUnsegControl {
		lower.Seg = true
		l.segment(sub, src, dst, ttl, lower, func() ([]byte, uint32, error) {
			seq, err := l.cfg.Seq()
			return params, seq, err
		}, done)
		return nil
	}
	seq, err := l.cfg.Seq()
	if err == nil {
		lower.Payload = params
		err = l.cfg.Net.Send(sub, mcrypto.NetworkHeader{CTL: true, TTL: ttl, SEQ: seq, SRC: src, DST: dst}, lower.Marshal())
	}
	if done != nil {
		l.cfg.Sched.After(0, func() { done(err) })
	}
	return err
}

// Receive takes a network PDU from the network layer (its OnPDU).
func (l *Layer) Receive(p *network.PDU) {
	if !l.cfg.ForMe(p.DST) {
		return
	}
	lp, err := ParseLower(p.CTL, p.Transport)
	if err != nil {
		l.log.Debug("bad lower transport PDU", zap.Error(err), zap.Uint16("src", p.SRC))
		return
	}
	switch {
	case lp.CTL && !lp.Seg && lp.Opcode == OpSegmentAck:
		if a, err := ParseSegmentAck(lp.Payload); err == nil {
			l.Stats.AcksIn++
			l.acked(p, a)
		}
	case lp.Seg:
		l.Stats.SegmentsIn++
		l.segmentIn(p, lp)
	case lp.CTL:
		if !l.cfg.Replay(p.SRC, p.IVIndex, p.SEQ) {
			l.Stats.Replayed++
			return
		}
		l.cfg.Accepted(p.SRC, p.IVIndex, p.SEQ)
		if l.cfg.OnControl != nil {
			l.cfg.OnControl(&Control{Src: p.SRC, Dst: p.DST, TTL: p.TTL, Subnet: p.Subnet, Opcode: lp.Opcode, Params: lp.Payload})
		}
	default:
		if !l.cfg.Replay(p.SRC, p.IVIndex, p.SEQ) {
			l.Stats.Replayed++
			return
		}
		if l.upper(p.Subnet, p.SRC, p.DST, p.TTL, p.IVIndex, p.SEQ, lp, lp.Payload) {
			l.cfg.Accepted(p.SRC, p.IVIndex, p.SEQ)
		}
	}
}

// upper opens an upper transport access PDU with the candidate keys and
// labels and delivers it; it reports whether one opened it.
func (l *Layer) upper(sub *network.Subnet, src, dst uint16, ttl uint8, iv, seq uint32, lp Lower, pdu []byte) bool {
	var keys []Key
	if lp.AKF {
		keys = l.cfg.AppKeys(sub.Index, lp.AID)
	} else if lp.AID == 0 {
		keys = l.cfg.DevKeys(src, dst)
	}
	labels := [][]byte{nil}
	if network.IsVirtual(dst) {
		labels = l.cfg.Labels(dst)
	}
	aszmic := lp.Seg && lp.SZMIC
	for _, k := range keys {
		for _, lab := range labels {
			plain, err := k.Open(pdu, aszmic, aszmic, seq, src, dst, iv, lab)
			if err != nil {
				continue
			}
			l.Stats.AccessIn++
			if l.cfg.OnAccess != nil {
				l.cfg.OnAccess(&Access{Src: src, Dst: dst, TTL: ttl, Subnet: sub, Key: k, Label: lab,
					IVIndex: iv, Seq: seq, Payload: plain})
			}
			return true
		}
	}
	l.Stats.Undecryptable++
	return false
}
