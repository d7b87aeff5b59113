package profiles

import (
	"fmt"
	"time"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Event is what a device reports to its OnEvent callback.
type Event interface{ isEvent() }

// Ready: bring-up is done and the device advertises (peripheral) or scans
// (central). Addr is the address it uses on air.
type Ready struct {
	AddrType hci.AddressType
	Addr     hci.BDAddr
}

// Discovered: the central saw an advertiser (once per address, and again
// when its name becomes known). When the address is a resolvable private
// address that a bonded IRK resolves, Resolved is set and Identity is the
// peer's identity address.
type Discovered struct {
	Name     string
	AddrType hci.AddressType
	Addr     hci.BDAddr
	RSSI     int8
	Resolved bool
	Identity smp.Address
}

// AddressChanged: a private peripheral changed its resolvable private
// address.
type AddressChanged struct{ Addr hci.BDAddr }

// Connected: a connection is up.
type Connected struct {
	Handle       uint16
	Role         hcihost.Role
	PeerAddrType hci.AddressType
	PeerAddr     hci.BDAddr
	Interval     uint16 // 1.25 ms units
}

// MTUExchanged: ATT_MTU after the central's Exchange MTU.
type MTUExchanged struct{ MTU int }

// ServicesDiscovered: the central discovered all services,
// characteristics and descriptors.
type ServicesDiscovered struct{ Services []*gatt.RemoteService }

// Read: the central read a characteristic.
type Read struct {
	UUID   att.UUID
	Handle uint16
	Value  []byte
}

// Subscribed: on the central, a CCCD write succeeded; on a peripheral, a
// client wrote a CCCD (CCCD 0 = unsubscribed).
type Subscribed struct {
	UUID att.UUID
	CCCD uint16
}

// Notification: the central received a notification or indication.
type Notification struct {
	UUID       att.UUID
	Handle     uint16
	Value      []byte
	Indication bool
}

// ProceduresDone: the central finished its configured reads and
// subscriptions.
type ProceduresDone struct{}

// Disconnected: a connection is gone. Reason is the Disconnection
// Complete's; when this device ended the link itself (Reason 0x16,
// Connection Terminated By Local Host), Given is the reason it sent its
// peer in HCI Disconnect (e.g. 0x05 after a failed encryption), else 0.
type Disconnected struct {
	Handle uint16
	Reason hci.Status
	Given  hci.Status
}

// GivenReason returns conn's given reason when reason says this side
// ended the link, for Disconnected.Given.
func GivenReason(conn *l2cap.Conn, reason hci.Status) hci.Status {
	if reason != hci.StatusLocalHostTerminated {
		return 0
	}
	return conn.Given
}

// Error: a step failed (Step names it, e.g. "bring-up", "connect", "read").
type Error struct {
	Step string
	Err  error
}

func (Ready) isEvent()              {}
func (Discovered) isEvent()         {}
func (Connected) isEvent()          {}
func (MTUExchanged) isEvent()       {}
func (ServicesDiscovered) isEvent() {}
func (Read) isEvent()               {}
func (Subscribed) isEvent()         {}
func (Notification) isEvent()       {}
func (ProceduresDone) isEvent()     {}
func (Disconnected) isEvent()       {}
func (Error) isEvent()              {}
func (AddressChanged) isEvent()     {}

func (e Error) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }

// simDur converts a config duration to virtual time.
func simDur(d time.Duration) sim.Duration { return sim.FromStd(d) }

// units converts d to a count of unit (e.g. 625 µs advertising slots),
// clamped to [lo, hi], with def when d is zero.
func units(d, unit, def time.Duration, lo, hi uint16) uint16 {
	if d == 0 {
		d = def
	}
	n := int64(d / unit)
	return uint16(max(int64(lo), min(int64(hi), n)))
}
