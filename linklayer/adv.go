package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Legacy advertising event types of LE Set Advertising Parameters
// (Core v5.4 Vol 4 Part E §7.8.5).
const (
	advTypeInd           = 0x00 // ADV_IND: connectable, scannable, undirected
	advTypeDirectHigh    = 0x01 // ADV_DIRECT_IND, high duty cycle
	advTypeScanInd       = 0x02 // ADV_SCAN_IND
	advTypeNonconnInd    = 0x03 // ADV_NONCONN_IND
	advTypeDirectLowDuty = 0x04 // ADV_DIRECT_IND, low duty cycle
)

// Advertising timing (Vol 6 Part B §4.4.2.2): advDelay is a pseudo-random
// 0–10 ms added to every advertising interval; high duty cycle directed
// advertising repeats every ≤ 3.75 ms for at most 1.28 s.
const (
	advDelayMax        = 10 * sim.Millisecond
	highDutyInterval   = 3750 * sim.Microsecond
	highDutyDuration   = 1280 * sim.Millisecond
	tIFS               = 150 * sim.Microsecond // inter frame space (Vol 6 Part B §4.1.1)
	interPDUGap        = 200 * sim.Microsecond // between PDUs of one advertising event
	rxWindowSlack      = 20 * sim.Microsecond
	maxAdvPDULen       = pdu.AdvHeaderLen + 37
	connectIndLen      = pdu.AdvHeaderLen + 34
	maxScanRspAirMicro = 376
)

type advParams struct {
	intervalMin, intervalMax uint16 // × 0.625 ms
	advType                  uint8
	ownAddrType              uint8
	peerAddrType             uint8
	peerAddr                 hci.BDAddr
	channelMap               uint8
	filterPolicy             uint8
}

func defaultAdvParams() advParams {
	return advParams{intervalMin: 0x0800, intervalMax: 0x0800, channelMap: 0x07}
}

// advertiser is the Advertising state (Vol 6 Part B §4.4.2) of a
// controller. It has its own radio port so it can run beside scanning and
// connections.
type advertiser struct {
	c       *Controller
	port    *radio.Port
	params  advParams
	data    []byte
	scanRsp []byte
	enabled bool

	pdu      pdu.AdvPDU // the PDU sent in every event
	own      hci.BDAddr
	ownRand  bool
	channels []radio.Channel
	next     int           // index into channels within the current event
	waitCh   radio.Channel // channel we listen on for SCAN_REQ / CONNECT_IND
	waiting  bool          // listening for a request after an advertising PDU
	timer    *sim.Timer    // reused for every step of the state machine
	action   func()        // what the timer does next
	evStart  sim.Time      // start of the current advertising event
	deadline sim.Time      // high duty cycle directed advertising ends here

	// Bound once, so the per-PDU path allocates nothing.
	eventFn, sendNextFn, closeFn, scanRspFn func()
	rsp                                     pdu.AdvPDU    // SCAN_RSP to send
	rspCh                                   radio.Channel // and its channel
}

// at makes the advertising timer run fn at t (replacing what was pending).
func (a *advertiser) at(t sim.Time, fn func()) {
	a.action = fn
	a.timer.Reset(t)
}

func (a *advertiser) fire() { a.action() }

func advHandlers() []handler {
	return []handler{
		{op: hci.OpLESetAdvertisingParameters, plen: 15, sync: (*Controller).cmdSetAdvParams},
		{op: hci.OpLEReadAdvertisingTxPower, plen: 0, sync: func(c *Controller, p []byte) []byte {
			return []byte{0, byte(c.cfg.TxPower)}
		}},
		{op: hci.OpLESetAdvertisingData, plen: 32, sync: func(c *Controller, p []byte) []byte {
			if p[0] > 31 {
				return status(hci.StatusInvalidParameters)
			}
			c.adv.data = append([]byte(nil), p[1:1+p[0]]...)
			c.adv.rebuild()
			return status(hci.StatusSuccess)
		}},
		{op: hci.OpLESetScanResponseData, plen: 32, sync: func(c *Controller, p []byte) []byte {
			if p[0] > 31 {
				return status(hci.StatusInvalidParameters)
			}
			c.adv.scanRsp = append([]byte(nil), p[1:1+p[0]]...)
			return status(hci.StatusSuccess)
		}},
		{op: hci.OpLESetAdvertisingEnable, plen: 1, sync: (*Controller).cmdSetAdvEnable},
	}
}

// cmdSetAdvParams is LE Set Advertising Parameters (Vol 4 Part E §7.8.5).
func (c *Controller) cmdSetAdvParams(p []byte) []byte {
	if c.adv.enabled {
		return status(hci.StatusCommandDisallowed)
	}
	r := hci.NewReader(p)
	ap := advParams{
		intervalMin:  r.U16(),
		intervalMax:  r.U16(),
		advType:      r.U8(),
		ownAddrType:  r.U8(),
		peerAddrType: r.U8(),
		peerAddr:     r.Addr(),
		channelMap:   r.U8(),
		filterPolicy: r.U8(),
	}
	switch {
	case ap.advType > advTypeDirectLowDuty, ap.ownAddrType > 3, ap.peerAddrType > 1,
		ap.channelMap == 0, ap.channelMap > 7, ap.filterPolicy > 3:
		return status(hci.StatusInvalidParameters)
	}
	if ap.advType != advTypeDirectHigh {
		if ap.intervalMin < 0x0020 || ap.intervalMax > 0x4000 || ap.intervalMin > ap.intervalMax {
			return status(hci.StatusInvalidParameters)
		}
	}
	c.adv.params = ap
	return status(hci.StatusSuccess)
}

// cmdSetAdvEnable is LE Set Advertising Enable (Vol 4 Part E §7.8.9).
func (c *Controller) cmdSetAdvEnable(p []byte) []byte {
	switch p[0] {
	case 0:
		c.stopAdvertising()
		return status(hci.StatusSuccess)
	case 1:
		if c.adv.enabled {
			return status(hci.StatusSuccess)
		}
		if c.adv.params.ownAddrType&1 == 1 && c.randomAddr == (hci.BDAddr{}) {
			return status(hci.StatusInvalidParameters)
		}
		if c.adv.connectable() && len(c.conns) >= maxConnections {
			return status(hci.StatusConnectionLimitExceeded)
		}
		c.startAdvertising()
		return status(hci.StatusSuccess)
	}
	return status(hci.StatusInvalidParameters)
}

// maxConnections is how many simultaneous connections a controller takes.
const maxConnections = 8

func (a *advertiser) connectable() bool {
	switch a.params.advType {
	case advTypeInd, advTypeDirectHigh, advTypeDirectLowDuty:
		return true
	}
	return false
}

func (a *advertiser) directed() bool {
	return a.params.advType == advTypeDirectHigh || a.params.advType == advTypeDirectLowDuty
}

// rebuild makes the PDU sent in each advertising event.
func (a *advertiser) rebuild() {
	if a.c == nil {
		return
	}
	a.own, a.ownRand = a.c.ownAddress(a.params.ownAddrType)
	var err error
	switch a.params.advType {
	case advTypeInd:
		a.pdu, err = pdu.AdvInd(a.own, a.ownRand, a.data)
	case advTypeScanInd:
		a.pdu, err = pdu.AdvScanInd(a.own, a.ownRand, a.data)
	case advTypeNonconnInd:
		a.pdu, err = pdu.AdvNonconnInd(a.own, a.ownRand, a.data)
	default:
		a.pdu = pdu.AdvDirectInd(a.own, a.ownRand, a.params.peerAddr, a.params.peerAddrType&1 == 1)
	}
	if err != nil {
		a.c.log.Error("cannot build advertising PDU", zap.Error(err))
	}
}

func (c *Controller) startAdvertising() {
	a := &c.adv
	a.c = c
	if a.port == nil {
		a.port = c.attachPort(a)
		// An advertiser only answers requests (Vol 6 Part B §4.4.2).
		a.port.AcceptAdvTypes(1<<pdu.TypeScanReq | 1<<pdu.TypeConnectInd)
	}
	a.enabled = true
	if a.timer == nil {
		a.timer = c.sched.NewTimer(a.fire)
		a.eventFn, a.sendNextFn, a.closeFn, a.scanRspFn = a.event, a.sendNext, a.closeWindow, a.sendScanRsp
	}
	a.rebuild()
	a.channels = a.channels[:0]
	for i := 0; i < 3; i++ {
		if a.params.channelMap&(1<<i) != 0 {
			a.channels = append(a.channels, radio.Channel(37+i))
		}
	}
	if a.params.advType == advTypeDirectHigh {
		a.deadline = c.sched.Now().Add(highDutyDuration)
	}
	// The first event starts after a random delay, as after an interval.
	a.at(c.sched.Now().Add(sim.Duration(c.sched.Rand().Int64N(int64(advDelayMax)+1))), a.eventFn)
}

func (c *Controller) stopAdvertising() {
	a := &c.adv
	a.enabled = false
	a.waiting = false
	a.timer.Stop()
	if a.port != nil {
		a.port.Detach()
		a.port = nil
	}
}

// interval returns T_advEvent, the time from the start of this event to
// the start of the next: the advertising interval plus advDelay
// (Vol 6 Part B §4.4.2.2.1).
func (a *advertiser) interval() sim.Duration {
	r := a.c.sched.Rand()
	if a.params.advType == advTypeDirectHigh {
		return highDutyInterval
	}
	lo, hi := int64(a.params.intervalMin), int64(a.params.intervalMax)
	units := lo
	if hi > lo {
		units += r.Int64N(hi - lo + 1)
	}
	return sim.Duration(units*625) + sim.Duration(r.Int64N(int64(advDelayMax)+1))
}

// event starts an advertising event: one PDU on each channel of the
// channel map, in order 37, 38, 39 (Vol 6 Part B §4.4.2.1).
func (a *advertiser) event() {
	if !a.enabled {
		return
	}
	a.evStart = a.c.sched.Now()
	a.next = 0
	a.sendNext()
}

// sendNext transmits the PDU on the next channel of the event, or
// schedules the next event.
func (a *advertiser) sendNext() {
	if !a.enabled {
		return
	}
	// High duty cycle directed advertising lasts at most 1.28 s
	// (Vol 6 Part B §4.4.2.4.3): no PDU starts after that.
	if a.params.advType == advTypeDirectHigh && a.c.sched.Now() >= a.deadline {
		a.c.stopAdvertising()
		a.c.sendConnectionComplete(hci.StatusAdvertisingTimeout, 0, RolePeripheral, peerInfo{}, connParams{})
		return
	}
	if a.next >= len(a.channels) {
		// T_advEvent runs from the start of this event (At runs it now
		// if the event, with its scan responses, took longer).
		a.at(a.evStart.Add(a.interval()), a.eventFn)
		return
	}
	ch := a.channels[a.next]
	a.next++
	end := a.transmit(ch, a.pdu)
	if a.params.advType == advTypeNonconnInd {
		a.at(end.Add(interPDUGap), a.sendNextFn)
		return
	}
	// Listen for SCAN_REQ / CONNECT_IND right away: the radio is half
	// duplex, so nothing is received during our own PDU, and the window
	// closes by itself when a CONNECT_IND starting T_IFS after our PDU
	// would have ended (Vol 6 Part B §4.4.2.1). After the last PDU of the
	// event the next event is scheduled directly.
	a.waitCh = ch
	a.waiting = true
	winEnd := end.Add(tIFS + radio.AirTime(connectIndLen) + rxWindowSlack)
	a.port.ListenUntil(ch, pdu.AdvertisingAccessAddress, winEnd)
	if a.next >= len(a.channels) {
		a.at(max(winEnd, a.evStart.Add(a.interval())), a.eventFn)
		return
	}
	a.at(winEnd, a.closeFn)
}

// closeWindow ends a receive window in which nothing addressed to us came.
func (a *advertiser) closeWindow() {
	a.waiting = false
	a.port.Idle()
	a.sendNext()
}

// Receive implements radio.Receiver for the advertising radio.
func (a *advertiser) Receive(rx *radio.Reception) {
	if !a.enabled || !a.waiting || rx.Channel != a.waitCh {
		return
	}
	// Only requests concern an advertiser; most of what it hears is other
	// devices' advertising, dropped here before a full parse.
	if len(rx.PDU) > 0 {
		if t := pdu.AdvPDUType(rx.PDU[0] & 0x0F); t != pdu.TypeScanReq && t != pdu.TypeConnectInd {
			return
		}
	}
	p, err := pdu.ParseAdv(rx.PDU)
	if err != nil {
		a.c.log.Debug("malformed PDU on advertising channel ignored", zap.Error(err))
		return
	}
	switch p.Type() {
	case pdu.TypeScanReq:
		a.onScanReq(p, rx)
	case pdu.TypeConnectInd:
		a.onConnectInd(p, rx)
	}
}

// addressedToUs checks the AdvA (and RxAdd) of a request against our
// advertising address.
func (a *advertiser) addressedToUs(p pdu.AdvPDU) bool {
	return p.AdvA() == a.own && p.RxAdd() == a.ownRand
}

// onScanReq answers a SCAN_REQ with SCAN_RSP T_IFS after it
// (Vol 6 Part B §4.4.2.3), subject to the filter policy.
func (a *advertiser) onScanReq(p pdu.AdvPDU, rx *radio.Reception) {
	if a.params.advType != advTypeInd && a.params.advType != advTypeScanInd {
		return
	}
	if !a.addressedToUs(p) {
		return
	}
	if a.params.filterPolicy&1 != 0 && !a.c.onAcceptList(boolType(p.TxAdd()), p.ScanA()) {
		return
	}
	rsp, err := pdu.ScanRsp(a.own, a.ownRand, a.scanRsp)
	if err != nil {
		a.c.log.Error("cannot build SCAN_RSP", zap.Error(err))
		return
	}
	a.waiting = false
	a.rsp, a.rspCh = rsp, rx.Channel
	a.at(rx.End.Add(tIFS), a.scanRspFn)
}

// sendScanRsp transmits the pending SCAN_RSP, then goes on with the event.
func (a *advertiser) sendScanRsp() {
	end := a.transmit(a.rspCh, a.rsp)
	a.at(end.Add(interPDUGap), a.sendNextFn)
}

// transmit sends p on ch now and returns the end of its air time.
func (a *advertiser) transmit(ch radio.Channel, p pdu.AdvPDU) sim.Time {
	a.port.Idle()
	return a.port.Transmit(radio.Packet{Channel: ch, AccessAddress: pdu.AdvertisingAccessAddress, PDU: p})
}

// onConnectInd accepts a CONNECT_IND: advertising stops and the
// controller enters the Connection state as peripheral
// (Vol 6 Part B §4.4.2.4, §4.5).
func (a *advertiser) onConnectInd(p pdu.AdvPDU, rx *radio.Reception) {
	if !a.connectable() || !a.addressedToUs(p) {
		return
	}
	initA, initRand := p.InitA(), p.TxAdd()
	if a.directed() {
		if initA != a.params.peerAddr || initRand != (a.params.peerAddrType&1 == 1) {
			return
		}
	} else if a.params.filterPolicy&2 != 0 && !a.c.onAcceptList(boolType(initRand), initA) {
		return
	}
	ll, err := p.LLData()
	if err == nil {
		err = ll.Validate()
	}
	if err != nil {
		a.c.log.Info("CONNECT_IND with invalid LLData ignored", zap.Error(err))
		return
	}
	c := a.c
	c.stopAdvertising()
	handle := c.allocHandle()
	peer := peerInfo{addr: initA, addrType: boolType(initRand)}
	c.sendConnectionComplete(hci.StatusSuccess, handle, RolePeripheral, peer, ll)
	c.newConn(RolePeripheral, handle, peer, ll, rx.End)
}

func boolType(random bool) uint8 {
	if random {
		return 1
	}
	return 0
}

// sendConnectionComplete sends LE Enhanced Connection Complete when the
// host enabled it, LE Connection Complete otherwise
// (Vol 4 Part E §7.7.65.1, §7.7.65.10).
func (c *Controller) sendConnectionComplete(st hci.Status, handle uint16, role Role, peer peerInfo, p connParams) {
	enhanced := c.leEventEnabled(hci.LEEnhancedConnectionComplete)
	var w hci.Writer
	w.U8(byte(st)).U16(handle).U8(byte(role)).U8(peer.addrType).Addr(peer.addr)
	if enhanced {
		// Local and peer resolvable private addresses: none (no LL privacy).
		w.Addr(hci.BDAddr{}).Addr(hci.BDAddr{})
	}
	// Central_Clock_Accuracy is only meaningful on the peripheral.
	sca := uint8(0)
	if role == RolePeripheral {
		sca = p.SCA
	}
	w.U16(p.Interval).U16(p.Latency).U16(p.Timeout).U8(sca)
	if enhanced {
		c.sendLEMeta(hci.LEEnhancedConnectionComplete, w.B)
		return
	}
	c.sendLEMeta(hci.LEConnectionComplete, w.B)
}
