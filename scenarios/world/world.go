// Package world reads world files: the YAML that declares blesim's
// simulated air (the radio medium), the controllers handed to external
// hosts, and the built-in devices that share that air.
//
// `blesim serve world.yaml --vhci 2` loads one with Load. Reference is the
// user documentation of the format (printed by `blesim help world`),
// Example a complete world. Parsing is strict: unknown fields, wrong types
// and out-of-range values are errors that name the file, the line and the
// field, e.g.
//
//	world.yaml:12: devices[1].position: want [x, y] in metres, got "near"
package world

import (
	"time"

	"blesim/vhci/hci"
)

// World is a parsed world file, with every default filled in.
type World struct {
	// Seed seeds the simulation's random source (default 1).
	Seed uint64
	// Medium is the radio model shared by every device.
	Medium Medium
	// Controllers holds the controllers declared for external hosts;
	// Controllers[i] is for the i-th one (--vhci, --hci-listen). Use
	// ControllerFor to get one whether or not it is declared.
	Controllers []Controller
	// Devices holds the built-in devices, in file order.
	Devices []Device
	// Source is the file name given to Load or Parse.
	Source string
}

// Medium is the radio model: log-distance path loss plus random loss.
// The received power at distance d metres is
// tx_power - ReferenceLossDB - 10 * PathLossExponent * log10(d);
// a packet is heard when that is at least SensitivityDBm, and is then
// still dropped with probability PacketLoss.
type Medium struct {
	PathLossExponent float64 // 2 is free space; 1.5 to 6
	ReferenceLossDB  float64 // loss at 1 m in dB; 0 to 100
	SensitivityDBm   float64 // weakest signal received, in dBm; -120 to -30
	PacketLoss       float64 // probability that a heard packet is dropped; 0 to 1
}

// Controller is a virtual controller handed to an external host (the
// kernel through /dev/vhci, or a stack on an H4 socket).
type Controller struct {
	Address     hci.BDAddr      // its identity address
	AddressType hci.AddressType // AddrPublic or AddrRandom (static)
	Position    [2]float64      // metres
}

// Device is a built-in device: a virtual controller driven by a built-in
// host running one of Profiles.
type Device struct {
	Name         string          // advertised Complete Local Name, 1 to MaxNameLen bytes, unique
	Profile      string          // one of the Profiles names
	Address      hci.BDAddr      // identity address, unique in the world
	AddressType  hci.AddressType // AddrPublic or AddrRandom (static)
	Position     [2]float64      // metres
	TxPower      int8            // dBm, -20 to +10
	AdvInterval  time.Duration   // advertising interval, 20ms to 10.24s
	Connectable  bool            // advertise ADV_IND (true) or ADV_NONCONN_IND (false)
	BatteryLevel *uint8          // percent; nil when the file gives none
	Services     []Service       // GATT services (generic profile only)
	Security     Security        // pairing and bonding (peripherals)
	Mesh         Mesh            // mesh-node and mesh-provisioner profiles
	// Host is who drives the controller: HostBuiltin (the default, the
	// profile's Go host) or HostKernel (the Linux kernel and BlueZ through
	// /dev/vhci, for a central in a scenario).
	Host string
	Line int // line of the device in the world file
}

// Device hosts.
const (
	HostBuiltin = "builtin"
	HostKernel  = "kernel"
)

// Hosts are the device host values.
var Hosts = []string{HostBuiltin, HostKernel}

// Service is a primary GATT service declared for a generic device.
type Service struct {
	UUID            UUID
	Characteristics []Characteristic
}

// Characteristic is one characteristic of a declared service.
type Characteristic struct {
	UUID       UUID
	Properties Properties
	// Value is the initial value (at most MaxValueLen bytes).
	Value []byte
	// NotifyEvery, when non-zero, makes the built-in host send the value
	// as a notification or indication at this period to subscribed
	// clients, incrementing its last byte each time.
	NotifyEvery time.Duration
	// Security is what reading or writing the value requires of the
	// link: "" or "none", "encrypted", "authenticated" (MITM) or
	// "authorized". Over a link without it the server answers
	// Insufficient Encryption / Authentication / Authorization.
	Security string
}

// Limits and defaults of the format.
const (
	DefaultSeed        = 1
	DefaultAdvInterval = 100 * time.Millisecond
	MinAdvInterval     = 20 * time.Millisecond
	MaxAdvInterval     = 10240 * time.Millisecond
	MinNotifyEvery     = 10 * time.Millisecond
	MaxNotifyEvery     = 24 * time.Hour
	MinTxPower         = -20
	MaxTxPower         = 10
	MaxPosition        = 10000 // metres, either axis
	// MaxNameLen is the longest name that fits in a 31-byte ADV_IND
	// payload next to the Flags AD structure: 31 - 3 (Flags) - 2 (name
	// length and type).
	MaxNameLen = 26
	// MaxValueLen is the longest attribute value (Core v5.4 Vol 3 Part F
	// §3.2.9).
	MaxValueLen = 512
)

// DefaultMedium returns the medium used when a world file has none: free
// space (exponent 2), 40 dB at 1 m, -95 dBm sensitivity, no random loss.
func DefaultMedium() Medium {
	return Medium{PathLossExponent: 2, ReferenceLossDB: 40, SensitivityDBm: -95}
}

// Profile names.
const (
	ProfileGeneric   = "generic"
	ProfileOximeter  = "oximeter"
	ProfileHeartRate = "heart-rate"
	ProfileCentral   = "central"
	// ProfileELock is an e-lock with a fixed passkey and a pairing mode.
	ProfileELock = "e-lock"
	// ProfileMeshNode is an unprovisioned Bluetooth Mesh device that
	// becomes a node (Config Server, Generic OnOff Server).
	ProfileMeshNode = "mesh-node"
	// ProfileMeshProvisioner provisions and configures mesh nodes.
	ProfileMeshProvisioner = "mesh-provisioner"
)

// One-line profile summaries, shared by Profiles and Reference.
const (
	summaryGeneric   = "peripheral serving the GATT services declared in the file (services:)"
	summaryOximeter  = "Pulse Oximeter Service 0x1822: PLX Spot-Check (indicate), PLX Continuous (notify), PLX Features (read); Battery; Device Information"
	summaryHeartRate = "Heart Rate Service 0x180D: Heart Rate Measurement (notify); Battery; Device Information"
	summaryCentral   = "built-in central that scans, connects to the peripherals it finds and reads their GATT databases"
	summaryELock     = "e-lock: Lock State (read, notify) and Lock Control Point (write) that need an authenticated link; a fixed passkey (display-only); a pairing mode outside which it refuses pairing and takes connections only from its bonded phones (Filter Accept List)"
	summaryMeshNode  = "unprovisioned Bluetooth Mesh device (beacons, PB-ADV and/or PB-GATT, every OOB method) that becomes a node with a Config Server and a Generic OnOff Server"
	summaryMeshProv  = "built-in mesh provisioner: provisions the devices it hears, then adds an AppKey and binds it to their Generic OnOff Servers"
)

// ProfileInfo names a device profile and says what it does.
type ProfileInfo struct {
	Name    string
	Summary string
}

// Profiles lists the profiles a device can run.
var Profiles = []ProfileInfo{
	{ProfileGeneric, summaryGeneric},
	{ProfileOximeter, summaryOximeter},
	{ProfileHeartRate, summaryHeartRate},
	{ProfileCentral, summaryCentral},
	{ProfileELock, summaryELock},
	{ProfileMeshNode, summaryMeshNode},
	{ProfileMeshProvisioner, summaryMeshProv},
}

// profileNames returns the names in Profiles.
func profileNames() []string {
	names := make([]string, len(Profiles))
	for i, p := range Profiles {
		names[i] = p.Name
	}
	return names
}

// ControllerFor returns the controller for the i-th external host (i >= 0):
// Controllers[i] when declared, otherwise a controller at [0, 0] with the
// public address the file would have given it had it been declared without
// one (00:AA:01:00:00:NN with NN = i+1, skipping addresses already in use).
// A negative i gives the zero Controller.
func (w *World) ControllerFor(i int) Controller {
	if i < len(w.Controllers) {
		if i < 0 {
			return Controller{}
		}
		return w.Controllers[i]
	}
	taken := make(map[hci.BDAddr]bool, len(w.Controllers)+len(w.Devices))
	for _, c := range w.Controllers {
		taken[c.Address] = true
	}
	for _, d := range w.Devices {
		taken[d.Address] = true
	}
	var a hci.BDAddr
	for j := len(w.Controllers); j <= i; j++ {
		a = allocate(taken, ctrlPublic, uint64(j)+1)
	}
	return Controller{Address: a, AddressType: hci.AddrPublic}
}

// addrFamily is a family of default addresses.
type addrFamily int

// Default address families: the n-th address of each (n >= 1) is
const (
	ctrlPublic addrFamily = iota // 00:AA:01:00:00:NN
	ctrlRandom                   // C0:AA:01:00:00:NN
	devPublic                    // 00:AA:02:00:00:NN
	devRandom                    // C0:00:00:00:00:NN
)

// defaultAddress returns the n-th address of family f; n runs on into the
// higher octets past 255.
func defaultAddress(f addrFamily, n uint64) hci.BDAddr {
	var a hci.BDAddr
	for i := range 5 {
		a[i] = byte(n >> (8 * i))
	}
	switch f {
	case ctrlPublic:
		a[5], a[4], a[3] = 0x00, 0xAA, 0x01
	case ctrlRandom:
		a[5], a[4], a[3] = 0xC0, 0xAA, 0x01
	case devPublic:
		a[5], a[4], a[3] = 0x00, 0xAA, 0x02
	case devRandom:
		a[5] = 0xC0
	}
	return a
}

// allocate returns the first address of family f from the n-th on that is
// not taken, and marks it taken.
func allocate(taken map[hci.BDAddr]bool, f addrFamily, n uint64) hci.BDAddr {
	for ; ; n++ {
		if a := defaultAddress(f, n); !taken[a] {
			taken[a] = true
			return a
		}
	}
}
