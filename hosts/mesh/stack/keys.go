package stack

import (
	"slices"

	"blesim/hosts/mesh/access"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/hosts/mesh/store"
	"blesim/hosts/mesh/transport"
)

// Key index limits (§4.3.1.1): NetKey and AppKey Indexes are 12 bits.
const MaxKeyIndex = 0x0FFF

func (s *Stack) sortedAppKeys() []transport.Key {
	var ks []transport.Key
	for _, k := range s.appKeys {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b transport.Key) int { return int(a.Index) - int(b.Index) })
	return ks
}

// NetKeyIndexes lists the NetKey Indexes the node knows.
func (s *Stack) NetKeyIndexes() []uint16 {
	var out []uint16
	for _, sub := range s.Net.Subnets() {
		out = append(out, sub.Index)
	}
	return out
}

// AppKeyIndexes lists the AppKey Indexes bound to NetKey Index netIdx.
func (s *Stack) AppKeyIndexes(netIdx uint16) []uint16 {
	var out []uint16
	for _, k := range s.sortedAppKeys() {
		if k.NetIdx == netIdx {
			out = append(out, k.Index)
		}
	}
	return out
}

// AppKey returns an AppKey by index.
func (s *Stack) AppKey(index uint16) (transport.Key, bool) {
	k, ok := s.appKeys[index]
	return k, ok
}

// AddAppKey is Config AppKey Add (§4.3.2, §4.4.1): adding the same key again
// succeeds; another key under a stored index is Key Index Already Stored.
func (s *Stack) AddAppKey(netIdx, appIdx uint16, key mcrypto.Key) Status {
	if s.Net.Subnet(netIdx) == nil {
		return StatusInvalidNetKeyIndex
	}
	if appIdx > MaxKeyIndex {
		return StatusInvalidAppKeyIndex
	}
	if k, ok := s.appKeys[appIdx]; ok {
		if k.Key == key && k.NetIdx == netIdx {
			return StatusSuccess
		}
		if k.NetIdx != netIdx {
			return StatusInvalidNetKeyIndex
		}
		return StatusKeyIndexAlreadyStored
	}
	if len(s.appKeys) >= 64 {
		return StatusInsufficientResources
	}
	s.appKeys[appIdx] = transport.AppKey(appIdx, netIdx, key)
	s.changed()
	return StatusSuccess
}

// UpdateAppKey is Config AppKey Update. Without the Key Refresh procedure
// (not implemented) an update cannot be applied: the key is checked and
// Cannot Update answered, as a node not in Key Refresh Phase 1 does.
func (s *Stack) UpdateAppKey(netIdx, appIdx uint16, key mcrypto.Key) Status {
	k, ok := s.appKeys[appIdx]
	switch {
	case s.Net.Subnet(netIdx) == nil:
		return StatusInvalidNetKeyIndex
	case !ok:
		return StatusInvalidAppKeyIndex
	case k.NetIdx != netIdx:
		return StatusInvalidBinding
	}
	return StatusCannotUpdate
}

// DeleteAppKey is Config AppKey Delete: the key and its bindings go;
// deleting a key that is not there succeeds.
func (s *Stack) DeleteAppKey(netIdx, appIdx uint16) Status {
	if s.Net.Subnet(netIdx) == nil {
		return StatusInvalidNetKeyIndex
	}
	k, ok := s.appKeys[appIdx]
	if !ok {
		return StatusSuccess
	}
	if k.NetIdx != netIdx {
		return StatusInvalidBinding
	}
	delete(s.appKeys, appIdx)
	for _, e := range s.elements {
		for _, m := range e.models {
			m.appKeys = slices.DeleteFunc(m.appKeys, func(i uint16) bool { return i == appIdx })
			if m.pub != nil && m.pub.AppIndex == appIdx {
				m.pub = nil
			}
		}
	}
	s.changed()
	return StatusSuccess
}

// ModelAt finds the model id on the element with unicast address
// elemAddr, with the status Config Model App and Subscription messages
// answer when it is not there.
func (s *Stack) ModelAt(elemAddr uint16, id access.ModelID) (*Model, Status) {
	if !s.IsOwn(elemAddr) {
		return nil, StatusInvalidAddress
	}
	for _, m := range s.elements[elemAddr-s.state.Address].models {
		if m.ID == id {
			return m, StatusSuccess
		}
	}
	return nil, StatusInvalidModel
}

// Bind is Config Model App Bind (§4.2.6): the model on element elemAddr
// may then use AppKey appIdx. Models that use the device key cannot be
// bound.
func (s *Stack) Bind(elemAddr uint16, id access.ModelID, appIdx uint16) Status {
	m, st := s.ModelAt(elemAddr, id)
	if st != StatusSuccess {
		return st
	}
	if _, ok := s.appKeys[appIdx]; !ok {
		return StatusInvalidAppKeyIndex
	}
	if m.DevKey {
		return StatusCannotBind
	}
	if !slices.Contains(m.appKeys, appIdx) {
		m.appKeys = append(m.appKeys, appIdx)
		s.changed()
	}
	return StatusSuccess
}

// Unbind is Config Model App Unbind.
func (s *Stack) Unbind(elemAddr uint16, id access.ModelID, appIdx uint16) Status {
	m, st := s.ModelAt(elemAddr, id)
	if st != StatusSuccess {
		return st
	}
	if _, ok := s.appKeys[appIdx]; !ok {
		return StatusInvalidAppKeyIndex
	}
	if m.DevKey {
		return StatusCannotBind
	}
	if i := slices.Index(m.appKeys, appIdx); i >= 0 {
		m.appKeys = slices.Delete(m.appKeys, i, i+1)
		if m.pub != nil && m.pub.AppIndex == appIdx {
			m.pub = nil
		}
		s.changed()
	}
	return StatusSuccess
}

// Subscribe adds a group address to the model's subscription list
// (Config Model Subscription Add, §4.2.4).
func (s *Stack) Subscribe(elemAddr uint16, id access.ModelID, addr uint16) Status {
	m, st := s.ModelAt(elemAddr, id)
	if st != StatusSuccess {
		return st
	}
	if !network.IsGroup(addr) || addr == network.AllNodes {
		return StatusInvalidAddress
	}
	if m.DevKey {
		return StatusNotASubscribeModel
	}
	if !slices.Contains(m.subs, addr) {
		if len(m.subs) >= 8 {
			return StatusInsufficientResources
		}
		m.subs = append(m.subs, addr)
		s.changed()
	}
	return StatusSuccess
}

// Unsubscribe removes a group address from the model's subscription list
// (Config Model Subscription Delete).
func (s *Stack) Unsubscribe(elemAddr uint16, id access.ModelID, addr uint16) Status {
	m, st := s.ModelAt(elemAddr, id)
	if st != StatusSuccess {
		return st
	}
	if !network.IsGroup(addr) {
		return StatusInvalidAddress
	}
	if m.DevKey {
		return StatusNotASubscribeModel
	}
	if i := slices.Index(m.subs, addr); i >= 0 {
		m.subs = slices.Delete(m.subs, i, i+1)
		s.changed()
	}
	return StatusSuccess
}

// SetPublication sets (or, with address 0, clears) the model's
// publication (Config Model Publication Set, §4.2.3).
func (s *Stack) SetPublication(elemAddr uint16, id access.ModelID, p store.Publication) Status {
	m, st := s.ModelAt(elemAddr, id)
	if st != StatusSuccess {
		return st
	}
	if p.Address == network.Unassigned {
		m.pub = nil
		s.changed()
		return StatusSuccess
	}
	if _, ok := s.appKeys[p.AppIndex]; !ok {
		return StatusInvalidAppKeyIndex
	}
	if m.DevKey || (p.TTL > 127 && p.TTL != 0xFF) || p.TTL == 1 {
		return StatusInvalidPublishParams
	}
	cp := p
	m.pub = &cp
	s.changed()
	return StatusSuccess
}

// Publication returns the model's publication (nil: none).
func (s *Stack) Publication(m *Model) *store.Publication { return m.pub }

// DefaultTTL is the Default TTL state (§4.2.7).
func (s *Stack) DefaultTTL() uint8 {
	if s.state == nil {
		return s.cfg.DefaultTTL
	}
	return s.state.DefaultTTL
}

// SetDefaultTTL sets the Default TTL (0 or 2..127); it reports false for
// a prohibited value.
func (s *Stack) SetDefaultTTL(ttl uint8) bool {
	if ttl == 1 || ttl > 127 || s.state == nil {
		return false
	}
	s.state.DefaultTTL = ttl
	s.changed()
	return true
}

// Relay states (§4.2.8).
const (
	RelayDisabled     uint8 = 0x00
	RelayEnabled      uint8 = 0x01
	RelayNotSupported uint8 = 0x02
)

// Relay returns the Relay state and the Relay Retransmit state.
func (s *Stack) Relay() (uint8, uint8) {
	switch {
	case s.cfg.NoRelay:
		return RelayNotSupported, 0
	case s.Net.Relay:
		return RelayEnabled, s.state.RelayRetransmit
	}
	return RelayDisabled, s.state.RelayRetransmit
}

// SetRelay sets the Relay state (when the feature is supported) and the
// Relay Retransmit state.
func (s *Stack) SetRelay(on bool, retransmit uint8) {
	if s.cfg.NoRelay || s.state == nil {
		return
	}
	s.Net.Relay = on
	s.state.RelayRetransmit = retransmit
	s.changed()
}

// Beacon is the Beacon state (§4.2.11).
func (s *Stack) Beacon() bool { return s.Net.Beaconing() }

// SetBeacon sets the Beacon state.
func (s *Stack) SetBeacon(on bool) {
	if s.state == nil {
		return
	}
	s.Net.SetBeaconing(on)
	s.changed()
}

// NetTransmit is the Network Transmit state (§4.2.19).
func (s *Stack) NetTransmit() uint8 {
	if s.state == nil {
		return s.cfg.NetTransmit
	}
	return s.state.NetTransmit
}

// SetNetTransmit sets the Network Transmit state.
func (s *Stack) SetNetTransmit(v uint8) {
	if s.state == nil {
		return
	}
	s.state.NetTransmit = v
	s.changed()
}

// AddRemote records a node this configuration client provisioned, so
// that messages to and from it use its device key.
func (s *Stack) AddRemote(r store.Remote) {
	for i, o := range s.remotes {
		if o.Address == r.Address {
			s.remotes[i] = r
			s.dirty()
			return
		}
	}
	s.remotes = append(s.remotes, r)
	s.dirty()
}

// Remote returns the node whose element has address addr.
func (s *Stack) Remote(addr uint16) (store.Remote, bool) {
	for _, r := range s.remotes {
		if addr >= r.Address && int(addr) < int(r.Address)+max(r.Elements, 1) {
			return r, true
		}
	}
	return store.Remote{}, false
}
