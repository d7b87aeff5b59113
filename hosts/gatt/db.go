// Package gatt is the Generic Attribute Profile of blesim's built-in hosts
// (Core v5.4 Vol 3 Part G): an attribute database built from services and
// characteristics (db.go), the GATT server that answers ATT requests from it
// (server.go) and the GATT client procedures (client.go).
package gatt

import (
	"encoding/binary"
	"fmt"

	"blesim/hosts/att"
)

// Attribute types of GATT declarations and descriptors (Vol 3 Part G §3,
// Assigned Numbers §3.6–3.7).
var (
	TypePrimaryService   = att.UUID16(0x2800)
	TypeSecondaryService = att.UUID16(0x2801)
	TypeInclude          = att.UUID16(0x2802)
	TypeCharacteristic   = att.UUID16(0x2803)
	TypeCCCD             = att.UUID16(0x2902)
	TypeUserDescription  = att.UUID16(0x2901)
)

// Props are characteristic properties (Vol 3 Part G §3.3.1.1).
type Props uint8

// Characteristic properties.
const (
	PropBroadcast   Props = 0x01
	PropRead        Props = 0x02
	PropWriteNoRsp  Props = 0x04
	PropWrite       Props = 0x08
	PropNotify      Props = 0x10
	PropIndicate    Props = 0x20
	PropSignedWrite Props = 0x40
	PropExtended    Props = 0x80
)

// Perm are attribute permissions (Vol 3 Part F §3.2.5): access, and the
// security a link needs for it.
type Perm uint16

// Attribute permissions.
const (
	PermRead         Perm = 1 << 0
	PermWrite        Perm = 1 << 1
	PermReadEncrypt  Perm = 1 << 2 // reading needs an encrypted link
	PermWriteEncrypt Perm = 1 << 3 // writing needs an encrypted link
	PermReadAuthen   Perm = 1 << 4 // reading needs an authenticated (MITM) key
	PermWriteAuthen  Perm = 1 << 5
	PermReadAuthz    Perm = 1 << 6 // reading needs authorization (Server.Authorize)
	PermWriteAuthz   Perm = 1 << 7
	// PermNone marks an attribute with no read or write access (a zero
	// Perm means "derive from Props").
	PermNone        Perm = 1 << 15
	PermReadWrite        = PermRead | PermWrite
	PermEncryptedRW      = PermReadWrite | PermReadEncrypt | PermWriteEncrypt
	// permReadSec and permWriteSec are the security bits of each access.
	permReadSec  = PermReadEncrypt | PermReadAuthen | PermReadAuthz
	permWriteSec = PermWriteEncrypt | PermWriteAuthen | PermWriteAuthz
)

// Service is a service definition. Handles are assigned by NewDB.
type Service struct {
	UUID            att.UUID
	Secondary       bool
	Characteristics []*Characteristic

	Handle, EndHandle uint16 // assigned by NewDB
}

// Characteristic is a characteristic definition. Handles are assigned by
// NewDB.
type Characteristic struct {
	UUID  att.UUID
	Props Props
	// Perm of the value; 0 derives it from Props (Read → PermRead,
	// Write/WriteNoRsp → PermWrite).
	Perm Perm
	// Value is the stored value (reads, and writes update it).
	Value []byte
	// MaxLen limits written values (0 = 512, §3.2.9).
	MaxLen int
	// MinKeySize is the encryption key size (7..16 octets) the security
	// bits of Perm need; 0 accepts any. A shorter key gets Insufficient
	// Encryption Key Size (Vol 3 Part F §4).
	MinKeySize int
	// OnRead, when set, makes the value dynamic.
	OnRead func(c *ServerConn) []byte
	// OnWrite, when set, is called with every accepted write; a non-nil
	// error (an att.ErrorCode) refuses it. The stored Value is updated
	// after OnWrite returns nil.
	OnWrite func(c *ServerConn, value []byte) error
	// OnSubscribe is called when a client writes this characteristic's
	// CCCD (bit 0 notifications, bit 1 indications).
	OnSubscribe func(c *ServerConn, cccd uint16)
	// Descriptors other than the CCCD, which is added for Notify/Indicate.
	Descriptors []*Descriptor

	DeclHandle, ValueHandle, CCCDHandle, EndHandle uint16 // assigned by NewDB
}

// Descriptor is a characteristic descriptor definition.
type Descriptor struct {
	UUID    att.UUID
	Perm    Perm
	Value   []byte
	OnWrite func(c *ServerConn, value []byte) error
	Handle  uint16 // assigned by NewDB
}

// attribute is one row of the database (Vol 3 Part F §3.2).
type attribute struct {
	handle   uint16
	typ      att.UUID
	perm     Perm
	value    []byte // static value
	groupEnd uint16 // service declarations: the service's last handle
	char     *Characteristic
	desc     *Descriptor
	cccdOf   *Characteristic // CCCD of this characteristic
	minKey   int             // minimum encryption key size, 0 = any
}

// DB is an attribute database. It is immutable once built, except for
// characteristic and descriptor values.
type DB struct {
	attrs    []*attribute // sorted by handle, handles 1..n
	Services []*Service
}

// NewDB assigns handles from 0x0001 in order and builds the database.
func NewDB(services ...*Service) (*DB, error) {
	db := &DB{Services: services}
	add := func(a *attribute) uint16 {
		a.handle = uint16(len(db.attrs) + 1)
		db.attrs = append(db.attrs, a)
		return a.handle
	}
	for _, s := range services {
		if len(db.attrs)+1 > 0xffff {
			return nil, fmt.Errorf("gatt: database needs more than 65535 handles")
		}
		typ := TypePrimaryService
		if s.Secondary {
			typ = TypeSecondaryService
		}
		sa := &attribute{typ: typ, perm: PermRead, value: s.UUID.Bytes()}
		s.Handle = add(sa)
		for _, c := range s.Characteristics {
			if c.Perm == 0 {
				if c.Props&PropRead != 0 {
					c.Perm |= PermRead
				}
				if c.Props&(PropWrite|PropWriteNoRsp) != 0 {
					c.Perm |= PermWrite
				}
			}
			decl := &attribute{typ: TypeCharacteristic, perm: PermRead}
			c.DeclHandle = add(decl)
			c.ValueHandle = add(&attribute{typ: c.UUID, perm: c.Perm, char: c, minKey: c.MinKeySize})
			decl.value = binary.LittleEndian.AppendUint16([]byte{byte(c.Props)}, c.ValueHandle)
			decl.value = append(decl.value, c.UUID.Bytes()...)
			c.CCCDHandle = 0
			if c.Props&(PropNotify|PropIndicate) != 0 {
				// The CCCD is readable by anyone; writing it (subscribing)
				// needs the security the value needs (Vol 3 Part G §3.3.3.3
				// leaves it to the profile).
				sec := c.Perm & (permReadSec | permWriteSec)
				wsec := (sec&permReadSec)<<1 | sec&permWriteSec
				c.CCCDHandle = add(&attribute{typ: TypeCCCD, perm: PermReadWrite | wsec, cccdOf: c, minKey: c.MinKeySize})
			}
			for _, d := range c.Descriptors {
				d.Handle = add(&attribute{typ: d.UUID, perm: d.Perm, desc: d})
			}
			c.EndHandle = uint16(len(db.attrs))
			if len(db.attrs) > 0xffff {
				return nil, fmt.Errorf("gatt: database needs more than 65535 handles")
			}
		}
		s.EndHandle = uint16(len(db.attrs))
		sa.groupEnd = s.EndHandle
	}
	return db, nil
}

// MustDB is NewDB that panics on error.
func MustDB(services ...*Service) *DB {
	db, err := NewDB(services...)
	if err != nil {
		panic(err)
	}
	return db
}

// Len returns the number of attributes.
func (db *DB) Len() int { return len(db.attrs) }

func (db *DB) at(h uint16) *attribute {
	if h == 0 || int(h) > len(db.attrs) {
		return nil
	}
	return db.attrs[h-1]
}

// inRange returns the attributes with start ≤ handle ≤ end.
func (db *DB) inRange(start, end uint16) []*attribute {
	if start == 0 || int(start) > len(db.attrs) {
		return nil
	}
	e := min(int(end), len(db.attrs))
	return db.attrs[start-1 : e]
}

// Characteristic finds the first characteristic with uuid.
func (db *DB) Characteristic(uuid att.UUID) *Characteristic {
	for _, s := range db.Services {
		for _, c := range s.Characteristics {
			if c.UUID == uuid {
				return c
			}
		}
	}
	return nil
}

// Appearance values used by the profiles (Assigned Numbers §2.6).
const (
	AppearanceUnknown          uint16 = 0x0000
	AppearanceGenericHeartRate uint16 = 0x0340
	AppearanceHRBelt           uint16 = 0x0341
	AppearancePulseOximeter    uint16 = 0x0C40
	AppearanceFingertipOxim    uint16 = 0x0C41
)

// GAPService returns the GAP service 0x1800 with Device Name 0x2A00 and
// Appearance 0x2A01 (Vol 3 Part C §12.1, §12.2), both read-only.
func GAPService(name string, appearance uint16) *Service {
	return &Service{UUID: att.UUID16(0x1800), Characteristics: []*Characteristic{
		{UUID: att.UUID16(0x2A00), Props: PropRead, Value: []byte(name), MaxLen: 248},
		{UUID: att.UUID16(0x2A01), Props: PropRead, Value: binary.LittleEndian.AppendUint16(nil, appearance), MaxLen: 2},
	}}
}

// GATTService returns the GATT service 0x1801 with Service Changed 0x2A05
// (indicate, not readable; Vol 3 Part G §7.1) and its CCCD. Its value is
// the affected handle range 0x0001–0xFFFF.
func GATTService() *Service {
	return &Service{UUID: att.UUID16(0x1801), Characteristics: []*Characteristic{
		{UUID: att.UUID16(0x2A05), Props: PropIndicate, Perm: PermNone, Value: []byte{0x01, 0x00, 0xff, 0xff}, MaxLen: 4},
	}}
}
