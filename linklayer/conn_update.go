package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// pendingUpdate is a connection update waiting for its instant (Vol 6
// Part B §5.1.1). The central picks the instant when the PDU first goes on
// air (instantSet).
type pendingUpdate struct {
	u          pdu.ConnUpdate
	instantSet bool
	host       bool // a host asked for it: report completion even if nothing changes
}

// pendingChM is a channel map update waiting for its instant (§5.1.2).
type pendingChM struct {
	chm        pdu.ChannelMap
	instant    uint16
	instantSet bool
}

// validConnParams checks connection parameters (Vol 4 Part E §7.8.18,
// Vol 6 Part B §4.5.2): intervals 7.5 ms..4 s, latency ≤ 499, timeout
// 100 ms..32 s and larger than (1 + latency) × intervalMax × 2.
func validConnParams(intervalMin, intervalMax, latency, timeout uint16) bool {
	return intervalMin >= pdu.MinConnInterval && intervalMin <= intervalMax && intervalMax <= pdu.MaxConnInterval &&
		latency <= pdu.MaxConnLatency && timeout >= pdu.MinConnTimeout && timeout <= pdu.MaxConnTimeout &&
		uint32(timeout)*4 > (1+uint32(latency))*uint32(intervalMax)
}

// validUpdateInd checks LL_CONNECTION_UPDATE_IND values (§2.4.2.1, the
// limits of CONNECT_IND §2.3.3.1).
func validUpdateInd(u pdu.ConnUpdate) bool {
	return validConnParams(u.Interval, u.Interval, u.Latency, u.Timeout) &&
		u.WinSize >= 1 && u.WinSize <= 8 && uint16(u.WinSize) < u.Interval && u.WinOffset <= u.Interval
}

// instantPassed reports whether instant is not in the future of event
// counter now (§5.5.1: (instant − connEventCounter) mod 65536 ≥ 32767, and
// an instant equal to the current event is already too late).
func instantPassed(instant, now uint16) bool {
	d := instant - now
	return d == 0 || d >= 32767
}

// chooseInterval picks the central's connInterval in [lo, hi]: it keeps the
// current one when allowed.
func (cn *conn) chooseInterval(lo, hi uint16) uint16 {
	if cn.interval >= lo && cn.interval <= hi {
		return cn.interval
	}
	return lo
}

// startConnParam starts the Connection Parameters Request procedure
// (§5.1.7) for LE Connection Update. A central whose peer is known not to
// support it uses the Connection Update procedure instead; a peripheral
// reports Unsupported Remote Feature, and the host falls back to L2CAP.
func (cn *conn) startConnParam(p *llProc) {
	if cn.procs.peerNoCPR || !cn.peerMaySupport(hci.LEFeatConnParamRequest) ||
		(cn.role == RoleCentral && !cn.procs.featuresKnown) {
		if cn.role == RoleCentral {
			p.kind = procConnUpdate
			cn.startConnUpdate(p)
			return
		}
		if p.host {
			cn.connUpdateDone(hci.StatusUnsupportedRemoteFeature)
		}
		return
	}
	u := p.upd
	cn.waitFor(p)
	cn.sendCtrlLazy(func() []byte {
		r := pdu.ConnParams{IntervalMin: u.intervalMin, IntervalMax: u.intervalMax, Latency: u.latency,
			Timeout: u.timeout, ReferenceConnEventCount: cn.ev.counter}
		for i := range r.Offsets {
			r.Offsets[i] = 0xFFFF
		}
		return pdu.BuildConnectionParamReq(r)
	}, nil)
}

// startConnUpdate is the central's Connection Update procedure (§5.1.1):
// LL_CONNECTION_UPDATE_IND with an instant 6 + connPeripheralLatency events
// after the event it is first sent in, so a sleeping peripheral hears it.
// The procedure ends at the instant.
func (cn *conn) startConnUpdate(p *llProc) {
	u := p.upd
	cn.queueUpdateInd(pdu.ConnUpdate{WinSize: 1, Interval: cn.chooseInterval(u.intervalMin, u.intervalMax),
		Latency: u.latency, Timeout: u.timeout}, p.host)
}

func (cn *conn) queueUpdateInd(u pdu.ConnUpdate, host bool) {
	pu := &pendingUpdate{u: u, host: host}
	cn.procs.upd = pu
	cn.sendCtrlLazy(func() []byte {
		pu.u.Instant = cn.ev.counter + 6 + cn.latency
		pu.instantSet = true
		return pdu.BuildConnectionUpdateInd(pu.u)
	}, nil)
}

// startChannelMap is the central's Channel Map Update procedure (§5.1.2)
// with the host's channel classification.
func (cn *conn) startChannelMap() {
	chm := pdu.ChannelMap(cn.c.hostChannel)
	if chm == cn.chm || chm.Count() < 2 {
		return
	}
	pm := &pendingChM{chm: chm}
	cn.procs.chmUpd = pm
	cn.sendCtrlLazy(func() []byte {
		pm.instant = cn.ev.counter + 6 + cn.latency
		pm.instantSet = true
		return pdu.BuildChannelMapInd(pm.chm, pm.instant)
	}, nil)
}

// applyInstants applies the updates whose instant is the event that just
// became current (§5.1.1, §5.1.2). At a connection update the old timing's
// anchor of the instant plus WinOffset starts a transmit window: the central
// uses its start as the new anchor, the peripheral listens over it.
func (cn *conn) applyInstants() {
	ps := &cn.procs
	if m := ps.chmUpd; m != nil && m.instantSet && m.instant == cn.ev.counter {
		ps.chmUpd = nil
		cn.chm = m.chm
		cn.log.Debug("channel map updated", zap.Stringer("chm", m.chm))
	}
	if pu := ps.upd; pu != nil && pu.instantSet && pu.u.Instant == cn.ev.counter {
		ps.upd = nil
		u := pu.u
		off := units1250(u.WinOffset)
		if cn.role == RoleCentral {
			cn.ev.anchor = cn.ev.anchor.Add(off)
		} else {
			start, _ := cn.expected(cn.ev.counter)
			cn.ev.win = &txWindow{ev: cn.ev.counter, start: start.Add(off), size: units1250(uint16(u.WinSize))}
		}
		changed := cn.interval != u.Interval || cn.latency != u.Latency || cn.timeout != u.Timeout
		cn.interval, cn.latency, cn.timeout = u.Interval, u.Latency, u.Timeout
		cn.ev.skipped = 0
		// The supervision timer restarts at the instant.
		if now := cn.c.sched.Now(); cn.lastRx < now {
			cn.lastRx = now
		}
		cn.svArm()
		cn.log.Debug("connection parameters updated", zap.Uint16("interval", u.Interval),
			zap.Uint16("latency", u.Latency), zap.Uint16("timeout", u.Timeout))
		if changed || pu.host {
			cn.connUpdateDone(hci.StatusSuccess)
		}
	}
	if ps.upd == nil && ps.chmUpd == nil {
		cn.runProcs()
	}
}

// rxConnUpdateInd: the central moves the connection to new parameters at
// the instant (§5.1.1). An instant in the past loses the connection (0x28).
func (cn *conn) rxConnUpdateInd(p []byte) {
	u, _ := pdu.ParseConnectionUpdateInd(p)
	ps := &cn.procs
	ps.awaitUpdInd = false
	cn.prtStop(false)
	host := false
	if cur := ps.cur; cur != nil && cur.kind == procConnParam {
		// The central's answer to our LL_CONNECTION_PARAM_REQ.
		host = cur.host
		ps.cur = nil
		cn.prtStop(true)
	}
	if !validUpdateInd(u) {
		cn.log.Info("LL_CONNECTION_UPDATE_IND with invalid parameters", zap.Any("update", u))
		cn.terminate(hci.StatusInvalidLLParameters, hci.StatusInvalidLLParameters)
		return
	}
	if instantPassed(u.Instant, cn.ev.counter) {
		cn.log.Info("LL_CONNECTION_UPDATE_IND instant passed", zap.Uint16("instant", u.Instant), zap.Uint16("event", cn.ev.counter))
		cn.end(hci.StatusInstantPassed)
		return
	}
	ps.upd = &pendingUpdate{u: u, instantSet: true, host: host}
	cn.runProcs()
}

// rxChannelMapInd: the central changes the channel map at the instant
// (§5.1.2).
func (cn *conn) rxChannelMapInd(p []byte) {
	chm, instant, _ := pdu.ParseChannelMapInd(p)
	if chm.Count() < 2 {
		cn.log.Info("LL_CHANNEL_MAP_IND with fewer than two channels", zap.Stringer("chm", chm))
		cn.terminate(hci.StatusInvalidLLParameters, hci.StatusInvalidLLParameters)
		return
	}
	if instantPassed(instant, cn.ev.counter) {
		cn.log.Info("LL_CHANNEL_MAP_IND instant passed", zap.Uint16("instant", instant), zap.Uint16("event", cn.ev.counter))
		cn.end(hci.StatusInstantPassed)
		return
	}
	cn.procs.chmUpd = &pendingChM{chm: chm, instant: instant, instantSet: true}
}

// rxConnParamReq: the peer asks for new connection parameters (§5.1.7).
// The host decides through LE Remote Connection Parameter Request when
// that event is enabled; otherwise valid values are accepted. A central
// with its own procedure with an instant rejects it: 0x23 when both ran
// Connection Parameters Request, 0x2A for a different procedure (§5.3).
func (cn *conn) rxConnParamReq(p []byte) {
	r, _ := pdu.ParseConnectionParam(p)
	ps := &cn.procs
	if !validConnParams(r.IntervalMin, r.IntervalMax, r.Latency, r.Timeout) {
		cn.rejectCPR(hci.StatusInvalidLLParameters)
		return
	}
	if ps.remoteCPR != nil || ps.awaitUpdInd {
		cn.rejectCPR(hci.StatusLLProcedureCollision)
		return
	}
	if cn.role == RoleCentral {
		if cur := ps.cur; cur != nil && cur.kind == procConnParam {
			cn.rejectCPR(hci.StatusLLProcedureCollision)
			return
		}
		if ps.upd != nil || ps.chmUpd != nil {
			cn.rejectCPR(hci.StatusDifferentTransactionCollision)
			return
		}
	}
	if cn.c.leEventEnabled(hci.LERemoteConnParamRequest) {
		ps.remoteCPR = &r
		var w hci.Writer
		w.U16(cn.handle).U16(r.IntervalMin).U16(r.IntervalMax).U16(r.Latency).U16(r.Timeout)
		cn.c.sendLEMeta(hci.LERemoteConnParamRequest, w.B)
		return
	}
	cn.acceptCPR(hostUpdate{r.IntervalMin, r.IntervalMax, r.Latency, r.Timeout})
}

// acceptCPR accepts the peer's request with values u: a peripheral answers
// LL_CONNECTION_PARAM_RSP and waits for the central's
// LL_CONNECTION_UPDATE_IND; a central sends LL_CONNECTION_UPDATE_IND.
func (cn *conn) acceptCPR(u hostUpdate) {
	ps := &cn.procs
	ps.remoteCPR = nil
	if cn.role == RolePeripheral {
		r := pdu.ConnParams{IntervalMin: u.intervalMin, IntervalMax: u.intervalMax, Latency: u.latency,
			Timeout: u.timeout, ReferenceConnEventCount: cn.ev.counter}
		for i := range r.Offsets {
			r.Offsets[i] = 0xFFFF
		}
		cn.sendCtrl(pdu.BuildConnectionParamRsp(r), nil)
		ps.awaitUpdInd = true
		cn.prtStart(false)
		return
	}
	if ps.upd != nil || ps.chmUpd != nil {
		cn.rejectCPR(hci.StatusDifferentTransactionCollision)
		return
	}
	cn.queueUpdateInd(pdu.ConnUpdate{WinSize: 1, Interval: cn.chooseInterval(u.intervalMin, u.intervalMax),
		Latency: u.latency, Timeout: u.timeout}, false)
}

// rejectCPR answers the peer's LL_CONNECTION_PARAM_REQ with
// LL_REJECT_EXT_IND.
func (cn *conn) rejectCPR(st hci.Status) {
	cn.procs.remoteCPR = nil
	cn.sendCtrl(pdu.BuildRejectExtInd(pdu.OpConnectionParamReq, uint8(st)), nil)
}

// rxConnParamRsp: the peripheral accepted our request; the central moves
// the connection with LL_CONNECTION_UPDATE_IND (§5.1.7.1).
func (cn *conn) rxConnParamRsp(p []byte) {
	cur := cn.procs.cur
	if cur == nil || cur.kind != procConnParam {
		cn.log.Debug("unsolicited LL_CONNECTION_PARAM_RSP ignored")
		return
	}
	r, _ := pdu.ParseConnectionParam(p)
	u := cur.upd
	if validConnParams(r.IntervalMin, r.IntervalMax, r.Latency, r.Timeout) {
		u = hostUpdate{r.IntervalMin, r.IntervalMax, r.Latency, r.Timeout}
	} else {
		cn.log.Info("LL_CONNECTION_PARAM_RSP with invalid values; using the requested ones")
	}
	cn.queueUpdateInd(pdu.ConnUpdate{WinSize: 1, Interval: cn.chooseInterval(u.intervalMin, u.intervalMax),
		Latency: u.latency, Timeout: u.timeout}, cur.host)
	cn.procFinish()
}
