package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/vhci/hci"
)

// initiator is the Initiating state (Core v5.4 Vol 6 Part B §4.4.4).
type initiator struct {
	active       bool
	scanInterval uint16 // × 0.625 ms
	scanWindow   uint16
	filterPolicy uint8
	peer         peerInfo
	ownAddrType  uint8
	intervalMin  uint16
	intervalMax  uint16
	latency      uint16
	timeout      uint16
	// connecting is set once the CONNECT_IND is on air: the advertiser may
	// already be connected, so the initiation can no longer be cancelled.
	connecting bool
}

// Transmit window the central offers in CONNECT_IND (Vol 6 Part B
// §4.5.3): 2 × 1.25 ms starting 1.25 ms after the CONNECT_IND.
const (
	connWinSize   = 2
	connWinOffset = 0
	// centralSCA is the sleep clock accuracy the central claims: 0..20 ppm.
	centralSCA = 7
)

// cmdCreateConnection is LE Create Connection (Vol 4 Part E §7.8.12).
func (c *Controller) cmdCreateConnection(p []byte) (hci.Status, func()) {
	if c.init.active {
		return hci.StatusCommandDisallowed, nil
	}
	r := hci.NewReader(p)
	in := initiator{
		scanInterval: r.U16(),
		scanWindow:   r.U16(),
		filterPolicy: r.U8(),
	}
	in.peer.addrType = r.U8()
	in.peer.addr = r.Addr()
	in.ownAddrType = r.U8()
	in.intervalMin = r.U16()
	in.intervalMax = r.U16()
	in.latency = r.U16()
	in.timeout = r.U16()
	_, _ = r.U16(), r.U16() // Min/Max_CE_Length: hints only
	switch {
	case !validScanTiming(in.scanInterval, in.scanWindow), in.filterPolicy > 1,
		in.peer.addrType > 3, in.ownAddrType > 3,
		in.intervalMin < 0x0006, in.intervalMax > 0x0C80, in.intervalMin > in.intervalMax,
		in.latency > 0x01F3,
		pdu.ValidateTimeout(in.intervalMax, in.latency, in.timeout) != nil:
		return hci.StatusInvalidParameters, nil
	}
	if in.ownAddrType&1 == 1 && c.randomAddr == (hci.BDAddr{}) {
		return hci.StatusInvalidParameters, nil
	}
	in.peer.addrType &= 1
	if in.filterPolicy == 0 {
		for _, cn := range c.conns {
			if cn.peerAddr() == in.peer {
				return hci.StatusACLConnectionAlreadyExists, nil
			}
		}
	}
	if len(c.conns) >= maxConnections {
		return hci.StatusConnectionLimitExceeded, nil
	}
	return hci.StatusSuccess, func() {
		in.active = true
		c.init = in
		c.rxUpdate()
	}
}

// cmdCreateConnectionCancel is LE Create Connection Cancel
// (Vol 4 Part E §7.8.13): the pending LE Connection Complete follows the
// Command Complete with Unknown Connection Identifier.
func (c *Controller) cmdCreateConnectionCancel(p []byte) []byte {
	if !c.init.active || c.init.connecting {
		return status(hci.StatusCommandDisallowed)
	}
	c.stopInitiating()
	c.sched.After(0, func() {
		c.sendConnectionComplete(hci.StatusUnknownConnectionID, 0, RoleCentral, peerInfo{}, connParams{})
	})
	return status(hci.StatusSuccess)
}

func (c *Controller) stopInitiating() {
	if !c.init.active {
		return
	}
	c.init.active = false
	if c.rx.busy {
		c.rxResume()
	}
	c.rxUpdate()
}

// initConsider answers a connectable advertising PDU from the peer we are
// initiating to with CONNECT_IND T_IFS later. It reports whether it did.
func (c *Controller) initConsider(p pdu.AdvPDU, rx *radio.Reception) bool {
	in := &c.init
	own, ownRand := c.ownAddress(in.ownAddrType)
	switch p.Type() {
	case pdu.TypeAdvInd:
	case pdu.TypeAdvDirectInd:
		if p.TargetA() != own || p.RxAdd() != ownRand {
			return false
		}
	default:
		return false
	}
	peer := peerInfo{addr: p.AdvA(), addrType: boolType(p.TxAdd())}
	if in.filterPolicy == 0 {
		if peer != in.peer {
			return false
		}
	} else if !c.onAcceptList(peer.addrType, peer.addr) {
		return false
	}
	rnd := c.sched.Rand()
	ll := connParams{
		AccessAddress: c.newAccessAddress(),
		CRCInit:       pdu.NewCRCInit(rnd),
		WinSize:       connWinSize,
		WinOffset:     connWinOffset,
		Interval:      in.intervalMin,
		Latency:       in.latency,
		Timeout:       in.timeout,
		ChM:           pdu.ChannelMap(c.hostChannel),
		Hop:           uint8(5 + rnd.IntN(12)),
		SCA:           centralSCA,
	}
	req := pdu.ConnectInd(own, ownRand, peer.addr, peer.addrType == 1, ll)
	st := &c.rx
	st.busy = true
	ch := rx.Channel
	st.xchg = c.sched.At(rx.End.Add(tIFS), func() {
		if !c.init.active || st.port == nil {
			return
		}
		st.port.Idle()
		end := st.port.Transmit(radio.Packet{Channel: ch, AccessAddress: pdu.AdvertisingAccessAddress, PDU: req})
		c.init.connecting = true
		st.xchg = c.sched.At(end, func() {
			st.xchg = nil
			if !c.init.active {
				return
			}
			c.stopInitiating()
			handle := c.allocHandle()
			c.log.Debug("CONNECT_IND sent", zap.Stringer("peer", peer.addr), zap.Uint16("handle", handle))
			c.sendConnectionComplete(hci.StatusSuccess, handle, RoleCentral, peer, ll)
			c.newConn(RoleCentral, handle, peer, ll, end)
		})
	})
	return true
}

// newAccessAddress draws the access address of a new connection: valid
// (Vol 6 Part B §2.1.2) and different from those of the controller's other
// connections, as pdu.NewAccessAddress leaves to its caller.
func (c *Controller) newAccessAddress() uint32 {
	for {
		aa := pdu.NewAccessAddress(c.sched.Rand())
		inUse := false
		for _, cn := range c.conns {
			if cn.aa == aa {
				inUse = true
				break
			}
		}
		if !inUse {
			return aa
		}
	}
}
