package meshnode

import (
	"bytes"

	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Advertising bearer timing (Mesh Protocol v1.1 §3.3.1): mesh PDUs go out
// as ADV_NONCONN_IND at the shortest legacy interval (20 ms), each held
// for Transmissions advertising events (the Network Transmit count).
const (
	DefaultAdvInterval   = 20 * sim.Millisecond
	DefaultTransmissions = 3
	// DefaultScanWindow is the passive scan interval and window: the
	// scanner listens all the time.
	DefaultScanWindow = 30 * sim.Millisecond
)

// AdvBearer is the mesh advertising bearer over a host's controller
// (§3.3.1): Send queues an AD structure; each is advertised with LE Set
// Advertising Parameters (ADV_NONCONN_IND, 20 ms), LE Set Advertising Data
// and LE Set Advertising Enable for a few advertising events, then the
// next. Between them the bearer advertises Idle (connectable, for
// PB-GATT) or stops. Passive scanning runs all the time; every advertising
// report goes to OnReceive.
type AdvBearer struct {
	host  *hcihost.Host
	log   *zap.Logger
	sched *sim.Scheduler

	// Interval and Transmissions tune the advertising (defaults 20 ms and
	// 3 events per PDU).
	Interval      sim.Duration
	Transmissions int
	// OwnAddrType is the address type the bearer advertises and scans with:
	// 0 the controller's public address, 1 its random (static) address.
	OwnAddrType uint8
	// OnReceive gets the AD structures of every advertising report.
	OnReceive func(ad []byte)
	// OnReport, when set, sees every report (address, type, RSSI).
	OnReport func(r hcihost.AdvertisingReport)

	queue   [][]byte
	busy    bool   // commands in flight or a PDU being held
	mode    uint8  // advertising type the parameters are set to (0xFF: none)
	enabled bool   // advertising is on
	idle    []byte // connectable advertising data when nothing is queued (nil: none)
	idleOn  bool   // idle advertising is what runs now
	hold    *sim.Timer
	started bool

	// Sent counts the PDUs advertised; Dropped the repeats of a PDU
	// still queued.
	Sent, Dropped int
}

// NewAdvBearer makes the bearer; Start it once the host is brought up.
func NewAdvBearer(log *zap.Logger, h *hcihost.Host) *AdvBearer {
	b := &AdvBearer{host: h, log: log, sched: h.Scheduler(), Interval: DefaultAdvInterval,
		Transmissions: DefaultTransmissions, mode: 0xFF}
	b.hold = b.sched.NewTimer(b.next)
	h.OnEvent(func(ev hcihost.Event) {
		switch e := ev.(type) {
		case hcihost.AdvertisingReport:
			if b.OnReport != nil {
				b.OnReport(e)
			}
			if b.OnReceive != nil && len(e.Data) > 0 {
				b.OnReceive(e.Data)
			}
		case hcihost.ConnectionComplete:
			// Legacy advertising stops when a connection is made
			// (Core Vol 4 Part E §7.8.9).
			if e.Status == hci.StatusSuccess && b.idleOn {
				b.enabled, b.idleOn = false, false
			}
		case hcihost.DisconnectionComplete:
			if !b.busy && b.started {
				b.next()
			}
		}
	})
	return b
}

func units(d sim.Duration) uint16 {
	u := uint16(d / (625 * sim.Microsecond))
	return min(max(u, 0x0020), 0x4000)
}

// Start turns passive scanning on (interval = window: always listening,
// duplicates not filtered) and the bearer's transmissions.
func (b *AdvBearer) Start(done func(error)) {
	w := &hci.Writer{}
	win := units(DefaultScanWindow)
	w.U8(0x00).U16(win).U16(win).U8(b.OwnAddrType).U8(0x00)
	b.host.Command(hci.OpLESetScanParameters, w.B, func(_ []byte, err error) {
		if err != nil {
			done(err)
			return
		}
		b.host.Command(hci.OpLESetScanEnable, []byte{0x01, 0x00}, func(_ []byte, err error) {
			if err == nil {
				b.started = true
				b.next()
			}
			done(err)
		})
	})
}

// Send queues one AD structure (advertising data of at most 31 octets).
// A PDU already waiting in the queue is not queued twice: the layers
// above retransmit on timers (PB-ADV transactions every 500 ms), and a
// bearer that sends about a dozen PDUs a second must not let those
// repeats pile up.
func (b *AdvBearer) Send(ad []byte) {
	if len(ad) > 31 {
		b.log.Warn("AD structure too long for legacy advertising", zap.Int("len", len(ad)))
		return
	}
	for _, q := range b.queue {
		if bytes.Equal(q, ad) {
			b.Dropped++
			return
		}
	}
	b.queue = append(b.queue, append([]byte(nil), ad...))
	if !b.busy && b.started {
		b.next()
	}
}

// Queued is the number of PDUs waiting.
func (b *AdvBearer) Queued() int { return len(b.queue) }

// SetIdle sets the connectable advertising data sent while nothing is
// queued (nil: none; advertising stops between PDUs).
func (b *AdvBearer) SetIdle(data []byte) {
	b.idle = data
	if b.idleOn && data != nil {
		b.idleOn = false // advertise the new data
	}
	if !b.busy && b.started {
		b.next()
	}
}

func (b *AdvBearer) params(typ uint8) []byte {
	iv := units(b.Interval)
	w := &hci.Writer{}
	w.U16(iv).U16(iv).U8(typ).U8(b.OwnAddrType).U8(0).Addr(hci.BDAddr{}).U8(0x07).U8(0x00)
	return w.B
}

func padAD(ad []byte) []byte {
	p := make([]byte, 32)
	p[0] = byte(len(ad))
	copy(p[1:], ad)
	return p
}

// step is one HCI command of a sequence.
type step struct {
	op hci.Opcode
	p  []byte
}

func (b *AdvBearer) run(steps []step, then func()) {
	b.busy = true
	var do func(i int)
	do = func(i int) {
		if i == len(steps) {
			then()
			return
		}
		b.host.Command(steps[i].op, steps[i].p, func(_ []byte, err error) {
			if err != nil {
				b.log.Debug("advertising bearer command failed", zap.Stringer("op", steps[i].op), zap.Error(err))
			}
			do(i + 1)
		})
	}
	do(0)
}

// advertise switches to advertising type typ with data, enabling it.
func (b *AdvBearer) advertise(typ uint8, data []byte, then func()) {
	var steps []step
	if b.mode != typ {
		if b.enabled {
			steps = append(steps, step{hci.OpLESetAdvertisingEnable, []byte{0}})
			b.enabled = false
		}
		steps = append(steps, step{hci.OpLESetAdvertisingParameters, b.params(typ)})
		b.mode = typ
	}
	steps = append(steps, step{hci.OpLESetAdvertisingData, padAD(data)})
	if !b.enabled {
		steps = append(steps, step{hci.OpLESetAdvertisingEnable, []byte{1}})
		b.enabled = true
	}
	b.run(steps, then)
}

// next advertises the next queued PDU, or the idle data, or stops.
func (b *AdvBearer) next() {
	if !b.started {
		return
	}
	if len(b.queue) > 0 {
		ad := b.queue[0]
		b.queue = b.queue[1:]
		b.idleOn = false
		b.Sent++
		b.advertise(0x03, ad, func() {
			// Hold for the events: interval plus the mean advDelay of 5 ms.
			b.hold.ResetAfter(sim.Duration(b.Transmissions) * (b.Interval + 5*sim.Millisecond))
		})
		return
	}
	switch {
	case b.idle != nil && !b.idleOn:
		b.idleOn = true
		b.advertise(0x00, b.idle, func() { b.busy = false })
	case b.idle == nil && b.enabled:
		b.idleOn = false
		b.enabled = false
		b.run([]step{{hci.OpLESetAdvertisingEnable, []byte{0}}}, func() { b.busy = false })
	default:
		b.busy = false
	}
}
