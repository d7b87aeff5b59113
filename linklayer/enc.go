package linklayer

import (
	"encoding/binary"

	"go.uber.org/zap"

	"blesim/linklayer/ccm"
	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// LL encryption (Core v5.4 Vol 6 Part B §5.1.3 Encryption procedure, Vol 6
// Part E): the Encryption Start procedure (§5.1.3.1) and the Encryption
// Pause procedure the central runs before a key refresh (§5.1.3.2).
//
// What the hosts see, in order:
//
//	central host                           peripheral host
//	LE Enable Encryption ->
//	<- Command Status (0x00)
//	        LL_ENC_REQ ->                  (LL_ENC_RSP goes back)
//	                                       <- LE Long Term Key Request (handle, Rand, EDIV)
//	                                       LE Long Term Key Request Reply ->
//	                                       <- Command Complete (0x00, handle)
//	        <- LL_START_ENC_REQ (clear), LL_START_ENC_RSP -> (encrypted)
//	                                       <- Encryption Change (0x00, handle, 0x01)
//	        <- LL_START_ENC_RSP (encrypted)
//	<- Encryption Change (0x00, handle, 0x01)
//
// A key refresh (LE Enable Encryption on an encrypted link) runs
// LL_PAUSE_ENC_REQ / LL_PAUSE_ENC_RSP first and both hosts get Encryption
// Key Refresh Complete instead of Encryption Change. LE Long Term Key
// Request Negative Reply (or a masked LTK Request event) makes the
// peripheral answer LL_REJECT_EXT_IND (LL_REJECT_IND if the central does not
// support Extended Reject Indication) with PIN or Key Missing (0x06): the
// central's host gets Encryption Change (0x06, handle, 0x00), the
// peripheral's host nothing more.
//
// MIC failure. A received PDU that fails its MIC ends the connection at
// once: the Link Layer does not answer it (not even an acknowledgement),
// sends nothing more, and tells its host Disconnection Complete with
// Connection Terminated due to MIC Failure (0x3D). So does an unexpected
// PDU during the start procedure (§5.1.3.1: "...it shall immediately exit
// the Connection state, and shall transition to the Standby state. The
// Host shall be notified ... with the error code Connection Terminated Due
// to MIC Failure (0x3D)"). No LL_TERMINATE_IND is sent: the peer hears
// nothing more and reports a supervision timeout (0x08). That is what real
// controllers do:
//   - Zephyr's controller (subsys/bluetooth/controller/ll_sw/ull_conn.c,
//     ull_conn_done) turns the LLL's LLL_CONN_MIC_FAIL into
//     conn_cleanup(conn, BT_HCI_ERR_TERM_DUE_TO_MIC_FAIL) without an
//     LL_TERMINATE_IND; its PR #22351: "Since a peer MIC failure closes the
//     event, it does not allow a terminate acknowledge."
//   - Zephyr issue #18645 (data sent during the encryption procedure): "the
//     connection being terminated with 0x3d (mic failure) on one side, and
//     0x08 (timeout) on the side that sent the data packet".
//   - bluetoe issue #116: LL/SEC/PER/BI-03-C and BI-04-C require the IUT to
//     disconnect without even acknowledging the PDU with the bad MIC.
//
// With a wrong LTK the peripheral is the side that sees the failure: the
// central's LL_START_ENC_RSP is the first encrypted PDU. So its host gets
// 0x3D and the central's host 0x08, one connSupervisionTimeout later, with
// no Encryption Change.

// encPhase is where a connection is in an encryption procedure.
type encPhase uint8

const (
	encIdle encPhase = iota // no procedure: the link is encrypted or not (encState.tx/rx)

	// Central.
	encCenPauseRsp // LL_PAUSE_ENC_REQ queued, waiting for LL_PAUSE_ENC_RSP
	encCenEncRsp   // LL_ENC_REQ queued, waiting for LL_ENC_RSP
	encCenStartReq // LL_ENC_RSP received, waiting for LL_START_ENC_REQ or a reject
	encCenStartRsp // our LL_START_ENC_RSP queued, waiting for the peripheral's

	// Peripheral.
	encPerPauseRsp // LL_PAUSE_ENC_RSP queued, waiting for the central's (clear) LL_PAUSE_ENC_RSP
	encPerEncReq   // paused, waiting for LL_ENC_REQ
	encPerLTK      // LL_ENC_RSP queued, waiting for the host's LTK
	encPerStartRsp // LL_START_ENC_REQ queued, waiting for the central's LL_START_ENC_RSP
)

var encPhaseNames = [...]string{"idle", "central: wait LL_PAUSE_ENC_RSP", "central: wait LL_ENC_RSP",
	"central: wait LL_START_ENC_REQ", "central: wait LL_START_ENC_RSP", "peripheral: wait LL_PAUSE_ENC_RSP",
	"peripheral: wait LL_ENC_REQ", "peripheral: wait LTK", "peripheral: wait LL_START_ENC_RSP"}

func (p encPhase) String() string {
	if int(p) < len(encPhaseNames) {
		return encPhaseNames[p]
	}
	return "?"
}

// encKey is what LE Enable Encryption gives the central (Vol 4 Part E
// §7.8.24), HCI order.
type encKey struct {
	rand [8]byte
	ediv uint16
	ltk  [16]byte
}

// encState is the encryption state of a connection.
type encState struct {
	phase encPhase
	sess  *ccm.Session // the keys in use while tx or rx is on
	next  *ccm.Session // the keys the start procedure in progress derived
	keys  SessionKeys  // the material of next (then sess), for SetSessionObserver
	// tx: every new non-empty PDU sent is sealed; rx: every new non-empty
	// PDU received is opened. They switch at different moments on each side
	// (§5.1.3.1, §5.1.3.2).
	tx, rx bool
	// txPaused: only the encryption procedure's PDUs (and LL_TERMINATE_IND)
	// are sent; host data and other LL control PDUs wait (§5.1.3.1: after
	// LL_ENC_REQ neither side sends data until the procedure ends).
	txPaused bool
	refresh  bool // this start follows a pause: hosts get Key Refresh Complete

	req pdu.EncReq // central: sent; peripheral: received
	rsp pdu.EncRsp // central: received; peripheral: sent
}

// busy reports whether an encryption procedure is in progress.
func (e *encState) busy() bool { return e.phase != encIdle }

// encrypted reports whether the link is encrypted for the host: both
// directions on.
func (e *encState) encrypted() bool { return e.tx && e.rx }

// txDir and rxDir are the nonce direction bits of what the connection sends
// and receives.
func (cn *conn) txDir() ccm.Direction {
	if cn.role == RoleCentral {
		return ccm.CentralToPeripheral
	}
	return ccm.PeripheralToCentral
}

func (cn *conn) rxDir() ccm.Direction { return cn.txDir() ^ 1 }

// seal encrypts the payload of a new non-empty PDU being sent.
func (cn *conn) seal(llid pdu.LLID, payload []byte) ([]byte, error) {
	return cn.enc.sess.SealPayload(cn.txDir(), byte(llid), payload)
}

// open decrypts the payload of a new non-empty PDU received with first
// header octet hdr.
func (cn *conn) open(hdr byte, payload []byte) ([]byte, error) {
	return cn.enc.sess.OpenPayload(cn.rxDir(), hdr, payload)
}

// micFailure ends the connection at once, with nothing more on air, and
// reports 0x3D to the host (see the top of this file).
func (cn *conn) micFailure(why string) {
	cn.log.Info("connection lost: MIC failure", zap.String("why", why), zap.Stringer("phase", cn.enc.phase))
	cn.end(hci.StatusMICFailure)
}

// sendEncCtrl queues an encryption procedure PDU: it goes out even while
// the procedure holds everything else back. build runs when it is first
// sent, before it is sealed, so it switches encryption on or off exactly
// at that PDU.
func (cn *conn) sendEncCtrl(build func() []byte) {
	if cn.arq.terminating {
		return
	}
	cn.arq.ctrlQ = append(cn.arq.ctrlQ, ctrlOut{build: build, enc: true})
}

// newKeys derives the session of a start procedure from the LTK (HCI
// order) and the SKD/IV halves exchanged.
func (cn *conn) newKeys(ltk [16]byte) *ccm.Session {
	e := &cn.enc
	l, skd, iv := ccm.FromLL(ltk, e.req.SKDc, e.rsp.SKDp, e.req.IVc, e.rsp.IVp)
	s, _ := ccm.NewSession(l, skd, iv) // 16-byte keys and a 4-byte MIC cannot fail
	e.keys = SessionKeys{LTK: l, SKD: skd, IV: iv}
	return s
}

// randBytes fills b from the scheduler's random source, so a run is
// reproducible from its seed.
func (cn *conn) randBytes(b []byte) {
	r := cn.c.sched.Rand()
	for len(b) > 0 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		b = b[copy(b, w[:]):]
	}
}

// --- central -----------------------------------------------------------

// startEncrypt starts the central's procedure for LE Enable Encryption:
// Encryption Start on an unencrypted link, Encryption Pause then Start on
// an encrypted one (key refresh). A peer known not to support LE
// Encryption fails it at once with Unsupported Remote Feature.
func (cn *conn) startEncrypt(p *llProc) {
	e := &cn.enc
	if !cn.peerMaySupport(hci.LEFeatEncryption) {
		cn.encDone(p, hci.StatusUnsupportedRemoteFeature)
		return
	}
	cn.waitFor(p)
	e.txPaused = true
	e.refresh = e.tx || e.rx
	if e.refresh {
		e.phase = encCenPauseRsp
		cn.sendEncCtrl(pdu.BuildPauseEncReq)
		return
	}
	cn.sendEncReq(p)
}

// sendEncReq queues LL_ENC_REQ with the host's Rand and EDIV and fresh
// SKDc and IVc, sent unencrypted.
func (cn *conn) sendEncReq(p *llProc) {
	e := &cn.enc
	e.req = pdu.EncReq{Rand: p.key.rand, EDIV: p.key.ediv}
	cn.randBytes(e.req.SKDc[:])
	cn.randBytes(e.req.IVc[:])
	e.phase = encCenEncRsp
	req := pdu.BuildEncReq(e.req)
	cn.sendEncCtrl(func() []byte { return req })
	cn.prtStart(true)
}

// encProc returns the central's encryption procedure waiting for the peer.
func (cn *conn) encProc() *llProc {
	if p := cn.procs.cur; p != nil && p.kind == procEncrypt {
		return p
	}
	return nil
}

// encDone ends the central's procedure: on success Encryption Change
// (0x00, encryption on) or Key Refresh Complete; on failure Encryption
// Change with the status and the link as it is now (unencrypted, or still
// encrypted when a pause was refused).
func (cn *conn) encDone(p *llProc, st hci.Status) {
	e := &cn.enc
	refresh := e.refresh
	e.phase, e.txPaused, e.refresh, e.next = encIdle, false, false, nil
	switch {
	case st == hci.StatusSuccess && refresh:
		cn.keyRefreshComplete(st)
	case st != hci.StatusSuccess && e.encrypted():
		cn.keyRefreshComplete(st)
	default:
		cn.encryptionChange(st, e.encrypted())
	}
	if cn.procs.cur == p {
		cn.procFinish()
	}
}

// encFailed: the peer answered our LL_ENC_REQ or LL_PAUSE_ENC_REQ with
// LL_UNKNOWN_RSP (0x1A) or a reject carrying its reason.
func (cn *conn) encFailed(p *llProc, st hci.Status) {
	cn.log.Info("encryption failed", zap.Stringer("status", st), zap.Stringer("phase", cn.enc.phase))
	cn.encDone(p, st)
}

// rxPauseEncRsp: central — the peripheral paused (its LL_PAUSE_ENC_RSP was
// encrypted); ours goes back unencrypted, both directions off, and the
// start procedure follows with LL_ENC_REQ (§5.1.3.2). Peripheral — the
// central's LL_PAUSE_ENC_RSP (unencrypted): transmit encryption off, wait
// for LL_ENC_REQ.
func (cn *conn) rxPauseEncRsp(p []byte) {
	e := &cn.enc
	switch {
	case cn.role == RoleCentral && e.phase == encCenPauseRsp:
		cn.sendEncCtrl(func() []byte {
			e.tx, e.rx = false, false
			return pdu.BuildPauseEncRsp()
		})
		if proc := cn.encProc(); proc != nil {
			cn.sendEncReq(proc)
		}
	case cn.role == RolePeripheral && e.phase == encPerPauseRsp:
		e.tx = false
		e.phase = encPerEncReq
		cn.prtStart(false)
	default:
		cn.log.Debug("unsolicited LL_PAUSE_ENC_RSP ignored", zap.Stringer("phase", e.phase))
	}
}

// rxEncRsp: the peripheral's SKDp and IVp; the session key follows
// (§5.1.3.1). From now on only LL_START_ENC_REQ or a reject may come.
func (cn *conn) rxEncRsp(p []byte) {
	e := &cn.enc
	proc := cn.encProc()
	if e.phase != encCenEncRsp || proc == nil {
		cn.log.Debug("unsolicited LL_ENC_RSP ignored", zap.Stringer("phase", e.phase))
		return
	}
	e.rsp, _ = pdu.ParseEncRsp(p)
	e.next = cn.newKeys(proc.key.ltk)
	e.phase = encCenStartReq
	cn.prtStart(true)
}

// rxStartEncReq: the peripheral has the LTK. Our LL_START_ENC_RSP is the
// first encrypted PDU each way is counted from: the new keys take over for
// both directions when it is sent.
func (cn *conn) rxStartEncReq(p []byte) {
	e := &cn.enc
	if e.phase != encCenStartReq {
		cn.log.Debug("unsolicited LL_START_ENC_REQ ignored", zap.Stringer("phase", e.phase))
		return
	}
	e.phase = encCenStartRsp
	cn.sendEncCtrl(func() []byte {
		e.sess, e.next = e.next, nil
		cn.keysInUse()
		e.tx, e.rx = true, true
		return pdu.BuildStartEncRsp()
	})
	cn.prtStart(true)
}

// rxStartEncRsp: central — the procedure is complete. Peripheral — the
// central encrypts: our LL_START_ENC_RSP goes back encrypted, and our
// host is told.
func (cn *conn) rxStartEncRsp(p []byte) {
	e := &cn.enc
	switch {
	case cn.role == RoleCentral && e.phase == encCenStartRsp:
		proc := cn.encProc()
		cn.log.Debug("encryption started", zap.Bool("refresh", e.refresh))
		cn.encDone(proc, hci.StatusSuccess)
	case cn.role == RolePeripheral && e.phase == encPerStartRsp:
		refresh := e.refresh
		e.phase, e.refresh = encIdle, false
		cn.sendEncCtrl(func() []byte {
			e.tx = true
			e.txPaused = false
			return pdu.BuildStartEncRsp()
		})
		cn.encRemoteDone()
		cn.log.Debug("encryption started", zap.Bool("refresh", refresh))
		if refresh {
			cn.keyRefreshComplete(hci.StatusSuccess)
		} else {
			// Our LL_START_ENC_RSP is queued and goes out encrypted.
			cn.encryptionChange(hci.StatusSuccess, true)
		}
		cn.runProcs()
	default:
		cn.log.Debug("unsolicited LL_START_ENC_RSP ignored", zap.Stringer("phase", e.phase))
	}
}

// --- peripheral --------------------------------------------------------

// rxPauseEncReq: the central refreshes the key (§5.1.3.2). Our
// LL_PAUSE_ENC_RSP still goes out encrypted; from then on we receive
// unencrypted.
func (cn *conn) rxPauseEncReq(p []byte) {
	e := &cn.enc
	if e.phase != encIdle || !e.encrypted() {
		cn.log.Info("LL_PAUSE_ENC_REQ on a link that is not encrypted; rejected", zap.Stringer("phase", e.phase))
		cn.sendCtrl(cn.rejectPDU(pdu.OpPauseEncReq, hci.StatusLLPDUNotAllowed), nil)
		return
	}
	e.txPaused = true
	e.phase = encPerPauseRsp
	cn.sendEncCtrl(func() []byte {
		e.rx = false
		return pdu.BuildPauseEncRsp()
	})
	cn.prtStart(false)
}

// rxEncReq starts the peripheral's side of Encryption Start: LL_ENC_RSP
// with fresh SKDp and IVp, and the LTK request to the host (§5.1.3.1). A
// host that masked the LE Long Term Key Request event has no key to give:
// that is a negative reply.
func (cn *conn) rxEncReq(p []byte) {
	e := &cn.enc
	switch {
	case e.phase == encPerEncReq:
		e.refresh = true
	case e.phase == encIdle && !e.tx && !e.rx:
		e.refresh = false
	default:
		// LL_ENC_REQ on an encrypted link without a pause first.
		cn.log.Info("LL_ENC_REQ on an encrypted link; rejected", zap.Stringer("phase", e.phase))
		cn.sendCtrl(cn.rejectPDU(pdu.OpEncReq, hci.StatusLLPDUNotAllowed), nil)
		return
	}
	e.req, _ = pdu.ParseEncReq(p)
	e.rsp = pdu.EncRsp{}
	cn.randBytes(e.rsp.SKDp[:])
	cn.randBytes(e.rsp.IVp[:])
	e.txPaused = true
	e.phase = encPerLTK
	rsp := pdu.BuildEncRsp(e.rsp)
	cn.sendEncCtrl(func() []byte { return rsp })
	cn.prtStart(false)
	if !cn.c.leEventEnabled(hci.LELongTermKeyRequest) {
		cn.log.Info("LE Long Term Key Request masked: no key")
		cn.ltkNegativeReply()
		return
	}
	var w hci.Writer
	w.U16(cn.handle).Bytes(e.req.Rand[:]).U16(e.req.EDIV)
	cn.c.sendLEMeta(hci.LELongTermKeyRequest, w.B)
}

// ltkReply continues with the host's LTK (LE Long Term Key Request Reply):
// LL_START_ENC_REQ goes out unencrypted, and from then on we receive
// encrypted with the new keys.
func (cn *conn) ltkReply(ltk [16]byte) {
	e := &cn.enc
	e.next = cn.newKeys(ltk)
	e.phase = encPerStartRsp
	cn.sendEncCtrl(func() []byte {
		e.sess, e.next = e.next, nil
		cn.keysInUse()
		e.rx = true
		return pdu.BuildStartEncReq()
	})
	cn.prtStart(false)
}

// ltkNegativeReply: the host has no key. The central learns it from
// LL_REJECT_EXT_IND (or LL_REJECT_IND) with PIN or Key Missing (0x06); the
// procedure ends here for us, with the link unencrypted.
func (cn *conn) ltkNegativeReply() {
	e := &cn.enc
	e.phase, e.refresh, e.next = encIdle, false, nil
	rej := cn.rejectPDU(pdu.OpEncReq, hci.StatusPINOrKeyMissing)
	cn.sendEncCtrl(func() []byte {
		e.txPaused = false
		return rej
	})
	cn.encRemoteDone()
	cn.runProcs()
}

// encRemoteDone stops the peripheral's procedure response timer of the
// encryption procedure, unless it also times the central's
// LL_CONNECTION_UPDATE_IND owed since our LL_CONNECTION_PARAM_RSP (held back
// by the procedure); that one starts afresh.
func (cn *conn) encRemoteDone() {
	if cn.procs.awaitUpdInd {
		cn.prtStart(false)
		return
	}
	cn.prtStop(false)
}

// rejectPDU is LL_REJECT_EXT_IND when both sides support Extended Reject
// Indication (known from the Feature Exchange), LL_REJECT_IND otherwise
// (§2.4.2.14, §2.4.2.18).
func (cn *conn) rejectPDU(op pdu.Opcode, st hci.Status) []byte {
	if cn.usedFeatures()&(1<<hci.LEFeatExtendedRejectInd) != 0 {
		return pdu.BuildRejectExtInd(op, uint8(st))
	}
	return pdu.BuildRejectInd(uint8(st))
}

// --- receive rules -----------------------------------------------------

// encUnexpected reports whether a new non-empty PDU received (llid,
// payload) breaks the encryption procedure in progress: after the
// peripheral received LL_ENC_REQ or the central LL_ENC_RSP, and until the
// procedure ends, only its own PDUs (and LL_TERMINATE_IND) may come
// (§5.1.3.1); the same holds in the pause procedure once the peripheral
// has been asked to pause (§5.1.3.2). Before that (central waiting for
// LL_ENC_RSP or LL_PAUSE_ENC_RSP) the peripheral may still be sending what
// it queued earlier, which is received as usual.
func (cn *conn) encUnexpected(llid pdu.LLID, payload []byte) bool {
	var want []pdu.Opcode
	switch cn.enc.phase {
	case encCenStartReq:
		want = []pdu.Opcode{pdu.OpStartEncReq, pdu.OpRejectInd, pdu.OpRejectExtInd}
	case encCenStartRsp, encPerStartRsp:
		want = []pdu.Opcode{pdu.OpStartEncRsp}
	case encPerPauseRsp:
		want = []pdu.Opcode{pdu.OpPauseEncRsp}
	case encPerEncReq:
		want = []pdu.Opcode{pdu.OpEncReq}
	case encPerLTK:
	default:
		return false
	}
	if len(payload) == 0 {
		return false // empty PDUs keep the connection going
	}
	if llid != pdu.LLIDControl {
		return true
	}
	op := pdu.Opcode(payload[0])
	if op == pdu.OpTerminateInd {
		return false
	}
	for _, o := range want {
		if o != op {
			continue
		}
		if op == pdu.OpRejectExtInd {
			rop, _, err := pdu.ParseRejectExtInd(payload)
			return err != nil || rop != pdu.OpEncReq
		}
		return false
	}
	return true
}

// --- host events -------------------------------------------------------

// encryptionChange sends Encryption Change (Vol 4 Part E §7.7.8): status,
// handle, Encryption_Enabled (0x01 AES-CCM for LE, 0x00 off).
func (cn *conn) encryptionChange(st hci.Status, on bool) {
	var w hci.Writer
	w.U8(uint8(st)).U16(cn.handle).U8(b2u8(on))
	cn.c.sendEvent(hci.NewEvent(hci.EvtEncryptionChange, w.B))
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// keyRefreshComplete sends Encryption Key Refresh Complete (§7.7.39).
func (cn *conn) keyRefreshComplete(st hci.Status) {
	var w hci.Writer
	w.U8(uint8(st)).U16(cn.handle)
	cn.c.sendEvent(hci.NewEvent(hci.EvtEncryptionKeyRefreshComplete, w.B))
}
