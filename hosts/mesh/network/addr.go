// Package network is the mesh network layer (Mesh Protocol v1.1 §3.4): it
// secures lower transport PDUs into network PDUs with a subnet's
// credentials (encryption and obfuscation, §3.9.7), checks and fills the
// network message cache (§3.4.6.5), relays with TTL decrement when the
// Relay feature is on (§3.4.6.3), keeps the IV Index and its update state
// (§3.11.5, §3.11.6), and sends and receives Secure Network beacons
// (§3.10.3, §3.10.4) authenticated with each subnet's BeaconKey.
//
// Network PDUs travel in AD type 0x2A (Mesh Message) on the advertising
// bearer (§3.3.1). The layer is bearer-independent: it hands AD structures
// to a send function and takes received ones with Receive.
//
// Everything runs on the simulation goroutine in virtual time.
package network

// Address kinds (§3.4.2).
const (
	Unassigned uint16 = 0x0000
	// Fixed group addresses (§3.4.2.4).
	AllProxies uint16 = 0xFFFC
	AllFriends uint16 = 0xFFFD
	AllRelays  uint16 = 0xFFFE
	AllNodes   uint16 = 0xFFFF
)

// IsUnicast reports whether a is a unicast address, 0x0001–0x7FFF
// (§3.4.2.2).
func IsUnicast(a uint16) bool { return a != 0 && a < 0x8000 }

// IsVirtual reports whether a is a virtual address, 0x8000–0xBFFF
// (§3.4.2.3).
func IsVirtual(a uint16) bool { return a&0xC000 == 0x8000 }

// IsGroup reports whether a is a group address, 0xC000–0xFFFF, the fixed
// group addresses included (§3.4.2.4).
func IsGroup(a uint16) bool { return a >= 0xC000 }
