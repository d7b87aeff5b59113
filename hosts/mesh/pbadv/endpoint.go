package pbadv

import (
	"encoding/binary"
	"fmt"
	"io"

	"go.uber.org/zap"

	"blesim/hosts/mesh/beacon"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

// forEach calls fn with every PB-ADV PDU and mesh beacon in advertising
// data (one blob of AD structures); malformed data ends the walk.
func forEach(ad []byte, fn func(t pdu.ADType, data []byte)) {
	for s, err := range pdu.ADs(ad) {
		if err != nil {
			return
		}
		if s.Type == pdu.ADMeshPBADV || s.Type == pdu.ADMeshBeacon {
			fn(s.Type, s.Data)
		}
	}
}

// Device is the PB-ADV end of an unprovisioned device (§5.2.1, §5.3.2): it
// sends Unprovisioned Device beacons while no link is open, accepts a Link
// Open for its UUID, and runs one link at a time.
type Device struct {
	log    *zap.Logger
	sched  *sim.Scheduler
	bearer Bearer
	cfg    Config
	uuid   [16]byte
	link   *Link

	// OnLink is called for each new link; it returns the provisioning
	// session that will use it (prov.Device.Open(link)).
	OnLink func(l *Link) Handler

	beacon      []byte
	beaconEvery sim.Duration
	beaconTimer *sim.Timer
	stopped     bool
}

// NewDevice returns the PB-ADV end of the device with Device UUID uuid.
func NewDevice(log *zap.Logger, sched *sim.Scheduler, b Bearer, uuid [16]byte, cfg Config) *Device {
	d := &Device{log: log, sched: sched, bearer: b, cfg: cfg.withDefaults(), uuid: uuid}
	d.beaconTimer = sched.NewTimer(d.sendBeacon)
	return d
}

// UUID is the Device UUID.
func (d *Device) UUID() [16]byte { return d.uuid }

// Link is the current link, nil when none is open.
func (d *Device) Link() *Link { return d.link }

// Beacon sends b every interval while the device has no open link (and
// again after a failed attempt). A zero interval stops beaconing.
func (d *Device) Beacon(b beacon.Unprovisioned, every sim.Duration) {
	d.beacon, d.beaconEvery = b.AD(), every
	d.beaconTimer.Stop()
	if every > 0 && d.link == nil && !d.stopped {
		d.sendBeacon()
	}
}

func (d *Device) sendBeacon() {
	if d.link != nil || d.stopped || d.beaconEvery <= 0 {
		return
	}
	d.bearer.Send(d.beacon)
	d.beaconTimer.ResetAfter(d.beaconEvery)
}

// Stop stops beaconing and accepting links (the device is provisioned);
// an open link is left to finish.
func (d *Device) Stop() {
	d.stopped = true
	d.beaconTimer.Stop()
}

// Receive takes received advertising data.
func (d *Device) Receive(ad []byte) {
	forEach(ad, func(t pdu.ADType, data []byte) {
		if t != pdu.ADMeshPBADV || len(data) <= headerLen {
			return
		}
		// Most PB-ADV traffic on a busy air belongs to other devices' links:
		// look at the Link ID and the opcode before decoding.
		mine := d.link != nil && binary.BigEndian.Uint32(data) == d.link.id
		if !mine && data[headerLen] != byte(LinkOpen)<<2|byte(BearerControl) {
			return
		}
		p, err := Parse(data)
		if err != nil {
			d.log.Debug("bad PB-ADV PDU", zap.Error(err))
			return
		}
		if d.link != nil && p.LinkID == d.link.id {
			d.link.receive(p)
			return
		}
		if p.Kind == BearerControl && p.Opcode == LinkOpen && p.UUID == d.uuid && d.link == nil && !d.stopped {
			d.accept(p)
		}
	})
}

// accept opens a link for a Link Open (§5.3.2).
func (d *Device) accept(p PDU) {
	l := newLink(d.log, d.sched, d.bearer, d.cfg, p.LinkID, d.uuid, true)
	l.state = open
	l.onClose = func(*Link) {
		if d.link == l {
			d.link = nil
			d.beaconTimer.ResetAfter(d.beaconEvery)
		}
	}
	d.link = l
	d.beaconTimer.Stop()
	d.log.Debug("link opened", zap.Uint32("link", p.LinkID))
	l.control(LinkACK, 0)
	if d.OnLink != nil {
		l.handler = d.OnLink(l)
	}
}

// Provisioner is the provisioner's PB-ADV end: it opens links to devices
// by UUID, any number at a time, and reports the Unprovisioned Device
// beacons it hears.
type Provisioner struct {
	log    *zap.Logger
	sched  *sim.Scheduler
	bearer Bearer
	cfg    Config
	rand   io.Reader
	links  map[uint32]*Link

	// OnBeacon, when set, is called with each Unprovisioned Device beacon
	// heard.
	OnBeacon func(b beacon.Unprovisioned)
}

// NewProvisioner returns a provisioner end; rand supplies Link IDs.
func NewProvisioner(log *zap.Logger, sched *sim.Scheduler, b Bearer, rand io.Reader, cfg Config) *Provisioner {
	return &Provisioner{log: log, sched: sched, bearer: b, cfg: cfg.withDefaults(), rand: rand, links: map[uint32]*Link{}}
}

// Open opens a link to the device with Device UUID uuid (§5.3.2): it
// draws a random Link ID and sends Link Open until Link ACK (or gives up
// after the link timeout, closing the link with reason Timeout). PDUs sent
// on the link before it is open wait for it. Set the handler with
// SetHandler.
func (p *Provisioner) Open(uuid [16]byte) (*Link, error) {
	var id uint32
	for {
		var b [4]byte
		if _, err := io.ReadFull(p.rand, b[:]); err != nil {
			return nil, fmt.Errorf("pb-adv: drawing a Link ID: %w", err)
		}
		id = binary.BigEndian.Uint32(b[:])
		if _, taken := p.links[id]; !taken {
			break
		}
	}
	l := newLink(p.log, p.sched, p.bearer, p.cfg, id, uuid, false)
	l.onClose = func(l *Link) { delete(p.links, l.id) }
	p.links[id] = l
	l.control(LinkOpen, 0)
	l.retx.ResetAfter(p.cfg.RetransmitInterval)
	return l, nil
}

// Links is the number of links not closed.
func (p *Provisioner) Links() int { return len(p.links) }

// Receive takes received advertising data.
func (p *Provisioner) Receive(ad []byte) {
	forEach(ad, func(t pdu.ADType, data []byte) {
		if t == pdu.ADMeshBeacon {
			if p.OnBeacon != nil {
				if b, err := beacon.ParseUnprovisioned(data); err == nil {
					p.OnBeacon(b)
				}
			}
			return
		}
		pp, err := Parse(data)
		if err != nil {
			p.log.Debug("bad PB-ADV PDU", zap.Error(err))
			return
		}
		if l := p.links[pp.LinkID]; l != nil {
			l.receive(pp)
		}
	})
}

// Compile-time check: a Link is what the provisioning layer sends on.
var _ prov.Link = (*Link)(nil)
