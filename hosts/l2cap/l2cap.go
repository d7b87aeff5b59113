// Package l2cap is the LE L2CAP layer of blesim's built-in hosts: basic
// L2CAP frames on the LE fixed channels of each connection
// (Core v5.4 Vol 3 Part A §2.1, §3.1): 0x0004 ATT, 0x0005 LE signalling,
// 0x0006 SMP.
//
// A Mux follows the connections of one hcihost.Host and routes their
// reassembled PDUs to a Conn per connection. The LE signalling channel
// implements Connection Parameter Update Request/Response (§4.20, §4.21)
// and Command Reject (§4.1). The SMP channel belongs to the Security
// Manager (hosts/smp), which installs itself on every connection through
// Mux.AddConnectHook and Conn.SetHandler; a host without one keeps the
// placeholder that refuses pairing (Vol 3 Part H §3.5.5).
package l2cap

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// LE fixed channel identifiers (Vol 3 Part A §2.1, table 2.3).
const (
	CIDATT       uint16 = 0x0004
	CIDSignaling uint16 = 0x0005
	CIDSMP       uint16 = 0x0006
)

// HeaderLen is the basic L2CAP header: Length (2) and Channel ID (2)
// (Vol 3 Part A §3.1).
const HeaderLen = 4

// ErrDisconnected is returned when sending on a closed connection.
var ErrDisconnected = errors.New("l2cap: connection closed")

// ConnParams are LE connection parameters: intervals in 1.25 ms units,
// supervision timeout in 10 ms units (Vol 3 Part A §4.20).
type ConnParams struct {
	IntervalMin uint16
	IntervalMax uint16
	Latency     uint16
	Timeout     uint16
}

// Valid reports whether the parameters are in the ranges of §4.20 (and of
// HCI LE Connection Update, Vol 4 Part E §7.8.18).
func (p ConnParams) Valid() bool {
	return hcihost.ValidConnParams(p.IntervalMin, p.IntervalMax, p.Latency, p.Timeout)
}

// Mux routes the L2CAP traffic of every connection of one host.
type Mux struct {
	log   *zap.Logger
	host  *hcihost.Host
	conns map[uint16]*Conn
	hooks []func(c *Conn)

	// OnConnect is called for every new connection, before any of its
	// data is delivered. Install channel handlers here.
	OnConnect func(c *Conn)
	// OnDisconnect is called after a connection is gone.
	OnDisconnect func(c *Conn, reason hci.Status)
}

// NewMux attaches a Mux to host: it registers for connection events and
// for reassembled ACL data.
func NewMux(log *zap.Logger, host *hcihost.Host) *Mux {
	m := &Mux{log: log, host: host, conns: map[uint16]*Conn{}}
	host.OnEvent(m.event)
	host.OnACL(m.data)
	return m
}

// AddConnectHook registers fn to run for every new connection before
// OnConnect and before any of its data is delivered (the Security Manager
// installs its channel handler here).
func (m *Mux) AddConnectHook(fn func(c *Conn)) { m.hooks = append(m.hooks, fn) }

// Host returns the HCI host the Mux runs on.
func (m *Mux) Host() *hcihost.Host { return m.host }

// Conn returns the connection with handle, or nil.
func (m *Mux) Conn(handle uint16) *Conn { return m.conns[handle] }

// Conns returns the number of open connections.
func (m *Mux) Conns() int { return len(m.conns) }

func (m *Mux) event(ev hcihost.Event) {
	switch e := ev.(type) {
	case hcihost.ConnectionComplete:
		if e.Status != hci.StatusSuccess {
			return
		}
		if old := m.conns[e.Handle]; old != nil {
			m.log.Error("connection complete for a handle already in use; replacing it", zap.Uint16("handle", e.Handle))
			old.close(hci.StatusUnspecifiedError)
		}
		c := newConn(m, e)
		m.conns[e.Handle] = c
		for _, fn := range m.hooks {
			fn(c)
		}
		if m.OnConnect != nil {
			m.OnConnect(c)
		}
	case hcihost.DisconnectionComplete:
		c := m.conns[e.Handle]
		if e.Status != hci.StatusSuccess || c == nil {
			return
		}
		delete(m.conns, e.Handle)
		c.close(e.Reason)
		if m.OnDisconnect != nil {
			m.OnDisconnect(c, e.Reason)
		}
	case hcihost.ConnectionUpdateComplete:
		if c := m.conns[e.Handle]; c != nil && e.Status == hci.StatusSuccess {
			c.Interval, c.Latency, c.Timeout = e.Interval, e.Latency, e.Timeout
			if c.OnParamsUpdated != nil {
				c.OnParamsUpdated()
			}
		}
	case hcihost.EncryptionChange:
		if c := m.conns[e.Handle]; c != nil && e.Status == hci.StatusSuccess {
			c.Encrypted = e.Enabled != 0
			if !c.Encrypted {
				c.Authenticated, c.KeySize = false, 0
			}
		}
	}
}

func (m *Mux) data(handle uint16, pdu []byte) {
	c := m.conns[handle]
	if c == nil {
		m.log.Error("L2CAP data for unknown connection", zap.Uint16("handle", handle))
		return
	}
	c.Receive(pdu)
}

// Conn is one LE connection's fixed channels.
type Conn struct {
	mux          *Mux
	log          *zap.Logger
	Handle       uint16
	Role         hcihost.Role
	PeerAddrType hci.AddressType
	PeerAddr     hci.BDAddr
	Interval     uint16 // current connection interval (1.25 ms)
	Latency      uint16
	Timeout      uint16 // supervision timeout (10 ms)
	// Link security. Encrypted follows Encryption Change; the Security
	// Manager sets Authenticated (the key is MITM-protected), KeySize
	// (the negotiated encryption key size, 7..16) and HasLTK (a bond with
	// this peer holds a key, so an unencrypted link can be encrypted
	// without pairing: Vol 3 Part C §10.3.1).
	Encrypted     bool
	Authenticated bool
	KeySize       int
	HasLTK        bool
	// Given is the reason this host gave when it asked to end the link
	// (Disconnect); zero when it never did. The peer receives it, while
	// this side's Disconnection Complete says 0x16 (Vol 4 Part E §7.1.6).
	Given hci.Status

	// OnParamUpdateRequest lets a central decide on a peripheral's
	// Connection Parameter Update Request. nil accepts any valid request.
	OnParamUpdateRequest func(p ConnParams) bool
	// OnParamsUpdated is called after LE Connection Update Complete.
	OnParamsUpdated func()

	onClose  []func(reason hci.Status)
	handlers map[uint16]func(payload []byte)
	closed   bool

	sig signaling
}

func newConn(m *Mux, e hcihost.ConnectionComplete) *Conn {
	c := &Conn{
		mux: m, log: m.log.With(zap.Uint16("handle", e.Handle)),
		Handle: e.Handle, Role: e.Role, PeerAddrType: e.PeerAddrType, PeerAddr: e.PeerAddr,
		Interval: e.Interval, Latency: e.Latency, Timeout: e.Timeout,
		handlers: map[uint16]func([]byte){},
	}
	c.sig.init()
	c.handlers[CIDSignaling] = c.signal
	c.handlers[CIDSMP] = c.smpPlaceholder
	return c
}

// Scheduler returns the simulation scheduler.
func (c *Conn) Scheduler() *sim.Scheduler { return c.mux.host.Scheduler() }

// Logger returns the connection's logger.
func (c *Conn) Logger() *zap.Logger { return c.log }

// Closed reports whether the connection is gone.
func (c *Conn) Closed() bool { return c.closed }

// SetHandler installs fn as the receiver of payloads on the fixed channel
// cid (e.g. ATT, or a real SMP replacing the placeholder). nil removes it.
func (c *Conn) SetHandler(cid uint16, fn func(payload []byte)) {
	if fn == nil {
		delete(c.handlers, cid)
		return
	}
	c.handlers[cid] = fn
}

// Handler returns the receiver installed on the fixed channel cid, or nil.
func (c *Conn) Handler(cid uint16) func(payload []byte) { return c.handlers[cid] }

// Send sends payload as one basic L2CAP frame on cid.
func (c *Conn) Send(cid uint16, payload []byte) error {
	if c.closed {
		return ErrDisconnected
	}
	if len(payload) > 0xffff {
		return fmt.Errorf("l2cap: payload of %d bytes too long", len(payload))
	}
	pdu := make([]byte, HeaderLen+len(payload))
	binary.LittleEndian.PutUint16(pdu, uint16(len(payload)))
	binary.LittleEndian.PutUint16(pdu[2:], cid)
	copy(pdu[HeaderLen:], payload)
	return c.mux.host.SendACL(c.Handle, pdu)
}

// Disconnect asks the controller to terminate the connection
// (HCI Disconnect, Vol 4 Part E §7.1.6).
func (c *Conn) Disconnect(reason hci.Status) {
	if c.closed {
		return
	}
	c.Given = reason
	c.mux.host.Disconnect(c.Handle, reason, func(_ []byte, err error) {
		if err != nil {
			c.log.Error("HCI Disconnect failed", zap.Error(err))
		}
	})
}

// Receive handles one basic L2CAP frame (header included).
func (c *Conn) Receive(pdu []byte) {
	if len(pdu) < HeaderLen {
		c.log.Error("L2CAP frame shorter than its header; dropped", zap.Binary("pdu", pdu))
		return
	}
	n := int(binary.LittleEndian.Uint16(pdu))
	cid := binary.LittleEndian.Uint16(pdu[2:])
	if n != len(pdu)-HeaderLen {
		c.log.Error("L2CAP length field does not match frame; dropped", zap.Int("length", n), zap.Int("payload", len(pdu)-HeaderLen))
		return
	}
	fn := c.handlers[cid]
	if fn == nil {
		c.log.Warn("L2CAP frame on a channel with no handler; dropped", zap.Uint16("cid", cid), zap.Int("len", n))
		return
	}
	fn(pdu[HeaderLen:])
}

func (c *Conn) close(reason hci.Status) {
	if c.closed {
		return
	}
	c.closed = true
	c.sig.closeAll()
	for _, fn := range c.onClose {
		fn(reason)
	}
}

// OnClose registers fn to run once when the connection goes away.
func (c *Conn) OnClose(fn func(reason hci.Status)) { c.onClose = append(c.onClose, fn) }

// SMP codes used by the placeholder (Vol 3 Part H §3.3).
const (
	smpPairingRequest  = 0x01
	smpPairingFailed   = 0x05
	smpSecurityRequest = 0x0B
	smpPairingNotSupp  = 0x05
)

// smpPlaceholder refuses pairing: a Pairing Request gets Pairing Failed
// with reason 0x05 Pairing Not Supported (Vol 3 Part H §3.5.5); a
// Security Request from the peripheral is logged and ignored.
func (c *Conn) smpPlaceholder(p []byte) {
	if len(p) == 0 {
		c.log.Error("empty SMP PDU; dropped")
		return
	}
	switch p[0] {
	case smpPairingRequest:
		c.log.Info("SMP Pairing Request refused: pairing not supported")
		c.sendLogged(CIDSMP, []byte{smpPairingFailed, smpPairingNotSupp})
	case smpSecurityRequest:
		c.log.Info("SMP Security Request ignored (no SMP)", zap.Stringer("role", c.Role))
	default:
		// Reserved codes are ignored too (Vol 3 Part H §3.3).
		c.log.Info("SMP PDU ignored (no SMP)", zap.Uint8("code", p[0]))
	}
}

func (c *Conn) sendLogged(cid uint16, payload []byte) {
	if err := c.Send(cid, payload); err != nil {
		c.log.Error("L2CAP send failed", zap.Uint16("cid", cid), zap.Error(err))
	}
}
