package l2cap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// LE signalling command codes (Vol 3 Part A §4, table 4.2).
const (
	SigCommandReject         uint8 = 0x01
	SigDisconnectionRequest  uint8 = 0x06
	SigDisconnectionResponse uint8 = 0x07
	SigConnParamUpdateReq    uint8 = 0x12
	SigConnParamUpdateRsp    uint8 = 0x13
	SigLECreditConnReq       uint8 = 0x14
	SigLECreditConnRsp       uint8 = 0x15
	SigFlowControlCredit     uint8 = 0x16
)

// Command Reject reasons (Vol 3 Part A §4.1).
const (
	RejectNotUnderstood uint16 = 0x0000
	RejectMTUExceeded   uint16 = 0x0001
	RejectInvalidCID    uint16 = 0x0002
)

// SignalingMTU is the LE signalling channel's MTU, MTUsig = 23
// (Vol 3 Part A §4).
const SignalingMTU = 23

// RTX is the response timeout for signalling requests (Vol 3 Part A §6.2.1
// allows 1 to 60 s; 30 s is what common stacks use).
const RTX = 30 * sim.Second

// Errors passed to RequestParamUpdate callbacks.
var (
	ErrRejected  = errors.New("l2cap: request rejected with Command Reject")
	ErrTimeout   = errors.New("l2cap: signalling request timed out")
	ErrNotAllow  = errors.New("l2cap: only a peripheral may send a Connection Parameter Update Request")
	ErrBadParams = errors.New("l2cap: invalid connection parameters")
)

// Signal is one signalling command: Code (1), Identifier (1), Length (2),
// Data (Vol 3 Part A §4).
type Signal struct {
	Code  uint8
	Ident uint8
	Data  []byte
}

// ParseSignal parses one LE signalling C-frame payload. LE carries exactly
// one command per C-frame.
func ParseSignal(p []byte) (Signal, error) {
	if len(p) < 4 {
		return Signal{}, fmt.Errorf("l2cap: signalling command of %d bytes (< 4)", len(p))
	}
	s := Signal{Code: p[0], Ident: p[1]}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if n != len(p)-4 {
		return s, fmt.Errorf("l2cap: signalling command 0x%02x says %d data bytes, has %d", s.Code, n, len(p)-4)
	}
	s.Data = p[4:]
	return s, nil
}

// Marshal encodes the command.
func (s Signal) Marshal() []byte {
	b := make([]byte, 4+len(s.Data))
	b[0], b[1] = s.Code, s.Ident
	binary.LittleEndian.PutUint16(b[2:], uint16(len(s.Data)))
	copy(b[4:], s.Data)
	return b
}

// ParseConnParams decodes the data of a Connection Parameter Update
// Request (§4.20).
func ParseConnParams(d []byte) (ConnParams, error) {
	r := hci.NewReader(d)
	p := ConnParams{IntervalMin: r.U16(), IntervalMax: r.U16(), Latency: r.U16(), Timeout: r.U16()}
	return p, r.Exact()
}

// Marshal encodes the parameters as in a Connection Parameter Update
// Request.
func (p ConnParams) Marshal() []byte {
	return (&hci.Writer{}).U16(p.IntervalMin).U16(p.IntervalMax).U16(p.Latency).U16(p.Timeout).B
}

type pendingSig struct {
	code  uint8
	cb    func(accepted bool, err error)
	timer *sim.Timer
}

type signaling struct {
	nextIdent uint8
	pending   map[uint8]*pendingSig
}

func (s *signaling) init() { s.pending = map[uint8]*pendingSig{} }

func (s *signaling) ident() uint8 {
	s.nextIdent++
	if s.nextIdent == 0 {
		s.nextIdent = 1
	}
	return s.nextIdent
}

func (s *signaling) closeAll() {
	ids := make([]uint8, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids) // deterministic callback order
	for _, id := range ids {
		p := s.pending[id]
		delete(s.pending, id)
		p.timer.Stop()
		p.cb(false, ErrDisconnected)
	}
}

// RequestParamUpdate sends a Connection Parameter Update Request
// (§4.20). Only the peripheral may send it. cb gets accepted=true when the
// central answered with result 0x0000; the central then starts the LL
// connection update and OnParamsUpdated follows.
func (c *Conn) RequestParamUpdate(p ConnParams, cb func(accepted bool, err error)) {
	if cb == nil {
		cb = func(bool, error) {}
	}
	switch {
	case c.closed:
		cb(false, ErrDisconnected)
		return
	case c.Role != hcihost.RolePeripheral:
		cb(false, ErrNotAllow)
		return
	case !p.Valid():
		cb(false, ErrBadParams)
		return
	}
	id := c.sig.ident()
	ps := &pendingSig{code: SigConnParamUpdateReq, cb: cb}
	ps.timer = c.Scheduler().After(RTX, func() {
		if c.sig.pending[id] == ps {
			delete(c.sig.pending, id)
			c.log.Error("Connection Parameter Update Request timed out")
			cb(false, ErrTimeout)
		}
	})
	c.sig.pending[id] = ps
	if err := c.Send(CIDSignaling, Signal{Code: SigConnParamUpdateReq, Ident: id, Data: p.Marshal()}.Marshal()); err != nil {
		delete(c.sig.pending, id)
		ps.timer.Stop()
		cb(false, err)
	}
}

func (c *Conn) reject(id uint8, reason uint16, data []byte) {
	d := binary.LittleEndian.AppendUint16(nil, reason)
	d = append(d, data...)
	c.sendLogged(CIDSignaling, Signal{Code: SigCommandReject, Ident: id, Data: d}.Marshal())
}

// signal handles one C-frame on the LE signalling channel.
func (c *Conn) signal(p []byte) {
	if len(p) > SignalingMTU {
		id := uint8(0)
		if len(p) > 1 {
			id = p[1]
		}
		c.log.Error("signalling command larger than MTUsig; rejected", zap.Int("len", len(p)))
		c.reject(id, RejectMTUExceeded, binary.LittleEndian.AppendUint16(nil, SignalingMTU))
		return
	}
	s, err := ParseSignal(p)
	if err != nil {
		c.log.Error("malformed signalling command", zap.Error(err), zap.Binary("pdu", p))
		if len(p) >= 4 && s.Ident != 0 {
			c.reject(s.Ident, RejectNotUnderstood, nil)
		}
		return
	}
	if s.Ident == 0 {
		// Identifier 0x00 is illegal (§4); such commands are dropped.
		c.log.Error("signalling command with identifier 0; dropped", zap.Uint8("code", s.Code))
		return
	}
	switch s.Code {
	case SigConnParamUpdateReq:
		c.paramUpdateRequest(s)
	case SigConnParamUpdateRsp:
		ps := c.sig.pending[s.Ident]
		if ps == nil || ps.code != SigConnParamUpdateReq || len(s.Data) != 2 {
			c.log.Warn("unexpected Connection Parameter Update Response; ignored", zap.Uint8("ident", s.Ident), zap.Binary("data", s.Data))
			return
		}
		delete(c.sig.pending, s.Ident)
		ps.timer.Stop()
		ps.cb(binary.LittleEndian.Uint16(s.Data) == 0, nil)
	case SigCommandReject:
		if ps := c.sig.pending[s.Ident]; ps != nil {
			delete(c.sig.pending, s.Ident)
			ps.timer.Stop()
			ps.cb(false, ErrRejected)
			return
		}
		c.log.Warn("Command Reject for no pending request; ignored", zap.Uint8("ident", s.Ident))
	case SigLECreditConnReq:
		// No LE credit based channels are offered: refuse with
		// "LE_PSM not supported" (§4.23, result 0x0002).
		if len(s.Data) != 10 {
			c.reject(s.Ident, RejectNotUnderstood, nil)
			return
		}
		rsp := (&hci.Writer{}).U16(0).U16(0).U16(0).U16(0).U16(0x0002).B
		c.sendLogged(CIDSignaling, Signal{Code: SigLECreditConnRsp, Ident: s.Ident, Data: rsp}.Marshal())
	case SigDisconnectionRequest:
		// There are no dynamic channels, so any CID is invalid (§4.1).
		if len(s.Data) != 4 {
			c.reject(s.Ident, RejectNotUnderstood, nil)
			return
		}
		dcid, scid := binary.LittleEndian.Uint16(s.Data), binary.LittleEndian.Uint16(s.Data[2:])
		c.reject(s.Ident, RejectInvalidCID, (&hci.Writer{}).U16(dcid).U16(scid).B)
	default:
		if isResponse(s.Code) {
			c.log.Warn("unexpected signalling response; ignored", zap.Uint8("code", s.Code))
			return
		}
		c.log.Warn("unknown signalling command; rejected", zap.Uint8("code", s.Code))
		c.reject(s.Ident, RejectNotUnderstood, nil)
	}
}

// isResponse reports whether code is a response (which is never rejected).
func isResponse(code uint8) bool {
	switch code {
	case 0x03, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x0F, 0x11, 0x13, 0x15, 0x18, 0x1A:
		return true
	}
	return false
}

// paramUpdateRequest handles a Connection Parameter Update Request (§4.20):
// a peripheral rejects the command; a central answers accepted (0x0000) or
// rejected (0x0001) and, when it accepts, issues HCI LE Connection Update
// (Vol 4 Part E §7.8.18).
func (c *Conn) paramUpdateRequest(s Signal) {
	if c.Role != hcihost.RoleCentral {
		c.log.Warn("Connection Parameter Update Request received as peripheral; rejected")
		c.reject(s.Ident, RejectNotUnderstood, nil)
		return
	}
	p, err := ParseConnParams(s.Data)
	if err != nil {
		c.log.Error("malformed Connection Parameter Update Request", zap.Error(err))
		c.reject(s.Ident, RejectNotUnderstood, nil)
		return
	}
	accept := p.Valid() && (c.OnParamUpdateRequest == nil || c.OnParamUpdateRequest(p))
	result := uint16(1)
	if accept {
		result = 0
	}
	c.log.Info("Connection Parameter Update Request", zap.Bool("accepted", accept),
		zap.Uint16("interval_min", p.IntervalMin), zap.Uint16("interval_max", p.IntervalMax),
		zap.Uint16("latency", p.Latency), zap.Uint16("timeout", p.Timeout))
	c.sendLogged(CIDSignaling, Signal{Code: SigConnParamUpdateRsp, Ident: s.Ident, Data: binary.LittleEndian.AppendUint16(nil, result)}.Marshal())
	if !accept {
		return
	}
	w := &hci.Writer{}
	w.U16(c.Handle).U16(p.IntervalMin).U16(p.IntervalMax).U16(p.Latency).U16(p.Timeout).U16(0).U16(0)
	c.mux.host.Command(hci.OpLEConnectionUpdate, w.B, func(_ []byte, err error) {
		if err != nil {
			c.log.Error("LE Connection Update failed", zap.Error(err))
		}
	})
}
