package linklayer

import (
	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// Role is the local device's role in a connection (Core v5.4 Vol 6 Part B §1.1).
type Role uint8

// Connection roles; the values are the HCI Role parameter of LE Connection
// Complete (Vol 4 Part E §7.7.65.1).
const (
	RoleCentral    Role = 0x00
	RolePeripheral Role = 0x01
)

func (r Role) String() string {
	if r == RoleCentral {
		return "central"
	}
	return "peripheral"
}

// connParams is the LLData of a CONNECT_IND (Vol 6 Part B §2.3.3.1): what
// a new connection starts with.
type connParams = pdu.LLData

// peerInfo is who a connection is with, as HCI reports it.
type peerInfo struct {
	addr     hci.BDAddr
	addrType uint8 // 0 public, 1 random
}
