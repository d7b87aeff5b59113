// Package linklayer is blesim's virtual LE controller: the HCI command
// handlers, the advertising, scanning, initiating and connection state
// machines and the LL control procedures (Core v5.4 Vol 6 Part B), on top
// of the shared medium (radio) and virtual time (sim).
//
// A Controller is owned by the simulation goroutine. Its host (the kernel
// through /dev/vhci, a socket peer, or a built-in Go host) hands it H4
// packets with FromHost and receives H4 packets through the sink given to
// SetHostSink. Nothing a host sends can panic it: malformed commands are
// answered with Invalid HCI Command Parameters (0x12), unknown ones with
// Unknown HCI Command (0x01).
package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Config describes one virtual controller.
type Config struct {
	// Name labels the controller in logs and traces, e.g. "hci0" or "Oximeter".
	Name string
	// Address is the controller's public device address (Read BD_ADDR).
	Address hci.BDAddr
	// Position is where the controller's antenna is, in metres.
	Position radio.Position
	// TxPower is the transmit power in dBm.
	TxPower int8
}

// Controller is one virtual LE controller.
type Controller struct {
	cfg    Config
	sched  *sim.Scheduler
	medium *radio.Medium
	log    *zap.Logger
	radio  *radio.Radio // groups the controller's ports: one radio
	toHost func(h4 []byte)
	// onSession sees the keys of each encryption session put into use
	// (SetSessionObserver, session_observer.go).
	onSession func(SessionKeys)

	handlers map[hci.Opcode]*handler

	eventMask   uint64
	eventMask2  uint64
	leEventMask uint64
	randomAddr  hci.BDAddr
	hostChannel [5]byte // LE Set Host Channel Classification

	adv  advertiser
	scan scanner
	init initiator
	rx   rxState // the radio shared by scanning and initiating

	acceptList []acceptEntry

	conns      map[uint16]*conn
	nextHandle uint16

	// Suggested default data length (LE Write Suggested Default Data Length).
	suggestedTxOctets uint16
	suggestedTxTime   uint16
}

// Buffer sizes the controller reports in LE Read Buffer Size
// (Core v5.4 Vol 4 Part E §7.8.2).
const (
	aclDataPacketLength = 251
	aclNumDataPackets   = 8
	acceptListSize      = 16
)

// New returns a controller attached to medium, powered but reset.
func New(s *sim.Scheduler, medium *radio.Medium, cfg Config, log *zap.Logger) *Controller {
	if log == nil {
		log = zap.NewNop()
	}
	c := &Controller{
		cfg:    cfg,
		sched:  s,
		medium: medium,
		log:    log.With(zap.String("ctrl", cfg.Name)),
		radio:  radio.NewRadio(),
		toHost: func([]byte) {},
		conns:  make(map[uint16]*conn),
	}
	c.handlers = sharedHandlers()
	c.reset()
	return c
}

// Name returns the controller's configured name.
func (c *Controller) Name() string { return c.cfg.Name }

// Address returns the controller's public address.
func (c *Controller) Address() hci.BDAddr { return c.cfg.Address }

// SetHostSink sets the function that receives every H4 packet the
// controller sends to its host (events and ACL data). It is called on the
// simulation goroutine and must not block; the packet is owned by the sink.
func (c *Controller) SetHostSink(fn func(h4 []byte)) {
	if fn == nil {
		fn = func([]byte) {}
	}
	c.toHost = fn
}

// SetPosition moves the controller (and its connections' radios).
func (c *Controller) SetPosition(p radio.Position) {
	c.cfg.Position = p
	if c.adv.port != nil {
		c.adv.port.SetPosition(p)
	}
	if c.rx.port != nil {
		c.rx.port.SetPosition(p)
	}
	for _, cn := range c.conns {
		cn.setPosition(p)
	}
}

// Position returns where the controller is.
func (c *Controller) Position() radio.Position { return c.cfg.Position }

// FromHost takes one H4 packet from the host. It must be called on the
// simulation goroutine; the controller does not keep pkt.
func (c *Controller) FromHost(pkt []byte) {
	if len(pkt) < 1 {
		c.log.Warn("empty packet from host")
		return
	}
	switch hci.PacketType(pkt[0]) {
	case hci.CommandPacket:
		c.command(hci.Command(pkt[1:]))
	case hci.ACLPacket:
		a := hci.ACL(pkt[1:])
		if err := a.Validate(); err != nil {
			c.log.Warn("malformed ACL packet from host dropped", zap.Error(err), zap.Binary("packet", pkt))
			return
		}
		c.aclFromHost(a)
	default:
		c.log.Warn("unsupported packet type from host dropped",
			zap.Stringer("type", hci.PacketType(pkt[0])), zap.Int("len", len(pkt)))
	}
}

// Detach removes the controller from the air: every connection is
// dropped without a trace on air, as if power were cut.
func (c *Controller) Detach() {
	c.stopAll()
}

// PowerOff cuts the controller's power: advertising, scanning and
// initiating stop, every connection is dropped without a trace on air (the
// peer's supervision timer expires, Core v5.4 Vol 6 Part B §4.5.2), and
// the volatile state returns to its power-on values. A host brings it back
// with HCI Reset (Vol 4 Part E §7.3.2).
func (c *Controller) PowerOff() {
	c.reset()
}

// reset returns the controller to its power-on state
// (HCI Reset, Core v5.4 Vol 4 Part E §7.3.2).
func (c *Controller) reset() {
	c.stopAll()
	c.eventMask = 0x00001FFFFFFFFFFF
	c.eventMask2 = 0
	c.leEventMask = 0x1F
	c.randomAddr = hci.BDAddr{}
	c.hostChannel = [5]byte{0xff, 0xff, 0xff, 0xff, 0x1f}
	c.acceptList = nil
	c.adv = advertiser{c: c, params: defaultAdvParams()}
	c.scan = scanner{params: defaultScanParams()}
	c.init = initiator{}
	c.nextHandle = 0x0001
	c.suggestedTxOctets = 27
	c.suggestedTxTime = 328
}

// stopAll stops advertising, scanning and initiating and drops every
// connection silently.
func (c *Controller) stopAll() {
	c.stopAdvertising()
	c.stopScanning()
	c.stopInitiating()
	for h, cn := range c.conns {
		cn.drop()
		delete(c.conns, h)
	}
}

// ownAddress returns the address the controller uses for ownType
// (0 public, 1 random) in advertising, scanning and initiating.
func (c *Controller) ownAddress(ownType uint8) (hci.BDAddr, bool) {
	if ownType&1 == 1 {
		return c.randomAddr, true
	}
	return c.cfg.Address, false
}

func (c *Controller) allocHandle() uint16 {
	for {
		h := c.nextHandle
		c.nextHandle++
		if c.nextHandle > 0x0EFF {
			c.nextHandle = 1
		}
		if _, used := c.conns[h]; !used {
			return h
		}
	}
}

// sendEvent passes an event to the host if the host's event masks allow it
// (Set Event Mask §7.3.1, LE Set Event Mask §7.8.1). Command Complete,
// Command Status and Number Of Completed Packets are never masked.
func (c *Controller) sendEvent(e hci.Event) {
	if !c.eventAllowed(e) {
		return
	}
	pkt := make([]byte, 1+len(e))
	pkt[0] = byte(hci.EventPacket)
	copy(pkt[1:], e)
	c.toHost(pkt)
}

func (c *Controller) eventAllowed(e hci.Event) bool {
	code := e.Code()
	switch code {
	case hci.EvtCommandComplete, hci.EvtCommandStatus, hci.EvtNumberOfCompletedPackets:
		return true
	}
	if bit, ok := eventMaskBit[code]; ok && c.eventMask&(1<<bit) == 0 {
		return false
	}
	if code == hci.EvtLEMeta {
		sub := e.Subevent()
		if sub == 0 || c.leEventMask&(1<<(sub-1)) == 0 {
			return false
		}
	}
	return true
}

// leEventEnabled reports whether the LE subevent would reach the host.
func (c *Controller) leEventEnabled(sub uint8) bool {
	return c.eventMask&(1<<61) != 0 && sub > 0 && c.leEventMask&(1<<(sub-1)) != 0
}

// sendLEMeta sends an LE Meta event with subevent sub.
func (c *Controller) sendLEMeta(sub uint8, params []byte) {
	c.sendEvent(hci.NewLEMeta(sub, params))
}

// sendACL passes an ACL data packet to the host.
func (c *Controller) sendACL(a hci.ACL) {
	pkt := make([]byte, 1+len(a))
	pkt[0] = byte(hci.ACLPacket)
	copy(pkt[1:], a)
	c.toHost(pkt)
}

// eventMaskBit maps event codes to their bit in the Set Event Mask
// parameter (Core v5.4 Vol 4 Part E §7.3.1).
var eventMaskBit = map[hci.EventCode]uint{
	hci.EvtDisconnectionComplete:        4,
	hci.EvtEncryptionChange:             7,
	hci.EvtReadRemoteVersionComplete:    11,
	hci.EvtHardwareError:                15,
	hci.EvtDataBufferOverflow:           25,
	hci.EvtEncryptionKeyRefreshComplete: 47,
	hci.EvtLEMeta:                       61,
}

// attachPort adds a port of the controller's radio to the medium.
func (c *Controller) attachPort(r radio.Receiver) *radio.Port {
	return c.medium.AttachRadio(c.radio, c.cfg.Position, c.cfg.TxPower, r)
}
