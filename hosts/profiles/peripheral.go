package profiles

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
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

	// OnEvent, when set, receives Ready, Connected, Subscribed,
	// Disconnected and Error events.
	OnEvent func(Event)

	services []att.UUID
	ready    bool
	stopped  bool
	tasks    []task
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
	p.Mux.OnConnect = p.connected
	p.Mux.OnDisconnect = p.disconnected
	return p, nil
}

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
		if p.cfg.AddressType == hci.AddrRandom {
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
				addr := p.Host.Info.Addr
				if p.cfg.AddressType == hci.AddrRandom {
					addr = p.cfg.Address
				}
				p.log.Info("advertising", zap.String("name", p.cfg.Name), zap.Stringer("addr", addr), zap.Bool("connectable", p.cfg.Connectable))
				for _, t := range p.tasks {
					p.startTask(t)
				}
				p.emit(Ready{AddrType: p.cfg.AddressType, Addr: addr})
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
	if p.cfg.AddressType == hci.AddrRandom {
		own = 0x01
	}
	w := &hci.Writer{}
	w.U16(iv).U16(iv).U8(typ).U8(own).U8(0).Addr(hci.BDAddr{}).U8(0x07).U8(0x00)
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
		if then != nil {
			then()
		}
	})
}

// Stop disables advertising and disconnects every connection; the
// peripheral does not advertise again.
func (p *Peripheral) Stop() {
	p.stopped = true
	p.Host.Command(hci.OpLESetAdvertisingEnable, []byte{0}, nil)
	for _, sc := range p.Server.Conns() {
		if sc.Link != nil {
			sc.Link.Disconnect(hci.StatusRemoteUserTerminated)
		}
	}
}

func (p *Peripheral) connected(c *l2cap.Conn) {
	b := gatt.NewBearer(c.Logger().Named("att"), c)
	b.OnTimeout = func() { c.Disconnect(hci.StatusRemoteUserTerminated) }
	p.Server.Attach(b, c)
	p.log.Info("connected", zap.Uint16("handle", c.Handle), zap.Stringer("peer", c.PeerAddr), zap.Stringer("role", c.Role))
	p.emit(Connected{Handle: c.Handle, Role: c.Role, PeerAddrType: c.PeerAddrType, PeerAddr: c.PeerAddr, Interval: c.Interval})
}

func (p *Peripheral) disconnected(c *l2cap.Conn, reason hci.Status) {
	p.log.Info("disconnected", zap.Uint16("handle", c.Handle), zap.Stringer("reason", reason))
	p.emit(Disconnected{Handle: c.Handle, Reason: reason})
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
