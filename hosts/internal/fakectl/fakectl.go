// Package fakectl is a small fake LE controller for testing the built-in
// hosts before (and independently of) linklayer. It answers the bring-up
// commands, advertises and scans by handing advertising reports straight to
// other controllers of the same World, connects an initiator to an
// advertiser (LE Connection Complete on both sides), loops ACL data between
// connected hosts with Number Of Completed Packets, disconnects, and runs
// the LE encryption start procedure as HCI shows it (LE Enable Encryption,
// LE Long Term Key Request to the peripheral's host, Reply / Negative
// Reply, Encryption Change or Encryption Key Refresh Complete; different
// keys end in a MIC failure disconnect, see encryption.go). It is
// deliberately simple: no air, no channel maps, no LL procedures.
//
// It also polices the host: every HCI protocol violation it sees (a command
// sent without a credit, ACL data beyond the buffers, an oversized ACL
// packet) is recorded in Violations so tests can assert there are none.
package fakectl

import (
	"encoding/binary"
	"fmt"
	"slices"

	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// World connects fake controllers.
type World struct {
	Sched *sim.Scheduler
	// Delay is the one-way latency of the HCI transport and of the "air".
	Delay      sim.Duration
	ctls       []*Controller
	nextHandle uint16
}

// NewWorld returns an empty world on sched.
func NewWorld(sched *sim.Scheduler) *World {
	return &World{Sched: sched, Delay: 100 * sim.Microsecond, nextHandle: 0x40}
}

// Options tune a controller.
type Options struct {
	ACLLen   int   // LE_ACL_Data_Packet_Length (default 27)
	ACLNum   int   // Total_Num_LE_ACL_Data_Packets (default 4)
	NumCmd   uint8 // Num_HCI_Command_Packets in every reply (default 1)
	RSSI     int8  // RSSI reported for others' advertisements (default -50)
	Silent   bool  // never answer commands (for timeout tests)
	Features [8]byte
}

// Controller is one fake LE controller.
type Controller struct {
	w      *World
	Addr   hci.BDAddr // public address (Read BD_ADDR)
	opts   Options
	toHost func(h4 []byte)

	randomAddr  hci.BDAddr
	credits     int // commands the host may still send
	leEventMask uint64

	advParams   []byte
	advData     []byte
	scanRspData []byte
	advertising bool
	advTimer    *sim.Timer

	scanning   bool
	scanActive bool

	initiating []byte // LE Create Connection parameters while initiating

	links       map[uint16]*link
	aclInFlight int

	// Commands lists every command opcode received, in order.
	Commands []hci.Opcode
	// Params holds the parameters of the last command of each opcode.
	Params map[hci.Opcode][]byte
	// ACLFromHost lists every ACL packet received (without H4 indicator).
	ACLFromHost [][]byte
	// Violations lists HCI flow-control and format violations by the host.
	Violations []string
	// OnCommand, when set, sees each command first; returning true means
	// it answered the command itself (e.g. with Inject).
	OnCommand func(cmd hci.Command) bool
	// EncryptionRequests counts LE Enable Encryption commands accepted;
	// NegativeReplies counts LTK Request Negative Replies.
	EncryptionRequests, NegativeReplies int
	// HoldCompleted, when true, withholds Number Of Completed Packets.
	HoldCompleted bool
	held          map[uint16]int
}

type link struct {
	handle   uint16
	peer     *Controller
	peerLink *link
	role     uint8 // 0 central, 1 peripheral

	encrypted  bool
	ltk        [16]byte // key in use (HCI order)
	encPending bool     // central: LE Enable Encryption awaiting the peer host's answer
	pendingLTK [16]byte
}

// NewController adds a controller with public address addr.
func (w *World) NewController(addr hci.BDAddr, opts Options) *Controller {
	if opts.ACLLen == 0 {
		opts.ACLLen = 27
	}
	if opts.ACLNum == 0 {
		opts.ACLNum = 4
	}
	if opts.NumCmd == 0 {
		opts.NumCmd = 1
	}
	if opts.RSSI == 0 {
		opts.RSSI = -50
	}
	c := &Controller{w: w, Addr: addr, opts: opts, credits: 1, links: map[uint16]*link{},
		Params: map[hci.Opcode][]byte{}, held: map[uint16]int{}}
	w.ctls = append(w.ctls, c)
	return c
}

// Attach sets the function that receives H4 packets for the host.
func (c *Controller) Attach(toHost func(h4 []byte)) { c.toHost = toHost }

// Send is the host's send function: it takes one H4 packet from the host
// and processes it after the transport delay.
func (c *Controller) Send(h4 []byte) {
	p := append([]byte(nil), h4...)
	if len(p) > 0 && hci.PacketType(p[0]) == hci.CommandPacket {
		// Credits are consumed when the host sends, not when we process.
		if c.credits <= 0 {
			c.violation("command %s sent without a Num_HCI_Command_Packets credit", hci.Command(p[1:]).Opcode())
		}
		c.credits--
	}
	c.w.Sched.After(c.w.Delay, func() { c.fromHost(p) })
}

// Inject delivers an H4 packet to the host after the transport delay.
func (c *Controller) Inject(h4 []byte) {
	p := append([]byte(nil), h4...)
	c.w.Sched.After(c.w.Delay, func() {
		if c.toHost != nil {
			c.toHost(p)
		}
	})
}

func (c *Controller) violation(format string, args ...any) {
	c.Violations = append(c.Violations, fmt.Sprintf(format, args...))
}

func (c *Controller) event(code hci.EventCode, params []byte) {
	c.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewEvent(code, params)...))
}

func (c *Controller) leMeta(sub uint8, params []byte) {
	c.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewLEMeta(sub, params)...))
}

// Complete sends Command Complete with status and ret.
func (c *Controller) Complete(op hci.Opcode, status hci.Status, ret ...byte) {
	c.credits = int(c.opts.NumCmd)
	c.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewCommandComplete(c.opts.NumCmd, op, append([]byte{byte(status)}, ret...))...))
}

// Status sends Command Status.
func (c *Controller) Status(op hci.Opcode, status hci.Status) {
	c.credits = int(c.opts.NumCmd)
	c.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewCommandStatus(status, c.opts.NumCmd, op)...))
}

func (c *Controller) fromHost(p []byte) {
	if len(p) == 0 {
		c.violation("empty H4 packet")
		return
	}
	switch hci.PacketType(p[0]) {
	case hci.CommandPacket:
		cmd := hci.Command(p[1:])
		if err := cmd.Validate(); err != nil {
			c.violation("malformed command: %v", err)
			return
		}
		c.Commands = append(c.Commands, cmd.Opcode())
		c.Params[cmd.Opcode()] = cmd.Params()
		if c.opts.Silent {
			return
		}
		if c.OnCommand != nil && c.OnCommand(cmd) {
			return
		}
		c.command(cmd.Opcode(), cmd.Params())
	case hci.ACLPacket:
		c.aclFromHost(hci.ACL(p[1:]))
	default:
		c.violation("unexpected H4 packet type 0x%02x from host", p[0])
	}
}

func (c *Controller) command(op hci.Opcode, p []byte) {
	ok := hci.StatusSuccess
	switch op {
	case hci.OpReset:
		c.stopAdv()
		c.scanning, c.initiating = false, nil
		c.links = map[uint16]*link{}
		c.aclInFlight = 0
		c.Complete(op, ok)
	case hci.OpReadLocalVersion:
		c.Complete(op, ok, 0x0D, 0x00, 0x00, 0x0D, 0xF1, 0x05, 0x00, 0x00) // 5.4, manufacturer 0x05F1 (test)
	case hci.OpReadBDADDR:
		c.Complete(op, ok, c.Addr[:]...)
	case hci.OpReadLocalSupportedCommands:
		cmds := make([]byte, 64)
		for i := range cmds {
			cmds[i] = 0xff
		}
		c.Complete(op, ok, cmds...)
	case hci.OpReadLocalSupportedFeatures:
		c.Complete(op, ok, 0, 0, 0, 0, 0x60, 0, 0, 0) // LE supported, BR/EDR not supported
	case hci.OpLEReadLocalSupportedFeatures:
		c.Complete(op, ok, c.opts.Features[:]...)
	case hci.OpLEReadBufferSize:
		c.Complete(op, ok, byte(c.opts.ACLLen), byte(c.opts.ACLLen>>8), byte(c.opts.ACLNum))
	case hci.OpSetEventMask, hci.OpLESetAdvertisingParameters:
		if op == hci.OpLESetAdvertisingParameters {
			c.advParams = p
		}
		c.Complete(op, ok)
	case hci.OpLESetEventMask:
		if len(p) == 8 {
			c.leEventMask = binary.LittleEndian.Uint64(p)
		}
		c.Complete(op, ok)
	case hci.OpLESetRandomAddress:
		copy(c.randomAddr[:], p)
		c.Complete(op, ok)
	case hci.OpLESetAdvertisingData, hci.OpLESetScanResponseData:
		if len(p) != 32 || int(p[0]) > 31 {
			c.Complete(op, hci.StatusInvalidParameters)
			return
		}
		if op == hci.OpLESetAdvertisingData {
			c.advData = append([]byte(nil), p[1:1+p[0]]...)
		} else {
			c.scanRspData = append([]byte(nil), p[1:1+p[0]]...)
		}
		c.Complete(op, ok)
	case hci.OpLESetAdvertisingEnable:
		c.Complete(op, ok)
		if len(p) == 1 && p[0] == 1 {
			c.startAdv()
		} else {
			c.stopAdv()
		}
	case hci.OpLESetScanParameters:
		c.scanActive = len(p) > 0 && p[0] == 1
		c.Complete(op, ok)
	case hci.OpLESetScanEnable:
		c.scanning = len(p) > 0 && p[0] == 1
		c.Complete(op, ok)
	case hci.OpLECreateConnection:
		if len(p) != 25 || c.initiating != nil {
			c.Status(op, hci.StatusCommandDisallowed)
			return
		}
		c.initiating = p
		c.Status(op, ok)
	case hci.OpLECreateConnectionCancel:
		if c.initiating == nil {
			c.Complete(op, hci.StatusCommandDisallowed)
			return
		}
		c.initiating = nil
		c.Complete(op, ok)
		c.connComplete(hci.StatusUnknownConnectionID, 0, 0, hci.AddrPublic, hci.BDAddr{}, nil)
	case hci.OpDisconnect:
		r := hci.NewReader(p)
		h, reason := r.U16(), r.U8()
		l := c.links[h]
		if l == nil {
			c.Status(op, hci.StatusUnknownConnectionID)
			return
		}
		c.Status(op, ok)
		c.w.Sched.After(c.w.Delay, func() { c.drop(l, hci.StatusLocalHostTerminated, hci.Status(reason)) })
	case hci.OpLEConnectionUpdate:
		r := hci.NewReader(p)
		h, _, max, lat, to := r.U16(), r.U16(), r.U16(), r.U16(), r.U16()
		l := c.links[h]
		if l == nil {
			c.Status(op, hci.StatusUnknownConnectionID)
			return
		}
		c.Status(op, ok)
		ev := func(handle uint16) []byte {
			return (&hci.Writer{}).U8(0).U16(handle).U16(max).U16(lat).U16(to).B
		}
		c.leMeta(hci.LEConnectionUpdateComplete, ev(l.handle))
		l.peer.leMeta(hci.LEConnectionUpdateComplete, ev(l.peerLink.handle))
	case hci.OpLERemoteConnParamReqReply, hci.OpLERemoteConnParamReqNegReply:
		c.Complete(op, ok, p[:min(2, len(p))]...)
	case hci.OpLEEnableEncryption, hci.OpLELongTermKeyRequestReply, hci.OpLELongTermKeyRequestNegReply:
		c.encryptionCommand(op, p)
	default:
		c.Complete(op, hci.StatusUnknownCommand)
	}
}

func (c *Controller) ownAddr(ownType byte) (hci.AddressType, hci.BDAddr) {
	if ownType == 1 {
		return hci.AddrRandom, c.randomAddr
	}
	return hci.AddrPublic, c.Addr
}

func (c *Controller) advInterval() sim.Duration {
	if len(c.advParams) >= 2 {
		if v := binary.LittleEndian.Uint16(c.advParams); v >= 0x20 {
			return sim.Duration(v) * 625 * sim.Microsecond
		}
	}
	return 100 * sim.Millisecond
}

func (c *Controller) advType() byte {
	if len(c.advParams) >= 5 {
		return c.advParams[4]
	}
	return 0
}

func (c *Controller) startAdv() {
	if c.advertising {
		return
	}
	c.advertising = true
	c.advTimer = c.w.Sched.After(c.w.Delay, c.advEvent)
}

func (c *Controller) stopAdv() {
	c.advertising = false
	c.advTimer.Stop()
}

// advEvent is one advertising event: reports to scanners and a chance for
// an initiator to connect.
func (c *Controller) advEvent() {
	if !c.advertising {
		return
	}
	ownType := byte(0)
	if len(c.advParams) >= 6 {
		ownType = c.advParams[5]
	}
	at, addr := c.ownAddr(ownType)
	typ := c.advType()
	for _, o := range c.w.ctls {
		if o == c {
			continue
		}
		if o.initiating != nil && (typ == 0x00 || typ == 0x01) {
			r := hci.NewReader(o.initiating)
			r.Bytes(5)
			pt, pa := hci.AddressType(r.U8()), r.Addr()
			if pt == at && pa == addr {
				c.connect(o, at, addr)
				return
			}
		}
		if o.scanning {
			o.advReport(typ, at, addr, c.advData, o.opts.RSSI)
			if o.scanActive && (typ == 0x00 || typ == 0x02) {
				o.advReport(0x04, at, addr, c.scanRspData, o.opts.RSSI)
			}
		}
	}
	c.advTimer = c.w.Sched.After(c.advInterval(), c.advEvent)
}

func (c *Controller) advReport(typ byte, at hci.AddressType, addr hci.BDAddr, data []byte, rssi int8) {
	w := &hci.Writer{}
	w.U8(1).U8(typ).U8(uint8(at)).Addr(addr).U8(uint8(len(data))).Bytes(data).U8(uint8(rssi))
	c.leMeta(hci.LEAdvertisingReport, w.B)
}

// Connect connects central to peripheral directly, without advertising,
// with a 30 ms interval and a 4 s supervision timeout. It returns the
// central's and the peripheral's connection handles.
func (w *World) Connect(central, peripheral *Controller) (uint16, uint16) {
	p := (&hci.Writer{}).U16(0x60).U16(0x30).U8(0).U8(0).Addr(peripheral.Addr).U8(0).
		U16(24).U16(24).U16(0).U16(400).U16(0).U16(0).B
	central.initiating = p
	peripheral.connect(central, hci.AddrPublic, peripheral.Addr)
	return w.nextHandle - 1, w.nextHandle
}

// ConnectRandom is Connect with the peripheral using its random address
// (LE Set Random Address), e.g. a resolvable private address.
func (w *World) ConnectRandom(central, peripheral *Controller) (uint16, uint16) {
	p := (&hci.Writer{}).U16(0x60).U16(0x30).U8(0).U8(1).Addr(peripheral.randomAddr).U8(0).
		U16(24).U16(24).U16(0).U16(400).U16(0).U16(0).B
	central.initiating = p
	peripheral.connect(central, hci.AddrRandom, peripheral.randomAddr)
	return w.nextHandle - 1, w.nextHandle
}

// connect establishes a connection between initiator o (central) and c
// (peripheral).
func (c *Controller) connect(o *Controller, at hci.AddressType, addr hci.BDAddr) {
	r := hci.NewReader(o.initiating)
	r.Bytes(12)
	ownType := r.U8()
	_, max, lat, to := r.U16(), r.U16(), r.U16(), r.U16()
	o.initiating = nil
	c.stopAdv()
	w := c.w
	w.nextHandle++
	hc := w.nextHandle
	w.nextHandle++
	hp := w.nextHandle
	lc := &link{handle: hc, peer: c, role: 0}
	lp := &link{handle: hp, peer: o, role: 1, peerLink: lc}
	lc.peerLink = lp
	o.links[hc] = lc
	c.links[hp] = lp
	oat, oaddr := o.ownAddr(ownType)
	o.connComplete(0, hc, 0, at, addr, []uint16{max, lat, to})
	c.connComplete(0, hp, 1, oat, oaddr, []uint16{max, lat, to})
}

func (c *Controller) connComplete(status hci.Status, handle uint16, role uint8, at hci.AddressType, addr hci.BDAddr, p []uint16) {
	if len(p) != 3 {
		p = []uint16{0, 0, 0}
	}
	w := &hci.Writer{}
	w.U8(uint8(status)).U16(handle).U8(role).U8(uint8(at)).Addr(addr)
	sub := hci.LEConnectionComplete
	if c.leEventMask&(1<<9) != 0 {
		sub = hci.LEEnhancedConnectionComplete
		w.Bytes(make([]byte, 12))
	}
	w.U16(p[0]).U16(p[1]).U16(p[2]).U8(0)
	c.leMeta(sub, w.B)
}

// Disconnect drops every link from the controller's side (like a
// supervision timeout) with reason for both hosts.
func (c *Controller) Disconnect(reason hci.Status) {
	for _, h := range c.Handles() {
		c.drop(c.links[h], reason, reason)
	}
}

func (c *Controller) drop(l *link, localReason, peerReason hci.Status) {
	if c.links[l.handle] != l {
		return
	}
	delete(c.links, l.handle)
	delete(l.peer.links, l.peerLink.handle)
	c.event(hci.EvtDisconnectionComplete, (&hci.Writer{}).U8(0).U16(l.handle).U8(uint8(localReason)).B)
	l.peer.event(hci.EvtDisconnectionComplete, (&hci.Writer{}).U8(0).U16(l.peerLink.handle).U8(uint8(peerReason)).B)
	c.aclInFlight, l.peer.aclInFlight = 0, 0
}

func (c *Controller) aclFromHost(a hci.ACL) {
	c.ACLFromHost = append(c.ACLFromHost, append([]byte(nil), a...))
	if err := a.Validate(); err != nil {
		c.violation("malformed ACL: %v", err)
		return
	}
	if len(a.Data()) > c.opts.ACLLen {
		c.violation("ACL packet of %d bytes exceeds LE_ACL_Data_Packet_Length %d", len(a.Data()), c.opts.ACLLen)
	}
	if c.aclInFlight >= c.opts.ACLNum {
		c.violation("ACL packet sent with all %d buffers in use", c.opts.ACLNum)
	}
	if a.PB() != hci.PBFirstNonFlushable && a.PB() != hci.PBContinuing {
		c.violation("ACL packet with PB flag %d from host", a.PB())
	}
	l := c.links[a.Handle()]
	if l == nil {
		c.violation("ACL packet for unknown handle 0x%03x", a.Handle())
		return
	}
	c.aclInFlight++
	pb := a.PB()
	if pb == hci.PBFirstNonFlushable {
		pb = hci.PBFirstFlushable
	}
	data := append([]byte(nil), a.Data()...)
	c.w.Sched.After(c.w.Delay, func() {
		if c.links[l.handle] != l {
			return
		}
		c.aclInFlight--
		if c.HoldCompleted {
			c.held[l.handle]++
		} else {
			c.completed(l.handle, 1)
		}
		l.peer.Inject(append([]byte{byte(hci.ACLPacket)}, hci.NewACL(l.peerLink.handle, pb, data)...))
	})
}

func (c *Controller) completed(handle uint16, n int) {
	c.event(hci.EvtNumberOfCompletedPackets, (&hci.Writer{}).U8(1).U16(handle).U16(uint16(n)).B)
}

// Release sends the Number Of Completed Packets withheld by HoldCompleted.
func (c *Controller) Release() {
	c.HoldCompleted = false
	hs := make([]uint16, 0, len(c.held))
	for h := range c.held {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	for _, h := range hs {
		c.completed(h, c.held[h])
		delete(c.held, h)
	}
}

// Advertising reports whether the controller is advertising.
func (c *Controller) Advertising() bool { return c.advertising }

// AdvData returns the current advertising data.
func (c *Controller) AdvData() []byte { return c.advData }

// ScanRspData returns the current scan response data.
func (c *Controller) ScanRspData() []byte { return c.scanRspData }

// RandomAddr returns the address set with LE Set Random Address.
func (c *Controller) RandomAddr() hci.BDAddr { return c.randomAddr }

// Handles returns the handles of the controller's connections.
func (c *Controller) Handles() []uint16 {
	var hs []uint16
	for h := range c.links {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return hs
}
