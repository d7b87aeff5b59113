package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// LE Advertising Report event types (Core v5.4 Vol 4 Part E §7.7.65.2).
const (
	reportAdvInd        = 0x00
	reportAdvDirectInd  = 0x01
	reportAdvScanInd    = 0x02
	reportAdvNonconnInd = 0x03
	reportScanRsp       = 0x04
)

type scanParams struct {
	active       bool
	interval     uint16 // × 0.625 ms
	window       uint16 // × 0.625 ms
	ownAddrType  uint8
	filterPolicy uint8
}

func defaultScanParams() scanParams {
	return scanParams{interval: 0x0010, window: 0x0010}
}

type dupKey struct {
	addr    hci.BDAddr
	random  bool
	evtType uint8
}

// scanner is the Scanning state (Vol 6 Part B §4.4.3).
type scanner struct {
	params     scanParams
	enabled    bool
	filterDups bool
	seen       map[dupKey]struct{}

	// Active scanning backoff (Vol 6 Part B §4.4.3.2).
	upperLimit int
	backoff    int
	successes  int
	failures   int
}

func scanHandlers() []handler {
	return []handler{
		{op: hci.OpLESetScanParameters, plen: 7, sync: (*Controller).cmdSetScanParams},
		{op: hci.OpLESetScanEnable, plen: 2, sync: (*Controller).cmdSetScanEnable},
		{op: hci.OpLECreateConnection, plen: 25, async: (*Controller).cmdCreateConnection},
		{op: hci.OpLECreateConnectionCancel, plen: 0, sync: (*Controller).cmdCreateConnectionCancel},
	}
}

// cmdSetScanParams is LE Set Scan Parameters (Vol 4 Part E §7.8.10).
func (c *Controller) cmdSetScanParams(p []byte) []byte {
	if c.scan.enabled {
		return status(hci.StatusCommandDisallowed)
	}
	r := hci.NewReader(p)
	typ := r.U8()
	sp := scanParams{interval: r.U16(), window: r.U16(), ownAddrType: r.U8(), filterPolicy: r.U8()}
	if typ > 1 || !validScanTiming(sp.interval, sp.window) || sp.ownAddrType > 3 || sp.filterPolicy > 3 {
		return status(hci.StatusInvalidParameters)
	}
	sp.active = typ == 1
	c.scan.params = sp
	return status(hci.StatusSuccess)
}

func validScanTiming(interval, window uint16) bool {
	return interval >= 0x0004 && interval <= 0x4000 && window >= 0x0004 && window <= interval
}

// cmdSetScanEnable is LE Set Scan Enable (Vol 4 Part E §7.8.11).
func (c *Controller) cmdSetScanEnable(p []byte) []byte {
	enable, dups := p[0], p[1]
	if enable > 1 {
		return status(hci.StatusInvalidParameters)
	}
	if enable == 0 { // Filter_Duplicates is then ignored
		c.stopScanning()
		return status(hci.StatusSuccess)
	}
	if dups > 1 {
		return status(hci.StatusInvalidParameters)
	}
	if c.scan.params.ownAddrType&1 == 1 && c.randomAddr == (hci.BDAddr{}) {
		return status(hci.StatusInvalidParameters)
	}
	if dups == 1 && !c.scan.filterDups {
		c.scan.seen = make(map[dupKey]struct{}) // filtering starts afresh
	}
	c.scan.filterDups = dups == 1
	if !c.scan.enabled {
		c.scan.enabled = true
		c.scan.seen = make(map[dupKey]struct{})
		c.scan.upperLimit, c.scan.backoff = 1, 1
		c.rxUpdate()
	}
	return status(hci.StatusSuccess)
}

func (c *Controller) stopScanning() {
	c.scan.enabled = false
	c.scan.seen = nil
	c.rxUpdate()
}

// rxState drives the receiving radio shared by scanning and initiating:
// it listens on one advertising channel per scan interval, for the scan
// window, rotating 37, 38, 39 (Vol 6 Part B §4.4.3).
type rxState struct {
	port     *radio.Port
	ch       radio.Channel
	inWindow bool
	busy     bool // exchanging SCAN_REQ/SCAN_RSP or sending CONNECT_IND
	timer    *sim.Timer
	winEnd   *sim.Timer
	pending  dupKey // advertiser we sent SCAN_REQ to
	deadline *sim.Timer
	// xchg is the next step of the exchange in progress (sending SCAN_REQ
	// or CONNECT_IND, then listening or connecting). It is stopped with
	// the exchange, so a step never runs for a later exchange or receiver.
	xchg *sim.Timer
}

// scanRx is the Controller seen as the receiver of its scanning radio.
type scanRx Controller

// Receive implements radio.Receiver.
func (r *scanRx) Receive(rx *radio.Reception) { (*Controller)(r).scanReceive(rx) }

// rxTiming returns the interval and window in force: the initiator's when
// initiating, the scanner's otherwise.
func (c *Controller) rxTiming() (interval, window sim.Duration) {
	i, w := c.scan.params.interval, c.scan.params.window
	if c.init.active {
		i, w = c.init.scanInterval, c.init.scanWindow
	}
	return sim.Duration(i) * 625, sim.Duration(w) * 625
}

// rxUpdate starts or stops the receiving radio after scanning or
// initiating was enabled or disabled.
func (c *Controller) rxUpdate() {
	st := &c.rx
	want := c.scan.enabled || c.init.active
	if !want {
		st.timer.Stop()
		st.winEnd.Stop()
		st.deadline.Stop()
		st.xchg.Stop()
		if st.port != nil {
			st.port.Detach()
		}
		*st = rxState{}
		return
	}
	if st.port == nil {
		st.port = c.attachPort((*scanRx)(c))
		st.ch = 39
		st.timer = c.sched.After(0, c.rxInterval)
	}
}

// rxInterval starts a scan interval on the next advertising channel.
func (c *Controller) rxInterval() {
	st := &c.rx
	if st.port == nil {
		return
	}
	st.ch++
	if st.ch > 39 {
		st.ch = 37
	}
	interval, window := c.rxTiming()
	st.inWindow = true
	if !st.busy {
		st.port.Listen(st.ch, pdu.AdvertisingAccessAddress)
	}
	st.winEnd.Stop()
	st.winEnd = nil
	if window < interval {
		st.winEnd = c.sched.After(window, func() {
			st.inWindow = false
			if !st.busy {
				st.port.Idle()
			}
		})
	}
	st.timer = c.sched.After(interval, c.rxInterval)
}

// rxResume ends an exchange and returns to plain listening.
func (c *Controller) rxResume() {
	st := &c.rx
	st.busy = false
	st.deadline.Stop()
	st.deadline = nil
	st.xchg.Stop()
	st.xchg = nil
	if st.port == nil {
		return
	}
	if st.inWindow {
		st.port.Listen(st.ch, pdu.AdvertisingAccessAddress)
	} else {
		st.port.Idle()
	}
}

// scanReceive handles a PDU heard by the scanning radio.
func (c *Controller) scanReceive(rx *radio.Reception) {
	p, err := pdu.ParseAdv(rx.PDU)
	if err != nil {
		c.log.Debug("malformed advertising channel PDU ignored", zap.Error(err))
		return
	}
	st := &c.rx
	if st.busy {
		if p.Type() == pdu.TypeScanRsp && st.deadline != nil &&
			p.AdvA() == st.pending.addr && p.TxAdd() == st.pending.random {
			c.scanRspReceived(p, rx)
		}
		return
	}
	if c.init.active && c.initConsider(p, rx) {
		return
	}
	if c.scan.enabled {
		c.scanConsider(p, rx)
	}
}

// scanAddress is the address the scanner uses for ScanA.
func (c *Controller) scanAddress() (hci.BDAddr, bool) { return c.ownAddress(c.scan.params.ownAddrType) }

// scanConsider reports an advertising PDU and, when scanning actively,
// sends SCAN_REQ (Vol 6 Part B §4.4.3.1, §4.4.3.2).
func (c *Controller) scanConsider(p pdu.AdvPDU, rx *radio.Reception) {
	var evt uint8
	switch p.Type() {
	case pdu.TypeAdvInd:
		evt = reportAdvInd
	case pdu.TypeAdvScanInd:
		evt = reportAdvScanInd
	case pdu.TypeAdvNonconnInd:
		evt = reportAdvNonconnInd
	case pdu.TypeAdvDirectInd:
		own, rnd := c.scanAddress()
		if p.TargetA() != own || p.RxAdd() != rnd {
			return
		}
		evt = reportAdvDirectInd
	default:
		return
	}
	if c.scan.params.filterPolicy&1 != 0 && !c.onAcceptList(boolType(p.TxAdd()), p.AdvA()) {
		return
	}
	c.report(evt, p.AdvA(), p.TxAdd(), p.AdvData(), rx.RSSI())
	if !c.scan.params.active || (evt != reportAdvInd && evt != reportAdvScanInd) {
		return
	}
	key := dupKey{addr: p.AdvA(), random: p.TxAdd(), evtType: reportScanRsp}
	if _, done := c.scan.seen[key]; done && c.scan.filterDups {
		return // its scan response was already reported
	}
	c.scan.backoff--
	if c.scan.backoff > 0 {
		return
	}
	c.sendScanReq(key, rx)
}

// sendScanReq sends SCAN_REQ T_IFS after the advertising PDU and listens
// for the SCAN_RSP.
func (c *Controller) sendScanReq(key dupKey, rx *radio.Reception) {
	st := &c.rx
	own, rnd := c.scanAddress()
	req := pdu.ScanReq(own, rnd, key.addr, key.random)
	ch := rx.Channel
	st.busy = true
	st.pending = key
	st.xchg = c.sched.At(rx.End.Add(tIFS), func() {
		if st.port == nil || !st.busy {
			return
		}
		st.port.Idle()
		end := st.port.Transmit(radio.Packet{Channel: ch, AccessAddress: pdu.AdvertisingAccessAddress, PDU: req})
		st.xchg = c.sched.At(end, func() {
			st.xchg = nil
			if st.port == nil || !st.busy {
				return
			}
			st.port.Listen(ch, pdu.AdvertisingAccessAddress)
			st.deadline = c.sched.After(tIFS+radio.AirTime(maxAdvPDULen)+rxWindowSlack, func() {
				st.deadline = nil
				c.scanBackoff(false)
				c.rxResume()
			})
		})
	})
}

func (c *Controller) scanRspReceived(p pdu.AdvPDU, rx *radio.Reception) {
	c.scanBackoff(true)
	c.report(reportScanRsp, p.AdvA(), p.TxAdd(), p.ScanRspData(), rx.RSSI())
	c.rxResume()
}

// scanBackoff runs the backoff procedure of Vol 6 Part B §4.4.3.2: two
// consecutive failures double upperLimit, two successes halve it, and the
// next request waits a random 1..upperLimit opportunities.
func (c *Controller) scanBackoff(ok bool) {
	s := &c.scan
	if ok {
		s.failures = 0
		s.successes++
		if s.successes == 2 {
			s.successes = 0
			s.upperLimit = max(s.upperLimit/2, 1)
		}
	} else {
		s.successes = 0
		s.failures++
		if s.failures == 2 {
			s.failures = 0
			s.upperLimit = min(s.upperLimit*2, 256)
		}
	}
	s.backoff = 1 + c.sched.Rand().IntN(s.upperLimit)
}

// report sends one LE Advertising Report (Vol 4 Part E §7.7.65.2),
// honouring duplicate filtering.
func (c *Controller) report(evt uint8, addr hci.BDAddr, random bool, data []byte, rssi int8) {
	if !c.scan.enabled {
		return
	}
	// Duplicate filtering remembers what it reported only while it is on
	// (Vol 4 Part E §7.8.11): turning it on mid-scan starts afresh.
	if c.scan.filterDups {
		key := dupKey{addr: addr, random: random, evtType: evt}
		if _, dup := c.scan.seen[key]; dup {
			return
		}
		c.scan.seen[key] = struct{}{}
	}
	if !c.leEventEnabled(hci.LEAdvertisingReport) {
		return
	}
	var w hci.Writer
	w.U8(1).U8(evt).U8(boolType(random)).Addr(addr).U8(uint8(len(data))).Bytes(data).U8(byte(rssi))
	c.sendLEMeta(hci.LEAdvertisingReport, w.B)
}
