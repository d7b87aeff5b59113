package profiles

import (
	"errors"
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

// CentralConfig configures the built-in central. The world-file loader
// fills it from YAML.
type CentralConfig struct {
	// Name is the central's own GAP Device Name.
	Name        string          `yaml:"name"`
	AddressType hci.AddressType `yaml:"address_type"` // AddrPublic or AddrRandom (static)
	Address     hci.BDAddr      `yaml:"address"`
	// Target is the local name (complete or shortened) of the peripheral
	// to connect to. Empty: only scan and report Discovered.
	Target string `yaml:"target"`
	// ScanInterval and ScanWindow (defaults 100 ms and 50 ms), active
	// scanning.
	ScanInterval time.Duration `yaml:"scan_interval"`
	ScanWindow   time.Duration `yaml:"scan_window"`
	// ConnInterval (default 30 ms) and SupervisionTimeout (default 4 s)
	// of the connection; ConnectTimeout (default 10 s) cancels an
	// LE Create Connection that did not complete.
	ConnInterval       time.Duration `yaml:"conn_interval"`
	SupervisionTimeout time.Duration `yaml:"supervision_timeout"`
	ConnectTimeout     time.Duration `yaml:"connect_timeout"`
	// MTU offered in Exchange MTU (default 247).
	MTU int `yaml:"mtu"`
	// Read lists characteristics to read after discovery; Subscribe lists
	// characteristics to subscribe to (notify, else indicate).
	Read      []att.UUID `yaml:"read"`
	Subscribe []att.UUID `yaml:"subscribe"`
	// ReadByUUID reads the Read characteristics with Read Using
	// Characteristic UUID (one request each) instead of discovering the
	// whole database first (Vol 3 Part G §4.8.2); Subscribe still
	// discovers.
	ReadByUUID bool `yaml:"read_by_uuid"`
	// Hold is how long to stay connected after the procedures before
	// disconnecting; 0 stays connected.
	Hold time.Duration `yaml:"hold"`
	// Security is the central's pairing behaviour.
	Security CentralSecurity `yaml:"security"`
}

// CentralSecurity is the central's pairing and bonding behaviour. By
// default it does what BlueZ does: on reconnecting to a bonded peripheral
// it encrypts with the stored LTK, it answers a Security Request by
// encrypting or pairing, and a read or subscription that fails with
// Insufficient Authentication or Insufficient Encryption makes it pair (or
// encrypt) and try once more.
type CentralSecurity struct {
	SecurityConfig `yaml:",inline"`
	// PairOnConnect secures the link as soon as the connection is up,
	// before the GATT procedures: it pairs, or encrypts with the bond
	// when there is one.
	PairOnConnect bool `yaml:"pair_on_connect"`
	// Pair overrides the SecurityConfig for pairings the central starts,
	// like MicroPython aioble's connection.pair(bond=True,
	// le_secure=True, mitm=False, io=3).
	Pair *smp.PairOptions `yaml:"-"`
	// ManualSecurity turns the automatic encryption and pairing off.
	ManualSecurity bool `yaml:"manual_security"`
	// RepairOnKeyMissing deletes the bond and pairs again when the
	// peripheral has lost its key (Encryption Change 0x06); by default
	// the central disconnects with Authentication Failure, as BlueZ does.
	RepairOnKeyMissing bool `yaml:"repair_on_key_missing"`
}

type centralState int

const (
	stIdle centralState = iota
	stScanning
	stConnecting
	stConnected
)

// Central scans for a peripheral by name, connects, exchanges the MTU,
// discovers all services, characteristics and descriptors, reads and
// subscribes to the configured characteristics, and disconnects after
// Hold. Every step is reported to OnEvent.
type Central struct {
	log   *zap.Logger
	sched *sim.Scheduler
	cfg   CentralConfig
	Host  *hcihost.Host
	Mux   *l2cap.Mux
	// Server is the central's own GATT server (GAP and GATT services).
	Server *gatt.Server
	// Client is the GATT client of the current connection (nil when not
	// connected).
	Client *gatt.Client
	// Conn is the current connection (nil when not connected).
	Conn *l2cap.Conn
	// SMP is the Security Manager (pairing, bonds, findings).
	SMP *smp.Manager
	userInput

	// OnEvent receives every step (see events.go).
	OnEvent func(Event)

	state       centralState
	seen        map[hci.BDAddr]string // address -> name known so far
	connectable map[hci.BDAddr]bool
	connTimer   *sim.Timer
	holdTimer   *sim.Timer
}

// NewCentral creates a central. send passes H4 packets to the controller;
// the wiring must call Receive with the controller's packets, then Start.
func NewCentral(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg CentralConfig) (*Central, error) {
	if cfg.AddressType == hci.AddrRandom && !cfg.Address.IsStaticRandom() {
		return nil, fmt.Errorf("central %q: random address %s is not a static random address", cfg.Name, cfg.Address)
	}
	if cfg.AddressType != hci.AddrPublic && cfg.AddressType != hci.AddrRandom {
		return nil, fmt.Errorf("central %q: address type %s not supported (public or random)", cfg.Name, cfg.AddressType)
	}
	if cfg.MTU == 0 {
		cfg.MTU = gatt.DefaultServerMTU
	}
	if cfg.MTU < att.DefaultMTU || cfg.MTU > 517 {
		return nil, fmt.Errorf("central %q: MTU %d outside 23..517", cfg.Name, cfg.MTU)
	}
	if cfg.Name == "" {
		cfg.Name = "blesim Central"
	}
	db, err := gatt.NewDB(gatt.GAPService(cfg.Name, 0), gatt.GATTService())
	if err != nil {
		return nil, err
	}
	c := &Central{log: log, sched: sched, cfg: cfg, seen: map[hci.BDAddr]string{}, connectable: map[hci.BDAddr]bool{}}
	c.Host = hcihost.New(log.Named("hci"), sched, send)
	c.Mux = l2cap.NewMux(log.Named("l2cap"), c.Host)
	c.Server = gatt.NewServer(log.Named("gatt"), db)
	km := smp.DisconnectOnKeyMissing
	if cfg.Security.RepairOnKeyMissing {
		km = smp.RepairOnKeyMissing
	}
	c.SMP, err = newSMP(log.Named("smp"), c.Host, c.Mux, cfg.Security.SecurityConfig, staticIdentity(cfg.AddressType, cfg.Address), c.ownAddress, c.emit, km)
	if err != nil {
		return nil, fmt.Errorf("central %q: %w", cfg.Name, err)
	}
	c.userInput = userInput{c.SMP}
	c.Host.OnEvent(c.hciEvent)
	c.Mux.OnConnect = c.connected
	c.Mux.OnDisconnect = c.disconnected
	return c, nil
}

func (c *Central) ownAddress() smp.Address {
	if c.cfg.AddressType == hci.AddrRandom {
		return smp.Address{Type: hci.AddrRandom, Addr: c.cfg.Address}
	}
	return smp.Address{Type: hci.AddrPublic, Addr: c.Host.Info.Addr}
}

// Pair pairs on the current connection; opts (nil: the configuration's
// Pair, else its SecurityConfig) are aioble's pair(bond, le_secure, mitm,
// io).
func (c *Central) Pair(opts *smp.PairOptions) error {
	if c.Conn == nil {
		return ErrNotConnected
	}
	if opts == nil {
		opts = c.cfg.Security.Pair
	}
	return c.SMP.Pair(c.Conn.Handle, opts)
}

// DeleteBond deletes the bond with a peer.
func (c *Central) DeleteBond(a smp.Address) error { return c.SMP.Forget(a) }

// ForgetKeys deletes every bond and returns how many there were.
func (c *Central) ForgetKeys() (int, error) { return c.SMP.ForgetAll() }

// ErrNotConnected is returned by Central.Pair without a connection.
var ErrNotConnected = errors.New("central: not connected")

// Receive takes one H4 packet from the controller.
func (c *Central) Receive(h4 []byte) { c.Host.Receive(h4) }

func (c *Central) emit(e Event) {
	if c.OnEvent != nil {
		c.OnEvent(e)
	}
}

func (c *Central) fail(step string, err error) {
	c.log.Error("central step failed", zap.String("step", step), zap.Error(err))
	c.emit(Error{Step: step, Err: err})
}

func (c *Central) ownAddrType() uint8 {
	if c.cfg.AddressType == hci.AddrRandom {
		return 1
	}
	return 0
}

// Start brings up the controller, sets the address and starts scanning.
func (c *Central) Start() {
	c.Host.Bringup(func(err error) {
		if err != nil {
			c.fail("bring-up", err)
			return
		}
		var steps []cmdStep
		if c.cfg.AddressType == hci.AddrRandom {
			steps = append(steps, cmdStep{hci.OpLESetRandomAddress, c.cfg.Address[:]})
		}
		// LE Set Scan Parameters (Vol 4 Part E §7.8.10): active scanning.
		iv := units(c.cfg.ScanInterval, 625*time.Microsecond, 100*time.Millisecond, 4, 0x4000)
		win := min(iv, units(c.cfg.ScanWindow, 625*time.Microsecond, 50*time.Millisecond, 4, 0x4000))
		sp := (&hci.Writer{}).U8(0x01).U16(iv).U16(win).U8(c.ownAddrType()).U8(0x00).B
		steps = append(steps, cmdStep{hci.OpLESetScanParameters, sp})
		runSteps(c.Host, steps, func(step string, err error) {
			if err != nil {
				c.fail(step, err)
				return
			}
			addr := c.Host.Info.Addr
			if c.cfg.AddressType == hci.AddrRandom {
				addr = c.cfg.Address
			}
			c.Scan()
			c.emit(Ready{AddrType: c.cfg.AddressType, Addr: addr})
		})
	})
}

// Scan (re)starts scanning: LE Set Scan Enable with duplicate filtering
// off (§7.8.11), so scan responses keep coming.
func (c *Central) Scan() {
	if c.state != stIdle {
		return
	}
	c.state = stScanning
	c.Host.Command(hci.OpLESetScanEnable, []byte{0x01, 0x00}, func(_ []byte, err error) {
		if err != nil {
			c.state = stIdle
			c.fail("scan enable", err)
		}
	})
}

func (c *Central) hciEvent(ev hcihost.Event) {
	switch e := ev.(type) {
	case hcihost.AdvertisingReport:
		c.advReport(e)
	case hcihost.ConnectionComplete:
		if e.Status != hci.StatusSuccess && c.state == stConnecting {
			c.connTimer.Stop()
			c.state = stIdle
			c.fail("connect", e.Status)
			c.Scan()
		}
	}
}

func (c *Central) advReport(r hcihost.AdvertisingReport) {
	if c.state != stScanning {
		return
	}
	if r.EventType == hcihost.AdvInd || r.EventType == hcihost.AdvDirectInd {
		c.connectable[r.Addr] = true
	}
	name, hasName := LocalName(r.Data)
	old, seen := c.seen[r.Addr]
	if !seen || (hasName && old == "" && name != "") {
		c.seen[r.Addr] = name
		d := Discovered{Name: name, AddrType: r.AddrType, Addr: r.Addr, RSSI: r.RSSI}
		d.Identity, d.Resolved = c.SMP.Resolve(smp.Address{Type: r.AddrType, Addr: r.Addr})
		if !d.Resolved {
			d.Identity = smp.Address{}
		}
		c.emit(d)
	}
	if c.cfg.Target == "" || !hasName || name != c.cfg.Target || !c.connectable[r.Addr] {
		return
	}
	c.connect(r.AddrType, r.Addr)
}

// connect stops scanning and sends LE Create Connection (§7.8.12).
func (c *Central) connect(at hci.AddressType, addr hci.BDAddr) {
	c.state = stConnecting
	c.log.Info("connecting", zap.String("target", c.cfg.Target), zap.Stringer("addr", addr))
	c.Host.Command(hci.OpLESetScanEnable, []byte{0x00, 0x00}, nil)
	iv := units(c.cfg.ConnInterval, 1250*time.Microsecond, 30*time.Millisecond, 6, 3200)
	to := units(c.cfg.SupervisionTimeout, 10*time.Millisecond, 4*time.Second, 10, 3200)
	scanIv := units(c.cfg.ScanInterval, 625*time.Microsecond, 100*time.Millisecond, 4, 0x4000)
	scanWin := min(scanIv, units(c.cfg.ScanWindow, 625*time.Microsecond, 50*time.Millisecond, 4, 0x4000))
	w := &hci.Writer{}
	w.U16(scanIv).U16(scanWin).U8(0x00).U8(uint8(at)).Addr(addr).U8(c.ownAddrType()).
		U16(iv).U16(iv).U16(0).U16(to).U16(0).U16(0)
	c.Host.Command(hci.OpLECreateConnection, w.B, func(_ []byte, err error) {
		if err != nil {
			c.state = stIdle
			c.fail("create connection", err)
			c.Scan()
			return
		}
		timeout := c.cfg.ConnectTimeout
		if timeout == 0 {
			timeout = 10 * time.Second
		}
		c.connTimer = c.sched.After(simDur(timeout), func() {
			if c.state == stConnecting {
				c.log.Warn("connection attempt timed out; cancelling")
				c.Host.Command(hci.OpLECreateConnectionCancel, nil, nil)
			}
		})
	})
}

func (c *Central) connected(conn *l2cap.Conn) {
	if conn.Role != hcihost.RoleCentral || c.Conn != nil {
		c.log.Warn("unexpected connection; disconnecting", zap.Uint16("handle", conn.Handle), zap.Stringer("role", conn.Role))
		conn.Disconnect(hci.StatusRemoteUserTerminated)
		return
	}
	c.connTimer.Stop()
	c.state = stConnected
	c.Conn = conn
	b := gatt.NewBearer(conn.Logger().Named("att"), conn)
	b.OnTimeout = func() { conn.Disconnect(hci.StatusRemoteUserTerminated) }
	c.Server.Attach(b, conn)
	c.Client = gatt.NewClient(conn.Logger().Named("gatt"), b)
	c.log.Info("connected", zap.Uint16("handle", conn.Handle), zap.Stringer("peer", conn.PeerAddr))
	c.emit(Connected{Handle: conn.Handle, Role: conn.Role, PeerAddrType: conn.PeerAddrType, PeerAddr: conn.PeerAddr, Interval: conn.Interval})
	cl := c.Client
	run := func(err error) {
		if err != nil {
			c.fail("security", err)
		}
		if !conn.Closed() {
			c.procedures(conn, cl)
		}
	}
	sec := c.cfg.Security
	_, bonded := c.SMP.Bond(conn.Handle)
	switch {
	case sec.PairOnConnect && !(bonded && conn.HasLTK):
		c.SMP.PairThen(conn.Handle, sec.Pair, run)
	case bonded && conn.HasLTK && (!sec.ManualSecurity || sec.PairOnConnect):
		// BlueZ encrypts a link to a bonded device with the stored key.
		c.SMP.Secure(conn.Handle, false, run)
	default:
		run(nil)
	}
}

// readByUUID reads the configured characteristics with Read Using
// Characteristic UUID, pairing when the server asks for security.
func (c *Central) readByUUID(conn *l2cap.Conn, cl *gatt.Client) {
	pending := len(c.cfg.Read) + 1
	finish := func() {
		pending--
		if pending > 0 || conn.Closed() {
			return
		}
		c.emit(ProceduresDone{})
		if c.cfg.Hold > 0 {
			c.holdTimer = c.sched.After(simDur(c.cfg.Hold), func() { c.Disconnect() })
		}
	}
	for _, u := range c.cfg.Read {
		c.withSecurity(conn, func(done func(error)) {
			cl.ReadByUUID(u, func(h uint16, v []byte, err error) {
				if err == nil {
					c.emit(Read{UUID: u, Handle: h, Value: v})
				}
				done(err)
			})
		}, func(err error) {
			if err != nil {
				c.fail("read "+u.String(), err)
			}
			finish()
		})
	}
	finish()
}

// withSecurity runs op; when it fails with Insufficient Authentication
// or Insufficient Encryption (and security is automatic) the central
// encrypts or pairs, as BlueZ does, and runs op once more.
func (c *Central) withSecurity(conn *l2cap.Conn, op func(done func(error)), then func(error)) {
	op(func(err error) {
		var code att.ErrorCode
		if err == nil || c.cfg.Security.ManualSecurity || conn.Closed() || !errors.As(err, &code) ||
			(code != att.ErrInsufficientAuthn && code != att.ErrInsufficientEncryption) {
			then(err)
			return
		}
		mitm := code == att.ErrInsufficientAuthn && conn.Encrypted
		c.log.Info("raising the link's security after an ATT error", zap.Error(err), zap.Bool("mitm", mitm))
		c.SMP.Secure(conn.Handle, mitm, func(serr error) {
			if serr != nil || conn.Closed() {
				then(fmt.Errorf("%w (raising security: %v)", err, serr))
				return
			}
			op(then)
		})
	})
}

// procedures runs MTU exchange, discovery, reads and subscriptions in
// order; a failing step is reported and the rest continue where they can.
func (c *Central) procedures(conn *l2cap.Conn, cl *gatt.Client) {
	cl.ExchangeMTU(c.cfg.MTU, func(mtu int, err error) {
		if err != nil {
			c.fail("exchange MTU", err)
		} else {
			c.emit(MTUExchanged{MTU: mtu})
		}
	})
	if c.cfg.ReadByUUID && len(c.cfg.Subscribe) == 0 {
		c.readByUUID(conn, cl)
		return
	}
	cl.DiscoverAll(func(svcs []*gatt.RemoteService, err error) {
		if err != nil {
			c.fail("discovery", err)
			return
		}
		c.emit(ServicesDiscovered{Services: svcs})
		pending := 1
		finish := func() {
			pending--
			if pending > 0 || conn.Closed() {
				return
			}
			c.emit(ProceduresDone{})
			if c.cfg.Hold > 0 {
				c.holdTimer = c.sched.After(simDur(c.cfg.Hold), func() { c.Disconnect() })
			}
		}
		for _, u := range c.cfg.Read {
			ch := cl.Characteristic(u)
			if ch == nil {
				c.fail("read", fmt.Errorf("%w: %s", ErrNotFound, u))
				continue
			}
			pending++
			c.withSecurity(conn, func(done func(error)) {
				cl.Read(ch.ValueHandle, func(v []byte, err error) {
					if err == nil {
						c.emit(Read{UUID: u, Handle: ch.ValueHandle, Value: v})
					}
					done(err)
				})
			}, func(err error) {
				if err != nil {
					c.fail("read "+u.String(), err)
				}
				finish()
			})
		}
		for _, u := range c.cfg.Subscribe {
			ch := cl.Characteristic(u)
			if ch == nil {
				c.fail("subscribe", fmt.Errorf("%w: %s", ErrNotFound, u))
				continue
			}
			handler := func(v []byte, ind bool) {
				c.emit(Notification{UUID: u, Handle: ch.ValueHandle, Value: v, Indication: ind})
			}
			pending++
			c.withSecurity(conn, func(done func(error)) { cl.Subscribe(ch, handler, done) }, func(err error) {
				if err != nil {
					c.fail("subscribe "+u.String(), err)
				} else {
					cfg := uint16(1)
					if ch.Props&gatt.PropNotify == 0 {
						cfg = 2
					}
					c.emit(Subscribed{UUID: u, CCCD: cfg})
				}
				finish()
			})
		}
		cl.Then(finish)
	})
}

// Disconnect terminates the connection (reason 0x13 Remote User
// Terminated Connection).
func (c *Central) Disconnect() {
	if c.Conn != nil {
		c.Conn.Disconnect(hci.StatusRemoteUserTerminated)
	}
}

func (c *Central) disconnected(conn *l2cap.Conn, reason hci.Status) {
	if conn != c.Conn {
		return
	}
	c.holdTimer.Stop()
	c.Conn, c.Client = nil, nil
	c.state = stIdle
	c.log.Info("disconnected", zap.Uint16("handle", conn.Handle), zap.Stringer("reason", reason))
	c.emit(Disconnected{Handle: conn.Handle, Reason: reason, Given: GivenReason(conn, reason)})
}

// ErrNotFound is reported when a configured characteristic is missing.
var ErrNotFound = errors.New("characteristic not found")
