package linklayer

import (
	"encoding/binary"

	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Link layer timing and size constants of a connection (Core v5.4 Vol 6
// Part B §4.2.4, §4.5.10, §5.2). T_IFS (tIFS) is in adv.go.
const (
	// Data length limits for the LE 1M PHY (§4.5.10): the controller
	// supports the maximum in both directions.
	connDefaultOctets = 27
	connDefaultTime   = 328
	connMaxOctets     = 251
	connMaxTime       = 2120

	// procResponseTimeout is the LL procedure response timeout (§5.2).
	procResponseTimeout = 40 * sim.Second

	// jitter is the active clock jitter a receiver allows for (§4.2.4).
	jitter = 2 * sim.Microsecond
)

// conn is one LE connection, in either role (Core v5.4 Vol 6 Part B §4.5).
//
// It owns a radio port of its own, so the controller can advertise or scan
// while connected. All of its state is touched only on the simulation
// goroutine; every timer callback checks closed first.
type conn struct {
	c       *Controller
	log     *zap.Logger
	role    Role
	handle  uint16
	peer    peerInfo
	port    *radio.Port
	aa      uint32
	crcInit uint32 // for traces: the CRC a sniffer sees
	closed  bool

	// Connection parameters in use (§4.5.1).
	interval   uint16 // × 1.25 ms
	latency    uint16 // connPeripheralLatency
	timeout    uint16 // connSupervisionTimeout × 10 ms
	chm        pdu.ChannelMap
	csa        pdu.CSA1 // Channel Selection Algorithm #1 state
	csaEv      uint16   // event counter the next csa step belongs to
	centralSCA uint8

	ev    eventState
	arq   arqState
	dl    dataLength
	procs procState

	rssi int8 // RSSI of the last packet received (Read RSSI)

	// Supervision (§4.5.2).
	created     sim.Time // start of the first transmit window
	established bool     // a packet was received from the peer
	lastRx      sim.Time // end of the last valid packet from the peer
	svTimer     *sim.Timer

	// enc is LL encryption (§5.1.3, Vol 6 Part E; enc.go): the session
	// keys, whether the PDU path seals what it sends (enc.tx) and opens
	// what it receives (enc.rx), and the encryption procedure in progress.
	enc encState
}

// newConn creates a connection after a CONNECT_IND (Vol 6 Part B §4.5.3):
// for the central when its CONNECT_IND ended on air, for the peripheral when
// it received it; connectIndEnd is that end time. The first anchor point is
// in the transmit window that starts 1.25 ms + WinOffset × 1.25 ms after
// connectIndEnd and lasts WinSize × 1.25 ms. The caller sends LE
// (Enhanced) Connection Complete.
func (c *Controller) newConn(role Role, handle uint16, peer peerInfo, p connParams, connectIndEnd sim.Time) *conn {
	cn := &conn{
		c:          c,
		log:        c.log.With(zap.Uint16("handle", handle), zap.Stringer("role", role)),
		role:       role,
		handle:     handle,
		peer:       peer,
		aa:         p.AccessAddress,
		crcInit:    p.CRCInit,
		interval:   max(p.Interval, pdu.MinConnInterval),
		latency:    p.Latency,
		timeout:    max(p.Timeout, pdu.MinConnTimeout),
		chm:        pdu.ChannelMap(p.ChM),
		csa:        pdu.CSA1{Hop: p.Hop},
		centralSCA: p.SCA & 7,
	}
	if cn.chm.Count() < 2 {
		cn.log.Warn("CONNECT_IND channel map has fewer than two channels; using all", zap.Stringer("chm", cn.chm))
		cn.chm = pdu.AllChannels()
	}
	cn.dl = newDataLength(c.suggestedTxOctets, c.suggestedTxTime)
	cn.port = c.attachPort(cn)
	cn.initTimers()
	c.conns[handle] = cn

	winStart := connectIndEnd.Add(1250*sim.Microsecond + units1250(p.WinOffset))
	cn.created = winStart
	cn.lastRx = winStart
	cn.startTiming(winStart, units1250(uint16(max(p.WinSize, 1))), connectIndEnd)
	cn.svArm()
	if cn.dl.wantsUpdate() {
		cn.queueProc(&llProc{kind: procDataLength})
	}
	cn.log.Debug("connection created", zap.Stringer("first_window", winStart),
		zap.Uint16("interval", cn.interval), zap.Uint16("latency", cn.latency), zap.Uint16("timeout", cn.timeout))
	return cn
}

// peerAddr returns who the connection is with (LE Create Connection
// refuses a second connection to the same device).
func (cn *conn) peerAddr() peerInfo { return cn.peer }

// units1250 converts a count of 1.25 ms units to a duration.
func units1250(n uint16) sim.Duration { return sim.Duration(n) * 1250 * sim.Microsecond }

// intervalDur returns connInterval as a duration.
func (cn *conn) intervalDur() sim.Duration { return units1250(cn.interval) }

// drop removes the connection silently (HCI Reset, power off): timers
// stop, the port is detached, no events and no air traffic.
func (cn *conn) drop() {
	if cn.closed {
		return
	}
	cn.closed = true
	cn.ev.stopTimers()
	cn.svTimer.Stop()
	cn.procs.stopTimers()
	cn.port.Detach()
	if cn.c.conns[cn.handle] == cn {
		delete(cn.c.conns, cn.handle)
	}
}

// end closes the connection and tells the host with Disconnection Complete
// (Vol 4 Part E §7.7.5). Packets the host had queued are discarded: the
// host frees their buffers on Disconnection Complete.
func (cn *conn) end(reason hci.Status) {
	if cn.closed {
		return
	}
	cn.log.Info("connection ended", zap.Stringer("reason", reason))
	cn.flushCompleted()
	cn.drop()
	var w hci.Writer
	w.U8(0).U16(cn.handle).U8(uint8(reason))
	cn.c.sendEvent(hci.NewEvent(hci.EvtDisconnectionComplete, w.B))
}

// setPosition moves the connection's antenna with the controller.
func (cn *conn) setPosition(p radio.Position) {
	if !cn.closed {
		cn.port.SetPosition(p)
	}
}

// hostChannelsChanged reacts to LE Set Host Channel Classification: a
// central starts the Channel Map Update procedure (§5.1.2) with the host's
// map; a peripheral cannot change the map and ignores it.
func (cn *conn) hostChannelsChanged() {
	if cn.closed || cn.role != RoleCentral {
		return
	}
	for _, p := range cn.procs.queue {
		if p.kind == procChannelMap {
			return // it reads c.hostChannel when it starts
		}
	}
	cn.queueProc(&llProc{kind: procChannelMap})
}

// channel returns the data channel of connection event ev with Channel
// Selection Algorithm #1 (§4.5.8.2). lastUnmappedChannel advances once per
// event, also for events that are skipped or missed, so events between the
// previous call and ev are stepped over.
func (cn *conn) channel(ev uint16) radio.Channel {
	skip := uint(ev - cn.csaEv) // events since the last step
	cn.csa.LastUnmapped = uint8((uint(cn.csa.LastUnmapped) + skip*uint(cn.csa.Hop)) % pdu.NumDataChannels)
	cn.csaEv = ev + 1
	return radio.Channel(cn.csa.Next(cn.chm))
}

// scaPPM returns the worst-case drift of a sleep clock accuracy value
// (§4.2.2, Table 4.2).
func scaPPM(sca uint8) int64 {
	return [8]int64{500, 250, 150, 100, 75, 50, 30, 20}[sca&7]
}

// widening returns the peripheral's window widening after since without
// an anchor (§4.2.4): (centralSCA + peripheralSCA) × since, plus the
// active clock jitter, at most connInterval/2 − T_IFS.
func (cn *conn) widening(since sim.Duration) sim.Duration {
	if since < 0 {
		since = 0
	}
	// Our own clock is the one a central advertises in CONNECT_IND.
	ppm := scaPPM(cn.centralSCA) + scaPPM(centralSCA)
	w := sim.Duration((int64(since)*ppm+999_999)/1_000_000) + jitter
	if lim := cn.intervalDur()/2 - tIFS; w > lim {
		w = lim
	}
	return w
}

// svArm (re)starts the supervision timer at its current deadline (§4.5.2):
// 6 × connInterval after the first transmit window until a packet has been
// received, connSupervisionTimeout after the last valid packet afterwards.
func (cn *conn) svArm() {
	cn.svTimer.Stop()
	if cn.closed {
		return
	}
	cn.svTimer.Reset(cn.svDeadline())
}

func (cn *conn) svDeadline() sim.Time {
	if !cn.established {
		return cn.created.Add(6 * cn.intervalDur())
	}
	return cn.lastRx.Add(sim.Duration(cn.timeout) * 10 * sim.Millisecond)
}

func (cn *conn) svCheck() {
	if cn.closed {
		return
	}
	if d := cn.svDeadline(); cn.c.sched.Now() < d {
		cn.svTimer.Reset(d)
		return
	}
	if !cn.established {
		cn.log.Info("connection failed to be established")
		cn.end(hci.StatusConnectionFailedToEstablish)
		return
	}
	cn.log.Info("supervision timeout", zap.Stringer("last_rx", cn.lastRx))
	if cn.arq.terminating {
		cn.end(cn.arq.termLocal)
		return
	}
	cn.end(hci.StatusConnectionTimeout)
}

// rxValid notes a valid packet from the peer for supervision and RSSI.
func (cn *conn) rxValid(rx *radio.Reception) {
	cn.lastRx = rx.End
	cn.rssi = rx.RSSI()
	if !cn.established {
		cn.established = true
		cn.log.Debug("connection established", zap.Stringer("at", rx.Start))
		cn.svArm()
	}
}

// flushCompleted reports the host packets sent and acknowledged since the
// last report with Number Of Completed Packets (Vol 4 Part E §7.7.19).
func (cn *conn) flushCompleted() {
	n := cn.arq.completed
	if n == 0 {
		return
	}
	cn.arq.completed = 0
	p := make([]byte, 5)
	p[0] = 1
	binary.LittleEndian.PutUint16(p[1:], cn.handle)
	binary.LittleEndian.PutUint16(p[3:], uint16(n))
	cn.c.sendEvent(hci.NewEvent(hci.EvtNumberOfCompletedPackets, p))
}
