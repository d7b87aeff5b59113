package pbgatt

import (
	"encoding/binary"
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/l2cap"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Mesh Provisioning Service UUIDs (Assigned Numbers; §7.1).
const (
	UUIDProvisioningService uint16 = 0x1827
	UUIDDataIn              uint16 = 0x2ADB
	UUIDDataOut             uint16 = 0x2ADC
)

// Handler is the provisioning layer above a link (a prov.DeviceSession or
// prov.ProvisionerSession).
type Handler interface {
	Receive(pdu []byte)
	LinkClosed(reason prov.CloseReason)
}

// AdvData is the connectable advertising data of a device offering
// PB-GATT (§7.1.2.2.1): Flags, the Mesh Provisioning Service UUID, and its
// Service Data (Device UUID, OOB Information big-endian).
func AdvData(uuid [16]byte, oob uint16) ([]byte, error) {
	sd := append(append([]byte(nil), uuid[:]...), byte(oob>>8), byte(oob))
	var b pdu.ADBuilder
	return b.Flags(pdu.ADFlagLEGeneral|pdu.ADFlagBREDRNotSupported).
		UUID16(true, UUIDProvisioningService).
		ServiceData16(UUIDProvisioningService, sd).Bytes()
}

// Server is a device's Mesh Provisioning Service: add Service to the
// GATT database; each client that enables notifications on Data Out gets
// a link, and OnLink returns the provisioning session for it
// (prov.Device.Open).
type Server struct {
	log     *zap.Logger
	sched   *sim.Scheduler
	Service *gatt.Service
	dataIn  *gatt.Characteristic
	dataOut *gatt.Characteristic
	links   map[*gatt.ServerConn]*ServerLink

	// OnLink is called when a client subscribes to Data Out.
	OnLink func(l *ServerLink) Handler
}

// NewServer builds the service (§7.1.1): Data In is Write Without
// Response, Data Out is Notify.
func NewServer(log *zap.Logger, sched *sim.Scheduler) *Server {
	s := &Server{log: log, sched: sched, links: map[*gatt.ServerConn]*ServerLink{}}
	s.dataIn = &gatt.Characteristic{UUID: att.UUID16(UUIDDataIn), Props: gatt.PropWriteNoRsp,
		OnWrite: s.write}
	s.dataOut = &gatt.Characteristic{UUID: att.UUID16(UUIDDataOut), Props: gatt.PropNotify, Perm: gatt.PermNone,
		OnSubscribe: s.subscribed}
	s.Service = &gatt.Service{UUID: att.UUID16(UUIDProvisioningService), Characteristics: []*gatt.Characteristic{s.dataIn, s.dataOut}}
	return s
}

func (s *Server) subscribed(sc *gatt.ServerConn, cccd uint16) {
	if cccd&1 == 0 || s.links[sc] != nil {
		return
	}
	l := &ServerLink{srv: s, sc: sc}
	l.rx = NewReassembler(s.sched, l.message, func(err error) {
		s.log.Info("PB-GATT SAR error; disconnecting", zap.Error(err))
		l.Close(prov.CloseFail)
	})
	s.links[sc] = l
	if sc.Link != nil {
		sc.Link.OnClose(func(hci.Status) { l.gone() })
	}
	if s.OnLink != nil {
		l.handler = s.OnLink(l)
	}
}

func (s *Server) write(sc *gatt.ServerConn, v []byte) error {
	l := s.links[sc]
	if l == nil {
		s.log.Info("PB-GATT Data In before notifications were enabled; ignored")
		return nil
	}
	l.rx.Receive(v)
	return nil
}

// ServerLink is the device's end of a PB-GATT link. It implements
// prov.Link.
type ServerLink struct {
	srv     *Server
	sc      *gatt.ServerConn
	rx      *Reassembler
	handler Handler
	closed  bool
}

// Conn is the GATT server connection.
func (l *ServerLink) Conn() *gatt.ServerConn { return l.sc }

func (l *ServerLink) message(typ uint8, msg []byte) {
	if typ != MessageProvisioning {
		l.srv.log.Info("PB-GATT: Proxy PDU of another message type ignored", zap.Uint8("type", typ))
		return
	}
	if l.handler != nil {
		l.handler.Receive(msg)
	}
}

// Send notifies a provisioning PDU on Data Out, segmented to the ATT MTU.
func (l *ServerLink) Send(p []byte) {
	if l.closed {
		return
	}
	segs, err := Segment(MessageProvisioning, p, l.sc.Bearer.MTU()-3)
	if err != nil {
		l.srv.log.Error("PB-GATT: cannot segment", zap.Error(err))
		return
	}
	for _, s := range segs {
		l.sc.Notify(l.srv.dataOut, s)
	}
}

// Close ends the link by disconnecting (§5.2.2).
func (l *ServerLink) Close(reason prov.CloseReason) {
	if l.closed {
		return
	}
	if l.sc.Link != nil {
		l.sc.Link.Disconnect(hci.StatusRemoteUserTerminated)
	}
	l.finish(reason)
}

func (l *ServerLink) gone() { l.finish(prov.CloseFail) }

func (l *ServerLink) finish(reason prov.CloseReason) {
	if l.closed {
		return
	}
	l.closed = true
	l.rx.Stop()
	delete(l.srv.links, l.sc)
	if l.handler != nil {
		l.handler.LinkClosed(reason)
	}
}

// ClientLink is the provisioner's end of a PB-GATT link: it writes
// provisioning PDUs to Data In and reassembles Data Out notifications. It
// implements prov.Link.
type ClientLink struct {
	log     *zap.Logger
	c       *gatt.Client
	conn    *l2cap.Conn
	dataIn  *gatt.RemoteCharacteristic
	rx      *Reassembler
	handler Handler
	closed  bool
}

// DialClient prepares a PB-GATT link on a connection whose GATT client is
// c: it discovers the Mesh Provisioning Service, subscribes to Data Out
// and calls ready with the link (or an error). Set the handler before
// sending.
func DialClient(log *zap.Logger, sched *sim.Scheduler, c *gatt.Client, conn *l2cap.Conn, ready func(*ClientLink, error)) {
	c.DiscoverAll(func(_ []*gatt.RemoteService, err error) {
		if err != nil {
			ready(nil, err)
			return
		}
		in, out := c.Characteristic(att.UUID16(UUIDDataIn)), c.Characteristic(att.UUID16(UUIDDataOut))
		if in == nil || out == nil {
			ready(nil, fmt.Errorf("pb-gatt: no Mesh Provisioning Service Data In/Data Out"))
			return
		}
		l := &ClientLink{log: log, c: c, conn: conn, dataIn: in}
		l.rx = NewReassembler(sched, l.message, func(err error) {
			log.Info("PB-GATT SAR error; disconnecting", zap.Error(err))
			l.Close(prov.CloseFail)
		})
		if conn != nil {
			conn.OnClose(func(hci.Status) { l.finish(prov.CloseFail) })
		}
		c.Subscribe(out, func(v []byte, _ bool) { l.rx.Receive(v) }, func(err error) {
			if err != nil {
				ready(nil, err)
				return
			}
			ready(l, nil)
		})
	})
}

// SetHandler sets the provisioning session that receives the PDUs.
func (l *ClientLink) SetHandler(h Handler) { l.handler = h }

func (l *ClientLink) message(typ uint8, msg []byte) {
	if typ == MessageProvisioning && l.handler != nil {
		l.handler.Receive(msg)
	}
}

// Send writes a provisioning PDU to Data In (Write Without Response),
// segmented to the ATT MTU.
func (l *ClientLink) Send(p []byte) {
	if l.closed {
		return
	}
	segs, err := Segment(MessageProvisioning, p, l.c.Bearer().MTU()-3)
	if err != nil {
		l.log.Error("PB-GATT: cannot segment", zap.Error(err))
		return
	}
	for _, s := range segs {
		l.c.WriteCommand(l.dataIn.ValueHandle, s)
	}
}

// Close disconnects.
func (l *ClientLink) Close(reason prov.CloseReason) {
	if l.closed {
		return
	}
	if l.conn != nil {
		l.conn.Disconnect(hci.StatusRemoteUserTerminated)
	}
	l.finish(reason)
}

func (l *ClientLink) finish(reason prov.CloseReason) {
	if l.closed {
		return
	}
	l.closed = true
	l.rx.Stop()
	if l.handler != nil {
		l.handler.LinkClosed(reason)
	}
}

var (
	_ prov.Link = (*ServerLink)(nil)
	_ prov.Link = (*ClientLink)(nil)
)

// ParseAdvData finds the Device UUID and OOB Information in a PB-GATT
// device's advertising data.
func ParseAdvData(ad []byte) (uuid [16]byte, oob uint16, ok bool) {
	l, err := pdu.ParseAD(ad)
	if err != nil {
		return uuid, 0, false
	}
	u, d, found := l.ServiceData16()
	if !found || u != UUIDProvisioningService || len(d) != 18 {
		return uuid, 0, false
	}
	copy(uuid[:], d)
	return uuid, binary.BigEndian.Uint16(d[16:]), true
}
