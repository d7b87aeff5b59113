package gatt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/att"
)

// RemoteService is a service discovered on a server.
type RemoteService struct {
	UUID            att.UUID
	Start, End      uint16
	Characteristics []*RemoteCharacteristic
}

// RemoteCharacteristic is a characteristic discovered on a server.
type RemoteCharacteristic struct {
	UUID        att.UUID
	Props       Props
	DeclHandle  uint16
	ValueHandle uint16
	EndHandle   uint16
	CCCDHandle  uint16 // 0 when there is none
	Descriptors []RemoteDescriptor
}

// RemoteDescriptor is a descriptor discovered on a server.
type RemoteDescriptor struct {
	Handle uint16
	UUID   att.UUID
}

// ErrNoCCCD is returned by Subscribe for a characteristic without a CCCD
// or without Notify/Indicate.
var ErrNoCCCD = errors.New("gatt: characteristic cannot notify or indicate")

// Client runs GATT client procedures (Vol 3 Part G §4) over one bearer.
type Client struct {
	log      *zap.Logger
	b        *att.Bearer
	services []*RemoteService
	handlers map[uint16]func(value []byte, indication bool)
	procs    []func(done func())
	busy     bool
}

// NewClient returns a client on b. It takes over b.OnNotification; the
// bearer confirms indications itself.
func NewClient(log *zap.Logger, b *att.Bearer) *Client {
	c := &Client{log: log, b: b, handlers: map[uint16]func([]byte, bool){}}
	b.OnNotification = c.notification
	return c
}

// Bearer returns the ATT bearer.
func (c *Client) Bearer() *att.Bearer { return c.b }

// Services returns what the last discovery found.
func (c *Client) Services() []*RemoteService { return c.services }

// Characteristic returns the first discovered characteristic with uuid.
func (c *Client) Characteristic(uuid att.UUID) *RemoteCharacteristic {
	for _, s := range c.services {
		for _, ch := range s.Characteristics {
			if ch.UUID == uuid {
				return ch
			}
		}
	}
	return nil
}

func (c *Client) notification(handle uint16, value []byte, ind bool) {
	if fn := c.handlers[handle]; fn != nil {
		fn(append([]byte(nil), value...), ind)
		return
	}
	c.log.Debug("notification for a handle nobody subscribed to", zap.Uint16("handle", handle))
}

// ExchangeMTU runs Exchange MTU (§4.3.1) offering rxMTU; cb gets the
// resulting ATT_MTU.
func (c *Client) exchangeMTU(rxMTU int, cb func(mtu int, err error)) {
	c.b.Request(att.ExchangeMTUReq{MTU: uint16(rxMTU)}, func(p att.PDU, err error) {
		if err != nil {
			cb(c.b.MTU(), err)
			return
		}
		c.b.SetMTU(min(rxMTU, int(p.(att.ExchangeMTURsp).MTU)))
		cb(c.b.MTU(), nil)
	})
}

// DiscoverServices runs Discover All Primary Services (§4.4.1) with Read By
// Group Type requests from handle 0x0001 until Attribute Not Found.
func (c *Client) discoverServices(cb func([]*RemoteService, error)) {
	var out []*RemoteService
	var next func(start uint16)
	next = func(start uint16) {
		c.b.Request(att.ReadByGroupTypeReq{Start: start, End: 0xffff, Type: TypePrimaryService}, func(p att.PDU, err error) {
			if errors.Is(err, att.ErrAttributeNotFound) {
				c.services = out
				cb(out, nil)
				return
			}
			if err != nil {
				cb(out, fmt.Errorf("gatt: discover services: %w", err))
				return
			}
			last := start
			for _, e := range p.(att.ReadByGroupTypeRsp).Entries {
				u, err := att.ParseUUID(e.Value)
				if err != nil || e.End < e.Start || e.Start < start {
					cb(out, fmt.Errorf("gatt: discover services: bad entry %+v", e))
					return
				}
				out = append(out, &RemoteService{UUID: u, Start: e.Start, End: e.End})
				last = e.End
			}
			if last == 0xffff {
				c.services = out
				cb(out, nil)
				return
			}
			next(last + 1)
		})
	}
	next(1)
}

// DiscoverCharacteristics runs Discover All Characteristics of a Service
// (§4.6.1) with Read By Type requests for 0x2803.
func (c *Client) discoverCharacteristics(s *RemoteService, cb func(error)) {
	s.Characteristics = nil
	var next func(start uint16)
	finish := func() {
		for i, ch := range s.Characteristics {
			ch.EndHandle = s.End
			if i+1 < len(s.Characteristics) {
				ch.EndHandle = s.Characteristics[i+1].DeclHandle - 1
			}
		}
		cb(nil)
	}
	next = func(start uint16) {
		if start > s.End || start == 0 {
			finish()
			return
		}
		c.b.Request(att.ReadByTypeReq{Start: start, End: s.End, Type: TypeCharacteristic}, func(p att.PDU, err error) {
			if errors.Is(err, att.ErrAttributeNotFound) {
				finish()
				return
			}
			if err != nil {
				cb(fmt.Errorf("gatt: discover characteristics of %s: %w", s.UUID, err))
				return
			}
			last := start
			for _, e := range p.(att.ReadByTypeRsp).Entries {
				if len(e.Value) != 5 && len(e.Value) != 19 || e.Handle < start {
					cb(fmt.Errorf("gatt: discover characteristics: bad declaration %x at 0x%04x", e.Value, e.Handle))
					return
				}
				u, _ := att.ParseUUID(e.Value[3:])
				s.Characteristics = append(s.Characteristics, &RemoteCharacteristic{
					UUID: u, Props: Props(e.Value[0]), DeclHandle: e.Handle,
					ValueHandle: binary.LittleEndian.Uint16(e.Value[1:]),
				})
				last = e.Handle
			}
			next(last + 1)
		})
	}
	next(s.Start)
}

// DiscoverDescriptors runs Discover All Characteristic Descriptors
// (§4.7.1) with Find Information requests after the value handle.
func (c *Client) discoverDescriptors(ch *RemoteCharacteristic, cb func(error)) {
	ch.Descriptors, ch.CCCDHandle = nil, 0
	var next func(start uint16)
	next = func(start uint16) {
		if start > ch.EndHandle || start == 0 {
			cb(nil)
			return
		}
		c.b.Request(att.FindInfoReq{Start: start, End: ch.EndHandle}, func(p att.PDU, err error) {
			if errors.Is(err, att.ErrAttributeNotFound) {
				cb(nil)
				return
			}
			if err != nil {
				cb(fmt.Errorf("gatt: discover descriptors of %s: %w", ch.UUID, err))
				return
			}
			last := start
			for _, e := range p.(att.FindInfoRsp).Entries {
				if e.Handle < start {
					cb(fmt.Errorf("gatt: discover descriptors: handle 0x%04x went backwards", e.Handle))
					return
				}
				ch.Descriptors = append(ch.Descriptors, RemoteDescriptor{Handle: e.Handle, UUID: e.UUID})
				if e.UUID == TypeCCCD {
					ch.CCCDHandle = e.Handle
				}
				last = e.Handle
			}
			next(last + 1)
		})
	}
	next(ch.ValueHandle + 1)
}

// DiscoverAll discovers all primary services, their characteristics and
// their descriptors.
func (c *Client) discoverAll(cb func([]*RemoteService, error)) {
	c.discoverServices(func(svcs []*RemoteService, err error) {
		if err != nil {
			cb(svcs, err)
			return
		}
		var chars []*RemoteCharacteristic
		var descs func(i int)
		descs = func(i int) {
			if i == len(chars) {
				cb(svcs, nil)
				return
			}
			c.discoverDescriptors(chars[i], func(err error) {
				if err != nil {
					cb(svcs, err)
					return
				}
				descs(i + 1)
			})
		}
		var svc func(i int)
		svc = func(i int) {
			if i == len(svcs) {
				descs(0)
				return
			}
			c.discoverCharacteristics(svcs[i], func(err error) {
				if err != nil {
					cb(svcs, err)
					return
				}
				chars = append(chars, svcs[i].Characteristics...)
				svc(i + 1)
			})
		}
		svc(0)
	})
}

// Read reads a value (§4.8.1), continuing with Read Blob requests
// (§4.8.3, Read Long Characteristic Values) while responses are full.
func (c *Client) read(handle uint16, cb func([]byte, error)) {
	c.b.Request(att.ReadReq{Handle: handle}, func(p att.PDU, err error) {
		if err != nil {
			cb(nil, err)
			return
		}
		v := append([]byte(nil), p.(att.ReadRsp).Value...)
		if len(v) < c.b.MTU()-1 {
			cb(v, nil)
			return
		}
		c.readBlob(handle, v, cb)
	})
}

// readByUUID is Read Using Characteristic UUID (§4.8.2): one Read By Type
// Request over the whole handle range, no discovery needed. It returns
// the first matching value and its handle.
func (c *Client) readByUUID(u att.UUID, cb func(uint16, []byte, error)) {
	c.b.Request(att.ReadByTypeReq{Start: 0x0001, End: 0xFFFF, Type: u}, func(p att.PDU, err error) {
		if err != nil {
			cb(0, nil, err)
			return
		}
		rsp := p.(att.ReadByTypeRsp)
		if len(rsp.Entries) == 0 {
			cb(0, nil, att.ErrAttributeNotFound)
			return
		}
		e := rsp.Entries[0]
		cb(e.Handle, append([]byte(nil), e.Value...), nil)
	})
}

func (c *Client) readBlob(handle uint16, v []byte, cb func([]byte, error)) {
	if len(v) >= att.MaxAttrLen {
		cb(v, nil)
		return
	}
	c.b.Request(att.ReadBlobReq{Handle: handle, Offset: uint16(len(v))}, func(p att.PDU, err error) {
		if errors.Is(err, att.ErrAttributeNotLong) || errors.Is(err, att.ErrInvalidOffset) {
			cb(v, nil) // the value ended exactly at the previous response
			return
		}
		if err != nil {
			cb(v, err)
			return
		}
		part := p.(att.ReadBlobRsp).Value
		v = append(v, part...)
		if len(part) < c.b.MTU()-1 {
			cb(v, nil)
			return
		}
		c.readBlob(handle, v, cb)
	})
}

// Write writes a value with a Write Request (§4.9.3), or with Prepare
// and Execute Write requests when it does not fit (§4.9.4).
func (c *Client) write(handle uint16, value []byte, cb func(error)) {
	if len(value) <= c.b.MTU()-3 {
		c.b.Request(att.WriteReq{Handle: handle, Value: value}, func(_ att.PDU, err error) { cb(err) })
		return
	}
	chunk := c.b.MTU() - 5
	var next func(off int)
	next = func(off int) {
		if off >= len(value) {
			c.b.Request(att.ExecuteWriteReq{Flags: 1}, func(_ att.PDU, err error) { cb(err) })
			return
		}
		part := value[off:min(len(value), off+chunk)]
		req := att.PrepareWriteReq{Handle: handle, Offset: uint16(off), Value: part}
		c.b.Request(req, func(p att.PDU, err error) {
			if err != nil {
				if !errors.Is(err, att.ErrClosed) && !errors.Is(err, att.ErrTimeout) {
					c.b.Request(att.ExecuteWriteReq{Flags: 0}, func(att.PDU, error) {})
				}
				cb(err)
				return
			}
			if r := p.(att.PrepareWriteRsp); r.Handle != handle || int(r.Offset) != off || !bytes.Equal(r.Value, part) {
				c.b.Request(att.ExecuteWriteReq{Flags: 0}, func(att.PDU, error) {})
				cb(fmt.Errorf("gatt: long write: server echoed a different value; cancelled"))
				return
			}
			next(off + len(part))
		})
	}
	next(0)
}

// WriteCommand writes without response (§4.9.1).
func (c *Client) WriteCommand(handle uint16, value []byte) {
	if len(value) > c.b.MTU()-3 {
		value = value[:c.b.MTU()-3]
	}
	c.b.Send(att.WriteCmd{Handle: handle, Value: value})
}

// Subscribe enables notifications (or indications when the characteristic
// only indicates) by writing its CCCD (§4.12.3) and routes them to fn.
// Indications are confirmed by the bearer.
func (c *Client) subscribe(ch *RemoteCharacteristic, fn func(value []byte, indication bool), cb func(error)) {
	var cfg uint16
	switch {
	case ch.CCCDHandle == 0:
		cb(ErrNoCCCD)
		return
	case ch.Props&PropNotify != 0:
		cfg = 1
	case ch.Props&PropIndicate != 0:
		cfg = 2
	default:
		cb(ErrNoCCCD)
		return
	}
	c.handlers[ch.ValueHandle] = fn
	c.write(ch.CCCDHandle, []byte{byte(cfg), 0}, func(err error) {
		if err != nil {
			delete(c.handlers, ch.ValueHandle)
		}
		cb(err)
	})
}

// Unsubscribe writes 0x0000 to the CCCD.
func (c *Client) unsubscribe(ch *RemoteCharacteristic, cb func(error)) {
	delete(c.handlers, ch.ValueHandle)
	if ch.CCCDHandle == 0 {
		cb(ErrNoCCCD)
		return
	}
	c.write(ch.CCCDHandle, []byte{0, 0}, cb)
}

// run queues a procedure: GATT procedures run one at a time in call order
// (a long read or write is several ATT transactions that must not be
// interleaved with other procedures' callbacks).
func (c *Client) run(fn func(done func())) {
	c.procs = append(c.procs, fn)
	if !c.busy {
		c.next()
	}
}

func (c *Client) next() {
	if len(c.procs) == 0 {
		c.busy = false
		return
	}
	c.busy = true
	fn := c.procs[0]
	c.procs = c.procs[1:]
	fn(c.next)
}

// ExchangeMTU runs Exchange MTU (Vol 3 Part G §4.3.1) offering rxMTU; cb
// gets the resulting ATT_MTU.
func (c *Client) ExchangeMTU(rxMTU int, cb func(mtu int, err error)) {
	c.run(func(done func()) { c.exchangeMTU(rxMTU, func(m int, err error) { cb(m, err); done() }) })
}

// DiscoverServices runs Discover All Primary Services (§4.4.1).
func (c *Client) DiscoverServices(cb func([]*RemoteService, error)) {
	c.run(func(done func()) { c.discoverServices(func(s []*RemoteService, err error) { cb(s, err); done() }) })
}

// DiscoverCharacteristics runs Discover All Characteristics of a Service
// (§4.6.1) and fills s.Characteristics.
func (c *Client) DiscoverCharacteristics(s *RemoteService, cb func(error)) {
	c.run(func(done func()) { c.discoverCharacteristics(s, func(err error) { cb(err); done() }) })
}

// DiscoverDescriptors runs Discover All Characteristic Descriptors
// (§4.7.1) and fills ch.Descriptors and ch.CCCDHandle.
func (c *Client) DiscoverDescriptors(ch *RemoteCharacteristic, cb func(error)) {
	c.run(func(done func()) { c.discoverDescriptors(ch, func(err error) { cb(err); done() }) })
}

// DiscoverAll discovers all primary services, their characteristics and
// their descriptors.
func (c *Client) DiscoverAll(cb func([]*RemoteService, error)) {
	c.run(func(done func()) { c.discoverAll(func(s []*RemoteService, err error) { cb(s, err); done() }) })
}

// Read reads a value (§4.8.1), continuing with Read Blob requests
// (§4.8.3) while responses are full.
func (c *Client) Read(handle uint16, cb func([]byte, error)) {
	c.run(func(done func()) { c.read(handle, func(v []byte, err error) { cb(v, err); done() }) })
}

// ReadByUUID reads the first characteristic value of type u with Read
// Using Characteristic UUID (§4.8.2), without discovery.
func (c *Client) ReadByUUID(u att.UUID, cb func(handle uint16, value []byte, err error)) {
	c.run(func(done func()) {
		c.readByUUID(u, func(h uint16, v []byte, err error) { cb(h, v, err); done() })
	})
}

// Write writes a value with a Write Request (§4.9.3), or with Prepare and
// Execute Write requests when it does not fit in one (§4.9.4).
func (c *Client) Write(handle uint16, value []byte, cb func(error)) {
	c.run(func(done func()) { c.write(handle, value, func(err error) { cb(err); done() }) })
}

// Subscribe enables notifications (or indications when the characteristic
// only indicates) by writing its CCCD (§4.12.3) and routes them to fn.
// The bearer confirms indications.
func (c *Client) Subscribe(ch *RemoteCharacteristic, fn func(value []byte, indication bool), cb func(error)) {
	c.run(func(done func()) { c.subscribe(ch, fn, func(err error) { cb(err); done() }) })
}

// Unsubscribe writes 0x0000 to the CCCD.
func (c *Client) Unsubscribe(ch *RemoteCharacteristic, cb func(error)) {
	c.run(func(done func()) { c.unsubscribe(ch, func(err error) { cb(err); done() }) })
}

// Then runs fn once every procedure queued before it has finished.
func (c *Client) Then(fn func()) {
	c.run(func(done func()) { fn(); done() })
}
