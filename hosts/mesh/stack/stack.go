// Package stack is a mesh node's protocol stack above the bearer: the
// network layer, the lower and upper transport, the access layer's
// dispatch to elements and models (Mesh Protocol v1.1 §3.4–§3.7), and the
// node's state (keys, addresses, sequence numbers, IV Index, replay
// protection list, configuration states, §4.2) kept in a state file
// (hosts/mesh/store). A device becomes a node with Provision; the
// Configuration Server (hosts/mesh/config) and the other models are
// registered with AddModel before Start.
//
// The same Stack serves a provisioner: it is a node of its own network
// whose configuration client knows the device keys of the nodes it
// provisioned (AddRemote).
package stack

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/hosts/mesh/store"
	"blesim/hosts/mesh/transport"
	"blesim/linklayer/sim"
)

// Config describes a node.
type Config struct {
	Log   *zap.Logger
	Sched *sim.Scheduler
	// Send transmits one AD structure on the advertising bearer.
	Send func(ad []byte)

	// Composition Data page 0 identifiers (§4.2.2.1).
	Company, Product, Version uint16
	// CRPL is the number of sources the replay protection list holds
	// (default 2048).
	CRPL uint16
	// Locations of the elements, primary first (default: one element,
	// location 0x0000).
	Locations []uint16
	// NoRelay leaves the Relay feature out (Features bit 0).
	NoRelay bool

	// Initial configuration states of a newly provisioned node.
	DefaultTTL      uint8 // default 5
	Relay           bool  // Relay state on
	Beacon          bool  // Secure Network beacons on
	NetTransmit     uint8 // Network Transmit state (count 3 bits, steps 5 bits), default count 2, 20 ms
	RelayRetransmit uint8 // Relay Retransmit state, default count 2, 20 ms

	// StatePath is the state file; "" keeps the state in memory only.
	StatePath string
	// SeqBlock is how many sequence numbers are reserved in the state file
	// at a time (default 256).
	SeqBlock uint32
	// SAR tunes segmentation and reassembly.
	SAR transport.SAR
	// CacheSize is the network message cache size.
	CacheSize int

	// OnReset is called after Node Reset removed the node from its network.
	OnReset func()
	// OnChange is called after a configuration change (AppKeys,
	// bindings, subscriptions, states).
	OnChange func()
}

// Stack is one node's mesh stack.
type Stack struct {
	cfg       Config
	log       *zap.Logger
	sched     *sim.Scheduler
	Net       *network.Layer
	Transport *transport.Layer

	elements []*element
	state    *store.State // nil while unprovisioned
	devKey   transport.Key
	appKeys  map[uint16]transport.Key
	seq      uint32
	rpl      map[uint16]store.RPLEntry
	remotes  []store.Remote

	flushPending bool
	// SaveErr is the last state file error (nil when saved).
	SaveErr error
}

type element struct {
	location uint16
	models   []*Model
}

// New builds a node's stack. It is unprovisioned until Provision or Load.
func New(cfg Config) (*Stack, error) {
	if cfg.Sched == nil {
		return nil, errors.New("mesh stack: no scheduler")
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if len(cfg.Locations) == 0 {
		cfg.Locations = []uint16{0}
	}
	if cfg.CRPL == 0 {
		cfg.CRPL = 2048
	}
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = 5
	}
	if cfg.DefaultTTL == 1 || cfg.DefaultTTL > 127 {
		return nil, fmt.Errorf("mesh stack: Default TTL %d (want 0, 2..127)", cfg.DefaultTTL)
	}
	if cfg.NetTransmit == 0 {
		cfg.NetTransmit = 2 | 1<<3
	}
	if cfg.RelayRetransmit == 0 {
		cfg.RelayRetransmit = 2 | 1<<3
	}
	if cfg.SeqBlock == 0 {
		cfg.SeqBlock = 256
	}
	s := &Stack{cfg: cfg, log: cfg.Log, sched: cfg.Sched, appKeys: map[uint16]transport.Key{}, rpl: map[uint16]store.RPLEntry{}}
	for _, loc := range cfg.Locations {
		s.elements = append(s.elements, &element{location: loc})
	}
	s.Net = network.New(network.Config{Log: cfg.Log.Named("net"), Sched: cfg.Sched, Send: cfg.Send,
		OnPDU: func(p *network.PDU) { s.Transport.Receive(p) }, Own: s.IsOwn, OnIV: s.ivChanged, CacheSize: cfg.CacheSize})
	s.Transport = transport.New(transport.Config{Log: cfg.Log.Named("transport"), Sched: cfg.Sched, Net: s.Net, SAR: cfg.SAR,
		Seq: s.nextSeq, ForMe: s.forMe, DevKeys: s.devKeys, AppKeys: s.appKeysFor, Labels: s.labels,
		Replay: s.replayOK, Accepted: s.accepted, DefaultTTL: s.DefaultTTL, OnAccess: s.dispatch,
		OnControl: func(c *transport.Control) {
			s.log.Debug("transport control message", zap.Uint8("opcode", c.Opcode), zap.Uint16("src", c.Src))
		}})
	return s, nil
}

// Scheduler is the simulation scheduler.
func (s *Stack) Scheduler() *sim.Scheduler { return s.sched }

// Log is the stack's logger.
func (s *Stack) Log() *zap.Logger { return s.log }

// Elements is the number of elements.
func (s *Stack) Elements() int { return len(s.elements) }

// Provisioned reports whether the node is in a network.
func (s *Stack) Provisioned() bool { return s.state != nil }

// Address is the primary element's unicast address (0 when unprovisioned).
func (s *Stack) Address() uint16 {
	if s.state == nil {
		return 0
	}
	return s.state.Address
}

// State returns the node's state as it would be saved (nil when
// unprovisioned). Callers must not modify it.
func (s *Stack) State() *store.State {
	if s.state == nil {
		return nil
	}
	s.sync()
	return s.state
}

// DevKey is the node's device key.
func (s *Stack) DevKey() mcrypto.Key { return s.devKey.Key }

// IsOwn reports whether addr is the unicast address of one of the
// node's elements.
func (s *Stack) IsOwn(addr uint16) bool {
	if s.state == nil {
		return false
	}
	return addr >= s.state.Address && int(addr) < int(s.state.Address)+len(s.elements)
}

// Composition is Composition Data page 0.
func (s *Stack) Composition() access.Composition {
	c := access.Composition{CID: s.cfg.Company, PID: s.cfg.Product, VID: s.cfg.Version, CRPL: s.cfg.CRPL}
	if !s.cfg.NoRelay {
		c.Features |= access.FeatureRelay
	}
	for _, e := range s.elements {
		ce := access.Element{Location: e.location}
		for _, m := range e.models {
			ce.Models = append(ce.Models, m.ID)
		}
		c.Elements = append(c.Elements, ce)
	}
	return c
}

// Provision makes the device a node with the provisioning data and its
// device key (§5.4.2.5), saves the state file and starts the network.
func (s *Stack) Provision(addr uint16, netIdx uint16, netKey mcrypto.Key, flags uint8, ivIndex uint32, devKey mcrypto.Key, uuid [16]byte) error {
	if !network.IsUnicast(addr) || !network.IsUnicast(addr+uint16(len(s.elements))-1) {
		return fmt.Errorf("mesh stack: address %#04x for %d elements", addr, len(s.elements))
	}
	st := &store.State{UUID: uuid, Address: addr, Elements: len(s.elements), DevKey: devKey, IVIndex: ivIndex,
		IVUpdate: flags&0x02 != 0, NetKeys: []store.NetKey{{Index: netIdx & 0xfff, Key: netKey}},
		DefaultTTL: s.cfg.DefaultTTL, Relay: s.cfg.Relay && !s.cfg.NoRelay, RelayRetransmit: s.cfg.RelayRetransmit,
		NetTransmit: s.cfg.NetTransmit, Beacon: s.cfg.Beacon}
	s.apply(st)
	s.seq = 0
	st.SeqLimit = 0
	if err := s.saveNow(); err != nil {
		return err
	}
	s.log.Info("provisioned", zap.Uint16("address", addr), zap.Uint32("iv_index", ivIndex))
	if st.Beacon {
		s.Net.SendBeacons()
	}
	return nil
}

// apply makes st the node's state.
func (s *Stack) apply(st *store.State) {
	s.state = st
	s.devKey = transport.DevKey(mcrypto.Key(st.DevKey))
	for _, nk := range st.NetKeys {
		s.Net.AddSubnet(network.NewSubnet(nk.Index, mcrypto.Key(nk.Key)))
	}
	clear(s.appKeys)
	for _, ak := range st.AppKeys {
		s.appKeys[ak.Index] = transport.AppKey(ak.Index, ak.NetIndex, mcrypto.Key(ak.Key))
	}
	s.Net.SetIV(network.IVState{Index: st.IVIndex, Updating: st.IVUpdate})
	s.Net.Relay = st.Relay
	s.Net.SetBeaconing(st.Beacon)
	s.seq = st.SeqLimit
	clear(s.rpl)
	for k, v := range st.RPL {
		if a, err := store.ParseRPLKey(k); err == nil {
			s.rpl[a] = v
		}
	}
	s.remotes = st.Remotes
	for _, e := range s.elements {
		for _, m := range e.models {
			m.appKeys, m.subs, m.labels, m.pub = nil, nil, nil, nil
		}
	}
	for _, ms := range st.Models {
		m := s.findModel(ms.Element, ms.Model)
		if m == nil {
			continue
		}
		m.appKeys = append([]uint16(nil), ms.AppKeys...)
		m.subs = append([]uint16(nil), ms.Subs...)
		for _, l := range ms.Labels {
			m.labels = append(m.labels, append([]byte(nil), l[:]...))
		}
		m.pub = ms.Pub
	}
}

// Load restores the node from its state file. It returns
// store.ErrNotFound when there is none (the device is unprovisioned).
func (s *Stack) Load() error {
	if s.cfg.StatePath == "" {
		return store.ErrNotFound
	}
	st, err := store.Load(s.cfg.StatePath)
	if err != nil {
		return err
	}
	if st.Elements != len(s.elements) {
		return fmt.Errorf("mesh stack: %s has %d elements, the node %d", s.cfg.StatePath, st.Elements, len(s.elements))
	}
	s.apply(st)
	// Continue after the reserved block: SEQs below it may have been used
	// before the restart.
	st.SeqLimit = s.seq
	if err := s.saveNow(); err != nil {
		return err
	}
	s.log.Info("state loaded", zap.String("file", s.cfg.StatePath), zap.Uint16("address", st.Address),
		zap.Uint32("seq", s.seq), zap.Uint32("iv_index", st.IVIndex))
	return nil
}

// Reset removes the node from its network (Config Node Reset, §4.3.2, §4.4.1): the
// state file is deleted and every key forgotten; the device is
// unprovisioned again.
func (s *Stack) Reset() {
	if s.state == nil {
		return
	}
	for _, sub := range append([]*network.Subnet(nil), s.Net.Subnets()...) {
		s.Net.RemoveSubnet(sub.Index)
	}
	s.Net.SetBeaconing(false)
	s.Net.Relay = false
	s.state = nil
	s.devKey = transport.Key{}
	clear(s.appKeys)
	clear(s.rpl)
	s.remotes = nil
	for _, e := range s.elements {
		for _, m := range e.models {
			m.appKeys, m.subs, m.labels, m.pub = nil, nil, nil, nil
		}
	}
	if s.cfg.StatePath != "" {
		if err := store.Remove(s.cfg.StatePath); err != nil {
			s.SaveErr = err
			s.log.Error("state file not removed", zap.Error(err))
		}
	}
	s.log.Info("node reset")
	if s.cfg.OnReset != nil {
		s.cfg.OnReset()
	}
}

// Receive takes received advertising data: mesh messages and Secure
// Network beacons go to the network layer.
func (s *Stack) Receive(ad []byte) {
	if s.state == nil {
		return
	}
	s.Net.Receive(ad)
}

// sync copies the runtime state into s.state.
func (s *Stack) sync() {
	st := s.state
	iv := s.Net.IV()
	st.IVIndex, st.IVUpdate = iv.Index, iv.Updating
	st.Relay = s.Net.Relay
	st.Beacon = s.Net.Beaconing()
	st.AppKeys = st.AppKeys[:0]
	for _, k := range s.sortedAppKeys() {
		st.AppKeys = append(st.AppKeys, store.AppKey{Index: k.Index, NetIndex: k.NetIdx, Key: store.Key(k.Key)})
	}
	st.Models = st.Models[:0]
	for ei, e := range s.elements {
		for _, m := range e.models {
			if len(m.appKeys) == 0 && len(m.subs) == 0 && m.pub == nil {
				continue
			}
			ms := store.Model{Element: ei, Model: m.ID.String(), AppKeys: m.appKeys, Subs: m.subs, Pub: m.pub}
			for _, l := range m.labels {
				ms.Labels = append(ms.Labels, store.Key(l))
			}
			st.Models = append(st.Models, ms)
		}
	}
	st.RPL = make(map[string]store.RPLEntry, len(s.rpl))
	for a, e := range s.rpl {
		st.RPL[store.RPLKey(a)] = e
	}
	st.Remotes = s.remotes
}

// saveNow writes the state file (when there is one).
func (s *Stack) saveNow() error {
	if s.state == nil || s.cfg.StatePath == "" {
		return nil
	}
	s.sync()
	s.SaveErr = store.Save(s.cfg.StatePath, s.state)
	if s.SaveErr != nil {
		s.log.Error("state file not saved", zap.Error(s.SaveErr))
	}
	return s.SaveErr
}

// changed tells OnChange of a configuration change and saves.
func (s *Stack) changed() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
	s.dirty()
}

// dirty schedules a save at the end of the current event (several changes
// in one event make one write).
func (s *Stack) dirty() {
	if s.cfg.StatePath == "" || s.flushPending {
		return
	}
	s.flushPending = true
	s.sched.After(0, func() {
		s.flushPending = false
		s.saveNow()
	})
}

func (s *Stack) ivChanged(old, next network.IVState) {
	if next.TxIndex() != old.TxIndex() {
		// A new transmit IV Index starts the sequence numbers again
		// (§3.11.5).
		s.seq = 0
		if s.state != nil {
			s.state.SeqLimit = 0
		}
	}
	s.saveNow()
}
