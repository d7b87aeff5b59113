package transport

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/network"
	"blesim/linklayer/sim"
)

// incoming is a segmented message being reassembled (§3.5.3.4).
type incoming struct {
	l        *Layer
	src, dst uint16
	sub      *network.Subnet
	ttl      uint8 // of the first segment received
	hdr      Lower // CTL, AKF, AID or opcode, SZMIC, SeqZero, SegN
	seqAuth  uint64
	maxSeq   uint32 // the largest SEQ among the segments received
	segs     [][]byte
	got      uint32
	ackT     *sim.Timer // SAR Acknowledgment timer
	discardT *sim.Timer // SAR Discard timer
}

// completed remembers the last message reassembled from a source, so
// that late copies of its segments are acknowledged again and not
// processed twice.
type completed struct {
	seqAuth  uint64
	blockAck uint32
}

func (in *incoming) all() uint32 {
	if len(in.segs) == 32 {
		return 0xffffffff
	}
	return 1<<len(in.segs) - 1
}

// ackTTL is the TTL of a Segment Acknowledgment: 0 when the message came
// with TTL 0 (from a neighbour), else the Default TTL.
func (l *Layer) ackTTL(ttl uint8) uint8 {
	if ttl == 0 {
		return 0
	}
	return l.cfg.DefaultTTL()
}

func (l *Layer) sendAck(sub *network.Subnet, from, to uint16, ttl uint8, seqZero uint16, blockAck uint32) {
	l.Stats.AcksOut++
	a := SegmentAck{SeqZero: seqZero, BlockAck: blockAck}
	if err := l.SendControl(sub, from, to, l.ackTTL(ttl), OpSegmentAck, a.Params(), nil); err != nil {
		l.log.Debug("Segment Acknowledgment not sent", zap.Error(err))
	}
}

// segmentIn handles one segment (§3.5.3.4).
func (l *Layer) segmentIn(p *network.PDU, lp Lower) {
	auth := SeqAuth(p.IVIndex, p.SEQ, lp.SeqZero)
	unicast := network.IsUnicast(p.DST)
	if c, ok := l.done[p.SRC]; ok {
		if auth == c.seqAuth {
			if unicast {
				l.sendAck(p.Subnet, p.DST, p.SRC, p.TTL, lp.SeqZero, c.blockAck)
			}
			return
		}
		if auth < c.seqAuth {
			return
		}
	}
	in := l.in[p.SRC]
	if in != nil && in.seqAuth != auth {
		if auth < in.seqAuth {
			return
		}
		// A newer message from the same source replaces the one in
		// progress.
		in.drop()
		in = nil
	}
	if in == nil {
		if !l.cfg.Replay(p.SRC, uint32(auth>>24), uint32(auth&0xffffff)) {
			l.Stats.Replayed++
			return
		}
		if len(l.in) >= l.sar.MaxIncoming {
			if unicast {
				l.sendAck(p.Subnet, p.DST, p.SRC, p.TTL, lp.SeqZero, 0)
			}
			return
		}
		in = &incoming{l: l, src: p.SRC, dst: p.DST, sub: p.Subnet, ttl: p.TTL, hdr: lp, seqAuth: auth,
			segs: make([][]byte, int(lp.SegN)+1)}
		in.hdr.Payload = nil
		in.ackT = l.cfg.Sched.NewTimer(in.ackTimeout)
		in.discardT = l.cfg.Sched.NewTimer(in.discard)
		l.in[p.SRC] = in
	}
	if lp.SegN != in.hdr.SegN || lp.AKF != in.hdr.AKF || lp.AID != in.hdr.AID || lp.Opcode != in.hdr.Opcode ||
		lp.SZMIC != in.hdr.SZMIC || p.DST != in.dst || p.Subnet != in.sub {
		l.log.Debug("segment does not match its message", zap.Uint16("src", p.SRC), zap.Uint16("seq_zero", lp.SeqZero))
		return
	}
	size := lp.SegmentSize()
	if (lp.SegO < lp.SegN && len(lp.Payload) != size) || len(lp.Payload) == 0 {
		l.log.Debug("segment of a wrong length", zap.Uint16("src", p.SRC), zap.Int("len", len(lp.Payload)))
		return
	}
	bit := uint32(1) << lp.SegO
	if in.got&bit != 0 {
		return
	}
	in.segs[lp.SegO] = append([]byte(nil), lp.Payload...)
	in.got |= bit
	in.maxSeq = max(in.maxSeq, p.SEQ)
	in.discardT.ResetAfter(l.sar.DiscardTimeout)
	if in.got == in.all() {
		in.complete()
		return
	}
	if network.IsUnicast(in.dst) && !in.ackT.Pending() {
		in.ackT.ResetAfter(l.sar.ackDelay(in.hdr.SegN))
	}
}

func (in *incoming) stop() {
	in.ackT.Stop()
	in.discardT.Stop()
	if in.l.in[in.src] == in {
		delete(in.l.in, in.src)
	}
}

// drop forgets the message unfinished.
func (in *incoming) drop() {
	in.stop()
	in.l.Stats.Discarded++
}

// discard is the SAR Discard timer: no segment for DiscardTimeout.
func (in *incoming) discard() {
	in.l.log.Debug("incomplete segmented message discarded", zap.Uint16("src", in.src),
		zap.Uint16("seq_zero", in.hdr.SeqZero), zap.Uint32("got", in.got))
	in.drop()
}

// ackTimeout is the SAR Acknowledgment timer: acknowledge what has
// arrived so far.
func (in *incoming) ackTimeout() {
	in.l.sendAck(in.sub, in.dst, in.src, in.ttl, in.hdr.SeqZero, in.got)
}

// complete acknowledges a complete message (unicast destination), hands
// it up and remembers it.
func (in *incoming) complete() {
	l := in.l
	in.stop()
	if network.IsUnicast(in.dst) {
		n := 1
		if int(in.hdr.SegN)+1 > l.sar.SegmentsThreshold {
			n += l.sar.AckRetransmissions
		}
		for range n {
			l.sendAck(in.sub, in.dst, in.src, in.ttl, in.hdr.SeqZero, in.got)
		}
	}
	l.done[in.src] = completed{seqAuth: in.seqAuth, blockAck: in.got}
	var pdu []byte
	for _, s := range in.segs {
		pdu = append(pdu, s...)
	}
	iv, seq := uint32(in.seqAuth>>24), uint32(in.seqAuth&0xffffff)
	if in.hdr.CTL {
		l.cfg.Accepted(in.src, iv, in.maxSeq)
		if l.cfg.OnControl != nil {
			l.cfg.OnControl(&Control{Src: in.src, Dst: in.dst, TTL: in.ttl, Subnet: in.sub, Opcode: in.hdr.Opcode, Params: pdu})
		}
		return
	}
	if l.upper(in.sub, in.src, in.dst, in.ttl, iv, seq, in.hdr, pdu) {
		l.cfg.Accepted(in.src, iv, in.maxSeq)
	}
}
