package linklayer

import (
	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// dataLength is the Data Length Update state of a connection (Vol 6 Part B
// §4.5.10). Octets count LL payload octets, times are µs on the 1M PHY.
type dataLength struct {
	maxTxOctets, maxTxTime uint16 // connMaxTxOctets/Time: what we want to send
	maxRxOctets, maxRxTime uint16 // connMaxRxOctets/Time: what we can receive
	remTxOctets, remTxTime uint16 // connRemoteMaxTxOctets/Time
	remRxOctets, remRxTime uint16 // connRemoteMaxRxOctets/Time

	effTxOctets, effTxTime uint16 // connEffectiveMaxTx...
	effRxOctets, effRxTime uint16 // connEffectiveMaxRx...

	peerNoDLE bool // the peer answered LL_LENGTH_REQ with LL_UNKNOWN_RSP
}

// newDataLength starts a connection with the host's suggested transmit
// values and the controller's maximum receive values; the peer's are the
// defaults until exchanged.
func newDataLength(txOctets, txTime uint16) dataLength {
	d := dataLength{
		maxTxOctets: clampU16(txOctets, connDefaultOctets, connMaxOctets),
		maxTxTime:   clampU16(txTime, connDefaultTime, connMaxTime),
		maxRxOctets: connMaxOctets, maxRxTime: connMaxTime,
		remTxOctets: connDefaultOctets, remTxTime: connDefaultTime,
		remRxOctets: connDefaultOctets, remRxTime: connDefaultTime,
	}
	d.recompute()
	return d
}

func clampU16(v, lo, hi uint16) uint16 { return min(max(v, lo), hi) }

// recompute derives the effective values (§4.5.10) and reports whether they
// changed.
func (d *dataLength) recompute() bool {
	old := [4]uint16{d.effTxOctets, d.effTxTime, d.effRxOctets, d.effRxTime}
	d.effTxOctets = max(min(d.maxTxOctets, d.remRxOctets), connDefaultOctets)
	d.effRxOctets = max(min(d.maxRxOctets, d.remTxOctets), connDefaultOctets)
	d.effTxTime = max(min(d.maxTxTime, d.remRxTime), connDefaultTime)
	d.effRxTime = max(min(d.maxRxTime, d.remTxTime), connDefaultTime)
	return old != [4]uint16{d.effTxOctets, d.effTxTime, d.effRxOctets, d.effRxTime}
}

// wantsUpdate reports whether our transmit values differ from the
// defaults, so the procedure is worth starting when the connection opens.
func (d *dataLength) wantsUpdate() bool {
	return d.maxTxOctets != connDefaultOctets || d.maxTxTime != connDefaultTime
}

// fragSize is the largest LL data payload we may send: at most
// connEffectiveMaxTxOctets, and short enough that the packet (with MIC when
// encrypted) fits connEffectiveMaxTxTime on the 1M PHY, where a packet
// takes (10 + payload) × 8 µs.
func (d *dataLength) fragSize(encrypted bool) int {
	byTime := int(d.effTxTime)/8 - 10
	if encrypted {
		byTime -= pdu.MICLen
	}
	return max(1, min(int(d.effTxOctets), byTime))
}

// params returns our LL_LENGTH_REQ/RSP values.
func (d *dataLength) params() pdu.LengthParams {
	return pdu.LengthParams{MaxRxOctets: d.maxRxOctets, MaxRxTime: d.maxRxTime,
		MaxTxOctets: d.maxTxOctets, MaxTxTime: d.maxTxTime}
}

// setRemote stores the peer's values; values below the minimum are raised
// to it (§4.5.10: they are never below 27 octets and 328 µs).
func (d *dataLength) setRemote(l pdu.LengthParams) {
	d.remRxOctets = max(l.MaxRxOctets, connDefaultOctets)
	d.remRxTime = max(l.MaxRxTime, connDefaultTime)
	d.remTxOctets = max(l.MaxTxOctets, connDefaultOctets)
	d.remTxTime = max(l.MaxTxTime, connDefaultTime)
}

// startDataLength starts the Data Length Update procedure (§5.1.9). If the
// peer is known not to support it, the new local values still take effect
// as far as the peer's (default) receive values allow.
func (cn *conn) startDataLength(p *llProc) {
	if cn.dl.peerNoDLE || !cn.peerMaySupport(hci.LEFeatDataPacketLengthExtension) {
		cn.dataLengthChanged()
		return
	}
	cn.waitFor(p)
	cn.sendCtrlLazy(func() []byte { return pdu.BuildLengthReq(cn.dl.params()) }, nil)
}

// rxLengthReq answers the peer's LL_LENGTH_REQ with LL_LENGTH_RSP.
func (cn *conn) rxLengthReq(p []byte) {
	l, _ := pdu.ParseLength(p)
	cn.dl.setRemote(l)
	cn.sendCtrl(pdu.BuildLengthRsp(cn.dl.params()), nil)
	cn.dataLengthChanged()
}

// rxLengthRsp completes our Data Length Update procedure.
func (cn *conn) rxLengthRsp(p []byte) {
	cur := cn.procs.cur
	if cur == nil || cur.kind != procDataLength {
		cn.log.Debug("unsolicited LL_LENGTH_RSP ignored")
		return
	}
	l, _ := pdu.ParseLength(p)
	cn.dl.setRemote(l)
	cn.dataLengthChanged()
	cn.procFinish()
}

// dataLengthChanged recomputes the effective values and reports a change
// with LE Data Length Change (Vol 4 Part E §7.7.65.7).
func (cn *conn) dataLengthChanged() {
	if !cn.dl.recompute() {
		return
	}
	d := &cn.dl
	var w hci.Writer
	w.U16(cn.handle).U16(d.effTxOctets).U16(d.effTxTime).U16(d.effRxOctets).U16(d.effRxTime)
	cn.c.sendLEMeta(hci.LEDataLengthChange, w.B)
}
