package profiles

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// PeripheralConfig is the common configuration of the built-in
// peripherals. The world-file loader fills it from YAML.
type PeripheralConfig struct {
	// Name is the GAP Device Name, advertised as the local name.
	Name string `yaml:"name"`
	// AddressType is AddrPublic (the controller's BD_ADDR) or AddrRandom
	// (Address, a random static address set with LE Set Random Address).
	AddressType hci.AddressType `yaml:"address_type"`
	Address     hci.BDAddr      `yaml:"address"`
	// AdvInterval is the advertising interval (default 100 ms; 20 ms to
	// 10.24 s).
	AdvInterval time.Duration `yaml:"adv_interval"`
	// TxPower is advertised as the TX Power Level (dBm).
	TxPower int8 `yaml:"tx_power"`
	// Connectable selects ADV_IND; false advertises ADV_NONCONN_IND.
	Connectable bool `yaml:"connectable"`
	// Appearance is the GAP Appearance (0 = the profile's default).
	Appearance uint16 `yaml:"appearance"`
	// BatteryLevel (percent) of the Battery Service; 0 leaves it out of
	// the generic profile and means 100 for the others.
	BatteryLevel uint8 `yaml:"battery_level"`
	// Security is the pairing and bonding behaviour.
	Security SecurityConfig `yaml:"security"`
	// SecurityRequest sends an SMP Security Request when a central
	// connects (Vol 3 Part H §2.4.6), as many sensors do.
	SecurityRequest bool `yaml:"security_request"`
	// Privacy advertises with a resolvable private address made from the
	// device's IRK (Vol 6 Part B §1.3.2.2), changed every RPARotation
	// (default 15 min); the identity address (public, or the static
	// Address) is distributed when bonding.
	Privacy     bool          `yaml:"privacy"`
	RPARotation time.Duration `yaml:"rpa_rotation"`
}

type cmdStep struct {
	op     hci.Opcode
	params []byte
}

// runSteps sends commands in order and calls done(nil) after the last, or
// done(err) at the first failure.
func runSteps(h *hcihost.Host, steps []cmdStep, done func(step string, err error)) {
	var run func(i int)
	run = func(i int) {
		if i == len(steps) {
			done("", nil)
			return
		}
		h.Command(steps[i].op, steps[i].params, func(_ []byte, err error) {
			if err != nil {
				done(steps[i].op.String(), err)
				return
			}
			run(i + 1)
		})
	}
	run(0)
}

// Peripheral brings up its controller, advertises, runs a GATT server on
// every connection and advertises again after a disconnection.
type Peripheral struct {
	log    *zap.Logger
	sched  *sim.Scheduler
	cfg    PeripheralConfig
	Host   *hcihost.Host
	Mux    *l2cap.Mux
	Server *gatt.Server
	// SMP is the Security Manager (pairing, bonds, findings).
	SMP *smp.Manager
	userInput

	// OnEvent, when set, receives Ready, Connected, Subscribed,
	// Disconnected and Error events.
	OnEvent func(Event)

	services    []att.UUID
	ready       bool
	stopped     bool
	advertising bool
	tasks       []task
	rpa         hci.BDAddr // current resolvable private address (Privacy)
	// advFilter is the Advertising_Filter_Policy of LE Set Advertising
	// Parameters (0: anyone; the e-lock sets 0x03 outside pairing mode).
	advFilter uint8
}

type task struct {
	period sim.Duration
	fn     func()
}

// NewPeripheral creates a peripheral serving the GAP and GATT services
// followed by services. send passes H4 packets to the controller; the
// wiring must call Receive with the controller's packets, then Start.
func NewPeripheral(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg PeripheralConfig, services ...*gatt.Service) (*Peripheral, error) {
	if cfg.AddressType == hci.AddrRandom && !cfg.Address.IsStaticRandom() {
		return nil, fmt.Errorf("peripheral %q: random address %s is not a static random address (two top bits must be 1)", cfg.Name, cfg.Address)
	}
	if cfg.AddressType != hci.AddrPublic && cfg.AddressType != hci.AddrRandom {
		return nil, fmt.Errorf("peripheral %q: address type %s not supported (public or random)", cfg.Name, cfg.AddressType)
	}
	all := append([]*gatt.Service{gatt.GAPService(cfg.Name, cfg.Appearance), gatt.GATTService()}, services...)
	db, err := gatt.NewDB(all...)
	if err != nil {
		return nil, fmt.Errorf("peripheral %q: %w", cfg.Name, err)
	}
	p := &Peripheral{log: log, sched: sched, cfg: cfg}
	p.Host = hcihost.New(log.Named("hci"), sched, send)
	p.Mux = l2cap.NewMux(log.Named("l2cap"), p.Host)
	p.Server = gatt.NewServer(log.Named("gatt"), db)
	for _, s := range services {
		p.services = append(p.services, s.UUID)
		for _, c := range s.Characteristics {
			p.hookSubscribe(c)
		}
	}
	p.SMP, err = newSMP(log.Named("smp"), p.Host, p.Mux, cfg.Security, staticIdentity(cfg.AddressType, cfg.Address), p.OwnAddress, p.emit, smp.IgnoreKeyMissing)
	if err != nil {
		return nil, fmt.Errorf("peripheral %q: %w", cfg.Name, err)
	}
	p.userInput = userInput{p.SMP}
	// Attributes that need authorization are open to bonded peers on an
	// encrypted link.
	p.Server.Authorize = func(sc *gatt.ServerConn, _ uint16, _ bool) bool {
		return sc.Link != nil && sc.Link.Encrypted && sc.Link.HasLTK
	}
	p.Mux.OnConnect = p.connected
	p.Mux.OnDisconnect = p.disconnected
	return p, nil
}

// OwnAddress is the address the peripheral uses on air: its current
// resolvable private address with Privacy, else its static random or
// public address.
func (p *Peripheral) OwnAddress() smp.Address {
	switch {
	case p.cfg.Privacy:
		return smp.Address{Type: hci.AddrRandom, Addr: p.rpa}
	case p.cfg.AddressType == hci.AddrRandom:
		return smp.Address{Type: hci.AddrRandom, Addr: p.cfg.Address}
	}
	return smp.Address{Type: hci.AddrPublic, Addr: p.Host.Info.Addr}
}

// ForgetKeys deletes every bond (the "forget-keys" operation) and
// returns how many there were.
func (p *Peripheral) ForgetKeys() (int, error) { return p.SMP.ForgetAll() }

// ForgetBond deletes the bond with one peer.
func (p *Peripheral) ForgetBond(a smp.Address) error { return p.SMP.Forget(a) }

func (p *Peripheral) hookSubscribe(c *gatt.Characteristic) {
	prev := c.OnSubscribe
	c.OnSubscribe = func(sc *gatt.ServerConn, v uint16) {
		if prev != nil {
			prev(sc, v)
		}
		p.emit(Subscribed{UUID: c.UUID, CCCD: v})
	}
}

// Config returns the configuration.
func (p *Peripheral) Config() PeripheralConfig { return p.cfg }

// Receive takes one H4 packet from the controller.
func (p *Peripheral) Receive(h4 []byte) { p.Host.Receive(h4) }

// Ready reports whether bring-up finished and advertising started.
func (p *Peripheral) Ready() bool { return p.ready }

func (p *Peripheral) emit(e Event) {
	if p.OnEvent != nil {
		p.OnEvent(e)
	}
}

func (p *Peripheral) fail(step string, err error) {
	p.log.Error("peripheral step failed", zap.String("step", step), zap.Error(err))
	p.emit(Error{Step: step, Err: err})
}

// Start brings up the controller, sets the address, advertising
// parameters and data, and enables advertising.
func (p *Peripheral) Start() {
	p.Host.Bringup(func(err error) {
		if err != nil {
			p.fail("bring-up", err)
			return
		}
		var steps []cmdStep
		add := func(op hci.Opcode, params []byte) { steps = append(steps, cmdStep{op, params}) }
		switch {
		case p.cfg.Privacy:
			p.rpa = p.SMP.NewRPA()
			add(hci.OpLESetRandomAddress, p.rpa[:])
		case p.cfg.AddressType == hci.AddrRandom:
			add(hci.OpLESetRandomAddress, p.cfg.Address[:])
		}
		add(hci.OpLESetAdvertisingParameters, p.advParams())
		add(hci.OpLESetAdvertisingData, padAD(BuildAdvData(p.cfg.Name, p.services, p.cfg.TxPower)))
		add(hci.OpLESetScanResponseData, padAD(BuildScanRsp(p.cfg.Name, p.cfg.Appearance, p.services)))
		runSteps(p.Host, steps, func(step string, err error) {
			if err != nil {
				p.fail(step, err)
				return
			}
			p.enableAdvertising(func() {
				p.ready = true
				own := p.OwnAddress()
				p.log.Info("advertising", zap.String("name", p.cfg.Name), zap.Stringer("addr", own.Addr), zap.Bool("connectable", p.cfg.Connectable))
				for _, t := range p.tasks {
					p.startTask(t)
				}
				if p.cfg.Privacy {
					p.scheduleRotation()
				}
				p.emit(Ready{AddrType: own.Type, Addr: own.Addr})
			})
		})
	})
}

// advParams encodes LE Set Advertising Parameters (Vol 4 Part E §7.8.5).
func (p *Peripheral) advParams() []byte {
	iv := units(p.cfg.AdvInterval, 625*time.Microsecond, 100*time.Millisecond, 0x0020, 0x4000)
	typ := uint8(0x00) // ADV_IND
	if !p.cfg.Connectable {
		typ = 0x03 // ADV_NONCONN_IND
	}
	own := uint8(0x00)
	if p.cfg.AddressType == hci.AddrRandom || p.cfg.Privacy {
		own = 0x01
	}
	w := &hci.Writer{}
	w.U16(iv).U16(iv).U8(typ).U8(own).U8(0).Addr(hci.BDAddr{}).U8(0x07).U8(p.advFilter)
	return w.B
}

// padAD makes the 32-byte parameter of LE Set Advertising Data / Scan
// Response Data: the significant length, then 31 octets (§7.8.7).
func padAD(ad []byte) []byte {
	b := make([]byte, 32)
	b[0] = byte(len(ad))
	copy(b[1:], ad)
	return b
}

func (p *Peripheral) enableAdvertising(then func()) {
	p.Host.Command(hci.OpLESetAdvertisingEnable, []byte{1}, func(_ []byte, err error) {
		if err != nil {
			p.fail("advertising enable", err)
			return
		}
		p.advertising = true
		if then != nil {
			then()
		}
	})
}

// Stop disables advertising and disconnects every connection; the
// peripheral does not advertise again.
func (p *Peripheral) Stop() {
	p.stopped = true
	p.advertising = false
	p.Host.Command(hci.OpLESetAdvertisingEnable, []byte{0}, nil)
	for _, sc := range p.Server.Conns() {
		if sc.Link != nil {
			sc.Link.Disconnect(hci.StatusRemoteUserTerminated)
		}
	}
}

func (p *Peripheral) connected(c *l2cap.Conn) {
	p.advertising = false // legacy advertising stops on a connection
	b := gatt.NewBearer(c.Logger().Named("att"), c)
	b.OnTimeout = func() { c.Disconnect(hci.StatusRemoteUserTerminated) }
	p.Server.Attach(b, c)
	p.log.Info("connected", zap.Uint16("handle", c.Handle), zap.Stringer("peer", c.PeerAddr), zap.Stringer("role", c.Role))
	p.emit(Connected{Handle: c.Handle, Role: c.Role, PeerAddrType: c.PeerAddrType, PeerAddr: c.PeerAddr, Interval: c.Interval})
	if p.cfg.SecurityRequest {
		if err := p.SMP.SecurityRequest(c.Handle); err != nil {
			p.log.Warn("Security Request not sent", zap.Error(err))
		}
	}
}

// scheduleRotation changes the resolvable private address every
// RPARotation: advertising off, LE Set Random Address, advertising on
// (the address cannot change while legacy advertising is enabled, Vol 4
// Part E §7.8.4).
func (p *Peripheral) scheduleRotation() {
	period := p.cfg.RPARotation
	if period <= 0 {
		period = DefaultRPARotation
	}
	p.sched.After(simDur(period), func() {
		if p.stopped {
			return
		}
		next := p.SMP.NewRPA()
		wasAdv := p.advertising
		var steps []cmdStep
		if wasAdv {
			steps = append(steps, cmdStep{hci.OpLESetAdvertisingEnable, []byte{0}})
		}
		steps = append(steps, cmdStep{hci.OpLESetRandomAddress, next[:]})
		runSteps(p.Host, steps, func(step string, err error) {
			if err != nil {
				p.fail(step, err)
				return
			}
			p.rpa = next
			p.log.Info("resolvable private address changed", zap.Stringer("addr", next))
			p.emit(AddressChanged{Addr: next})
			if wasAdv && !p.stopped && p.Mux.Conns() == 0 {
				p.enableAdvertising(nil)
			}
		})
		p.scheduleRotation()
	})
}

func (p *Peripheral) disconnected(c *l2cap.Conn, reason hci.Status) {
	p.log.Info("disconnected", zap.Uint16("handle", c.Handle), zap.Stringer("reason", reason))
	p.emit(Disconnected{Handle: c.Handle, Reason: reason, Given: GivenReason(c, reason)})
	// Legacy advertising stops when a connection is created
	// (Vol 4 Part E §7.8.9); start it again.
	if !p.stopped && p.cfg.Connectable && p.Mux.Conns() == 0 {
		p.enableAdvertising(nil)
	}
}

// Every registers fn to run every period once the peripheral is
// advertising (for periodic measurements), until Stop.
func (p *Peripheral) Every(period time.Duration, fn func()) {
	t := task{period: simDur(period), fn: fn}
	if t.period <= 0 {
		return
	}
	p.tasks = append(p.tasks, t)
	if p.ready {
		p.startTask(t)
	}
}

func (p *Peripheral) startTask(t task) {
	var tick func()
	tick = func() {
		if p.stopped {
			return
		}
		t.fn()
		p.sched.After(t.period, tick)
	}
	p.sched.After(t.period, tick)
}
