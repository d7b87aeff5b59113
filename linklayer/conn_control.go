package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// ctrlSender says which role may send an LL control PDU.
type ctrlSender uint8

const (
	sentByCentral ctrlSender = 1 << iota
	sentByPeripheral
	sentByEither = sentByCentral | sentByPeripheral
)

// ctrlHandler is how the connection handles one received LL control PDU.
type ctrlHandler struct {
	from ctrlSender
	fn   func(cn *conn, p []byte) // p has been checked by pdu.ValidateControl
}

// controlHandler is the table of LL control PDUs this LL understands
// (Vol 6 Part B §2.4.2, §5.1). Anything else is answered with LL_UNKNOWN_RSP
// (§5.1.4 note, §2.4.2.8).
func controlHandler(op pdu.Opcode) (ctrlHandler, bool) {
	switch op {
	// Encryption (§5.1.3; enc.go).
	case pdu.OpEncReq:
		return ctrlHandler{sentByCentral, (*conn).rxEncReq}, true
	case pdu.OpEncRsp:
		return ctrlHandler{sentByPeripheral, (*conn).rxEncRsp}, true
	case pdu.OpStartEncReq:
		return ctrlHandler{sentByPeripheral, (*conn).rxStartEncReq}, true
	case pdu.OpStartEncRsp:
		return ctrlHandler{sentByEither, (*conn).rxStartEncRsp}, true
	case pdu.OpPauseEncReq:
		return ctrlHandler{sentByCentral, (*conn).rxPauseEncReq}, true
	case pdu.OpPauseEncRsp:
		return ctrlHandler{sentByEither, (*conn).rxPauseEncRsp}, true

	case pdu.OpConnectionUpdateInd:
		return ctrlHandler{sentByCentral, (*conn).rxConnUpdateInd}, true
	case pdu.OpChannelMapInd:
		return ctrlHandler{sentByCentral, (*conn).rxChannelMapInd}, true
	case pdu.OpTerminateInd:
		return ctrlHandler{sentByEither, (*conn).rxTerminateInd}, true
	case pdu.OpUnknownRsp:
		return ctrlHandler{sentByEither, (*conn).rxUnknownRsp}, true
	case pdu.OpFeatureReq:
		return ctrlHandler{sentByCentral, (*conn).rxFeatureReq}, true
	case pdu.OpPeripheralFeatureReq:
		return ctrlHandler{sentByPeripheral, (*conn).rxFeatureReq}, true
	case pdu.OpFeatureRsp:
		return ctrlHandler{sentByEither, (*conn).rxFeatureRsp}, true
	case pdu.OpVersionInd:
		return ctrlHandler{sentByEither, (*conn).rxVersionInd}, true
	case pdu.OpRejectInd, pdu.OpRejectExtInd:
		return ctrlHandler{sentByEither, (*conn).rxReject}, true
	case pdu.OpConnectionParamReq:
		return ctrlHandler{sentByEither, (*conn).rxConnParamReq}, true
	case pdu.OpConnectionParamRsp:
		return ctrlHandler{sentByPeripheral, (*conn).rxConnParamRsp}, true
	case pdu.OpLengthReq:
		return ctrlHandler{sentByEither, (*conn).rxLengthReq}, true
	case pdu.OpLengthRsp:
		return ctrlHandler{sentByEither, (*conn).rxLengthRsp}, true
	}
	return ctrlHandler{}, false
}

// onControl handles a received LL control PDU payload (opcode + CtrData).
// Unknown opcodes, PDUs the peer's role may not send and PDUs of the wrong
// length are answered with LL_UNKNOWN_RSP; an LL_UNKNOWN_RSP is never
// answered, so two LLs cannot loop.
func (cn *conn) onControl(p []byte) {
	if len(p) == 0 {
		cn.log.Debug("LL control PDU without opcode ignored")
		return
	}
	op := pdu.Opcode(p[0])
	cn.log.Debug("LL control PDU received", zap.Stringer("op", op), zap.Binary("pdu", p))
	if err := pdu.ValidateControl(p); err != nil {
		cn.log.Info("malformed or unknown LL control PDU", zap.Error(err), zap.Binary("pdu", p))
		if op != pdu.OpUnknownRsp {
			cn.sendCtrl(pdu.BuildUnknownRsp(op), nil)
		}
		return
	}
	h, ok := controlHandler(op)
	peer := sentByCentral
	if cn.role == RoleCentral {
		peer = sentByPeripheral
	}
	if !ok || h.from&peer == 0 {
		cn.log.Debug("unsupported LL control PDU answered with LL_UNKNOWN_RSP", zap.Stringer("op", op))
		cn.sendCtrl(pdu.BuildUnknownRsp(op), nil)
		return
	}
	h.fn(cn, p)
}

// rxTerminateInd: the peer ends the connection (§5.1.6). Our next packet
// acknowledges it; then the connection ends with the peer's reason.
func (cn *conn) rxTerminateInd(p []byte) {
	code, _ := pdu.ParseTerminateInd(p)
	cn.log.Debug("peer terminates", zap.Stringer("reason", hci.Status(code)))
	cn.arq.termRx = true
	cn.arq.termReason = hci.Status(code)
	cn.arq.ctrlQ = nil
	cn.procs.queue = nil
	cn.procs.prtLocal, cn.procs.prtRemote = 0, 0
	cn.prtArm()
}

// rxUnknownRsp: the peer does not know our request (§2.4.2.8).
func (cn *conn) rxUnknownRsp(p []byte) {
	op, _ := pdu.ParseUnknownRsp(p)
	cur := cn.procs.cur
	if cur == nil || cn.requestOpcode(cur.kind) != op {
		cn.log.Debug("LL_UNKNOWN_RSP for no pending procedure", zap.Stringer("unknown", op))
		return
	}
	cn.procFailed(hci.StatusUnsupportedRemoteFeature)
}

// rxReject: the peer rejects our request with LL_REJECT_IND or
// LL_REJECT_EXT_IND (§2.4.2.14, §2.4.2.18).
func (cn *conn) rxReject(p []byte) {
	var op pdu.Opcode
	var code uint8
	if pdu.Opcode(p[0]) == pdu.OpRejectInd {
		code, _ = pdu.ParseRejectInd(p)
		op = 0xFF // applies to whatever procedure is pending
	} else {
		op, code, _ = pdu.ParseRejectExtInd(p)
	}
	cur := cn.procs.cur
	if cur == nil || (op != 0xFF && cn.requestOpcode(cur.kind) != op) {
		cn.log.Debug("reject for no pending procedure", zap.Stringer("rejected", op), zap.Uint8("code", code))
		return
	}
	st := hci.Status(code)
	if st == hci.StatusSuccess {
		st = hci.StatusUnspecifiedError // a reject must carry an error
	}
	cn.procFailed(st)
}

// rxFeatureReq answers LL_FEATURE_REQ (from the central) or
// LL_PERIPHERAL_FEATURE_REQ (from the peripheral) with our features
// (§5.1.4); the features used on the link are the AND of both sets.
func (cn *conn) rxFeatureReq(p []byte) {
	f, _ := pdu.ParseFeatures(p)
	cn.procs.features = f
	cn.procs.featuresKnown = true
	cn.sendCtrl(pdu.BuildFeatureRsp(cn.c.leFeatures()), nil)
}

// rxFeatureRsp completes our Feature Exchange.
func (cn *conn) rxFeatureRsp(p []byte) {
	cur := cn.procs.cur
	if cur == nil || cur.kind != procFeature {
		cn.log.Debug("unsolicited LL_FEATURE_RSP ignored")
		return
	}
	f, _ := pdu.ParseFeatures(p)
	cn.procs.features = f
	cn.procs.featuresKnown = true
	cn.featureDone(cur, hci.StatusSuccess)
}

// usedFeatures returns featureSet used on the link (§4.6).
func (cn *conn) usedFeatures() uint64 {
	if !cn.procs.featuresKnown {
		return 0
	}
	return cn.procs.features & cn.c.leFeatures()
}

// peerMaySupport reports whether the peer is not known to lack feature
// bit: an unknown feature set counts as supported.
func (cn *conn) peerMaySupport(bit hci.LEFeature) bool {
	return !cn.procs.featuresKnown || cn.usedFeatures()&(1<<bit) != 0
}

// rxVersionInd stores the peer's version and answers with ours if we have
// not sent it yet (§5.1.5). Each side sends LL_VERSION_IND once.
func (cn *conn) rxVersionInd(p []byte) {
	if cn.procs.versionKnown {
		cn.log.Info("second LL_VERSION_IND ignored")
		return
	}
	v, _ := pdu.ParseVersionInd(p)
	cn.procs.version = v
	cn.procs.versionKnown = true
	cn.sendVersion()
	if cur := cn.procs.cur; cur != nil && cur.kind == procVersion {
		cn.versionDone(cur, hci.StatusSuccess)
	}
}
