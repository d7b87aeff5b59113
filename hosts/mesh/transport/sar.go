package transport

import "blesim/linklayer/sim"

// SAR holds the SAR Transmitter and SAR Receiver states (§3.5.3, with the
// defaults of Mesh Protocol v1.1 as decoded durations and counts). The
// zero value takes every default.
type SAR struct {
	// Transmitter.
	SegmentInterval          sim.Duration // between segments: (Segment Interval Step + 1) × 10 ms, default 60 ms
	UnicastRetransmissions   int          // retransmissions of a unicast message, default 2
	UnicastWithoutProgress   int          // retransmissions without a newly acknowledged segment, default 2
	UnicastInterval          sim.Duration // retransmissions timer at TTL 0..1: (step + 1) × 25 ms, default 200 ms
	UnicastIncrement         sim.Duration // added per hop (TTL - 1): (increment + 1) × 25 ms, default 50 ms
	MulticastRetransmissions int          // extra rounds to a group or virtual address, default 2
	MulticastInterval        sim.Duration // between multicast rounds: (step + 1) × 25 ms, default 225 ms

	// Receiver.
	ReceiverSegmentInterval sim.Duration // segment reception interval: (step + 1) × 10 ms, default 60 ms
	// AckDelayIncrement is the SAR Acknowledgment Delay Increment state:
	// the acknowledgment timer is min(SegN + 0.5, AckDelayIncrement + 1.5)
	// segment reception intervals. Default 1.
	AckDelayIncrement  uint8
	DiscardTimeout     sim.Duration // (timeout + 1) × 5 s, default 10 s
	SegmentsThreshold  int          // above this many segments acks are repeated, default 3
	AckRetransmissions int          // extra acks for such messages, default 0

	// MaxIncoming bounds the messages being reassembled at a time; a
	// segment of another one gets a Segment Acknowledgment with BlockAck 0
	// (busy). Default 16.
	MaxIncoming int
}

func (s SAR) withDefaults() SAR {
	def := func(d *sim.Duration, v sim.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.SegmentInterval, 60*sim.Millisecond)
	def(&s.UnicastInterval, 200*sim.Millisecond)
	def(&s.UnicastIncrement, 50*sim.Millisecond)
	def(&s.MulticastInterval, 225*sim.Millisecond)
	def(&s.ReceiverSegmentInterval, 60*sim.Millisecond)
	def(&s.DiscardTimeout, 10*sim.Second)
	if s.UnicastRetransmissions == 0 {
		s.UnicastRetransmissions = 2
	}
	if s.UnicastWithoutProgress == 0 {
		s.UnicastWithoutProgress = 2
	}
	if s.MulticastRetransmissions == 0 {
		s.MulticastRetransmissions = 2
	}
	if s.AckDelayIncrement == 0 {
		s.AckDelayIncrement = 1
	}
	if s.SegmentsThreshold == 0 {
		s.SegmentsThreshold = 3
	}
	if s.MaxIncoming <= 0 {
		s.MaxIncoming = 16
	}
	return s
}

// retransmitInterval is the initial value of the SAR Unicast
// Retransmissions timer for a message sent with ttl (§3.5.3.3).
func (s SAR) retransmitInterval(ttl uint8) sim.Duration {
	if ttl == 0 {
		return s.UnicastInterval
	}
	return s.UnicastInterval + s.UnicastIncrement*sim.Duration(ttl-1)
}

// ackDelay is the initial value of the SAR Acknowledgment timer for a
// message of segN+1 segments (§3.5.3.4):
// min(SegN + 0.5, increment + 1.5) × segment reception interval.
func (s SAR) ackDelay(segN uint8) sim.Duration {
	halves := min(2*int64(segN)+1, 2*int64(s.AckDelayIncrement)+3)
	return sim.Duration(halves) * s.ReceiverSegmentInterval / 2
}
