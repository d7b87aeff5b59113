package linklayer

import (
	"encoding/binary"

	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// procKind is a locally initiated LL control procedure (Vol 6 Part B §5.1).
type procKind uint8

const (
	procFeature    procKind = iota + 1 // Feature Exchange (§5.1.4)
	procVersion                        // Version Exchange (§5.1.5)
	procDataLength                     // Data Length Update (§5.1.9)
	procConnParam                      // Connection Parameters Request (§5.1.7)
	procConnUpdate                     // Connection Update, central (§5.1.1)
	procChannelMap                     // Channel Map Update, central (§5.1.2)
	procEncrypt                        // Encryption Start / Pause, central (§5.1.3; enc.go)
)

// usesInstant reports whether the procedure ends with an instant. A central
// runs one such procedure at a time (§5.3).
func (k procKind) usesInstant() bool {
	return k == procConnParam || k == procConnUpdate || k == procChannelMap
}

// llProc is one locally initiated procedure.
type llProc struct {
	kind procKind
	host bool       // started by an HCI command: its completion is reported
	upd  hostUpdate // procConnParam, procConnUpdate
	key  *encKey    // procEncrypt: LE Enable Encryption's Rand, EDIV and LTK
}

// hostUpdate is what LE Connection Update asks for (Vol 4 Part E §7.8.18).
type hostUpdate struct {
	intervalMin, intervalMax, latency, timeout uint16
}

// procState is the LL control procedure state of a connection.
type procState struct {
	cur   *llProc   // the local procedure waiting for the peer's answer
	queue []*llProc // local procedures not started yet, in order

	// Procedure response timeout (§5.2): deadlines for our own procedure
	// and for an answer the peer owes in its procedure; zero when off.
	prtLocal, prtRemote sim.Time
	prtTimer            *sim.Timer
	termTimer           *sim.Timer // T_Terminate (§5.1.6)

	features      uint64 // the peer's LE features
	featuresKnown bool
	version       pdu.Version // the peer's LL_VERSION_IND
	versionKnown  bool
	versionSent   bool
	peerNoCPR     bool // the peer answered LL_CONNECTION_PARAM_REQ with LL_UNKNOWN_RSP

	remoteCPR   *pdu.ConnParams // the peer's LL_CONNECTION_PARAM_REQ, waiting for our host
	awaitUpdInd bool            // peripheral: our LL_CONNECTION_PARAM_RSP wants an LL_CONNECTION_UPDATE_IND

	upd    *pendingUpdate // connection update waiting for its instant
	chmUpd *pendingChM    // channel map update waiting for its instant
}

func (p *procState) stopTimers() {
	p.prtTimer.Stop()
	p.termTimer.Stop()
}

// idle reports whether no procedure is running or waiting.
func (p *procState) idle() bool {
	return p.cur == nil && len(p.queue) == 0 && p.remoteCPR == nil && !p.awaitUpdInd &&
		p.upd == nil && p.chmUpd == nil
}

// hasHostProc reports whether a procedure of one of kinds started by the
// host is running or queued.
func (p *procState) hasHostProc(kinds ...procKind) bool {
	for _, q := range append([]*llProc{p.cur}, p.queue...) {
		if q == nil || !q.host {
			continue
		}
		for _, k := range kinds {
			if q.kind == k {
				return true
			}
		}
	}
	return false
}

// queueProc queues a local procedure; it starts when the ones before it
// have finished (a Link Layer runs one procedure of its own at a time).
func (cn *conn) queueProc(p *llProc) {
	if cn.closed || cn.arq.terminating {
		return
	}
	cn.procs.queue = append(cn.procs.queue, p)
	cn.runProcs()
}

// runProcs starts queued procedures while none is waiting for the peer. A
// central does not start a procedure with an instant while another one's
// instant is pending; neither side starts one during an encryption
// procedure (§5.1.3.1: only that procedure's PDUs are sent).
func (cn *conn) runProcs() {
	ps := &cn.procs
	for !cn.closed && !cn.arq.terminating && ps.cur == nil && len(ps.queue) > 0 && !cn.enc.busy() {
		p := ps.queue[0]
		if cn.role == RoleCentral && p.kind.usesInstant() && (ps.upd != nil || ps.chmUpd != nil) {
			return
		}
		ps.queue = ps.queue[1:]
		cn.startProc(p)
	}
}

func (cn *conn) startProc(p *llProc) {
	ps := &cn.procs
	switch p.kind {
	case procFeature:
		if ps.featuresKnown {
			cn.featureDone(p, hci.StatusSuccess)
			return
		}
		op := pdu.BuildFeatureReq
		if cn.role == RolePeripheral {
			op = pdu.BuildPeripheralFeatureReq
		}
		cn.waitFor(p)
		cn.sendCtrl(op(cn.c.leFeatures()), nil)
	case procVersion:
		if ps.versionKnown {
			cn.versionDone(p, hci.StatusSuccess)
			return
		}
		cn.waitFor(p)
		cn.sendVersion()
	case procDataLength:
		cn.startDataLength(p)
	case procConnParam:
		cn.startConnParam(p)
	case procConnUpdate:
		cn.startConnUpdate(p)
	case procChannelMap:
		cn.startChannelMap()
	case procEncrypt:
		cn.startEncrypt(p)
	}
}

// waitFor makes p the procedure waiting for the peer and starts its
// response timer, since its request is queued now (§5.2).
func (cn *conn) waitFor(p *llProc) {
	cn.procs.cur = p
	cn.prtStart(true)
}

// procFinish ends the current local procedure and starts the next one.
func (cn *conn) procFinish() {
	cn.procs.cur = nil
	cn.prtStop(true)
	cn.runProcs()
}

// prtStart (re)starts the procedure response timer of our procedure
// (local) or of the peer's (§5.2).
func (cn *conn) prtStart(local bool) {
	d := cn.c.sched.Now().Add(procResponseTimeout)
	if local {
		cn.procs.prtLocal = d
	} else {
		cn.procs.prtRemote = d
	}
	cn.prtArm()
}

func (cn *conn) prtStop(local bool) {
	if local {
		cn.procs.prtLocal = 0
	} else {
		cn.procs.prtRemote = 0
	}
	cn.prtArm()
}

func (cn *conn) prtArm() {
	ps := &cn.procs
	ps.prtTimer.Stop()
	d := ps.prtLocal
	if d == 0 || (ps.prtRemote != 0 && ps.prtRemote < d) {
		d = ps.prtRemote
	}
	if d != 0 && !cn.closed {
		ps.prtTimer = cn.c.sched.At(d, cn.prtExpired)
	}
}

// prtExpired: the peer did not answer within 40 s. The connection is
// considered lost; nothing more is sent (§5.2).
func (cn *conn) prtExpired() {
	if cn.closed {
		return
	}
	cn.log.Info("LL procedure response timeout")
	cn.end(hci.StatusLLResponseTimeout)
}

// terminate starts the ACL Termination procedure (§5.1.6): LL_TERMINATE_IND
// goes out before anything else still queued; when the peer acknowledges
// it, or after connSupervisionTimeout (T_Terminate), the connection ends and
// the host is told localReason. If the supervision timer expires first (the
// peer left, or its acknowledgement was lost), the host is told localReason
// too: it asked for the disconnection and gets it.
func (cn *conn) terminate(reason, localReason hci.Status) {
	if cn.closed || cn.arq.terminating {
		return
	}
	cn.log.Debug("terminating", zap.Stringer("reason", reason))
	cn.arq.ctrlQ = nil
	cn.procs.queue = nil
	cn.procs.cur = nil
	cn.procs.prtLocal, cn.procs.prtRemote = 0, 0
	cn.prtArm()
	cn.sendCtrl(pdu.BuildTerminateInd(uint8(reason)), func() { cn.end(localReason) })
	cn.arq.terminating = true
	cn.arq.termLocal = localReason
	tt := sim.Duration(cn.timeout) * 10 * sim.Millisecond
	cn.procs.termTimer = cn.c.sched.After(tt, func() { cn.end(localReason) })
}

// sendVersion sends our LL_VERSION_IND, once per connection (§5.1.5).
func (cn *conn) sendVersion() {
	if cn.procs.versionSent {
		return
	}
	cn.procs.versionSent = true
	cn.sendCtrl(pdu.BuildVersionInd(pdu.Version{VersNr: llVersionNr, CompID: llCompanyID, SubVersNr: llSubVersionNr}), nil)
}

// featureDone completes a Feature Exchange: LE Read Remote Features
// Complete (Vol 4 Part E §7.7.65.4) if the host asked.
func (cn *conn) featureDone(p *llProc, st hci.Status) {
	if p.host {
		var w hci.Writer
		f := cn.procs.features
		if st != hci.StatusSuccess {
			f = 0
		}
		w.U8(uint8(st)).U16(cn.handle).U64(f)
		cn.c.sendLEMeta(hci.LEReadRemoteFeaturesComplete, w.B)
	}
	if cn.procs.cur == p {
		cn.procFinish()
	}
}

// versionDone completes a Version Exchange: Read Remote Version Information
// Complete (Vol 4 Part E §7.7.12) if the host asked.
func (cn *conn) versionDone(p *llProc, st hci.Status) {
	if p.host {
		v := cn.procs.version
		var w hci.Writer
		w.U8(uint8(st)).U16(cn.handle).U8(v.VersNr).U16(v.CompID).U16(v.SubVersNr)
		cn.c.sendEvent(hci.NewEvent(hci.EvtReadRemoteVersionComplete, w.B))
	}
	if cn.procs.cur == p {
		cn.procFinish()
	}
}

// connUpdateDone reports LE Connection Update Complete (Vol 4 Part E
// §7.7.65.3) with the parameters in use.
func (cn *conn) connUpdateDone(st hci.Status) {
	p := make([]byte, 9)
	p[0] = uint8(st)
	binary.LittleEndian.PutUint16(p[1:], cn.handle)
	binary.LittleEndian.PutUint16(p[3:], cn.interval)
	binary.LittleEndian.PutUint16(p[5:], cn.latency)
	binary.LittleEndian.PutUint16(p[7:], cn.timeout)
	cn.c.sendLEMeta(hci.LEConnectionUpdateComplete, p)
}

// requestOpcode is the PDU that starts procedure kind in our role, which
// LL_UNKNOWN_RSP and LL_REJECT_EXT_IND name.
func (cn *conn) requestOpcode(k procKind) pdu.Opcode {
	switch k {
	case procFeature:
		if cn.role == RolePeripheral {
			return pdu.OpPeripheralFeatureReq
		}
		return pdu.OpFeatureReq
	case procVersion:
		return pdu.OpVersionInd
	case procDataLength:
		return pdu.OpLengthReq
	case procConnParam:
		return pdu.OpConnectionParamReq
	case procEncrypt:
		if cn.enc.phase == encCenPauseRsp {
			return pdu.OpPauseEncReq
		}
		return pdu.OpEncReq
	}
	return 0xFF
}

// procFailed ends the current local procedure because the peer answered
// LL_UNKNOWN_RSP (st 0x1A) or rejected it (§5.1.4, §5.1.7, §5.1.9).
func (cn *conn) procFailed(st hci.Status) {
	p := cn.procs.cur
	switch p.kind {
	case procFeature:
		cn.featureDone(p, st)
	case procVersion:
		cn.versionDone(p, st)
	case procDataLength:
		if st == hci.StatusUnsupportedRemoteFeature {
			cn.dl.peerNoDLE = true
		}
		cn.procFinish()
	case procConnParam:
		if st == hci.StatusUnsupportedRemoteFeature {
			cn.procs.peerNoCPR = true
			if cn.role == RoleCentral {
				// Fall back to the Connection Update procedure (§5.1.7).
				cn.procs.cur = nil
				cn.prtStop(true)
				p.kind = procConnUpdate
				cn.startConnUpdate(p)
				cn.runProcs()
				return
			}
		}
		if p.host {
			cn.connUpdateDone(st)
		}
		cn.procFinish()
	case procEncrypt:
		cn.encFailed(p, st)
	default:
		cn.procFinish()
	}
}
