package meshnode

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/mesh"
	"blesim/hosts/mesh/beacon"
	"blesim/hosts/mesh/config"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/pbadv"
	"blesim/hosts/mesh/prov"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/store"
	"blesim/linklayer/sim"
)

// Node is a mesh device: unprovisioned until a provisioner provisions it,
// then a node of its network with the Configuration Server and Generic
// OnOff Servers.
type Node struct {
	log    *zap.Logger
	sched  *sim.Scheduler
	cfg    NodeConfig
	bearer pbadv.Bearer
	rand   io.Reader

	// Stack is the node's mesh stack; Config its Configuration Server;
	// OnOff its Generic OnOff Servers, one per element.
	Stack  *stack.Stack
	Config *config.Server
	OnOff  []*generic.Server

	// OnEvent receives the node's events (see events.go).
	OnEvent func(Event)

	dev      *prov.Device
	devCfg   prov.DeviceConfig
	pbadv    *pbadv.Device
	beacon   beacon.Unprovisioned
	linkOpen string // bearer of the provisioning link in use
	input    func(prov.OOBValue)
	hci      *nodeHCI // nil on a plain bearer
	started  bool
}

// NewNodeOnBearer builds a node that sends on b (any advertising bearer:
// an AdvBearer, or the in-memory pbadv.Air); the wiring passes every
// received advertising data blob to ReceiveAD. PB-GATT needs a controller
// (NewNode).
func NewNodeOnBearer(log *zap.Logger, sched *sim.Scheduler, b pbadv.Bearer, cfg NodeConfig) (*Node, error) {
	if cfg.PBGATT && !cfg.PBADV {
		return nil, fmt.Errorf("mesh node %q: PB-GATT needs a controller (NewNode)", cfg.Name)
	}
	return newNode(log, sched, b, cfg)
}

func newNode(log *zap.Logger, sched *sim.Scheduler, b pbadv.Bearer, cfg NodeConfig) (*Node, error) {
	if !cfg.PBADV && !cfg.PBGATT {
		cfg.PBADV = true
	}
	if cfg.Elements <= 0 {
		cfg.Elements = 1
	}
	if cfg.Elements > 32 {
		return nil, fmt.Errorf("mesh node %q: %d elements (at most 32)", cfg.Name, cfg.Elements)
	}
	if cfg.BeaconInterval <= 0 {
		cfg.BeaconInterval = time.Second
	}
	n := &Node{log: log, sched: sched, cfg: cfg, bearer: b, rand: mesh.RandReader(sched.Rand())}
	locs := make([]uint16, cfg.Elements)
	for i := range locs {
		locs[i] = uint16(0x0100 + i) // "first", "second", ... (GATT Namespace)
	}
	var err error
	n.Stack, err = stack.New(stack.Config{Log: log.Named("stack"), Sched: sched, Send: b.Send,
		Company: cfg.Company, Product: cfg.Product, Version: cfg.Version, Locations: locs, NoRelay: cfg.NoRelay,
		DefaultTTL: cfg.DefaultTTL, Relay: cfg.Relay, Beacon: !cfg.NoSecureBeacon, StatePath: cfg.StatePath,
		OnReset: n.reset})
	if err != nil {
		return nil, fmt.Errorf("mesh node %q: %w", cfg.Name, err)
	}
	if n.Config, err = config.NewServer(log.Named("config"), n.Stack); err != nil {
		return nil, err
	}
	n.Config.OnEvent = n.configEvent
	for i := range cfg.Elements {
		s, err := generic.NewServer(log.Named("onoff"), n.Stack, i)
		if err != nil {
			return nil, err
		}
		s.OnChange = func(c generic.Change) { n.emit(OnOffChanged{Element: c.Element, On: c.OnOff, Src: c.Src}) }
		n.OnOff = append(n.OnOff, s)
	}
	if err := n.provisioning(); err != nil {
		return nil, fmt.Errorf("mesh node %q: %w", cfg.Name, err)
	}
	n.beacon = beacon.Unprovisioned{UUID: cfg.UUID, OOB: beacon.OOBInfo(cfg.OOBInfo)}
	if cfg.URI != "" {
		n.beacon = n.beacon.WithURI(cfg.URI)
	}
	return n, nil
}

// provisioning builds the device's provisioning role from its
// capabilities.
func (n *Node) provisioning() error {
	c := n.cfg
	outs, err := outputActions(c.OutputActions)
	if err != nil {
		return err
	}
	ins, err := inputActions(c.InputActions)
	if err != nil {
		return err
	}
	dc := prov.DeviceConfig{Elements: uint8(c.Elements), StaticOOB: c.StaticOOB, OnlyOOBAuth: c.OnlyOOB,
		OutputSize: c.OutputSize, OutputActions: outs, InputSize: c.InputSize, InputActions: ins,
		Rand: n.rand, Sched: n.sched, Log: n.log.Named("prov"),
		Output: func(a prov.OutputAction, v prov.OOBValue) {
			n.log.Info("output OOB", zap.Stringer("action", a), zap.Stringer("value", v))
			n.emit(OOBOutput{UUID: c.UUID, Action: a, Value: v})
		},
		Input: func(a prov.InputAction, size uint8, enter func(prov.OOBValue)) {
			n.input = enter
			n.emit(OOBInputRequest{UUID: c.UUID, Action: a, Size: size})
		},
		Done: n.provDone,
	}
	if c.OutputSize == 0 {
		dc.Output = nil
	}
	if c.InputSize == 0 {
		dc.Input = nil
	}
	if c.PublicKeyOOB {
		if len(c.PrivateKey) > 0 {
			dc.OOBKey, err = ecdh.P256().NewPrivateKey(c.PrivateKey)
			if err != nil {
				return fmt.Errorf("private key: %w", err)
			}
		} else if dc.OOBKey, err = prov.NewKey(n.rand); err != nil {
			return err
		}
	}
	n.devCfg = dc
	n.dev, err = prov.NewDevice(dc)
	return err
}

// PublicKey is the device's OOB public key X||Y (nil without
// PublicKeyOOB): what a provisioner needs for route A2.
func (n *Node) PublicKey() []byte { return n.dev.PublicKey() }

// UUID is the Device UUID.
func (n *Node) UUID() [16]byte { return n.cfg.UUID }

// Provisioned reports whether the node is in a network.
func (n *Node) Provisioned() bool { return n.Stack.Provisioned() }

// Address is the primary element's unicast address (0 unprovisioned).
func (n *Node) Address() uint16 { return n.Stack.Address() }

// Input answers an OOBInputRequest with what the user entered on the
// device.
func (n *Node) Input(v prov.OOBValue) error {
	if n.input == nil {
		return errors.New("mesh node: no input requested")
	}
	enter := n.input
	n.input = nil
	enter(v)
	return nil
}

// SetOnOff changes element elem's OnOff state locally (a switch on the
// device); a publication reports it.
func (n *Node) SetOnOff(elem int, on bool) {
	if elem >= 0 && elem < len(n.OnOff) {
		n.OnOff[elem].Set(on)
	}
}

func (n *Node) emit(e Event) {
	if n.OnEvent != nil {
		n.OnEvent(e)
	}
}

// begin runs once the bearer is up: a node with a state file comes back
// into its network, an unprovisioned device starts beaconing.
func (n *Node) begin() {
	if n.started {
		return
	}
	n.started = true
	err := n.Stack.Load()
	switch {
	case err == nil:
		st := n.Stack.State()
		n.log.Info("mesh node restored", zap.String("name", n.cfg.Name), zap.Uint16("address", st.Address))
		n.emit(Restored{Address: st.Address, IVIndex: st.IVIndex, Seq: n.Stack.Seq()})
	case errors.Is(err, store.ErrNotFound):
		n.unprovisioned()
	default:
		n.log.Error("state file", zap.Error(err))
		n.emit(Error{Step: "state file", Err: err})
		return
	}
	n.emit(Ready{Provisioned: n.Provisioned(), Address: n.Address()})
}

// unprovisioned starts the provisioning bearers: Unprovisioned Device
// beacons for PB-ADV, connectable advertising for PB-GATT.
func (n *Node) unprovisioned() {
	if n.cfg.PBADV {
		n.pbadv = pbadv.NewDevice(n.log.Named("pb-adv"), n.sched, n.bearer, n.cfg.UUID, pbadv.Config{})
		n.pbadv.OnLink = func(l *pbadv.Link) pbadv.Handler {
			n.linkOpen = "PB-ADV"
			n.emit(LinkOpened{UUID: n.cfg.UUID, Bearer: "PB-ADV"})
			return n.dev.Open(l)
		}
		n.pbadv.Beacon(n.beacon, sim.FromStd(n.cfg.BeaconInterval))
	}
	if n.hci != nil {
		n.hci.unprovisioned()
	}
}

// ReceiveAD takes received advertising data (from the bearer).
func (n *Node) ReceiveAD(ad []byte) {
	if n.pbadv != nil {
		n.pbadv.Receive(ad)
	}
	n.Stack.Receive(ad)
}

func (n *Node) provDone(r prov.Result) {
	bearer := n.linkOpen
	n.linkOpen = ""
	n.input = nil
	if r.Err != nil {
		n.log.Info("provisioning failed", zap.String("name", n.cfg.Name), zap.Error(r.Err))
		n.emit(ProvisioningFailed{UUID: n.cfg.UUID, Code: prov.CodeOf(r.Err), Err: r.Err})
		return
	}
	d := r.Data
	if err := n.Stack.Provision(d.Address, d.KeyIndex, d.NetKey, d.Flags, d.IVIndex, r.DevKey, n.cfg.UUID); err != nil {
		n.emit(Error{Step: "provisioning data", Err: err})
		return
	}
	if n.pbadv != nil {
		n.pbadv.Stop()
		// Keep the device until the provisioner closes the link.
		dev := n.pbadv
		n.sched.After(pbadv.LinkTimeout, func() {
			if n.pbadv == dev {
				n.pbadv = nil
			}
		})
	}
	if n.hci != nil {
		n.hci.provisioned()
	}
	n.log.Info("provisioned", zap.String("name", n.cfg.Name), zap.Uint16("address", d.Address),
		zap.String("bearer", bearer), zap.String("route", r.Start.Route()))
	n.emit(Provisioned{UUID: n.cfg.UUID, Address: d.Address, Elements: n.cfg.Elements, NetKeyIndex: d.KeyIndex,
		IVIndex: d.IVIndex, Bearer: bearer, Route: r.Start.Route(), Algorithm: r.Start.Algorithm})
}

func (n *Node) configEvent(e config.Event) {
	switch e.Opcode {
	case config.OpAppKeyAdd, config.OpAppKeyUpdate:
		n.emit(AppKeyAdded{NetKeyIndex: e.NetIdx, AppKeyIndex: e.AppIdx, Status: e.Status})
	case config.OpModelAppBind, config.OpModelAppUnbind:
		n.emit(ModelBound{Element: e.Element, Model: e.Model, AppKeyIndex: e.AppIdx,
			Unbind: e.Opcode == config.OpModelAppUnbind, Status: e.Status})
	case config.OpNodeReset:
		// Reported when the stack has forgotten the network.
	default:
		n.emit(ConfigChanged{Opcode: e.Opcode, Status: e.Status})
	}
}

// reset runs after Node Reset: the device is unprovisioned again and
// beacons (with a fresh key pair for the next provisioning).
func (n *Node) reset() {
	n.log.Info("node reset", zap.String("name", n.cfg.Name))
	n.emit(Reset{})
	n.pbadv = nil
	n.unprovisioned()
}
