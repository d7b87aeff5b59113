package gatt

import (
	"bytes"
	"errors"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/l2cap"
	"blesim/vhci/hci"
)

// DefaultServerMTU is the server's Rx MTU offered in Exchange MTU
// (Vol 3 Part F §3.4.2.2): 247 fills a 251-byte LL payload.
const DefaultServerMTU = 247

// maxPrepareQueue bounds a connection's queued Prepare Write requests.
const maxPrepareQueue = 64

// maxPendingIndications bounds a connection's queued indications.
const maxPendingIndications = 8

// Server is a GATT server over one database, for any number of
// connections.
type Server struct {
	log   *zap.Logger
	DB    *DB
	RxMTU int // offered in Exchange MTU Response
	// Authorize decides on accesses to attributes with PermReadAuthz or
	// PermWriteAuthz (Vol 3 Part F §4, Insufficient Authorization). nil
	// authorizes nobody.
	Authorize func(c *ServerConn, handle uint16, write bool) bool
	conns     []*ServerConn
}

// NewServer returns a server for db.
func NewServer(log *zap.Logger, db *DB) *Server {
	return &Server{log: log, DB: db, RxMTU: DefaultServerMTU}
}

// ServerConn is the server's state for one connection: the CCCD values and
// the prepare-write queue (Vol 3 Part G §3.3.3.3: CCCDs are per client).
type ServerConn struct {
	srv    *Server
	log    *zap.Logger
	Bearer *att.Bearer
	Link   *l2cap.Conn // may be nil in unit tests (then the link counts as unencrypted)
	cccd   map[uint16]uint16
	prep   []att.PrepareWriteReq
}

// NewBearer creates the ATT bearer of conn on the fixed channel 0x0004:
// it receives the channel's PDUs, sends through conn, and closes when the
// connection does.
func NewBearer(log *zap.Logger, conn *l2cap.Conn) *att.Bearer {
	b := att.NewBearer(log, conn.Scheduler(), func(p []byte) error { return conn.Send(l2cap.CIDATT, p) }, nil)
	conn.SetHandler(l2cap.CIDATT, b.Receive)
	conn.OnClose(func(hci.Status) { b.Close() })
	return b
}

// Attach makes the server answer requests on b (the ATT bearer of link)
// and returns the connection's state. It is forgotten when link closes.
func (s *Server) Attach(b *att.Bearer, link *l2cap.Conn) *ServerConn {
	sc := &ServerConn{srv: s, log: s.log, Bearer: b, Link: link, cccd: map[uint16]uint16{}}
	if link != nil {
		sc.log = link.Logger()
		link.OnClose(func(hci.Status) { s.detach(sc) })
	}
	b.SetServer(sc)
	s.conns = append(s.conns, sc)
	return sc
}

func (s *Server) detach(sc *ServerConn) {
	for i, c := range s.conns {
		if c == sc {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

// Conns returns the attached connections.
func (s *Server) Conns() []*ServerConn { return s.conns }

// Update stores a new characteristic value and sends it to every client
// that enabled notifications or indications in its CCCD.
func (s *Server) Update(c *Characteristic, value []byte) {
	c.Value = append([]byte(nil), value...)
	for _, sc := range s.conns {
		cfg := sc.cccd[c.CCCDHandle]
		if cfg != 0 && c.Perm&permReadSec != 0 && sc.checkSecurity(sc.srv.DB.at(c.ValueHandle),
			c.Perm&PermReadEncrypt != 0, c.Perm&PermReadAuthen != 0, c.Perm&PermReadAuthz != 0, false) != nil {
			// The link lost the security the value needs (Vol 3 Part C
			// §10.3.1.1): no notifications until it is back.
			continue
		}
		if cfg&1 != 0 && c.Props&PropNotify != 0 {
			sc.Notify(c, value)
		}
		if cfg&2 != 0 && c.Props&PropIndicate != 0 {
			sc.Indicate(c, value, nil)
		}
	}
}

// CCCD returns the client's configuration of c (bit 0 notify, bit 1
// indicate).
func (sc *ServerConn) CCCD(c *Characteristic) uint16 {
	if c.CCCDHandle == 0 {
		return 0
	}
	return sc.cccd[c.CCCDHandle]
}

// Notify sends a notification of c's value handle (Vol 3 Part G §4.10).
func (sc *ServerConn) Notify(c *Characteristic, value []byte) {
	sc.Bearer.Notify(c.ValueHandle, value)
}

// Indicate sends an indication of c's value handle (Vol 3 Part G §4.11);
// cb (may be nil) gets nil on confirmation. At most a few indications are
// queued behind the outstanding one; more are dropped.
func (sc *ServerConn) Indicate(c *Characteristic, value []byte, cb func(error)) {
	if sc.Bearer.PendingIndications() >= maxPendingIndications {
		sc.log.Warn("indication queue full; indication dropped", zap.Stringer("uuid", c.UUID))
		if cb != nil {
			cb(att.ErrInsufficientResources)
		}
		return
	}
	sc.Bearer.Indicate(c.ValueHandle, value, cb)
}

// value returns a's current value for this connection (without checks).
func (sc *ServerConn) value(a *attribute) []byte {
	switch {
	case a.char != nil:
		if a.char.OnRead != nil {
			return a.char.OnRead(sc)
		}
		return a.char.Value
	case a.desc != nil:
		return a.desc.Value
	case a.cccdOf != nil:
		v := sc.cccd[a.handle]
		return []byte{byte(v), byte(v >> 8)}
	}
	return a.value
}

func maxLen(a *attribute) int {
	switch {
	case a.char != nil && a.char.MaxLen > 0:
		return a.char.MaxLen
	case a.cccdOf != nil:
		return 2
	}
	return att.MaxAttrLen
}

// write applies a permitted write of v to a.
func (sc *ServerConn) write(a *attribute, v []byte) error {
	if len(v) > maxLen(a) {
		return att.ErrInvalidAttrValueLength
	}
	switch {
	case a.cccdOf != nil:
		if len(v) != 2 {
			return att.ErrInvalidAttrValueLength
		}
		cfg := uint16(v[0]) | uint16(v[1])<<8
		c := a.cccdOf
		if cfg&^3 != 0 || (cfg&1 != 0 && c.Props&PropNotify == 0) || (cfg&2 != 0 && c.Props&PropIndicate == 0) {
			return att.ErrCCCDImproperlyConfigured
		}
		sc.cccd[a.handle] = cfg
		sc.log.Info("CCCD written", zap.Stringer("uuid", c.UUID), zap.Uint16("cccd", cfg))
		if c.OnSubscribe != nil {
			c.OnSubscribe(sc, cfg)
		}
	case a.char != nil:
		if a.char.OnWrite != nil {
			if err := a.char.OnWrite(sc, v); err != nil {
				return asATTError(err)
			}
		}
		a.char.Value = append([]byte(nil), v...)
	case a.desc != nil:
		if a.desc.OnWrite != nil {
			if err := a.desc.OnWrite(sc, v); err != nil {
				return asATTError(err)
			}
		}
		a.desc.Value = append([]byte(nil), v...)
	default:
		return att.ErrWriteNotPermitted
	}
	return nil
}

func asATTError(err error) att.ErrorCode {
	var code att.ErrorCode
	if errors.As(err, &code) {
		return code
	}
	return att.ErrUnlikely
}

func (sc *ServerConn) errorRsp(req att.Opcode, handle uint16, err error) {
	sc.Bearer.Send(att.ErrorRsp{Req: req, Handle: handle, Code: asATTError(err)})
}

// ServeATT answers one request or command (Vol 3 Part F §3.4). Requests
// always get exactly one response; commands never do.
func (sc *ServerConn) ServeATT(b *att.Bearer, raw []byte) {
	if len(raw) == 0 {
		return
	}
	op := att.Opcode(raw[0])
	p, err := att.Parse(raw)
	if err != nil {
		if op.IsCommand() {
			sc.log.Warn("malformed or unknown ATT command; ignored", zap.Error(err))
			return
		}
		code := att.ErrInvalidPDU
		if errors.Is(err, att.ErrUnknownOpcode) || !op.IsRequest() {
			code = att.ErrRequestNotSupported
		}
		sc.log.Warn("ATT request refused", zap.Error(err), zap.Error(code))
		sc.errorRsp(op, 0, code)
		return
	}
	db := sc.srv.DB
	mtu := b.MTU()
	switch r := p.(type) {
	case att.ExchangeMTUReq:
		b.Send(att.ExchangeMTURsp{MTU: uint16(sc.srv.RxMTU)})
		b.SetMTU(min(int(r.MTU), sc.srv.RxMTU))
		sc.log.Info("ATT MTU exchanged", zap.Int("mtu", b.MTU()))
	case att.FindInfoReq:
		sc.findInfo(r, mtu)
	case att.FindByTypeValueReq:
		sc.findByTypeValue(r, mtu)
	case att.ReadByTypeReq:
		sc.readByType(r, mtu)
	case att.ReadByGroupTypeReq:
		sc.readByGroupType(r, mtu)
	case att.ReadReq:
		a := db.at(r.Handle)
		if a == nil {
			sc.errorRsp(op, r.Handle, att.ErrInvalidHandle)
			return
		}
		if err := sc.checkRead(a); err != nil {
			sc.errorRsp(op, r.Handle, err)
			return
		}
		v := sc.value(a)
		b.Send(att.ReadRsp{Value: v[:min(len(v), mtu-1)]})
	case att.ReadBlobReq:
		a := db.at(r.Handle)
		if a == nil {
			sc.errorRsp(op, r.Handle, att.ErrInvalidHandle)
			return
		}
		if err := sc.checkRead(a); err != nil {
			sc.errorRsp(op, r.Handle, err)
			return
		}
		v := sc.value(a)
		switch off := int(r.Offset); {
		case off > len(v):
			sc.errorRsp(op, r.Handle, att.ErrInvalidOffset)
		case off > 0 && len(v) <= mtu-1:
			// The value fits in one Read Response (§3.4.4.5).
			sc.errorRsp(op, r.Handle, att.ErrAttributeNotLong)
		default:
			b.Send(att.ReadBlobRsp{Value: v[off:min(len(v), off+mtu-1)]})
		}
	case att.ReadMultipleReq:
		var out []byte
		for _, h := range r.Handles {
			a := db.at(h)
			if a == nil {
				sc.errorRsp(op, h, att.ErrInvalidHandle)
				return
			}
			if err := sc.checkRead(a); err != nil {
				sc.errorRsp(op, h, err)
				return
			}
			out = append(out, sc.value(a)...)
		}
		b.Send(att.ReadMultipleRsp{Values: out[:min(len(out), mtu-1)]})
	case att.WriteReq:
		a := db.at(r.Handle)
		if a == nil {
			sc.errorRsp(op, r.Handle, att.ErrInvalidHandle)
			return
		}
		if err := sc.checkWrite(a); err != nil {
			sc.errorRsp(op, r.Handle, err)
			return
		}
		if err := sc.write(a, r.Value); err != nil {
			sc.errorRsp(op, r.Handle, err)
			return
		}
		b.Send(att.WriteRsp{})
	case att.WriteCmd:
		a := db.at(r.Handle)
		if a == nil || sc.checkWrite(a) != nil || (a.char != nil && a.char.Props&PropWriteNoRsp == 0) {
			sc.log.Warn("Write Command refused (no response is sent)", zap.Uint16("handle", r.Handle))
			return
		}
		if err := sc.write(a, r.Value); err != nil {
			sc.log.Warn("Write Command failed (no response is sent)", zap.Uint16("handle", r.Handle), zap.Error(err))
		}
	case att.SignedWriteCmd:
		sc.log.Warn("Signed Write Command ignored (no signing keys)", zap.Uint16("handle", r.Handle))
	case att.PrepareWriteReq:
		a := db.at(r.Handle)
		if a == nil {
			sc.errorRsp(op, r.Handle, att.ErrInvalidHandle)
			return
		}
		if err := sc.checkWrite(a); err != nil {
			sc.errorRsp(op, r.Handle, err)
			return
		}
		if len(sc.prep) >= maxPrepareQueue {
			sc.errorRsp(op, r.Handle, att.ErrPrepareQueueFull)
			return
		}
		r.Value = append([]byte(nil), r.Value...)
		sc.prep = append(sc.prep, r)
		b.Send(att.PrepareWriteRsp(r))
	case att.ExecuteWriteReq:
		sc.execute(r)
	default:
		// Responses, notifications and confirmations never reach the
		// server (the bearer takes them).
		sc.errorRsp(op, 0, att.ErrRequestNotSupported)
	}
}

// execute runs an Execute Write Request (§3.4.6.3): all queued values are
// checked first, then written, so an error writes nothing.
func (sc *ServerConn) execute(r att.ExecuteWriteReq) {
	q := sc.prep
	sc.prep = nil
	switch r.Flags {
	case 0x00:
		sc.Bearer.Send(att.ExecuteWriteRsp{})
		return
	case 0x01:
	default:
		sc.errorRsp(att.OpExecuteWriteReq, 0, att.ErrInvalidPDU)
		return
	}
	type pending struct {
		a   *attribute
		buf []byte
	}
	var order []*pending
	byHandle := map[uint16]*pending{}
	for _, w := range q {
		a := sc.srv.DB.at(w.Handle)
		p := byHandle[w.Handle]
		if p == nil {
			p = &pending{a: a}
			if w.Offset > 0 {
				p.buf = append([]byte(nil), sc.value(a)...)
			}
			byHandle[w.Handle] = p
			order = append(order, p)
		}
		off := int(w.Offset)
		if off > len(p.buf) {
			sc.errorRsp(att.OpExecuteWriteReq, w.Handle, att.ErrInvalidOffset)
			return
		}
		end := off + len(w.Value)
		if end > len(p.buf) {
			p.buf = append(p.buf, make([]byte, end-len(p.buf))...)
		}
		copy(p.buf[off:], w.Value)
		if len(p.buf) > maxLen(a) {
			sc.errorRsp(att.OpExecuteWriteReq, w.Handle, att.ErrInvalidAttrValueLength)
			return
		}
	}
	for _, p := range order {
		if err := sc.write(p.a, p.buf); err != nil {
			sc.errorRsp(att.OpExecuteWriteReq, p.a.handle, err)
			return
		}
	}
	sc.Bearer.Send(att.ExecuteWriteRsp{})
}

// validRange checks a handle range (§3.4.3.1: start 0 or start > end is
// Invalid Handle). It sends the error itself.
func (sc *ServerConn) validRange(op att.Opcode, start, end uint16) bool {
	if start == 0 || start > end {
		sc.errorRsp(op, start, att.ErrInvalidHandle)
		return false
	}
	return true
}

func (sc *ServerConn) findInfo(r att.FindInfoReq, mtu int) {
	if !sc.validRange(att.OpFindInfoReq, r.Start, r.End) {
		return
	}
	var rsp att.FindInfoRsp
	size := 2
	for _, a := range sc.srv.DB.inRange(r.Start, r.End) {
		n := 2 + len(a.typ.Bytes())
		if len(rsp.Entries) > 0 && len(a.typ.Bytes()) != len(rsp.Entries[0].UUID.Bytes()) || size+n > mtu {
			break
		}
		rsp.Entries = append(rsp.Entries, att.HandleUUID{Handle: a.handle, UUID: a.typ})
		size += n
	}
	if len(rsp.Entries) == 0 {
		sc.errorRsp(att.OpFindInfoReq, r.Start, att.ErrAttributeNotFound)
		return
	}
	sc.Bearer.Send(rsp)
}

func (sc *ServerConn) findByTypeValue(r att.FindByTypeValueReq, mtu int) {
	if !sc.validRange(att.OpFindByTypeValueReq, r.Start, r.End) {
		return
	}
	typ := att.UUID16(r.Type)
	var rsp att.FindByTypeValueRsp
	for _, a := range sc.srv.DB.inRange(r.Start, r.End) {
		if a.typ != typ || sc.checkRead(a) != nil || !bytes.Equal(sc.value(a), r.Value) {
			continue
		}
		if 1+4*(len(rsp.Handles)+1) > mtu {
			break
		}
		end := a.handle
		if a.groupEnd != 0 {
			end = a.groupEnd
		}
		rsp.Handles = append(rsp.Handles, att.HandleRange{Found: a.handle, GroupEnd: end})
	}
	if len(rsp.Handles) == 0 {
		sc.errorRsp(att.OpFindByTypeValueReq, r.Start, att.ErrAttributeNotFound)
		return
	}
	sc.Bearer.Send(rsp)
}

func (sc *ServerConn) readByType(r att.ReadByTypeReq, mtu int) {
	if !sc.validRange(att.OpReadByTypeReq, r.Start, r.End) {
		return
	}
	var rsp att.ReadByTypeRsp
	size, vlen := 2, -1
	for _, a := range sc.srv.DB.inRange(r.Start, r.End) {
		if a.typ != r.Type {
			continue
		}
		if err := sc.checkRead(a); err != nil {
			if len(rsp.Entries) == 0 {
				sc.errorRsp(att.OpReadByTypeReq, a.handle, err)
				return
			}
			break
		}
		v := sc.value(a)
		v = v[:min(len(v), mtu-4, 253)]
		if vlen >= 0 && len(v) != vlen || size+2+len(v) > mtu {
			break
		}
		vlen = len(v)
		rsp.Entries = append(rsp.Entries, att.HandleValue{Handle: a.handle, Value: v})
		size += 2 + len(v)
	}
	if len(rsp.Entries) == 0 {
		sc.errorRsp(att.OpReadByTypeReq, r.Start, att.ErrAttributeNotFound)
		return
	}
	sc.Bearer.Send(rsp)
}

func (sc *ServerConn) readByGroupType(r att.ReadByGroupTypeReq, mtu int) {
	if !sc.validRange(att.OpReadByGroupTypeReq, r.Start, r.End) {
		return
	}
	if r.Type != TypePrimaryService && r.Type != TypeSecondaryService {
		sc.errorRsp(att.OpReadByGroupTypeReq, r.Start, att.ErrUnsupportedGroupType)
		return
	}
	var rsp att.ReadByGroupTypeRsp
	size, vlen := 2, -1
	for _, a := range sc.srv.DB.inRange(r.Start, r.End) {
		if a.typ != r.Type {
			continue
		}
		v := a.value[:min(len(a.value), mtu-6, 251)]
		if vlen >= 0 && len(v) != vlen || size+4+len(v) > mtu {
			break
		}
		vlen = len(v)
		rsp.Entries = append(rsp.Entries, att.GroupValue{Start: a.handle, End: a.groupEnd, Value: v})
		size += 4 + len(v)
	}
	if len(rsp.Entries) == 0 {
		sc.errorRsp(att.OpReadByGroupTypeReq, r.Start, att.ErrAttributeNotFound)
		return
	}
	sc.Bearer.Send(rsp)
}
