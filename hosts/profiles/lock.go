package profiles

import (
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// The e-lock's Lock Service is vendor specific, so its UUIDs are 128-bit
// UUIDs outside the Bluetooth Base UUID (Core v5.4 Vol 3 Part B §2.5.1),
// all on blesim's lock base 6c6f636b-XXXX-4000-8000-626c6573696d ("lock"
// and "blesim" in ASCII):
//
//	6c6f636b-0001-4000-8000-626c6573696d  Lock Service (primary)
//	6c6f636b-0002-4000-8000-626c6573696d  Lock State: read, notify; 1 octet,
//	                                      0x00 unlocked, 0x01 locked
//	6c6f636b-0003-4000-8000-626c6573696d  Lock Control Point: write; 1 octet,
//	                                      0x01 lock, 0x02 unlock
//
// Both need an encrypted link with an authenticated (MITM) key: over
// anything less the server answers Insufficient Authentication (0x05), or
// Insufficient Encryption (0x0F) when a bond holds a key the client has
// not used yet (Vol 3 Part F §3.4.1.1, Vol 3 Part G §8.1).
var (
	UUIDLockService      = att.MustParseUUID("6c6f636b-0001-4000-8000-626c6573696d")
	UUIDLockState        = att.MustParseUUID("6c6f636b-0002-4000-8000-626c6573696d")
	UUIDLockControlPoint = att.MustParseUUID("6c6f636b-0003-4000-8000-626c6573696d")
)

// Lock State values and Lock Control Point opcodes.
const (
	LockStateUnlocked uint8 = 0x00
	LockStateLocked   uint8 = 0x01
	LockOpLock        uint8 = 0x01
	LockOpUnlock      uint8 = 0x02
)

// ErrLockOpcodeNotSupported answers a Lock Control Point write with an
// unknown opcode: an application error (0x80–0x9F, Vol 3 Part F
// §3.4.1.1).
const ErrLockOpcodeNotSupported att.ErrorCode = 0x80

// advFilterAcceptList is Advertising_Filter_Policy 0x03 of LE Set
// Advertising Parameters (Vol 4 Part E §7.8.5): scan and connection
// requests only from devices on the Filter Accept List.
const advFilterAcceptList = 0x03

// LockConfig configures an e-lock.
type LockConfig struct {
	PeripheralConfig `yaml:",inline"`
	// PairingMode is the state at start: on, anyone may connect and
	// pair; off, only bonded phones may connect and Pairing Requests are
	// refused. nil: on when the lock has no bond yet (out of the box),
	// else off.
	PairingMode *bool `yaml:"pairing_mode"`
	// Unlocked starts the lock open (default locked).
	Unlocked bool `yaml:"unlocked"`
}

// Lock is an e-lock: a peripheral with a fixed passkey (printed on a QR
// code; Security.Passkey, IO capability display-only) whose Lock Service
// opens only over an authenticated link, and a pairing mode:
//
//   - on: the lock advertises to anyone (Advertising_Filter_Policy 0x00)
//     and pairs and bonds with whoever types the passkey;
//   - off: it answers Pairing Requests with Pairing Failed, Pairing Not
//     Supported (0x05, Vol 3 Part H §3.5.5), and its controller takes
//     scan and connection requests only from the identity addresses of
//     its bonded phones (the Filter Accept List with
//     Advertising_Filter_Policy 0x03, Vol 6 Part B §4.3.2), so another
//     phone's CONNECT_IND is ignored and its connection fails to be
//     established (0x3E).
//
// The accept list is rewritten over HCI whenever pairing mode changes or
// a bond is made or deleted (advertising is stopped meanwhile: the list
// may not change while advertising uses it, Vol 4 Part E §7.8.16). It
// holds identity addresses only: phones that connect with resolvable
// private addresses would need the resolving list, which blesim's
// controller does not implement.
type Lock struct {
	*Peripheral
	State, ControlPoint *gatt.Characteristic

	pairingMode bool
	busy, again bool // an accept-list update is running / is needed again
	failures    int  // consecutive failed updates
}

// Lock events.
type (
	// PairingModeChanged: the lock entered or left pairing mode.
	PairingModeChanged struct{ On bool }
	// LockChanged: the lock was locked or unlocked through the Control
	// Point by Peer.
	LockChanged struct {
		Locked bool
		Peer   smp.Address
	}
)

func (PairingModeChanged) isEvent() {}
func (LockChanged) isEvent()        {}

// NewLock creates an e-lock. Defaults: name "blesim Lock", IO capability
// display-only.
func NewLock(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg LockConfig) (*Lock, error) {
	if cfg.Name == "" {
		cfg.Name = "blesim Lock"
	}
	if cfg.Security.IOCapability == "" {
		cfg.Security.IOCapability = "display-only"
	}
	l := &Lock{}
	state := LockStateLocked
	if cfg.Unlocked {
		state = LockStateUnlocked
	}
	l.State = &gatt.Characteristic{UUID: UUIDLockState, Props: gatt.PropRead | gatt.PropNotify,
		Perm: gatt.PermRead | gatt.PermReadEncrypt | gatt.PermReadAuthen, Value: []byte{state}, MaxLen: 1}
	l.ControlPoint = &gatt.Characteristic{UUID: UUIDLockControlPoint, Props: gatt.PropWrite,
		Perm: gatt.PermWrite | gatt.PermWriteEncrypt | gatt.PermWriteAuthen, MaxLen: 1}
	l.ControlPoint.OnWrite = l.control
	svc := &gatt.Service{UUID: UUIDLockService, Characteristics: []*gatt.Characteristic{l.State, l.ControlPoint}}
	p, err := NewPeripheral(log, sched, send, cfg.PeripheralConfig, svc, DeviceInformationService("blesim-lock"))
	if err != nil {
		return nil, err
	}
	l.Peripheral = p
	l.pairingMode = p.SMP.Store().Len() == 0
	if cfg.PairingMode != nil {
		l.pairingMode = *cfg.PairingMode
	}
	l.applyMode()
	prev := p.SMP.OnEvent
	p.SMP.OnEvent = func(e smp.Event) {
		if prev != nil {
			prev(e)
		}
		switch e := e.(type) {
		case smp.PairingComplete:
			if e.Bonded {
				l.updateAcceptList()
			}
		case smp.BondDeleted:
			l.updateAcceptList()
		}
	}
	return l, nil
}

// Start brings the lock up and advertises; outside pairing mode it fills
// the accept list once advertising has started (until then the list is
// empty and nobody can connect).
func (l *Lock) Start() {
	user := l.OnEvent
	l.OnEvent = func(e Event) {
		if _, ok := e.(Ready); ok {
			l.OnEvent = user
			l.updateAcceptList()
		}
		if user != nil {
			user(e)
		}
	}
	l.Peripheral.Start()
}

// PairingMode reports whether the lock is in pairing mode.
func (l *Lock) PairingMode() bool { return l.pairingMode }

// SetPairingMode enters or leaves pairing mode (the button on the lock).
func (l *Lock) SetPairingMode(on bool) {
	if on == l.pairingMode {
		return
	}
	l.pairingMode = on
	l.applyMode()
	l.log.Info("pairing mode", zap.Bool("on", on))
	l.emit(PairingModeChanged{On: on})
	if l.ready {
		l.updateAcceptList()
	}
}

// applyMode sets the SMP and advertising side of the pairing mode.
func (l *Lock) applyMode() {
	l.SMP.SetPairable(l.pairingMode)
	l.advFilter = advFilterAcceptList
	if l.pairingMode {
		l.advFilter = 0
	}
}

// Locked reports the lock state.
func (l *Lock) Locked() bool { return len(l.State.Value) == 1 && l.State.Value[0] == LockStateLocked }

// control handles a Lock Control Point write (the server has already
// checked the link's security).
func (l *Lock) control(sc *gatt.ServerConn, v []byte) error {
	if len(v) != 1 {
		return att.ErrInvalidAttrValueLength
	}
	var st uint8
	switch v[0] {
	case LockOpLock:
		st = LockStateLocked
	case LockOpUnlock:
		st = LockStateUnlocked
	default:
		return ErrLockOpcodeNotSupported
	}
	var peer smp.Address
	if sc.Link != nil {
		peer, _ = l.SMP.PeerIdentity(sc.Link.Handle)
	}
	l.log.Info("lock state changed", zap.Bool("locked", st == LockStateLocked), zap.Stringer("by", peer))
	// Notify after the Write Response has gone.
	l.sched.After(0, func() { l.Server.Update(l.State, []byte{st}) })
	l.emit(LockChanged{Locked: st == LockStateLocked, Peer: peer})
	return nil
}

// updateAcceptList rewrites the controller's Filter Accept List with the
// identity addresses of the bonded peers and sets the advertising filter
// policy of the pairing mode (Vol 4 Part E §7.8.5, §7.8.15–§7.8.16):
// advertising off, Clear, Add for each bond, LE Set Advertising
// Parameters, advertising on again when no central is connected. Calls
// during an update run it once more afterwards.
func (l *Lock) updateAcceptList() {
	if l.busy {
		l.again = true
		return
	}
	if !l.ready || l.stopped {
		return
	}
	l.busy = true
	var steps []cmdStep
	if l.advertising {
		l.advertising = false
		steps = append(steps, cmdStep{hci.OpLESetAdvertisingEnable, []byte{0}})
	}
	steps = append(steps, cmdStep{hci.OpLEClearAcceptList, nil})
	bonds := l.SMP.Store().All()
	for i, b := range bonds {
		if i == acceptListMax {
			l.log.Warn("more bonds than accept-list entries; the others cannot connect outside pairing mode", zap.Int("bonds", len(bonds)))
			break
		}
		w := &hci.Writer{}
		w.U8(uint8(b.Peer.Type & 1)).Addr(b.Peer.Addr)
		steps = append(steps, cmdStep{hci.OpLEAddDeviceToAcceptList, w.B})
	}
	steps = append(steps, cmdStep{hci.OpLESetAdvertisingParameters, l.advParams()})
	runSteps(l.Host, steps, func(step string, err error) {
		l.busy = false
		if err != nil {
			// A central's disconnection restarted advertising in the
			// middle (Peripheral.disconnected): start over.
			l.failures++
			l.log.Info("accept list update interrupted", zap.String("step", step), zap.Error(err), zap.Int("failures", l.failures))
			if l.failures > 3 {
				l.fail("accept list", fmt.Errorf("%s: %w", step, err))
				l.failures = 0
				return
			}
			l.again = true
		} else {
			l.failures = 0
			l.log.Info("accept list updated", zap.Int("bonds", min(len(bonds), acceptListMax)), zap.Bool("pairing_mode", l.pairingMode))
		}
		if l.again {
			l.again = false
			l.updateAcceptList()
			return
		}
		if !l.stopped && l.cfg.Connectable && l.Mux.Conns() == 0 && !l.advertising {
			l.enableAdvertising(nil)
		}
	})
}

// acceptListMax is the Filter Accept List size of blesim's controller
// (LE Read Filter Accept List Size).
const acceptListMax = 16
