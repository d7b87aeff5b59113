package meshnode

import (
	"fmt"
	"io"
	"slices"

	"go.uber.org/zap"

	"blesim/hosts/mesh"
	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/beacon"
	"blesim/hosts/mesh/config"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/pbadv"
	"blesim/hosts/mesh/prov"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/store"
	"blesim/linklayer/sim"
)

// maxAttempts is how many times the provisioner tries a device before it
// gives up on it; RetryDelay is the pause before the next attempt.
const (
	maxAttempts = 3
	RetryDelay  = 2 * sim.Second
)

// ProvisionedNode is a node the provisioner provisioned.
type ProvisionedNode struct {
	UUID        [16]byte
	Address     uint16
	Elements    int
	DevKey      [16]byte
	Route       string
	Composition *access.Composition
	Configured  bool
}

// Provisioner discovers unprovisioned devices by their beacons,
// provisions them over PB-ADV (per-UUID OOB data from its Targets) and
// configures them: Composition Data Get, AppKey Add, Model App Bind of
// the AppKey to every Generic OnOff Server. It is itself a node of the
// network (address Address) with the Configuration Client and a Generic
// OnOff Client, so it can then switch the nodes on and off.
type Provisioner struct {
	log    *zap.Logger
	sched  *sim.Scheduler
	cfg    ProvisionerConfig
	bearer pbadv.Bearer
	rand   io.Reader

	Stack  *stack.Stack
	Config *config.Client
	OnOff  *generic.Client
	// OnEvent receives the provisioner's events (see events.go).
	OnEvent func(Event)

	prov     *prov.Provisioner
	pb       *pbadv.Provisioner
	seen     map[[16]byte]bool
	attempts map[[16]byte]int
	queue    [][16]byte
	active   map[[16]byte]bool
	nodes    []*ProvisionedNode
	prompts  map[[16]byte]func(prov.OOBValue)
	wanted   map[[16]byte]bool // queued with Provision
	once     map[[16]byte]once // ProvisionOnce attempts (provisioner_once.go)
	nextAddr uint16
	hci      *provHCI
	started  bool
}

// NewProvisionerOnBearer builds a provisioner that sends on b; the wiring
// passes every received advertising data blob to ReceiveAD.
func NewProvisionerOnBearer(log *zap.Logger, sched *sim.Scheduler, b pbadv.Bearer, cfg ProvisionerConfig) (*Provisioner, error) {
	if cfg.Address == 0 {
		cfg.Address = 0x0001
	}
	if cfg.FirstAddress == 0 {
		cfg.FirstAddress = cfg.Address + 1
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Address >= 0x8000 || cfg.FirstAddress >= 0x8000 {
		return nil, fmt.Errorf("mesh provisioner %q: addresses %#04x, %#04x are not unicast", cfg.Name, cfg.Address, cfg.FirstAddress)
	}
	if cfg.NetKeyIndex > stack.MaxKeyIndex || cfg.AppKeyIndex > stack.MaxKeyIndex {
		return nil, fmt.Errorf("mesh provisioner %q: key index above 0xFFF", cfg.Name)
	}
	for _, t := range cfg.Targets {
		if t.PublicKey != nil && len(t.PublicKey) != prov.PublicKeyLen {
			return nil, fmt.Errorf("mesh provisioner %q: target %x: public key of %d octets (want X||Y, 64)", cfg.Name, t.UUID, len(t.PublicKey))
		}
	}
	p := &Provisioner{log: log, sched: sched, cfg: cfg, bearer: b, rand: mesh.RandReader(sched.Rand()),
		seen: map[[16]byte]bool{}, attempts: map[[16]byte]int{}, active: map[[16]byte]bool{},
		prompts: map[[16]byte]func(prov.OOBValue){}, wanted: map[[16]byte]bool{}, nextAddr: cfg.FirstAddress}
	var err error
	p.Stack, err = stack.New(stack.Config{Log: log.Named("stack"), Sched: sched, Send: b.Send, CRPL: 0x7FFF,
		StatePath: cfg.StatePath, Beacon: true, Company: 0x05F1})
	if err != nil {
		return nil, err
	}
	if p.Config, err = config.NewClient(log.Named("config"), p.Stack); err != nil {
		return nil, err
	}
	if p.OnOff, err = generic.NewClient(log.Named("onoff"), p.Stack, 0); err != nil {
		return nil, err
	}
	if p.prov, err = prov.NewProvisioner(prov.ProvisionerConfig{Rand: p.rand, Sched: sched, Log: log.Named("prov")}); err != nil {
		return nil, err
	}
	p.pb = pbadv.NewProvisioner(log.Named("pb-adv"), sched, b, p.rand, pbadv.Config{})
	p.pb.OnBeacon = p.beacon
	return p, nil
}

func (p *Provisioner) emit(e Event) {
	if p.OnEvent != nil {
		p.OnEvent(e)
	}
}

// begin makes the provisioner a node of its network: from its state file,
// or as the network's first node.
func (p *Provisioner) begin() {
	if p.started {
		return
	}
	p.started = true
	err := p.Stack.Load()
	if err != nil {
		var dev mcrypto.Key
		io.ReadFull(p.rand, dev[:])
		if err = p.Stack.Provision(p.cfg.Address, p.cfg.NetKeyIndex, p.cfg.NetKey, 0, p.cfg.IVIndex, dev, [16]byte{}); err != nil {
			p.emit(Error{Step: "provisioner state", Err: err})
			return
		}
	}
	if st := p.Stack.AddAppKey(p.cfg.NetKeyIndex, p.cfg.AppKeyIndex, p.cfg.AppKey); st != stack.StatusSuccess {
		p.emit(Error{Step: "AppKey", Err: st.Err()})
	}
	p.Stack.Bind(p.cfg.Address, p.OnOff.Model().ID, p.cfg.AppKeyIndex)
	for _, r := range p.Stack.State().Remotes {
		p.nodes = append(p.nodes, &ProvisionedNode{UUID: r.UUID, Address: r.Address, Elements: r.Elements, DevKey: r.DevKey, Configured: true})
		p.nextAddr = max(p.nextAddr, r.Address+uint16(r.Elements))
	}
	p.emit(Ready{Provisioned: true, Address: p.cfg.Address})
}

// ReceiveAD takes received advertising data (from the bearer).
func (p *Provisioner) ReceiveAD(ad []byte) {
	p.pb.Receive(ad)
	p.Stack.Receive(ad)
}

func (p *Provisioner) target(uuid [16]byte) (Target, bool) {
	if t, ok := p.onceTarget(uuid); ok {
		return t, true
	}
	for _, t := range p.cfg.Targets {
		if t.UUID == uuid {
			return t, true
		}
	}
	return Target{UUID: uuid}, p.cfg.Any || p.wanted[uuid]
}

func (p *Provisioner) node(uuid [16]byte) *ProvisionedNode {
	for _, n := range p.nodes {
		if n.UUID == uuid {
			return n
		}
	}
	return nil
}

// discovered reports a device the first time it is heard and queues it
// when it is wanted.
func (p *Provisioner) discovered(uuid [16]byte, oob uint16, hash *[4]byte) {
	if !p.seen[uuid] {
		p.seen[uuid] = true
		p.emit(DeviceDiscovered{UUID: uuid, OOBInfo: oob, URIHash: hash})
	}
	if !p.started {
		return
	}
	if _, ok := p.target(uuid); ok && p.want(uuid) {
		p.queue = append(p.queue, uuid)
		p.pump()
	}
}

// beacon handles an Unprovisioned Device beacon.
func (p *Provisioner) beacon(b beacon.Unprovisioned) {
	if p.hci != nil && p.hci.gatt != nil && p.hci.gatt.has(b.UUID) {
		return // provisioned over PB-GATT
	}
	p.discovered(b.UUID, uint16(b.OOB), b.URIHash)
}

// want reports whether a device should be queued for provisioning: not
// provisioned (a node beaconing again after Node Reset is provisioned
// again), not queued, not in progress, attempts left.
func (p *Provisioner) want(uuid [16]byte) bool {
	if p.active[uuid] || slices.Contains(p.queue, uuid) || p.attempts[uuid] >= maxAttempts {
		return false
	}
	if n := p.node(uuid); n != nil {
		// A known node beaconing again has been reset: forget it.
		p.nodes = slices.DeleteFunc(p.nodes, func(x *ProvisionedNode) bool { return x == n })
	}
	return true
}

// Provision queues the device with uuid (its beacon need not have been
// heard: the link is opened by UUID).
func (p *Provisioner) Provision(uuid [16]byte) {
	p.wanted[uuid] = true
	if p.want(uuid) {
		p.queue = append(p.queue, uuid)
		p.pump()
	}
}

func (p *Provisioner) pump() {
	for len(p.active) < p.cfg.Parallel && len(p.queue) > 0 {
		uuid := p.queue[0]
		p.queue = p.queue[1:]
		p.start(uuid)
	}
}

// start provisions a device: over PB-GATT when the provisioner uses it
// and the device advertises the Mesh Provisioning Service, else over a
// PB-ADV link.
func (p *Provisioner) start(uuid [16]byte) {
	gatt, wait := p.bearerFor(uuid)
	if wait {
		return
	}
	if gatt {
		p.active[uuid] = true
		p.attempts[uuid]++
		p.hci.gatt.provision(uuid)
		return
	}
	l, err := p.pb.Open(uuid)
	if err != nil {
		p.emit(ProvisioningFailed{UUID: uuid, Code: prov.UnexpectedError, Err: err})
		return
	}
	p.active[uuid] = true
	p.attempts[uuid]++
	p.emit(LinkOpened{UUID: uuid, Bearer: "PB-ADV"})
	l.SetHandler(p.prov.Open(l, p.provTarget(uuid, "PB-ADV")))
}

// provTarget is what the provisioning protocol needs for a device: its
// OOB data, the prompts, the address assignment and the outcome.
func (p *Provisioner) provTarget(uuid [16]byte, bearer string) prov.Target {
	t, _ := p.target(uuid)
	pt := prov.Target{Attention: p.cfg.Attention, DevicePublicKey: t.PublicKey, StaticOOB: t.StaticOOB,
		Data: func(elements uint8) (prov.Data, error) { return p.assign(elements) },
		Done: func(r prov.Result) { p.done(uuid, bearer, r) }}
	if t.Output || p.cfg.Any {
		pt.Prompt = func(a prov.OutputAction, size uint8, enter func(prov.OOBValue)) {
			p.prompts[uuid] = enter
			p.emit(OOBPrompt{UUID: uuid, Action: a, Size: size})
		}
	}
	if t.Input || p.cfg.Any {
		pt.Show = func(a prov.InputAction, v prov.OOBValue) { p.emit(OOBShow{UUID: uuid, Action: a, Value: v}) }
	}
	return pt
}

// assign gives the device consecutive unicast addresses for its elements.
func (p *Provisioner) assign(elements uint8) (prov.Data, error) {
	n := uint16(max(elements, 1))
	if int(p.nextAddr)+int(n)-1 >= 0x8000 {
		return prov.Data{}, &prov.Error{Code: prov.CannotAssignAddresses, Msg: "unicast addresses exhausted"}
	}
	iv := p.Stack.Net.IV()
	d := prov.Data{NetKey: p.cfg.NetKey, KeyIndex: p.cfg.NetKeyIndex, Flags: iv.Flags(), IVIndex: iv.Index, Address: p.nextAddr}
	p.nextAddr += n
	return d, nil
}

// Enter answers an OOBPrompt with the value the device output.
func (p *Provisioner) Enter(uuid [16]byte, v prov.OOBValue) error {
	enter := p.prompts[uuid]
	if enter == nil {
		return fmt.Errorf("mesh provisioner: no prompt for %x", uuid)
	}
	delete(p.prompts, uuid)
	enter(v)
	return nil
}

func (p *Provisioner) done(uuid [16]byte, bearer string, r prov.Result) {
	delete(p.active, uuid)
	delete(p.once, uuid) // one attempt: no retry
	delete(p.prompts, uuid)
	defer p.pump()
	if r.Err != nil {
		p.log.Info("provisioning failed", zap.String("uuid", fmt.Sprintf("%x", uuid)), zap.Error(r.Err))
		p.emit(ProvisioningFailed{UUID: uuid, Code: prov.CodeOf(r.Err), Err: r.Err})
		// Try again after a pause (the device beacons again too).
		p.sched.After(RetryDelay, func() {
			if _, ok := p.target(uuid); ok && p.want(uuid) {
				p.queue = append(p.queue, uuid)
				p.pump()
			}
		})
		return
	}
	n := &ProvisionedNode{UUID: uuid, Address: r.Data.Address, Elements: int(r.Capabilities.Elements),
		DevKey: r.DevKey, Route: r.Start.Route()}
	p.nodes = append(p.nodes, n)
	p.Stack.AddRemote(store.Remote{Address: n.Address, Elements: n.Elements, DevKey: n.DevKey, UUID: uuid})
	p.emit(Provisioned{UUID: uuid, Address: n.Address, Elements: n.Elements, NetKeyIndex: r.Data.KeyIndex,
		IVIndex: r.Data.IVIndex, Bearer: bearer, Route: n.Route, Algorithm: r.Start.Algorithm})
	if !p.cfg.NoConfigure {
		p.configure(n)
	}
}

// Nodes lists the nodes provisioned so far.
func (p *Provisioner) Nodes() []*ProvisionedNode { return p.nodes }

// SetOnOff sends Generic OnOff Set to the server at addr with the AppKey
// and reports the node's Status in an OnOffStatus event (and to done, if
// set).
func (p *Provisioner) SetOnOff(addr uint16, on bool, done func(bool, error)) {
	p.OnOff.Set(addr, p.cfg.AppKeyIndex, on, func(s generic.Status, err error) {
		p.emit(OnOffStatus{Address: addr, On: s.Present, Err: err})
		if done != nil {
			done(s.Present, err)
		}
	})
}
