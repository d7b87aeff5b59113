package transport

import (
	"go.uber.org/zap"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/linklayer/sim"
)

// outgoing is a segmented message being sent (§3.5.3.3).
type outgoing struct {
	l        *Layer
	sub      *network.Subnet
	src, dst uint16
	ttl      uint8
	hdr      Lower    // CTL, AKF/AID or opcode, SZMIC; Seg set
	segs     [][]byte // the segments' payloads
	seqZero  uint16
	firstSeq uint32 // the SEQ of segment 0 on its first transmission
	acked    uint32
	unicast  bool
	started  bool
	usedSeq  bool // firstSeq went out
	build    func() ([]byte, uint32, error)

	retransLeft    int // SAR Unicast Retransmissions counter (or multicast rounds)
	noProgressLeft int // SAR Unicast Retransmissions Without Progress counter
	pending        []uint8
	segT           *sim.Timer // paces the segments of a round
	retransT       *sim.Timer // SAR Unicast / Multicast Retransmissions timer
	done           func(error)
	finished       bool
}

// segment queues a segmented message for its destination: a node sends
// one segmented message to a destination at a time. build allocates the
// SEQ of segment 0 and returns the upper transport PDU; it runs when the
// message's turn comes, so that a queued message does not carry a SEQ
// older than the PDUs sent before it (the receiver's replay protection
// would drop it).
func (l *Layer) segment(sub *network.Subnet, src, dst uint16, ttl uint8, hdr Lower, build func() ([]byte, uint32, error), done func(error)) {
	o := &outgoing{l: l, sub: sub, src: src, dst: dst, ttl: ttl, hdr: hdr, build: build,
		unicast: network.IsUnicast(dst), done: done}
	o.segT = l.cfg.Sched.NewTimer(o.nextSegment)
	o.retransT = l.cfg.Sched.NewTimer(o.retransmit)
	q := append(l.out[dst], o)
	l.out[dst] = q
	if len(q) == 1 {
		o.start()
	}
}

func (o *outgoing) start() {
	o.started = true
	upper, seq, err := o.build()
	if err != nil {
		o.finish(err)
		return
	}
	size := o.hdr.SegmentSize()
	for i := 0; i < len(upper); i += size {
		o.segs = append(o.segs, upper[i:min(i+size, len(upper))])
	}
	o.hdr.SegN = uint8(len(o.segs) - 1)
	o.firstSeq, o.seqZero = seq, uint16(seq&0x1fff)
	sar := o.l.sar
	if o.unicast {
		o.retransLeft, o.noProgressLeft = sar.UnicastRetransmissions, sar.UnicastWithoutProgress
	} else {
		o.retransLeft = sar.MulticastRetransmissions
	}
	o.round()
}

// round sends every segment not yet acknowledged, one segment interval
// apart.
func (o *outgoing) round() {
	o.pending = o.pending[:0]
	for i := range o.segs {
		if o.acked&(1<<i) == 0 {
			o.pending = append(o.pending, uint8(i))
		}
	}
	o.nextSegment()
}

func (o *outgoing) nextSegment() {
	if o.finished || len(o.pending) == 0 {
		return
	}
	i := o.pending[0]
	o.pending = o.pending[1:]
	o.send(i)
	if len(o.pending) > 0 {
		o.segT.ResetAfter(o.l.sar.SegmentInterval)
		return
	}
	// The last segment of the round went out: wait for acknowledgments
	// (unicast) or for the next round (multicast).
	if o.unicast {
		o.retransT.ResetAfter(o.l.sar.retransmitInterval(o.ttl))
	} else {
		o.retransT.ResetAfter(o.l.sar.MulticastInterval)
	}
}

func (o *outgoing) send(i uint8) {
	seq := o.firstSeq
	if o.usedSeq {
		var err error
		if seq, err = o.l.cfg.Seq(); err != nil {
			o.finish(err)
			return
		}
	}
	o.usedSeq = true
	lp := o.hdr
	lp.SeqZero, lp.SegO, lp.Payload = o.seqZero, i, o.segs[i]
	o.l.Stats.SegmentsOut++
	h := mcrypto.NetworkHeader{CTL: lp.CTL, TTL: o.ttl, SEQ: seq, SRC: o.src, DST: o.dst}
	if err := o.l.cfg.Net.Send(o.sub, h, lp.Marshal()); err != nil {
		o.l.log.Debug("segment not sent", zap.Error(err))
	}
}

// retransmit runs when the retransmissions timer expires: a unicast
// message gives up when either counter is exhausted, else sends the
// unacknowledged segments again; a multicast message sends another round
// or is done.
func (o *outgoing) retransmit() {
	if o.finished {
		return
	}
	if o.unicast {
		if o.retransLeft == 0 || o.noProgressLeft == 0 {
			o.l.Stats.Failed++
			o.finish(ErrTimeout)
			return
		}
		o.noProgressLeft--
	} else if o.retransLeft == 0 {
		o.finish(nil)
		return
	}
	o.retransLeft--
	o.l.Stats.Retransmissions++
	o.round()
}

// all is the BlockAck of a complete message.
func (o *outgoing) all() uint32 {
	if len(o.segs) == 32 {
		return 0xffffffff
	}
	return 1<<len(o.segs) - 1
}

// ack handles a Segment Acknowledgment for this message (§3.5.3.3):
// BlockAck 0 cancels it; new acknowledged segments reset the
// without-progress counter and the rest is sent again at once.
func (o *outgoing) ack(a SegmentAck) {
	if o.finished || !o.unicast {
		return
	}
	if a.BlockAck == 0 {
		o.finish(ErrBusy)
		return
	}
	if a.BlockAck&^o.all() != 0 {
		return // acknowledges segments that do not exist
	}
	progress := a.BlockAck&^o.acked != 0
	o.acked |= a.BlockAck
	if o.acked == o.all() {
		o.finish(nil)
		return
	}
	if progress {
		o.noProgressLeft = o.l.sar.UnicastWithoutProgress
		if len(o.pending) == 0 {
			// Between rounds: send what is missing now, counting it as a
			// retransmission.
			if o.retransLeft == 0 {
				return
			}
			o.retransLeft--
			o.l.Stats.Retransmissions++
			o.retransT.Stop()
			o.round()
		}
	}
}

// finish reports the outcome and starts the next message to the same
// destination.
func (o *outgoing) finish(err error) {
	if o.finished {
		return
	}
	o.finished = true
	o.segT.Stop()
	o.retransT.Stop()
	l := o.l
	q := l.out[o.dst]
	for i, x := range q {
		if x == o {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(l.out, o.dst)
	} else {
		l.out[o.dst] = q
		if next := q[0]; !next.started {
			l.cfg.Sched.After(0, next.start)
		}
	}
	if err != nil {
		l.log.Debug("segmented message failed", zap.Uint16("dst", o.dst), zap.Uint16("seq_zero", o.seqZero), zap.Error(err))
	}
	if o.done != nil {
		o.done(err)
	}
}

// acked routes a Segment Acknowledgment to the message it acknowledges:
// one sent by this node's element p.DST to p.SRC (or, with OBO, to the
// Low Power node a Friend answers for) with the same SeqZero.
func (l *Layer) acked(p *network.PDU, a SegmentAck) {
	for _, q := range l.out {
		if len(q) == 0 {
			continue
		}
		o := q[0]
		if o.src == p.DST && o.seqZero == a.SeqZero && (o.dst == p.SRC || a.OBO) && o.started {
			o.ack(a)
			return
		}
	}
}

// Pending is the number of segmented messages queued or in flight.
func (l *Layer) Pending() int {
	n := 0
	for _, q := range l.out {
		n += len(q)
	}
	return n
}
