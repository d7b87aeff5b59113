package scenario

import (
	"encoding/binary"

	"blesim/hosts/hcihost"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/vhci"
	"blesim/vhci/hci"
)

// hciTap reads the HCI traffic between the kernel and the controller of a
// host: kernel device and reports what it shows as the events the built-in
// hosts report (connections, disconnections, Encryption Change, SMP
// pairing outcomes), so expectations read the same whichever
// host plays the central. SMP travels in clear over HCI (Core v5.4 Vol 3
// Part H §3: L2CAP channel 0x0006), so the tap sees the whole pairing.
type hciTap struct {
	emit  func(profiles.Event)
	conns map[uint16]*tapConn
}

// tapConn is one connection's state as seen on HCI.
type tapConn struct {
	peer    smp.Address
	central bool
	// given is the reason of the kernel's HCI Disconnect, if it sent one.
	given hci.Status
	// L2CAP reassembly, per direction (Vol 3 Part A §7.2).
	buf [2][]byte
	// Pairing in progress: the negotiated key distribution still to come
	// from the peer (rx) and from the kernel (tx), and whether phase 2 is
	// done (encryption started with the pairing's key).
	pairing   bool
	sc        bool
	bonding   bool
	encrypted bool
	keys      [2]smp.KeyDist
	req       smp.PairingParams // the Pairing Request, for the method
	method    smp.Method
	sent      smp.KeyDist
	received  smp.KeyDist
}

// Directions as indices of tapConn.buf and keys.
const (
	tapRx = 0 // controller to host: from the peer
	tapTx = 1 // host to controller: from the kernel
)

func newHCITap(emit func(profiles.Event)) *hciTap {
	return &hciTap{emit: emit, conns: map[uint16]*tapConn{}}
}

// packet takes one H4 packet. Malformed packets are ignored: the
// controller reports them to the kernel; the tap only watches.
func (t *hciTap) packet(dir vhci.Direction, h4 []byte) {
	if len(h4) < 2 {
		return
	}
	switch hci.PacketType(h4[0]) {
	case hci.EventPacket:
		if dir == vhci.ControllerToHost {
			t.event(hci.Event(h4[1:]))
		}
	case hci.CommandPacket:
		c := hci.Command(h4[1:])
		if dir == vhci.HostToController && c.Validate() == nil && c.Opcode() == hci.OpDisconnect && len(c.Params()) == 3 {
			if conn := t.conns[binary.LittleEndian.Uint16(c.Params())&0x0fff]; conn != nil {
				conn.given = hci.Status(c.Params()[2])
			}
		}
	case hci.ACLPacket:
		a := hci.ACL(h4[1:])
		if a.Validate() != nil {
			return
		}
		d := tapRx
		if dir == vhci.HostToController {
			d = tapTx
		}
		t.acl(d, a)
	}
}

func (t *hciTap) event(e hci.Event) {
	if e.Validate() != nil {
		return
	}
	ev, err := hcihost.ParseEvent(e)
	if err != nil {
		return
	}
	switch ev := ev.(type) {
	case hcihost.ConnectionComplete:
		if ev.Status != hci.StatusSuccess {
			return
		}
		t.conns[ev.Handle] = &tapConn{peer: smp.Address{Type: ev.PeerAddrType & 1, Addr: ev.PeerAddr}, central: ev.Role == hcihost.RoleCentral}
		t.emit(profiles.Connected{Handle: ev.Handle, Role: ev.Role, PeerAddrType: ev.PeerAddrType, PeerAddr: ev.PeerAddr, Interval: ev.Interval})
	case hcihost.DisconnectionComplete:
		c := t.conns[ev.Handle]
		if c == nil || ev.Status != hci.StatusSuccess {
			return
		}
		delete(t.conns, ev.Handle)
		if c.pairing {
			t.emit(profiles.PairingFailed{PairingFailed: smp.PairingFailed{Handle: ev.Handle, Peer: c.peer, Reason: smp.ReasonUnspecified, Err: ev.Reason}})
		}
		d := profiles.Disconnected{Handle: ev.Handle, Reason: ev.Reason}
		if ev.Reason == hci.StatusLocalHostTerminated {
			// The kernel ended the link: the reason it gave is in its
			// HCI Disconnect (Vol 4 Part E §7.1.6).
			d.Given = c.given
		}
		t.emit(d)
	case hcihost.EncryptionChange:
		t.encryption(ev.Handle, ev.Status, ev.Enabled != 0, false)
	case hcihost.EncryptionKeyRefreshComplete:
		t.encryption(ev.Handle, ev.Status, true, true)
	}
}

func (t *hciTap) encryption(handle uint16, status hci.Status, enabled, refresh bool) {
	c := t.conns[handle]
	if c == nil {
		return
	}
	t.emit(profiles.EncryptionChanged{EncryptionChanged: smp.EncryptionChanged{Handle: handle, Peer: c.peer,
		Status: status, Enabled: enabled && status == hci.StatusSuccess, Refresh: refresh, FromBond: !c.pairing}})
	if !c.pairing {
		return
	}
	if status != hci.StatusSuccess {
		c.pairing = false
		t.emit(profiles.PairingFailed{PairingFailed: smp.PairingFailed{Handle: handle, Peer: c.peer, Reason: smp.ReasonUnspecified, Err: status}})
		return
	}
	c.encrypted = true
	t.keysDone(handle, c)
}

// keysDone reports the pairing complete once every negotiated key has
// been distributed (§3.6.1: responder first, then initiator).
func (t *hciTap) keysDone(handle uint16, c *tapConn) {
	if !c.pairing || !c.encrypted || c.keys[tapRx] != 0 || c.keys[tapTx] != 0 {
		return
	}
	c.pairing = false
	t.emit(profiles.PairingComplete{PairingComplete: smp.PairingComplete{Handle: handle, Peer: c.peer, SC: c.sc,
		Method: c.method, Authenticated: c.method.Authenticated(),
		Bonded: c.bonding, Sent: c.sent, Received: c.received}})
}

// acl reassembles L2CAP frames and looks at SMP and ATT.
func (t *hciTap) acl(dir int, a hci.ACL) {
	c := t.conns[a.Handle()]
	if c == nil {
		return
	}
	data := a.Data()
	if a.PB() == 0x01 { // continuing fragment
		if c.buf[dir] == nil {
			return
		}
		c.buf[dir] = append(c.buf[dir], data...)
	} else {
		c.buf[dir] = append([]byte(nil), data...)
	}
	b := c.buf[dir]
	if len(b) < 4 {
		return
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) < 4+n {
		return
	}
	c.buf[dir] = nil
	cid, payload := binary.LittleEndian.Uint16(b[2:]), b[4:4+n]
	switch cid {
	case 0x0006:
		t.smp(a.Handle(), c, dir, payload)
	}
}

func (t *hciTap) smp(handle uint16, c *tapConn, dir int, payload []byte) {
	p, err := smp.Parse(payload)
	if err != nil {
		return
	}
	switch p := p.(type) {
	case smp.PairingRequest:
		c.pairing, c.encrypted, c.sent, c.received = true, false, 0, 0
		// The request's SC and bonding bits, until the response.
		c.sc, c.bonding = p.AuthReq&smp.AuthSC != 0, p.AuthReq.Bonding()
		c.req = p.PairingParams
		t.emit(profiles.PairingStarted{PairingStarted: smp.PairingStarted{Handle: handle, Peer: c.peer, Initiator: dir == tapTx}})
	case smp.PairingResponse:
		c.sc = p.AuthReq&smp.AuthSC != 0 && c.sc
		c.bonding = p.AuthReq.Bonding() && c.bonding
		// The association model both sides derive (Vol 3 Part H
		// §2.3.5.1, Tables 2.6-2.8).
		c.method = smp.SelectMethod(c.req, p.PairingParams, c.sc)
		// The peer distributes the responder's keys when the kernel is
		// the initiator (the central).
		rx, tx := p.RespKeyDist, p.InitKeyDist
		if !c.central {
			rx, tx = tx, rx
		}
		if c.sc {
			// LE Secure Connections derive the LTK: EncKey is not sent
			// (§3.6.1).
			rx, tx = rx&^smp.DistEncKey, tx&^smp.DistEncKey
		}
		c.keys[tapRx], c.keys[tapTx] = rx&smp.DistAll, tx&smp.DistAll
	case smp.PairingFailedPDU:
		if c.pairing {
			c.pairing = false
			t.emit(profiles.PairingFailed{PairingFailed: smp.PairingFailed{Handle: handle, Peer: c.peer, Reason: p.Reason, Remote: dir == tapRx}})
		}
	case smp.CentralIdentification:
		t.keyReceived(handle, c, dir, smp.DistEncKey)
	case smp.IdentityAddressInformation:
		if dir == tapRx {
			c.peer = smp.Address{Type: p.AddrType, Addr: p.Addr}
		}
		t.keyReceived(handle, c, dir, smp.DistIdKey)
	case smp.SigningInformation:
		t.keyReceived(handle, c, dir, smp.DistSignKey)
	}
}

func (t *hciTap) keyReceived(handle uint16, c *tapConn, dir int, k smp.KeyDist) {
	if !c.pairing {
		return
	}
	c.keys[dir] &^= k
	if dir == tapRx {
		c.received |= k
	} else {
		c.sent |= k
	}
	t.keysDone(handle, c)
}
