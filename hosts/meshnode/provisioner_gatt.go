package meshnode

import (
	"go.uber.org/zap"

	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/hosts/mesh/pbgatt"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// ConnectTimeout bounds a PB-GATT connection attempt.
const ConnectTimeout = 10 * sim.Second

// gattProv is the provisioner's PB-GATT side (Mesh Protocol v1.1 §5.2.2):
// it learns devices from their connectable advertising (Mesh Provisioning
// Service data: Device UUID, OOB Information), connects as central, and
// runs the provisioning protocol over Data In / Data Out. One connection
// at a time; scanning pauses while the connection is being set up.
type gattProv struct {
	p     *Provisioner
	log   *zap.Logger
	host  *hcihost.Host
	mux   *l2cap.Mux
	devs  map[[16]byte]hcihost.AdvertisingReport
	queue [][16]byte
	cur   *[16]byte
	conn  *l2cap.Conn
	timer *sim.Timer
	// session: the provisioning protocol runs on the link and reports
	// its own end (a disconnection closes the link).
	session bool
}

func newGattProv(p *Provisioner, h *hcihost.Host) *gattProv {
	g := &gattProv{p: p, log: p.log.Named("pb-gatt"), host: h, devs: map[[16]byte]hcihost.AdvertisingReport{}}
	g.mux = l2cap.NewMux(p.log.Named("l2cap"), h)
	g.mux.OnConnect = g.connected
	g.mux.OnDisconnect = func(c *l2cap.Conn, reason hci.Status) { g.disconnected(c) }
	g.timer = p.sched.NewTimer(g.timeout)
	h.OnEvent(func(ev hcihost.Event) {
		if cc, ok := ev.(hcihost.ConnectionComplete); ok && cc.Status != hci.StatusSuccess && g.cur != nil && g.conn == nil {
			g.fail(cc.Status)
		}
	})
	return g
}

func (g *gattProv) has(uuid [16]byte) bool {
	_, ok := g.devs[uuid]
	return ok
}

// report looks for PB-GATT devices in advertising reports.
func (g *gattProv) report(r hcihost.AdvertisingReport) {
	if r.EventType != hcihost.AdvInd {
		return
	}
	uuid, oob, ok := pbgatt.ParseAdvData(r.Data)
	if !ok {
		return
	}
	g.devs[uuid] = r
	g.p.discovered(uuid, oob, nil)
}

// provision queues a connection to the device.
func (g *gattProv) provision(uuid [16]byte) {
	g.queue = append(g.queue, uuid)
	g.next()
}

func (g *gattProv) next() {
	if g.cur != nil || len(g.queue) == 0 {
		return
	}
	uuid := g.queue[0]
	g.queue = g.queue[1:]
	g.cur = &uuid
	r := g.devs[uuid]
	// LE Create Connection (Core Vol 4 Part E §7.8.12): 30 ms interval,
	// 4 s supervision timeout; scanning pauses meanwhile.
	w := &hci.Writer{}
	w.U16(0x0030).U16(0x0030).U8(0x00).U8(uint8(r.AddrType)).Addr(r.Addr).U8(g.p.hci.Bearer.OwnAddrType).
		U16(24).U16(24).U16(0).U16(400).U16(0).U16(0)
	g.host.Command(hci.OpLESetScanEnable, []byte{0x00, 0x00}, nil)
	g.host.Command(hci.OpLECreateConnection, w.B, func(_ []byte, err error) {
		if err != nil {
			g.fail(err)
			return
		}
		g.timer.ResetAfter(ConnectTimeout)
	})
}

func (g *gattProv) scan() {
	g.host.Command(hci.OpLESetScanEnable, []byte{0x01, 0x00}, nil)
}

func (g *gattProv) timeout() {
	if g.cur != nil && g.conn == nil {
		g.host.Command(hci.OpLECreateConnectionCancel, nil, nil)
	}
}

// fail ends an attempt that did not get a connection.
func (g *gattProv) fail(err error) {
	uuid := *g.cur
	g.cur = nil
	g.timer.Stop()
	g.scan()
	g.p.connectFailed(uuid, prov.Result{Err: &prov.ClosedError{Reason: prov.CloseFail, Msg: "PB-GATT connection: " + err.Error()}})
	g.next()
}

func (g *gattProv) connected(c *l2cap.Conn) {
	if g.cur == nil || c.Role != hcihost.RoleCentral {
		c.Disconnect(hci.StatusRemoteUserTerminated)
		return
	}
	g.timer.Stop()
	g.conn = c
	g.scan()
	uuid := *g.cur
	client := gatt.NewClient(g.log.Named("gatt"), gatt.NewBearer(c.Logger().Named("att"), c))
	client.ExchangeMTU(69, func(int, error) {})
	pbgatt.DialClient(g.log, g.p.sched, client, c, func(l *pbgatt.ClientLink, err error) {
		if err != nil {
			g.log.Info("PB-GATT link failed", zap.Error(err))
			c.Disconnect(hci.StatusRemoteUserTerminated)
			return
		}
		g.p.emit(LinkOpened{UUID: uuid, Bearer: "PB-GATT"})
		g.session = true
		l.SetHandler(g.p.prov.Open(l, g.p.provTarget(uuid, "PB-GATT")))
	})
}

func (g *gattProv) disconnected(c *l2cap.Conn) {
	if c != g.conn {
		return
	}
	uuid := *g.cur
	session := g.session
	g.conn, g.cur, g.session = nil, nil, false
	// A device that is now a node no longer advertises PB-GATT.
	delete(g.devs, uuid)
	if !session && g.p.active[uuid] {
		// Disconnected before the protocol finished.
		g.p.connectFailed(uuid, prov.Result{Err: &prov.ClosedError{Reason: prov.CloseFail, Msg: "PB-GATT disconnected"}})
	}
	g.next()
}
