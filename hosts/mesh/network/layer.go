package network

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

// PDU is a received network PDU after decryption (§3.4.4).
type PDU struct {
	mcrypto.NetworkHeader
	IVIndex   uint32  // the IV Index it was secured with
	Subnet    *Subnet // whose credentials opened it
	Transport []byte  // the lower transport PDU
}

// Config wires a Layer.
type Config struct {
	Log   *zap.Logger
	Sched *sim.Scheduler
	// Send transmits one AD structure on the advertising bearer.
	Send func(ad []byte)
	// OnPDU receives every network PDU that is new (not in the message
	// cache) and not from one of this node's own addresses. The lower
	// transport decides whether it is for this node. The PDU and its
	// Transport are only valid during the call.
	OnPDU func(p *PDU)
	// Own reports whether addr is the unicast address of one of this
	// node's elements.
	Own func(addr uint16) bool
	// OnIV is told when the IV state changes (a beacon, an update this
	// node started, or its end).
	OnIV func(old, next IVState)
	// CacheSize is the number of PDUs the network message cache holds
	// (default 512).
	CacheSize int
}

// Stats counts what the layer did.
type Stats struct {
	Received  int // network PDUs handed to Receive
	Opened    int // decrypted with one of the subnets
	Duplicate int // dropped by the message cache
	Relayed   int
	Sent      int
	Beacons   int // Secure Network beacons sent
}

// Layer is the network layer of one node.
type Layer struct {
	cfg     Config
	log     *zap.Logger
	subnets []*Subnet
	iv      IVState
	raw     *seen  // PDUs as received (before decryption)
	msgs    *cache // SRC, SEQ, IV Index of every PDU seen or sent

	// Relay is the Relay state (§4.2.8): relay PDUs with TTL ≥ 2 that
	// are not for this node.
	Relay bool

	beaconing  bool
	beaconT    *sim.Timer
	observeT   *sim.Timer
	beaconData map[*Subnet]*beaconTimes
	ivDoneT    *sim.Timer

	// Reused for every PDU handed to OnPDU (which must not keep them).
	rxPDU PDU
	rxBuf [mcrypto.MaxNetworkPDULen]byte

	Stats Stats
}

// New returns a layer with no subnets and IV Index 0.
func New(cfg Config) *Layer {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 512
	}
	if cfg.Own == nil {
		cfg.Own = func(uint16) bool { return false }
	}
	l := &Layer{cfg: cfg, log: cfg.Log, raw: newSeen(cfg.CacheSize), msgs: newCache(cfg.CacheSize),
		beaconData: map[*Subnet]*beaconTimes{}}
	if cfg.Sched != nil {
		l.beaconT = cfg.Sched.NewTimer(l.beaconTick)
		l.observeT = cfg.Sched.NewTimer(l.observe)
		l.ivDoneT = cfg.Sched.NewTimer(l.completeIVUpdate)
	}
	return l
}

// AddSubnet adds (or replaces, by index) a subnet.
func (l *Layer) AddSubnet(s *Subnet) {
	for i, o := range l.subnets {
		if o.Index == s.Index {
			delete(l.beaconData, o)
			l.subnets[i] = s
			return
		}
	}
	l.subnets = append(l.subnets, s)
}

// RemoveSubnet removes the subnet with NetKey Index index.
func (l *Layer) RemoveSubnet(index uint16) {
	for i, o := range l.subnets {
		if o.Index == index {
			delete(l.beaconData, o)
			l.subnets = append(l.subnets[:i], l.subnets[i+1:]...)
			return
		}
	}
}

// Subnet returns the subnet with NetKey Index index, or nil.
func (l *Layer) Subnet(index uint16) *Subnet {
	for _, s := range l.subnets {
		if s.Index == index {
			return s
		}
	}
	return nil
}

// Subnets lists the subnets.
func (l *Layer) Subnets() []*Subnet { return l.subnets }

// IV is the IV state.
func (l *Layer) IV() IVState { return l.iv }

// SetIV sets the IV state (provisioning data, a loaded state file)
// without telling OnIV.
func (l *Layer) SetIV(s IVState) { l.iv = s }

func (l *Layer) setIV(next IVState) {
	old := l.iv
	l.iv = next
	l.log.Info("IV state", zap.Uint32("index", next.Index), zap.Bool("updating", next.Updating),
		zap.Uint32("was", old.Index), zap.Bool("was_updating", old.Updating))
	if l.cfg.OnIV != nil {
		l.cfg.OnIV(old, next)
	}
}

// ErrNoSubnet is returned by Send without a subnet.
var ErrNoSubnet = errors.New("network: no subnet")

// Send secures a lower transport PDU with sub's credentials and the
// transmit IV Index and transmits it (§3.4.6.2). h carries CTL, TTL, SEQ,
// SRC and DST.
func (l *Layer) Send(sub *Subnet, h mcrypto.NetworkHeader, transport []byte) error {
	if sub == nil {
		return ErrNoSubnet
	}
	if !IsUnicast(h.SRC) || h.DST == Unassigned {
		return fmt.Errorf("network: SRC %#04x, DST %#04x", h.SRC, h.DST)
	}
	iv := l.iv.TxIndex()
	b, err := sub.Cipher.Encrypt(iv, h, transport)
	if err != nil {
		return err
	}
	l.msgs.add(msgKey(h.SRC, h.SEQ, iv))
	l.raw.add(hash(b))
	l.Stats.Sent++
	l.transmit(b)
	return nil
}

func (l *Layer) transmit(b []byte) {
	if l.cfg.Send == nil {
		return
	}
	ad := make([]byte, 0, 2+len(b))
	ad = append(ad, byte(1+len(b)), byte(pdu.ADMeshMessage))
	l.cfg.Send(append(ad, b...))
}

// Receive takes received advertising data (any number of AD
// structures): Mesh Message structures go to the network, Mesh Beacon
// structures holding Secure Network beacons to the beacon handling.
func (l *Layer) Receive(ad []byte) {
	for s, err := range pdu.ADs(ad) {
		if err != nil {
			return
		}
		switch s.Type {
		case pdu.ADMeshMessage:
			l.ReceivePDU(s.Data)
		case pdu.ADMeshBeacon:
			if len(s.Data) > 0 && s.Data[0] == 0x01 {
				l.ReceiveBeacon(s.Data)
			}
		}
	}
}

// ReceivePDU handles one network PDU (§3.4.6.4): drop it when already
// cached, open it with the subnet whose NID matches (the IVI bit selects
// the IV Index), cache it, hand it up unless it came from this node, and
// relay it when the Relay feature is on.
func (l *Layer) ReceivePDU(b []byte) {
	l.Stats.Received++
	if len(b) < mcrypto.NetworkHeaderLen+1+4 || len(b) > mcrypto.MaxNetworkPDULen || len(l.subnets) == 0 {
		return
	}
	nid, ivi := b[0]&0x7f, b[0]&0x80 != 0
	var sub *Subnet
	for _, s := range l.subnets {
		if s.NID() == nid {
			sub = s
			break
		}
	}
	if sub == nil {
		return
	}
	hk := hash(b)
	if l.raw.has(hk) {
		l.Stats.Duplicate++
		return
	}
	iv := l.iv.RxIndex(ivi)
	var h mcrypto.NetworkHeader
	var tr []byte
	var err error
	for _, s := range l.subnets {
		if s.NID() != nid {
			continue
		}
		if h, tr, err = s.Cipher.DecryptTo(l.rxBuf[:], iv, b); err == nil {
			sub = s
			break
		}
	}
	if err != nil {
		return
	}
	l.raw.add(hk)
	l.Stats.Opened++
	// §3.4.3: SRC must be unicast and DST assigned; a control PDU must fit
	// its 64-bit NetMIC (checked by Decrypt).
	if !IsUnicast(h.SRC) || h.DST == Unassigned {
		return
	}
	if !l.msgs.add(msgKey(h.SRC, h.SEQ, iv)) {
		l.Stats.Duplicate++
		return
	}
	if l.cfg.Own(h.SRC) {
		return
	}
	// Relay first: OnPDU may send (an acknowledgment), reusing rxBuf.
	l.relay(sub, iv, h, tr)
	if l.cfg.OnPDU != nil {
		l.rxPDU = PDU{NetworkHeader: h, IVIndex: iv, Subnet: sub, Transport: tr}
		l.cfg.OnPDU(&l.rxPDU)
	}
}

// relay retransmits a PDU with TTL-1 (§3.4.6.3) when the Relay state is
// on, the TTL is 2 or more and the destination is not one of this node's
// unicast addresses. It keeps SRC, SEQ and the IV Index.
func (l *Layer) relay(sub *Subnet, iv uint32, h mcrypto.NetworkHeader, tr []byte) {
	if !l.Relay || h.TTL < 2 || l.cfg.Own(h.DST) {
		return
	}
	h.TTL--
	b, err := sub.Cipher.Encrypt(iv, h, tr)
	if err != nil {
		return
	}
	l.raw.add(hash(b))
	l.Stats.Relayed++
	l.transmit(b)
}
