package linklayer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Tests of the Initiating state (Core v5.4 Vol 6 Part B §4.4.4) and LE
// Create Connection / Cancel (Vol 4 Part E §7.8.12, §7.8.13).

// createConnCmd is LE Create Connection's parameters.
type createConnCmd struct {
	scanInterval, scanWindow uint16
	fpol, peerType           uint8
	peer                     hci.BDAddr
	own                      uint8
	intMin, intMax           uint16
	latency, timeout         uint16
	minCE, maxCE             uint16
}

func (c createConnCmd) bytes() []byte {
	return params(c.scanInterval, c.scanWindow, c.fpol, c.peerType, c.peer, c.own,
		c.intMin, c.intMax, c.latency, c.timeout, c.minCE, c.maxCE)
}

// defaultCreate scans continuously and asks for a 30–50 ms connection
// with a 2 s supervision timeout.
func defaultCreate(peer hci.BDAddr, peerType uint8) createConnCmd {
	return createConnCmd{scanInterval: 0x10, scanWindow: 0x10, peerType: peerType, peer: peer,
		intMin: 24, intMax: 40, latency: 0, timeout: 200}
}

func createConn(peer hci.BDAddr, peerType uint8) []byte { return defaultCreate(peer, peerType).bytes() }

// connComplete is a decoded LE (Enhanced) Connection Complete.
type connComplete struct {
	status                     hci.Status
	handle                     uint16
	role                       Role
	peerType                   uint8
	peer                       hci.BDAddr
	localRPA, peerRPA          hci.BDAddr
	interval, latency, timeout uint16
	cca                        uint8
}

func decodeConnComplete(t testing.TB, p []byte, enhanced bool) connComplete {
	t.Helper()
	r := hci.NewReader(p)
	c := connComplete{status: hci.Status(r.U8()), handle: r.U16(), role: Role(r.U8()), peerType: r.U8(), peer: r.Addr()}
	if enhanced {
		c.localRPA, c.peerRPA = r.Addr(), r.Addr()
	}
	c.interval, c.latency, c.timeout, c.cca = r.U16(), r.U16(), r.U16(), r.U8()
	require.NoError(t, r.Exact(), "connection complete % x", p)
	return c
}

func (h *testHost) connCompletes() []connComplete {
	h.t.Helper()
	var out []connComplete
	for _, p := range h.pkts {
		if hci.PacketType(p[0]) != hci.EventPacket {
			continue
		}
		e := hci.Event(p[1:])
		switch e.Subevent() {
		case hci.LEConnectionComplete:
			out = append(out, decodeConnComplete(h.t, e.Params()[1:], false))
		case hci.LEEnhancedConnectionComplete:
			out = append(out, decodeConnComplete(h.t, e.Params()[1:], true))
		}
	}
	return out
}

// TestLL_CON_INI_BV_01_C_Connect runs LE Create Connection against a real
// advertising controller: Command Status first, then a CONNECT_IND T_IFS
// after one of the advertiser's PDUs, on its channel, with valid LLData
// from the host's parameters, then LE Connection Complete on both sides
// with matching parameters and opposite roles (LL/CON/INI/BV-01-C,
// LL/CON/ADV/BV-01-C), and the connection is established.
func TestLL_CON_INI_BV_01_C_Connect(t *testing.T) {
	for _, tc := range []struct {
		name       string
		advType    uint8
		advOwn     uint8 // advertiser's own address type
		iniOwn     uint8 // initiator's own address type
		intMin     uint16
		intMax     uint16
		latency    uint16
		timeout    uint16
		scanWindow uint16
		enhanced   bool
	}{
		{"public both", advTypeInd, 0, 0, 24, 40, 0, 200, 0x10, false},
		{"random advertiser", advTypeInd, 1, 0, 6, 6, 0, 10, 0x10, false},
		{"random initiator", advTypeInd, 0, 1, 80, 100, 4, 500, 0x10, false},
		{"both random", advTypeInd, 1, 1, 3200, 3200, 0, 3200, 0x10, false},
		{"high duty directed to the initiator", advTypeDirectHigh, 0, 0, 24, 24, 0, 100, 0x10, false},
		{"low duty directed to the random initiator", advTypeDirectLowDuty, 1, 1, 24, 24, 0, 100, 0x10, false},
		{"scan window 1/4 of interval", advTypeInd, 0, 0, 24, 40, 0, 200, 0x04, false},
		{"enhanced connection complete", advTypeInd, 1, 0, 24, 40, 1, 200, 0x10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 21)
			cen := b.dev("central", centralAddr, radio.Position{})
			per := b.dev("peripheral", peripheralAddr, radio.Position{X: 3})
			randomCen := hci.BDAddr{0x10, 0x20, 0x30, 0x40, 0x50, 0xD0}
			randomPer := hci.BDAddr{0x11, 0x21, 0x31, 0x41, 0x51, 0xD1}
			cen.ok(hci.OpLESetRandomAddress, randomCen[:])
			per.ok(hci.OpLESetRandomAddress, randomPer[:])
			if tc.enhanced {
				for _, h := range []*testHost{cen, per} {
					h.ok(hci.OpLESetEventMask, u64(0x1F|1<<9))
				}
			}
			cenA, perA := centralAddr, peripheralAddr
			if tc.iniOwn == 1 {
				cenA = randomCen
			}
			if tc.advOwn == 1 {
				perA = randomPer
			}
			ap := advParamsCmd{min: 0x20, max: 0x30, typ: tc.advType, own: tc.advOwn,
				peerType: tc.iniOwn, peer: cenA, chMap: 7}
			per.startAdv(ap, []byte{2, 1, 6}, nil)
			b.run(35 * sim.Millisecond)

			cc := createConnCmd{scanInterval: 0x10, scanWindow: tc.scanWindow, peerType: tc.advOwn, peer: perA,
				own: tc.iniOwn, intMin: tc.intMin, intMax: tc.intMax, latency: tc.latency, timeout: tc.timeout}
			e := cen.do(hci.OpLECreateConnection, cc.bytes())
			require.Equal(t, hci.EvtCommandStatus, e.Code())
			require.Equal(t, hci.StatusSuccess, hci.CommandStatus(e.Params()).Status())
			require.EqualValues(t, 1, hci.CommandStatus(e.Params()).NumPackets())
			require.Equal(t, hci.EvtCommandStatus, hci.Event(cen.pkts[len(cen.pkts)-1][1:]).Code(),
				"nothing may follow the Command Status synchronously")
			created := b.s.Now()
			b.runUntil(3*sim.Second, func() bool {
				return len(cen.connCompletes()) == 1 && len(per.connCompletes()) == 1
			}, "connection complete")

			// The CONNECT_IND on air.
			inds := b.sent(created, pdu.TypeConnectInd, cenA)
			require.Len(t, inds, 1)
			ind := inds[0]
			require.Equal(t, perA, ind.pdu.AdvA())
			require.Equal(t, tc.iniOwn == 1, ind.pdu.TxAdd())
			require.Equal(t, tc.advOwn == 1, ind.pdu.RxAdd())
			ll, err := ind.pdu.LLData()
			require.NoError(t, err)
			require.NoError(t, ll.Validate())
			require.True(t, pdu.ValidAccessAddress(ll.AccessAddress), "AA %#x", ll.AccessAddress)
			require.GreaterOrEqual(t, ll.Interval, tc.intMin)
			require.LessOrEqual(t, ll.Interval, tc.intMax)
			require.Equal(t, tc.latency, ll.Latency)
			require.Equal(t, tc.timeout, ll.Timeout)
			require.Equal(t, pdu.AllChannels(), ll.ChM)
			// T_IFS after an advertising PDU of the peer, on its channel.
			var advPDU *advPkt
			for i := range b.air {
				a := &b.air[i]
				if a.end.Add(tIFS) == ind.start && a.pdu.AdvA() == perA {
					advPDU = a
				}
			}
			require.NotNil(t, advPDU, "CONNECT_IND not T_IFS after an advertising PDU")
			require.Equal(t, advPDU.ch, ind.ch)
			require.Equal(t, pduTypeFor(tc.advType), advPDU.pdu.Type())

			c, p := cen.connCompletes()[0], per.connCompletes()[0]
			for _, x := range []connComplete{c, p} {
				require.Equal(t, hci.StatusSuccess, x.status)
				require.Equal(t, ll.Interval, x.interval)
				require.Equal(t, ll.Latency, x.latency)
				require.Equal(t, ll.Timeout, x.timeout)
				require.Zero(t, x.localRPA)
				require.Zero(t, x.peerRPA)
			}
			require.Equal(t, RoleCentral, c.role)
			require.Equal(t, perA, c.peer)
			require.Equal(t, tc.advOwn, c.peerType)
			require.Zero(t, c.cca, "Central_Clock_Accuracy is 0 on the central")
			require.Equal(t, RolePeripheral, p.role)
			require.Equal(t, cenA, p.peer)
			require.Equal(t, tc.iniOwn, p.peerType)
			require.Equal(t, ll.SCA, p.cca)
			require.Equal(t, tc.enhanced, len(cen.leMeta(hci.LEEnhancedConnectionComplete)) == 1)
			require.Equal(t, tc.enhanced, len(per.leMeta(hci.LEEnhancedConnectionComplete)) == 1)

			// The peripheral stopped advertising; the central is no longer
			// initiating; the connection gets established.
			require.Empty(t, b.sent(ind.end, pduTypeFor(tc.advType), perA))
			require.False(t, cen.c.init.active)
			b.runUntil(20*sim.Duration(ll.Interval)*1250, func() bool {
				cc, pc := cen.c.liveConn(c.handle), per.c.liveConn(p.handle)
				return cc != nil && pc != nil && cc.established && pc.established
			}, "established")
			// The next LE Create Connection to the same device is refused.
			require.Equal(t, hci.StatusACLConnectionAlreadyExists, cen.st(hci.OpLECreateConnection, cc.bytes()))
		})
	}
}

// TestLL_CON_INI_IgnoresOtherPDUs: the initiator sends CONNECT_IND only to
// a connectable PDU from the peer it was given: not to ADV_SCAN_IND,
// ADV_NONCONN_IND, ADV_DIRECT_IND aimed at someone else, or other devices.
func TestLL_CON_INI_IgnoresOtherPDUs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       pdu.AdvPDU
		connect bool
	}{
		{"ADV_IND from the peer", mustAdv(pdu.AdvInd(addrLT, false, nil)), true},
		{"ADV_IND from the peer, random", mustAdv(pdu.AdvInd(addrLT, true, nil)), false},
		{"ADV_IND from another device", mustAdv(pdu.AdvInd(addrB, false, nil)), false},
		{"ADV_SCAN_IND from the peer", mustAdv(pdu.AdvScanInd(addrLT, false, nil)), false},
		{"ADV_NONCONN_IND from the peer", mustAdv(pdu.AdvNonconnInd(addrLT, false, nil)), false},
		{"ADV_DIRECT_IND to us", pdu.AdvDirectInd(addrLT, false, centralAddr, false), true},
		{"ADV_DIRECT_IND to us, wrong RxAdd", pdu.AdvDirectInd(addrLT, false, centralAddr, true), false},
		{"ADV_DIRECT_IND to another", pdu.AdvDirectInd(addrLT, false, addrC, false), false},
		{"SCAN_RSP from the peer", mustAdv(pdu.ScanRsp(addrLT, false, nil)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 3)
			cen := b.dev("central", centralAddr, radio.Position{})
			lt := b.lowerTester(radio.Position{X: 1})
			lt.listen(37)
			cen.ok(hci.OpLECreateConnection, createConn(addrLT, 0))
			for i := range 30 {
				for ch := radio.Channel(37); ch <= 39; ch++ {
					lt.sendAt(b.s.Now().Add(sim.Duration(i)*10*sim.Millisecond+sim.Duration(ch-37)*sim.Millisecond), ch, tc.p)
				}
			}
			b.run(400 * sim.Millisecond)
			inds := b.sent(0, pdu.TypeConnectInd, centralAddr)
			if !tc.connect {
				require.Empty(t, inds)
				require.Empty(t, cen.connCompletes())
				require.True(t, cen.c.init.active)
				return
			}
			require.Len(t, inds, 1)
			require.Equal(t, addrLT, inds[0].pdu.AdvA())
			require.Len(t, cen.connCompletes(), 1)
		})
	}
}

func mustAdv(p pdu.AdvPDU, err error) pdu.AdvPDU {
	if err != nil {
		panic(err)
	}
	return p
}

// TestLL_CON_INI_FilterPolicy: with Initiator_Filter_Policy 1 the peer
// address parameters are ignored and the initiator connects to the first
// connectable advertiser on the Filter Accept List (Vol 6 Part B §4.3.3).
func TestLL_CON_INI_FilterPolicy(t *testing.T) {
	b := newBed(t, 9)
	cen := b.dev("central", centralAddr, radio.Position{})
	advB := b.dev("B", addrB, radio.Position{X: 1})
	advC := b.dev("C", addrC, radio.Position{X: -1})
	advB.startAdv(adv20(advTypeInd), nil, nil)
	advC.startAdv(adv20(advTypeInd), nil, nil)
	cen.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(0), addrC))
	cc := defaultCreate(addrB, 0) // ignored
	cc.fpol = 1
	cen.ok(hci.OpLECreateConnection, cc.bytes())
	b.runUntil(sim.Second, func() bool { return len(cen.connCompletes()) == 1 }, "connection")
	require.Equal(t, addrC, cen.connCompletes()[0].peer)
	require.Len(t, advC.connCompletes(), 1)
	require.Empty(t, advB.connCompletes())
	for _, a := range b.sent(0, pdu.TypeConnectInd, centralAddr) {
		require.Equal(t, addrC, a.pdu.AdvA())
	}
}

// TestHCICreateConnectionCancel: LE Create Connection Cancel answers with
// Command Complete, then LE Connection Complete with Unknown Connection
// Identifier (0x02) follows; nothing is sent on air afterwards; a Cancel
// without a pending Create Connection is Command Disallowed (§7.8.13).
func TestHCICreateConnectionCancel(t *testing.T) {
	for _, enhanced := range []bool{false, true} {
		t.Run(fmt.Sprintf("enhanced=%v", enhanced), func(t *testing.T) {
			b := newBed(t, 4)
			cen := b.dev("central", centralAddr, radio.Position{})
			if enhanced {
				cen.ok(hci.OpLESetEventMask, u64(0x1F|1<<9))
			}
			require.Equal(t, hci.StatusCommandDisallowed, cen.st(hci.OpLECreateConnectionCancel, nil))
			cen.ok(hci.OpLECreateConnection, createConn(addrB, 0))
			b.run(100 * sim.Millisecond)
			require.Empty(t, cen.connCompletes())
			n := len(cen.pkts)
			cen.ok(hci.OpLECreateConnectionCancel, nil)
			require.Len(t, cen.pkts, n+1, "Command Complete comes alone, first")
			b.run(10 * sim.Millisecond)
			ccs := cen.connCompletes()
			require.Len(t, ccs, 1)
			require.Equal(t, hci.StatusUnknownConnectionID, ccs[0].status)
			require.Equal(t, enhanced, len(cen.leMeta(hci.LEEnhancedConnectionComplete)) == 1)
			require.False(t, cen.c.init.active)
			require.Equal(t, hci.StatusCommandDisallowed, cen.st(hci.OpLECreateConnectionCancel, nil))
			// The advertiser shows up later: no CONNECT_IND.
			adv := b.dev("B", addrB, radio.Position{X: 1})
			adv.startAdv(adv20(advTypeInd), nil, nil)
			b.run(500 * sim.Millisecond)
			require.Empty(t, b.sent(0, pdu.TypeConnectInd, centralAddr))
			require.Empty(t, adv.connCompletes())
			require.Nil(t, cen.c.rx.port, "the receiver is off")
		})
	}
}

// TestHCICreateConnectionCommandStatus covers the other Command Status
// answers of LE Create Connection (§7.8.12): a second one while one is
// pending is Command Disallowed, each parameter out of range is Invalid
// HCI Command Parameters, a random own address needs LE Set Random Address.
func TestHCICreateConnectionCommandStatus(t *testing.T) {
	ok := defaultCreate(addrB, 0)
	mod := func(f func(c *createConnCmd)) createConnCmd { c := ok; f(&c); return c }
	for _, tc := range []struct {
		name string
		c    createConnCmd
		want hci.Status
	}{
		{"valid", ok, hci.StatusSuccess},
		{"scan interval too small", mod(func(c *createConnCmd) { c.scanInterval, c.scanWindow = 3, 3 }), hci.StatusInvalidParameters},
		{"scan interval too large", mod(func(c *createConnCmd) { c.scanInterval = 0x4001 }), hci.StatusInvalidParameters},
		{"window > interval", mod(func(c *createConnCmd) { c.scanInterval, c.scanWindow = 0x10, 0x11 }), hci.StatusInvalidParameters},
		{"filter policy 2", mod(func(c *createConnCmd) { c.fpol = 2 }), hci.StatusInvalidParameters},
		{"peer type 4", mod(func(c *createConnCmd) { c.peerType = 4 }), hci.StatusInvalidParameters},
		{"own type 4", mod(func(c *createConnCmd) { c.own = 4 }), hci.StatusInvalidParameters},
		{"own random unset", mod(func(c *createConnCmd) { c.own = 1 }), hci.StatusInvalidParameters},
		{"interval min 5", mod(func(c *createConnCmd) { c.intMin = 5 }), hci.StatusInvalidParameters},
		{"interval max 0x0C81", mod(func(c *createConnCmd) { c.intMax, c.timeout = 0x0C81, 3200 }), hci.StatusInvalidParameters},
		{"interval min > max", mod(func(c *createConnCmd) { c.intMin, c.intMax = 40, 24 }), hci.StatusInvalidParameters},
		{"latency 500", mod(func(c *createConnCmd) { c.latency = 500 }), hci.StatusInvalidParameters},
		{"timeout 9", mod(func(c *createConnCmd) { c.timeout = 9 }), hci.StatusInvalidParameters},
		{"timeout 3201", mod(func(c *createConnCmd) { c.timeout = 3201 }), hci.StatusInvalidParameters},
		{"timeout just valid for max interval", mod(func(c *createConnCmd) { c.intMax, c.timeout = 40, 11 }), hci.StatusSuccess},
		{"timeout too short for max interval", mod(func(c *createConnCmd) { c.intMax, c.timeout = 40, 10 }), hci.StatusInvalidParameters},
		{"timeout too short with latency", mod(func(c *createConnCmd) { c.latency, c.timeout = 9, 100 }), hci.StatusInvalidParameters},
		{"limits", mod(func(c *createConnCmd) { c.intMin, c.intMax, c.latency, c.timeout = 6, 3200, 0, 3200 }), hci.StatusSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("central", centralAddr, radio.Position{})
			e := h.do(hci.OpLECreateConnection, tc.c.bytes())
			require.Equal(t, hci.EvtCommandStatus, e.Code())
			require.Equal(t, tc.want, hci.CommandStatus(e.Params()).Status())
			require.Equal(t, tc.want == hci.StatusSuccess, h.c.init.active)
			b.run(50 * sim.Millisecond)
			require.Empty(t, h.connCompletes(), "no LE Connection Complete after a failed Command Status")
			if tc.want == hci.StatusSuccess {
				require.Equal(t, hci.StatusCommandDisallowed, h.st(hci.OpLECreateConnection, tc.c.bytes()))
			}
		})
	}
	t.Run("connection limit", func(t *testing.T) {
		b := newBed(t, 1)
		h := b.dev("central", centralAddr, radio.Position{})
		for i := range maxConnections {
			h.c.newConn(RoleCentral, h.c.allocHandle(), peerInfo{addr: hci.BDAddr{byte(i + 1)}}, testLLData(), b.s.Now())
		}
		require.Equal(t, hci.StatusConnectionLimitExceeded, h.st(hci.OpLECreateConnection, createConn(addrB, 0)))
	})
}

// TestLL_CON_INI_CancelRace cancels (and restarts) initiating in the
// T_IFS between the peer's ADV_IND and the CONNECT_IND it triggered: the
// old CONNECT_IND must not go out, and the restarted initiation must use
// its own parameters.
func TestLL_CON_INI_CancelRace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool
	}{{"cancel", false}, {"cancel and create again", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 5)
			cen := b.dev("central", centralAddr, radio.Position{})
			lt := b.lowerTester(radio.Position{X: 1})
			cen.ok(hci.OpLECreateConnection, createConn(addrLT, 0))
			b.run(sim.Millisecond)
			ch, _, listening := cen.c.rx.port.Listening()
			require.True(t, listening)
			ind := mustAdv(pdu.AdvInd(addrLT, false, nil))
			at := b.s.Now()
			lt.sendAt(at, ch, ind)
			advEnd := at.Add(radio.AirTime(len(ind)))
			second := defaultCreate(addrLT, 0)
			second.intMin, second.intMax = 100, 100
			b.s.At(advEnd.Add(50*sim.Microsecond), func() {
				require.True(t, cen.c.rx.busy, "the CONNECT_IND is scheduled")
				cen.ok(hci.OpLECreateConnectionCancel, nil)
				if tc.restart {
					cen.ok(hci.OpLECreateConnection, second.bytes())
				}
			})
			b.run(100 * sim.Millisecond)
			require.Empty(t, b.sent(0, pdu.TypeConnectInd, centralAddr), "stale CONNECT_IND")
			ccs := cen.connCompletes()
			require.Len(t, ccs, 1)
			require.Equal(t, hci.StatusUnknownConnectionID, ccs[0].status)
			require.Empty(t, cen.c.conns)
			require.Equal(t, tc.restart, cen.c.init.active)
			if !tc.restart {
				return
			}
			// The restarted initiation connects with its own parameters.
			lt.sendAt(b.s.Now(), cen.c.rx.ch, ind)
			b.run(10 * sim.Millisecond)
			inds := b.sent(0, pdu.TypeConnectInd, centralAddr)
			require.Len(t, inds, 1)
			ll, err := inds[0].pdu.LLData()
			require.NoError(t, err)
			require.EqualValues(t, 100, ll.Interval)
		})
	}
}

// TestLL_CON_INI_CancelDuringConnectInd: once the CONNECT_IND is on air
// the central is committed (the advertiser considers itself connected):
// LE Create Connection Cancel is then Command Disallowed and the
// connection completes normally.
func TestLL_CON_INI_CancelDuringConnectInd(t *testing.T) {
	b := newBed(t, 5)
	cen := b.dev("central", centralAddr, radio.Position{})
	per := b.dev("peripheral", peripheralAddr, radio.Position{X: 1})
	per.startAdv(adv20(advTypeInd), nil, nil)
	cen.ok(hci.OpLECreateConnection, createConn(peripheralAddr, 0))
	var st hci.Status = 0xFF
	b.m.SetTap(func(tx *radio.Reception, from *radio.Port) {
		if p := pdu.AdvPDU(tx.PDU); tx.Channel.IsAdvertising() && p.Type() == pdu.TypeConnectInd {
			b.s.At(tx.Start.Add(100*sim.Microsecond), func() { st = cen.st(hci.OpLECreateConnectionCancel, nil) })
		}
	})
	b.runUntil(sim.Second, func() bool { return len(per.connCompletes()) == 1 }, "peripheral connection")
	b.run(10 * sim.Millisecond)
	require.Equal(t, hci.StatusCommandDisallowed, st)
	ccs := cen.connCompletes()
	require.Len(t, ccs, 1)
	require.Equal(t, hci.StatusSuccess, ccs[0].status)
	b.run(500 * sim.Millisecond)
	require.Empty(t, cen.disconnections())
	require.Empty(t, per.disconnections())
}

// TestLL_CON_INI_WithScanning: initiating while scanning shares the
// receiver: reports keep coming during and after the connection.
func TestLL_CON_INI_WithScanning(t *testing.T) {
	b := newBed(t, 6)
	cen := b.dev("central", centralAddr, radio.Position{})
	per := b.dev("peripheral", peripheralAddr, radio.Position{X: 1})
	other := b.dev("other", addrC, radio.Position{X: -1})
	other.startAdv(adv20(advTypeNonconnInd), []byte{1, 2}, nil)
	cen.startScan(false, 0x10, 0x10, 0, 0, false)
	b.run(200 * sim.Millisecond)
	require.NotEmpty(t, reportsFrom(cen.reports(), addrC, reportAdvNonconnInd))
	per.startAdv(adv20(advTypeInd), nil, nil)
	cen.ok(hci.OpLECreateConnection, createConn(peripheralAddr, 0))
	b.runUntil(sim.Second, func() bool { return len(cen.connCompletes()) == 1 }, "connection")
	n := len(reportsFrom(cen.reports(), addrC, reportAdvNonconnInd))
	b.run(300 * sim.Millisecond)
	require.Greater(t, len(reportsFrom(cen.reports(), addrC, reportAdvNonconnInd)), n, "scanning stopped")
	require.True(t, cen.c.scan.enabled)
}

// TestLL_CON_INI_AccessAddressUnique: a new connection's access address
// differs from those of the controller's other connections (§2.1.2).
func TestLL_CON_INI_AccessAddressUnique(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("central", centralAddr, radio.Position{})
	// The next access address the scheduler's source would give: nothing
	// drew from it yet, so a fresh source with the same seed tells.
	next := pdu.NewAccessAddress(sim.New(1).Rand())
	p := testLLData()
	p.AccessAddress = next
	cn := h.c.newConn(RoleCentral, h.c.allocHandle(), peerInfo{addr: addrB}, p, b.s.Now())
	aa := h.c.newAccessAddress()
	require.NotEqual(t, next, aa)
	require.NotEqual(t, cn.aa, aa)
	require.True(t, pdu.ValidAccessAddress(aa))
}
