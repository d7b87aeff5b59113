package linklayer

import (
	"encoding/binary"

	"blesim/vhci/hci"
)

// connHandlers are the HCI commands about connections (Vol 4 Part E §7),
// encryption included (enc_hci.go). LE Ping (Read/Write Authenticated
// Payload Timeout) is not implemented, so those commands have no handler and
// their supported-command bits are clear.
func connHandlers() []handler {
	return append([]handler{
		{op: hci.OpDisconnect, plen: 3, async: (*Controller).cmdDisconnect},
		{op: hci.OpReadRemoteVersionInfo, plen: 2, async: (*Controller).cmdReadRemoteVersion},
		{op: hci.OpReadTransmitPowerLevel, plen: 3, sync: (*Controller).cmdReadTxPower},
		{op: hci.OpReadRSSI, plen: 2, sync: (*Controller).cmdReadRSSI},
		{op: hci.OpLEConnectionUpdate, plen: 14, async: (*Controller).cmdConnectionUpdate},
		{op: hci.OpLEReadChannelMap, plen: 2, sync: (*Controller).cmdReadChannelMap},
		{op: hci.OpLEReadRemoteFeatures, plen: 2, async: (*Controller).cmdReadRemoteFeatures},
		{op: hci.OpLERemoteConnParamReqReply, plen: 14, sync: (*Controller).cmdConnParamReply},
		{op: hci.OpLERemoteConnParamReqNegReply, plen: 3, sync: (*Controller).cmdConnParamNegReply},
		{op: hci.OpLESetDataLength, plen: 6, sync: (*Controller).cmdSetDataLength},
		{op: hci.OpLEReadSuggestedDefaultDataLen, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U16(c.suggestedTxOctets).U16(c.suggestedTxTime)
			return w.B
		}},
		{op: hci.OpLEWriteSuggestedDefaultDataLen, plen: 4, sync: (*Controller).cmdWriteSuggestedDataLength},
		{op: hci.OpLEReadMaximumDataLength, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U16(connMaxOctets).U16(connMaxTime).U16(connMaxOctets).U16(connMaxTime)
			return w.B
		}},
	}, encHandlers()...)
}

// liveConn returns the open connection with handle h.
func (c *Controller) liveConn(h uint16) *conn {
	cn := c.conns[h&0x0FFF]
	if cn == nil || cn.closed {
		return nil
	}
	return cn
}

// handleStatus returns a status followed by a connection handle, the
// return parameters of most connection commands.
func handleStatus(st hci.Status, h uint16) []byte {
	var w hci.Writer
	w.U8(uint8(st)).U16(h)
	return w.B
}

// cmdDisconnect is HCI Disconnect (§7.1.6): the reason must be one the
// specification lists; the LL sends it in LL_TERMINATE_IND.
func (c *Controller) cmdDisconnect(p []byte) (hci.Status, func()) {
	cn := c.liveConn(binary.LittleEndian.Uint16(p))
	if cn == nil {
		return hci.StatusUnknownConnectionID, nil
	}
	reason := hci.Status(p[2])
	switch reason {
	case hci.StatusAuthenticationFailure, hci.StatusRemoteUserTerminated, hci.StatusRemoteLowResources,
		hci.StatusRemotePowerOff, hci.StatusUnsupportedRemoteFeature, 0x29, hci.StatusUnacceptableConnectionParams:
	default:
		return hci.StatusInvalidParameters, nil
	}
	if cn.arq.terminating || cn.arq.termRx {
		return hci.StatusCommandDisallowed, nil
	}
	return hci.StatusSuccess, func() { cn.terminate(reason, hci.StatusLocalHostTerminated) }
}

// cmdReadRemoteVersion is Read Remote Version Information (§7.1.23): the
// answer comes from the cache when the peer's LL_VERSION_IND is known.
func (c *Controller) cmdReadRemoteVersion(p []byte) (hci.Status, func()) {
	cn := c.liveConn(binary.LittleEndian.Uint16(p))
	if cn == nil {
		return hci.StatusUnknownConnectionID, nil
	}
	if cn.procs.hasHostProc(procVersion) || cn.arq.terminating {
		return hci.StatusCommandDisallowed, nil
	}
	return hci.StatusSuccess, func() { cn.queueProc(&llProc{kind: procVersion, host: true}) }
}

// cmdReadRemoteFeatures is LE Read Remote Features (§7.8.21).
func (c *Controller) cmdReadRemoteFeatures(p []byte) (hci.Status, func()) {
	cn := c.liveConn(binary.LittleEndian.Uint16(p))
	if cn == nil {
		return hci.StatusUnknownConnectionID, nil
	}
	if cn.procs.hasHostProc(procFeature) || cn.arq.terminating {
		return hci.StatusCommandDisallowed, nil
	}
	return hci.StatusSuccess, func() { cn.queueProc(&llProc{kind: procFeature, host: true}) }
}

// cmdConnectionUpdate is LE Connection Update (§7.8.18), from either
// role's host: Connection Parameters Request where the peer supports it,
// otherwise (central) Connection Update.
func (c *Controller) cmdConnectionUpdate(p []byte) (hci.Status, func()) {
	r := hci.NewReader(p)
	h := r.U16()
	u := hostUpdate{intervalMin: r.U16(), intervalMax: r.U16(), latency: r.U16(), timeout: r.U16()}
	minCE, maxCE := r.U16(), r.U16()
	cn := c.liveConn(h)
	if cn == nil {
		return hci.StatusUnknownConnectionID, nil
	}
	if !validConnParams(u.intervalMin, u.intervalMax, u.latency, u.timeout) || minCE > maxCE {
		return hci.StatusInvalidParameters, nil
	}
	pending := cn.procs.hasHostProc(procConnParam, procConnUpdate) || (cn.procs.upd != nil && cn.procs.upd.host)
	if pending || cn.arq.terminating {
		return hci.StatusCommandDisallowed, nil
	}
	return hci.StatusSuccess, func() { cn.queueProc(&llProc{kind: procConnParam, host: true, upd: u}) }
}

// cmdReadChannelMap is LE Read Channel Map (§7.8.20).
func (c *Controller) cmdReadChannelMap(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn := c.liveConn(h)
	if cn == nil {
		return append(handleStatus(hci.StatusUnknownConnectionID, h), 0, 0, 0, 0, 0)
	}
	return append(handleStatus(hci.StatusSuccess, h), cn.chm[:]...)
}

// cmdReadRSSI is Read RSSI (§7.5.4): the RSSI of the last packet received
// on the connection.
func (c *Controller) cmdReadRSSI(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn := c.liveConn(h)
	if cn == nil {
		return append(handleStatus(hci.StatusUnknownConnectionID, h), 0)
	}
	return append(handleStatus(hci.StatusSuccess, h), byte(cn.rssi))
}

// cmdReadTxPower is Read Transmit Power Level (§7.3.35): type 0 current,
// 1 maximum; both are the configured power.
func (c *Controller) cmdReadTxPower(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn := c.liveConn(h)
	switch {
	case cn == nil:
		return append(handleStatus(hci.StatusUnknownConnectionID, h), 0)
	case p[2] > 1:
		return append(handleStatus(hci.StatusInvalidParameters, h), 0)
	}
	return append(handleStatus(hci.StatusSuccess, h), byte(c.cfg.TxPower))
}

// cmdConnParamReply is LE Remote Connection Parameter Request Reply
// (§7.8.31): the host accepts the peer's request with these values.
func (c *Controller) cmdConnParamReply(p []byte) []byte {
	r := hci.NewReader(p)
	h := r.U16()
	u := hostUpdate{intervalMin: r.U16(), intervalMax: r.U16(), latency: r.U16(), timeout: r.U16()}
	minCE, maxCE := r.U16(), r.U16()
	cn := c.liveConn(h)
	switch {
	case cn == nil:
		return handleStatus(hci.StatusUnknownConnectionID, h)
	case cn.procs.remoteCPR == nil:
		return handleStatus(hci.StatusCommandDisallowed, h)
	case !validConnParams(u.intervalMin, u.intervalMax, u.latency, u.timeout) || minCE > maxCE:
		return handleStatus(hci.StatusInvalidParameters, h)
	}
	cn.acceptCPR(u)
	return handleStatus(hci.StatusSuccess, h)
}

// cmdConnParamNegReply is LE Remote Connection Parameter Request Negative
// Reply (§7.8.32): LL_REJECT_EXT_IND with the host's reason.
func (c *Controller) cmdConnParamNegReply(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn := c.liveConn(h)
	switch {
	case cn == nil:
		return handleStatus(hci.StatusUnknownConnectionID, h)
	case cn.procs.remoteCPR == nil:
		return handleStatus(hci.StatusCommandDisallowed, h)
	case p[2] == 0:
		return handleStatus(hci.StatusInvalidParameters, h)
	}
	cn.rejectCPR(hci.Status(p[2]))
	return handleStatus(hci.StatusSuccess, h)
}

// validDataLength checks TxOctets 0x001B..0x00FB and TxTime 0x0148..0x4290
// (§7.8.33, §7.8.35).
func validDataLength(octets, time uint16) bool {
	return octets >= 0x001B && octets <= 0x00FB && time >= 0x0148 && time <= 0x4290
}

// cmdSetDataLength is LE Set Data Length (§7.8.33): new connMaxTxOctets and
// connMaxTxTime (the time capped to what the 1M PHY needs), then the Data
// Length Update procedure.
func (c *Controller) cmdSetDataLength(p []byte) []byte {
	r := hci.NewReader(p)
	h, octets, time := r.U16(), r.U16(), r.U16()
	cn := c.liveConn(h)
	switch {
	case cn == nil:
		return handleStatus(hci.StatusUnknownConnectionID, h)
	case !validDataLength(octets, time):
		return handleStatus(hci.StatusInvalidParameters, h)
	}
	cn.dl.maxTxOctets = octets
	cn.dl.maxTxTime = min(time, connMaxTime)
	queued := false
	for _, q := range cn.procs.queue {
		queued = queued || q.kind == procDataLength
	}
	if !queued {
		cn.queueProc(&llProc{kind: procDataLength})
	}
	return handleStatus(hci.StatusSuccess, h)
}

// cmdWriteSuggestedDataLength is LE Write Suggested Default Data Length
// (§7.8.35): the transmit values new connections start with.
func (c *Controller) cmdWriteSuggestedDataLength(p []byte) []byte {
	octets, time := binary.LittleEndian.Uint16(p), binary.LittleEndian.Uint16(p[2:])
	if !validDataLength(octets, time) {
		return status(hci.StatusInvalidParameters)
	}
	c.suggestedTxOctets, c.suggestedTxTime = octets, time
	return status(hci.StatusSuccess)
}
