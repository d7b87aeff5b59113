package config

import (
	"encoding/binary"

	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/store"
	"blesim/linklayer/sim"
)

// Event is what the Configuration Server tells its owner after it
// changed the node's configuration.
type Event struct {
	Opcode  access.Opcode // the request
	Status  stack.Status
	Src     uint16 // the configuration client
	NetIdx  uint16
	AppIdx  uint16
	Element uint16
	Model   access.ModelID
	Address uint16 // subscription or publication address
}

// Server is the Configuration Server model (§4.4.1) on a node's primary
// element. It answers with the device key, from the primary element, to
// the client's address.
type Server struct {
	st  *stack.Stack
	log *zap.Logger
	// OnEvent, when set, is told of each state change the server made
	// (AppKey Add, Model App Bind, Node Reset, ...).
	OnEvent func(Event)
	// ResetDelay is how long after Node Reset Status the node forgets
	// its keys (default 500 ms: time for the status to go out).
	ResetDelay sim.Duration
}

// NewServer adds the Configuration Server to the primary element of st.
func NewServer(log *zap.Logger, st *stack.Stack) (*Server, error) {
	s := &Server{st: st, log: log}
	err := st.AddModel(0, &stack.Model{ID: access.SIGModel(access.ModelConfigServer), DevKey: true, Handle: s.handle})
	return s, err
}

func (s *Server) emit(e Event) {
	if s.OnEvent != nil {
		s.OnEvent(e)
	}
}

func (s *Server) reply(ctx *stack.Context, op access.Opcode, params ...[]byte) {
	if err := ctx.Reply(access.NewMessage(op, params...)); err != nil {
		s.log.Warn("configuration status not sent", zap.Stringer("opcode", op), zap.Error(err))
	}
}

func onOff(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// handle is the server's message handler. A message with wrong
// parameters is ignored (§3.7.3: a message that does not parse is
// dropped), as are prohibited values.
func (s *Server) handle(ctx *stack.Context, m access.Message) bool {
	p := m.Params
	st := s.st
	switch m.Opcode {
	case OpCompositionDataGet:
		if len(p) != 1 {
			return true
		}
		// Page 0 is the only page; a request for another page (0xFF:
		// the highest) gets page 0.
		s.reply(ctx, OpCompositionDataStatus, []byte{0}, st.Composition().Marshal())
	case OpAppKeyAdd, OpAppKeyUpdate:
		if len(p) != 19 {
			return true
		}
		k, key := unpackPair(p), [16]byte(p[3:19])
		var status stack.Status
		if m.Opcode == OpAppKeyAdd {
			status = st.AddAppKey(k.Net, k.App, key)
		} else {
			status = st.UpdateAppKey(k.Net, k.App, key)
		}
		s.reply(ctx, OpAppKeyStatus, []byte{byte(status)}, k.pack())
		s.emit(Event{Opcode: m.Opcode, Status: status, Src: ctx.Src, NetIdx: k.Net, AppIdx: k.App})
	case OpAppKeyDelete:
		if len(p) != 3 {
			return true
		}
		k := unpackPair(p)
		status := st.DeleteAppKey(k.Net, k.App)
		s.reply(ctx, OpAppKeyStatus, []byte{byte(status)}, k.pack())
		s.emit(Event{Opcode: m.Opcode, Status: status, Src: ctx.Src, NetIdx: k.Net, AppIdx: k.App})
	case OpAppKeyGet:
		if len(p) != 2 {
			return true
		}
		net := binary.LittleEndian.Uint16(p) & 0xfff
		status := stack.StatusSuccess
		if st.Net.Subnet(net) == nil {
			status = stack.StatusInvalidNetKeyIndex
		}
		s.reply(ctx, OpAppKeyList, []byte{byte(status)}, binary.LittleEndian.AppendUint16(nil, net),
			PackKeyIndexes(st.AppKeyIndexes(net)...))
	case OpNetKeyGet:
		if len(p) != 0 {
			return true
		}
		s.reply(ctx, OpNetKeyList, PackKeyIndexes(st.NetKeyIndexes()...))
	case OpModelAppBind, OpModelAppUnbind:
		ma, err := parseModelApp(p)
		if err != nil {
			return true
		}
		var status stack.Status
		if m.Opcode == OpModelAppBind {
			status = st.Bind(ma.Element, ma.Model, ma.AppIndex)
		} else {
			status = st.Unbind(ma.Element, ma.Model, ma.AppIndex)
		}
		s.reply(ctx, OpModelAppStatus, []byte{byte(status)}, p)
		s.emit(Event{Opcode: m.Opcode, Status: status, Src: ctx.Src, AppIdx: ma.AppIndex, Element: ma.Element, Model: ma.Model})
	case OpSIGModelAppGet, OpVendorModelAppGet:
		s.modelAppGet(ctx, m)
	case OpModelSubscriptionAdd, OpModelSubscriptionDelete, OpModelSubscriptionOverwr, OpModelSubscriptionDelAll:
		s.subscription(ctx, m)
	case OpModelPublicationSet, OpModelPublicationGet:
		s.publication(ctx, m)
	case OpDefaultTTLGet, OpDefaultTTLSet:
		if m.Opcode == OpDefaultTTLSet {
			if len(p) != 1 || !st.SetDefaultTTL(p[0]) {
				return true
			}
		} else if len(p) != 0 {
			return true
		}
		s.reply(ctx, OpDefaultTTLStatus, []byte{st.DefaultTTL()})
	case OpRelayGet, OpRelaySet:
		if m.Opcode == OpRelaySet {
			if len(p) != 2 || p[0] > 1 {
				return true
			}
			st.SetRelay(p[0] == 1, p[1])
		} else if len(p) != 0 {
			return true
		}
		r, rt := st.Relay()
		s.reply(ctx, OpRelayStatus, []byte{r, rt})
	case OpBeaconGet, OpBeaconSet:
		if m.Opcode == OpBeaconSet {
			if len(p) != 1 || p[0] > 1 {
				return true
			}
			st.SetBeacon(p[0] == 1)
		} else if len(p) != 0 {
			return true
		}
		s.reply(ctx, OpBeaconStatus, []byte{onOff(st.Beacon())})
	case OpNetworkTransmitGet, OpNetworkTransmitSet:
		if m.Opcode == OpNetworkTransmitSet {
			if len(p) != 1 {
				return true
			}
			st.SetNetTransmit(p[0])
		} else if len(p) != 0 {
			return true
		}
		s.reply(ctx, OpNetworkTransmitStatus, []byte{st.NetTransmit()})
	case OpGATTProxyGet, OpGATTProxySet, OpFriendGet, OpFriendSet:
		// Neither the Proxy nor the Friend feature: state 0x02, Not
		// Supported, whatever a Set asks.
		status := OpGATTProxyStatus
		if m.Opcode == OpFriendGet || m.Opcode == OpFriendSet {
			status = OpFriendStatus
		}
		s.reply(ctx, status, []byte{0x02})
	case OpNodeReset:
		if len(p) != 0 {
			return true
		}
		s.reply(ctx, OpNodeResetStatus)
		s.emit(Event{Opcode: m.Opcode, Src: ctx.Src})
		// Forget the network once the status had time to go out.
		delay := s.ResetDelay
		if delay <= 0 {
			delay = 500 * sim.Millisecond
		}
		st.Net.SetBeaconing(false)
		st.Scheduler().After(delay, st.Reset)
	default:
		return false
	}
	return true
}

func (s *Server) modelAppGet(ctx *stack.Context, m access.Message) {
	p := m.Params
	n, list := 2, OpSIGModelAppList
	if m.Opcode == OpVendorModelAppGet {
		n, list = 4, OpVendorModelAppList
	}
	if len(p) != 2+n {
		return
	}
	elem := binary.LittleEndian.Uint16(p)
	id, _ := access.ParseModelID(p[2:])
	mod, status := s.st.ModelAt(elem, id)
	var idx []uint16
	if mod != nil {
		idx = mod.AppKeys()
	}
	s.reply(ctx, list, []byte{byte(status)}, p, PackKeyIndexes(idx...))
}

func (s *Server) subscription(ctx *stack.Context, m access.Message) {
	p := m.Params
	var elem, addr uint16
	var idBytes []byte
	if m.Opcode == OpModelSubscriptionDelAll {
		if len(p) != 4 && len(p) != 6 {
			return
		}
		elem, idBytes = binary.LittleEndian.Uint16(p), p[2:]
	} else {
		if len(p) != 6 && len(p) != 8 {
			return
		}
		elem, addr, idBytes = binary.LittleEndian.Uint16(p), binary.LittleEndian.Uint16(p[2:]), p[4:]
	}
	id, _ := access.ParseModelID(idBytes)
	st := s.st
	var status stack.Status
	switch m.Opcode {
	case OpModelSubscriptionAdd:
		status = st.Subscribe(elem, id, addr)
	case OpModelSubscriptionDelete:
		status = st.Unsubscribe(elem, id, addr)
	case OpModelSubscriptionOverwr, OpModelSubscriptionDelAll:
		mod, st2 := st.ModelAt(elem, id)
		status = st2
		if mod != nil {
			for _, a := range append([]uint16(nil), mod.Subscriptions()...) {
				st.Unsubscribe(elem, id, a)
			}
			if m.Opcode == OpModelSubscriptionOverwr {
				status = st.Subscribe(elem, id, addr)
			}
		}
	}
	b := binary.LittleEndian.AppendUint16([]byte{byte(status)}, elem)
	b = binary.LittleEndian.AppendUint16(b, addr)
	s.reply(ctx, OpModelSubscriptionStatus, b, idBytes)
	s.emit(Event{Opcode: m.Opcode, Status: status, Src: ctx.Src, Element: elem, Model: id, Address: addr})
}

// publication handles Config Model Publication Set and Get (non-virtual
// publish addresses).
func (s *Server) publication(ctx *stack.Context, m access.Message) {
	p := m.Params
	var elem uint16
	var idBytes []byte
	status := stack.StatusSuccess
	if m.Opcode == OpModelPublicationSet {
		if len(p) != 11 && len(p) != 13 {
			return
		}
		elem, idBytes = binary.LittleEndian.Uint16(p), p[9:]
		id, _ := access.ParseModelID(idBytes)
		ai := binary.LittleEndian.Uint16(p[4:])
		status = s.st.SetPublication(elem, id, store.Publication{Address: binary.LittleEndian.Uint16(p[2:]),
			AppIndex: ai & 0xfff, Credential: ai&0x1000 != 0, TTL: p[6], Period: p[7], Retransmit: p[8]})
		s.emit(Event{Opcode: m.Opcode, Status: status, Src: ctx.Src, Element: elem, Model: id, AppIdx: ai & 0xfff,
			Address: binary.LittleEndian.Uint16(p[2:])})
	} else {
		if len(p) != 4 && len(p) != 6 {
			return
		}
		elem, idBytes = binary.LittleEndian.Uint16(p), p[2:]
	}
	id, _ := access.ParseModelID(idBytes)
	mod, st2 := s.st.ModelAt(elem, id)
	if status == stack.StatusSuccess {
		status = st2
	}
	b := binary.LittleEndian.AppendUint16([]byte{byte(status)}, elem)
	var pub store.Publication
	if mod != nil && mod.Publication() != nil {
		pub = *mod.Publication()
	}
	ai := pub.AppIndex
	if pub.Credential {
		ai |= 0x1000
	}
	b = binary.LittleEndian.AppendUint16(b, pub.Address)
	b = binary.LittleEndian.AppendUint16(b, ai)
	b = append(b, pub.TTL, pub.Period, pub.Retransmit)
	s.reply(ctx, OpModelPublicationStatus, b, idBytes)
}
