package stack

import (
	"bytes"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/hosts/mesh/store"
	"blesim/hosts/mesh/transport"
)

// Handler handles an access message sent to its model; it reports
// whether it knows the opcode.
type Handler func(ctx *Context, m access.Message) bool

// Model is a model instance on an element (§3.7.2).
type Model struct {
	ID access.ModelID
	// DevKey models (the Configuration Server and Client) take only
	// messages secured with a device key; the others take messages secured
	// with an AppKey bound to them.
	DevKey bool
	Handle Handler

	stack   *Stack
	element int
	appKeys []uint16
	subs    []uint16
	labels  [][]byte
	pub     *store.Publication
}

// Element is the index of the model's element.
func (m *Model) Element() int { return m.element }

// Address is the unicast address of the model's element.
func (m *Model) Address() uint16 { return m.stack.Address() + uint16(m.element) }

// AppKeys lists the AppKey Indexes bound to the model.
func (m *Model) AppKeys() []uint16 { return m.appKeys }

// Subscriptions lists the model's group subscriptions.
func (m *Model) Subscriptions() []uint16 { return m.subs }

// Publication is the model's publication (nil: none).
func (m *Model) Publication() *store.Publication { return m.pub }

// AddModel adds a model to element elem (0 is the primary element). Add
// every model before the node is provisioned or loaded: they make up the
// Composition Data.
func (s *Stack) AddModel(elem int, m *Model) error {
	if elem < 0 || elem >= len(s.elements) {
		return fmt.Errorf("mesh stack: element %d of %d", elem, len(s.elements))
	}
	for _, o := range s.elements[elem].models {
		if o.ID == m.ID {
			return fmt.Errorf("mesh stack: model %v twice on element %d", m.ID, elem)
		}
	}
	m.stack, m.element = s, elem
	s.elements[elem].models = append(s.elements[elem].models, m)
	return nil
}

// Model returns the model id on element elem, or nil.
func (s *Stack) Model(elem int, id access.ModelID) *Model {
	if elem < 0 || elem >= len(s.elements) {
		return nil
	}
	for _, m := range s.elements[elem].models {
		if m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Stack) findModel(elem int, id string) *Model {
	if elem < 0 || elem >= len(s.elements) {
		return nil
	}
	for _, m := range s.elements[elem].models {
		if m.ID.String() == id {
			return m
		}
	}
	return nil
}

// forMe reports whether the node takes messages to dst (§3.4.6.4): its
// element addresses, groups and virtual addresses its models subscribe
// to, all-nodes, and all-relays when relaying.
func (s *Stack) forMe(dst uint16) bool {
	switch {
	case s.state == nil:
		return false
	case network.IsUnicast(dst):
		return s.IsOwn(dst)
	case dst == network.AllNodes:
		return true
	case dst == network.AllRelays:
		return s.Net.Relay
	}
	for _, e := range s.elements {
		for _, m := range e.models {
			if slices.Contains(m.subs, dst) {
				return true
			}
		}
	}
	return false
}

// devKeys lists the device keys for an AKF=0 message: the node's own
// when it is addressed to one of its elements, and that of a node the
// configuration client knows when it comes from one.
func (s *Stack) devKeys(src, dst uint16) []transport.Key {
	var ks []transport.Key
	if s.IsOwn(dst) {
		ks = append(ks, s.devKey)
	}
	if r, ok := s.Remote(src); ok {
		ks = append(ks, transport.DevKey(r.DevKey))
	}
	return ks
}

func (s *Stack) appKeysFor(netIdx uint16, aid uint8) []transport.Key {
	var ks []transport.Key
	for _, k := range s.appKeys {
		if k.NetIdx == netIdx && k.AID == aid {
			ks = append(ks, k)
		}
	}
	return ks
}

func (s *Stack) labels(addr uint16) [][]byte {
	var out [][]byte
	for _, e := range s.elements {
		for _, m := range e.models {
			for _, l := range m.labels {
				if mcrypto.VirtualAddress([16]byte(l)) != addr {
					continue
				}
				if !slices.ContainsFunc(out, func(o []byte) bool { return bytes.Equal(o, l) }) {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// Context is what a model handler knows about a received message and how
// it answers.
type Context struct {
	Stack  *Stack
	Model  *Model
	Src    uint16
	Dst    uint16
	TTL    uint8
	Subnet *network.Subnet
	Key    transport.Key // the key that secured the message
}

// Reply sends m to the message's source from the model's element, with
// the same key and subnet and the Default TTL (§3.7.3: a response uses
// the key of the request).
func (c *Context) Reply(m access.Message) error {
	return c.Stack.Transport.SendAccess(transport.Message{Subnet: c.Subnet, Src: c.Model.Address(), Dst: c.Src,
		TTL: transport.UseDefaultTTL, Key: c.Key, Payload: m.Marshal()}, nil)
}

// dispatch hands a received access message to the models of its
// destination (§3.7.3, §3.7.4): the addressed element, or every element with a
// model subscribed to the group; the primary element for all-nodes.
// A model takes it when the key fits (device key models, AppKeys bound
// to the model) and it knows the opcode.
func (s *Stack) dispatch(a *transport.Access) {
	msg, err := access.Parse(a.Payload)
	if err != nil {
		s.log.Debug("bad access message", zap.Error(err), zap.Uint16("src", a.Src))
		return
	}
	handled := false
	for ei, e := range s.elements {
		for _, m := range e.models {
			if !s.targets(ei, m, a.Dst) || !keyFits(m, a.Key) {
				continue
			}
			ctx := &Context{Stack: s, Model: m, Src: a.Src, Dst: a.Dst, TTL: a.TTL, Subnet: a.Subnet, Key: a.Key}
			if m.Handle != nil && m.Handle(ctx, msg) {
				handled = true
			}
		}
	}
	if !handled {
		s.log.Debug("access message not handled", zap.Stringer("opcode", msg.Opcode), zap.Uint16("src", a.Src), zap.Uint16("dst", a.Dst))
	}
}

func (s *Stack) targets(ei int, m *Model, dst uint16) bool {
	switch {
	case network.IsUnicast(dst):
		return s.state.Address+uint16(ei) == dst
	case dst == network.AllNodes:
		return ei == 0
	}
	return slices.Contains(m.subs, dst)
}

func keyFits(m *Model, k transport.Key) bool {
	if m.DevKey || k.Device {
		return m.DevKey && k.Device
	}
	return slices.Contains(m.appKeys, k.Index)
}

// Outgoing describes how to send an access message.
type Outgoing struct {
	Element int    // source element index
	Dst     uint16 // destination
	Label   []byte // Label UUID of a virtual Dst
	// DevKey secures the message with a device key: the node's own, or,
	// when Dst belongs to a node the configuration client knows, that
	// node's. Otherwise AppIndex selects the AppKey.
	DevKey   bool
	AppIndex uint16
	NetIndex uint16 // with DevKey: the subnet (default: the first)
	TTL      uint8  // transport.UseDefaultTTL for the Default TTL
	// Segmented asks for an acknowledged (segmented) transfer; BigMIC for
	// a 64-bit TransMIC.
	Segmented, BigMIC bool
}

// Send sends an access message. done (may be nil) reports the transport
// outcome (see transport.Layer.SendAccess).
func (s *Stack) Send(o Outgoing, m access.Message, done func(error)) error {
	if s.state == nil {
		return fmt.Errorf("mesh stack: not provisioned")
	}
	if o.Element < 0 || o.Element >= len(s.elements) {
		return fmt.Errorf("mesh stack: element %d of %d", o.Element, len(s.elements))
	}
	var key transport.Key
	var sub *network.Subnet
	if o.DevKey {
		if r, ok := s.Remote(o.Dst); ok {
			key = transport.DevKey(r.DevKey)
		} else if s.IsOwn(o.Dst) {
			key = s.devKey
		} else {
			return fmt.Errorf("mesh stack: no device key for %#04x", o.Dst)
		}
		sub = s.Net.Subnet(o.NetIndex)
		if sub == nil && len(s.Net.Subnets()) > 0 {
			sub = s.Net.Subnets()[0]
		}
	} else {
		k, ok := s.appKeys[o.AppIndex]
		if !ok {
			return fmt.Errorf("mesh stack: no AppKey %#03x", o.AppIndex)
		}
		key, sub = k, s.Net.Subnet(k.NetIdx)
	}
	return s.Transport.SendAccess(transport.Message{Subnet: sub, Src: s.state.Address + uint16(o.Element), Dst: o.Dst,
		TTL: o.TTL, Key: key, Label: o.Label, Payload: m.Marshal(), Segmented: o.Segmented, BigMIC: o.BigMIC}, done)
}

// Publish sends m to the model's publication address with its
// publication AppKey and TTL (§3.7.6.1); it does nothing without a
// publication.
func (s *Stack) Publish(mod *Model, m access.Message) error {
	p := mod.pub
	if p == nil || s.state == nil {
		return nil
	}
	o := Outgoing{Element: mod.element, Dst: p.Address, AppIndex: p.AppIndex, TTL: p.TTL}
	if p.Label != nil {
		o.Label = p.Label[:]
	}
	return s.Send(o, m, nil)
}
