package hcihost

import (
	"fmt"

	"blesim/vhci/hci"
)

// Event is a parsed HCI event handed to OnEvent handlers. The concrete types
// are the structs below; events the host does not interpret arrive as
// RawEvent. Command Complete, Command Status and Number Of Completed Packets
// are consumed by the Host itself and not dispatched.
type Event interface{ isEvent() }

// RawEvent is an event the host does not parse (or an LE Meta subevent it
// does not know). Params alias the received packet; copy to keep them.
type RawEvent struct {
	Code     hci.EventCode
	Subevent uint8 // LE Meta subevent code, 0 for other events
	Params   []byte
}

// Role is the local device's role on a connection (Vol 4 Part E §7.7.65.1).
type Role uint8

// Connection roles.
const (
	RoleCentral    Role = 0x00
	RolePeripheral Role = 0x01
)

func (r Role) String() string {
	switch r {
	case RoleCentral:
		return "central"
	case RolePeripheral:
		return "peripheral"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// ConnectionComplete is LE Connection Complete (Vol 4 Part E §7.7.65.1) or
// LE Enhanced Connection Complete (§7.7.65.10, Enhanced set).
type ConnectionComplete struct {
	Status       hci.Status
	Handle       uint16
	Role         Role
	PeerAddrType hci.AddressType
	PeerAddr     hci.BDAddr
	LocalRPA     hci.BDAddr // enhanced only
	PeerRPA      hci.BDAddr // enhanced only
	Interval     uint16     // 1.25 ms units
	Latency      uint16
	Timeout      uint16 // 10 ms units
	CentralSCA   uint8
	Enhanced     bool
}

// AdvertisingReport is one report of LE Advertising Report
// (Vol 4 Part E §7.7.65.2). An event with several reports is dispatched as
// several AdvertisingReport values.
type AdvertisingReport struct {
	EventType AdvEventType
	AddrType  hci.AddressType
	Addr      hci.BDAddr
	Data      []byte // AD structures (copied)
	RSSI      int8   // dBm, 127 = not available
}

// AdvEventType is the Event_Type of an advertising report.
type AdvEventType uint8

// Advertising report event types (Vol 4 Part E §7.7.65.2).
const (
	AdvInd        AdvEventType = 0x00 // connectable undirected
	AdvDirectInd  AdvEventType = 0x01
	AdvScanInd    AdvEventType = 0x02
	AdvNonconnInd AdvEventType = 0x03
	ScanRsp       AdvEventType = 0x04
)

// ConnectionUpdateComplete is LE Connection Update Complete (§7.7.65.3).
type ConnectionUpdateComplete struct {
	Status   hci.Status
	Handle   uint16
	Interval uint16
	Latency  uint16
	Timeout  uint16
}

// RemoteFeaturesComplete is LE Read Remote Features Complete (§7.7.65.4).
type RemoteFeaturesComplete struct {
	Status   hci.Status
	Handle   uint16
	Features [8]byte
}

// LTKRequest is LE Long Term Key Request (§7.7.65.5).
type LTKRequest struct {
	Handle uint16
	Rand   uint64
	EDIV   uint16
}

// RemoteConnParamRequest is LE Remote Connection Parameter Request
// (§7.7.65.6). The Host answers it itself (accepting valid parameters)
// before handlers see it.
type RemoteConnParamRequest struct {
	Handle      uint16
	IntervalMin uint16
	IntervalMax uint16
	Latency     uint16
	Timeout     uint16
}

// DataLengthChange is LE Data Length Change (§7.7.65.7).
type DataLengthChange struct {
	Handle      uint16
	MaxTxOctets uint16
	MaxTxTime   uint16
	MaxRxOctets uint16
	MaxRxTime   uint16
}

// DisconnectionComplete is Disconnection Complete (§7.7.5).
type DisconnectionComplete struct {
	Status hci.Status
	Handle uint16
	Reason hci.Status
}

// EncryptionChange is Encryption Change (§7.7.8).
type EncryptionChange struct {
	Status  hci.Status
	Handle  uint16
	Enabled uint8 // 0x00 off, 0x01 AES-CCM
}

// EncryptionKeyRefreshComplete is Encryption Key Refresh Complete (§7.7.39).
type EncryptionKeyRefreshComplete struct {
	Status hci.Status
	Handle uint16
}

// HardwareError is Hardware Error (§7.7.16).
type HardwareError struct{ Code uint8 }

func (RawEvent) isEvent()                     {}
func (ConnectionComplete) isEvent()           {}
func (AdvertisingReport) isEvent()            {}
func (ConnectionUpdateComplete) isEvent()     {}
func (RemoteFeaturesComplete) isEvent()       {}
func (LTKRequest) isEvent()                   {}
func (RemoteConnParamRequest) isEvent()       {}
func (DataLengthChange) isEvent()             {}
func (DisconnectionComplete) isEvent()        {}
func (EncryptionChange) isEvent()             {}
func (EncryptionKeyRefreshComplete) isEvent() {}
func (HardwareError) isEvent()                {}

// multiEvent carries the reports of one LE Advertising Report event.
type multiEvent []Event

func (multiEvent) isEvent() {}

// ParseEvent parses a validated event (hci.Event.Validate) as the host
// does, for observers of HCI traffic such as a scenario watching the
// kernel's controller. An LE Advertising Report with several reports
// comes back as one Event that observers may ignore.
func ParseEvent(e hci.Event) (Event, error) { return parseEvent(e) }

// parseEvent parses a validated event. Advertising reports with several
// entries come back as multiEvent and are split by dispatch.
func parseEvent(e hci.Event) (Event, error) {
	p := e.Params()
	r := hci.NewReader(p)
	var ev Event
	switch e.Code() {
	case hci.EvtDisconnectionComplete:
		ev = DisconnectionComplete{Status: hci.Status(r.U8()), Handle: r.U16() & 0x0fff, Reason: hci.Status(r.U8())}
	case hci.EvtEncryptionChange:
		ev = EncryptionChange{Status: hci.Status(r.U8()), Handle: r.U16() & 0x0fff, Enabled: r.U8()}
	case hci.EvtEncryptionKeyRefreshComplete:
		ev = EncryptionKeyRefreshComplete{Status: hci.Status(r.U8()), Handle: r.U16() & 0x0fff}
	case hci.EvtHardwareError:
		ev = HardwareError{Code: r.U8()}
	case hci.EvtLEMeta:
		sub := r.U8()
		if r.Err() != nil {
			return nil, fmt.Errorf("LE Meta event without subevent code")
		}
		var err error
		ev, err = parseLEMeta(sub, r)
		if err != nil {
			return nil, err
		}
		if ev == nil {
			return RawEvent{Code: e.Code(), Subevent: sub, Params: p[1:]}, nil
		}
	default:
		return RawEvent{Code: e.Code(), Params: p}, nil
	}
	if err := r.Exact(); err != nil {
		return nil, fmt.Errorf("event 0x%02x subevent 0x%02x: %w", uint8(e.Code()), e.Subevent(), err)
	}
	return ev, nil
}

func parseLEMeta(sub uint8, r *hci.Reader) (Event, error) {
	switch sub {
	case hci.LEConnectionComplete, hci.LEEnhancedConnectionComplete:
		c := ConnectionComplete{Enhanced: sub == hci.LEEnhancedConnectionComplete}
		c.Status = hci.Status(r.U8())
		c.Handle = r.U16() & 0x0fff
		c.Role = Role(r.U8())
		c.PeerAddrType = hci.AddressType(r.U8())
		c.PeerAddr = r.Addr()
		if c.Enhanced {
			c.LocalRPA = r.Addr()
			c.PeerRPA = r.Addr()
		}
		c.Interval = r.U16()
		c.Latency = r.U16()
		c.Timeout = r.U16()
		c.CentralSCA = r.U8()
		return c, nil
	case hci.LEAdvertisingReport:
		n := int(r.U8())
		if r.Err() == nil && n == 0 {
			return nil, fmt.Errorf("LE Advertising Report with Num_Reports 0")
		}
		var reps multiEvent
		for i := 0; i < n && r.Err() == nil; i++ {
			a := AdvertisingReport{EventType: AdvEventType(r.U8()), AddrType: hci.AddressType(r.U8()), Addr: r.Addr()}
			dl := int(r.U8())
			if dl > 31 {
				return nil, fmt.Errorf("LE Advertising Report data length %d > 31", dl)
			}
			a.Data = append([]byte(nil), r.Bytes(dl)...)
			a.RSSI = int8(r.U8())
			reps = append(reps, a)
		}
		return reps, nil
	case hci.LEConnectionUpdateComplete:
		return ConnectionUpdateComplete{Status: hci.Status(r.U8()), Handle: r.U16() & 0x0fff, Interval: r.U16(), Latency: r.U16(), Timeout: r.U16()}, nil
	case hci.LEReadRemoteFeaturesComplete:
		c := RemoteFeaturesComplete{Status: hci.Status(r.U8()), Handle: r.U16() & 0x0fff}
		copy(c.Features[:], r.Bytes(8))
		return c, nil
	case hci.LELongTermKeyRequest:
		return LTKRequest{Handle: r.U16() & 0x0fff, Rand: r.U64(), EDIV: r.U16()}, nil
	case hci.LERemoteConnParamRequest:
		return RemoteConnParamRequest{Handle: r.U16() & 0x0fff, IntervalMin: r.U16(), IntervalMax: r.U16(), Latency: r.U16(), Timeout: r.U16()}, nil
	case hci.LEDataLengthChange:
		return DataLengthChange{Handle: r.U16() & 0x0fff, MaxTxOctets: r.U16(), MaxTxTime: r.U16(), MaxRxOctets: r.U16(), MaxRxTime: r.U16()}, nil
	}
	return nil, nil
}
