// Package scenario reads scenario files and plays them: a scenario is a
// world file (seed, medium, devices) plus steps on a virtual-time line
// and expectations on what the built-in hosts report. Run plays one
// through scenarios/engine and returns a Result that serializes to JSON.
//
//	name: lost-bond
//	description: the oximeter forgets its bond
//	devices:
//	  - {name: Phone, profile: central}
//	  - {name: Oximeter, profile: oximeter, position: [1, 0]}
//	steps:
//	  - at: 0s
//	    connect: {device: Phone, peer: Oximeter}
//	  - wait: 3s                       # after: previous is the default
//	  - disconnect: Phone
//	expect:
//	  - pairing: {device: Phone, result: success}
//	    within: 10s
//
// Parsing is strict, as for world files: errors name file, line and field
// (lost-bond.yaml:14: steps[2].connect.peer: no device "Oxi").
package scenario

import (
	"time"

	"gopkg.in/yaml.v3"

	"blesim/hosts/smp"
	"blesim/scenarios/world"
)

// Scenario is a parsed scenario file.
type Scenario struct {
	Name        string
	Description string
	// World is the world part of the file (seed, medium, devices).
	World *world.World
	Steps []Step
	// Expect is checked once the run is over.
	Expect []Expectation
	// Duration, when set, is how long the run lasts in virtual time;
	// otherwise it ends Settle after the last step is done, or at the
	// latest within of Expect when that is later.
	Duration time.Duration
	// Source is the file name given to Parse or Load.
	Source string
}

// Settle is how long a run goes on after its last step when the file
// gives no duration.
const Settle = 2 * time.Second

// StepTimeout bounds how long a step may take to complete (a connect that
// never happens, a read that is never answered).
const StepTimeout = 30 * time.Second

// MaxDuration bounds a scenario's virtual time.
const MaxDuration = time.Hour

// Step actions.
const (
	ActConnect    = "connect"
	ActPair       = "pair"
	ActRead       = "read"
	ActWrite      = "write"
	ActSubscribe  = "subscribe"
	ActDisconnect = "disconnect"
	ActWait       = "wait"
	ActForgetKeys = "forget_keys"
	ActDeleteBond = "delete_bond"
	ActMove       = "move"
	ActPacketLoss = "set_packet_loss"
	fieldAt       = "at"
	fieldAfter    = "after"
	afterPrevious = "previous"
	fieldWithin   = "within"
	fieldHost     = "host"
)

// Actions lists the step actions in the order the reference documents them.
var Actions = []string{ActConnect, ActPair, ActRead, ActWrite, ActSubscribe, ActDisconnect,
	ActWait, ActForgetKeys, ActDeleteBond, ActMove, ActPacketLoss,
	ActPowerOff, ActPowerOn, ActReboot /* device_steps.go */, ActProvision, /* mesh_steps.go */
	ActPairingMode, ActPasskey, ActProbePasskey /* lock_steps.go */}

// Step is one action on the timeline. Steps run in order: a step starts
// at At when HasAt (or when the previous step completed, if that is
// later), else Delay after the previous step completed (after: previous).
type Step struct {
	Line   int
	HasAt  bool
	At     time.Duration
	Delay  time.Duration
	Action string
	// Device is the device acting (the central for connect, pair, read,
	// write, subscribe, disconnect, delete_bond; the peripheral for
	// forget_keys; any device for move).
	Device string
	// Peer is the peripheral of connect, and the optional peer of
	// delete_bond (empty: every bond).
	Peer     string
	UUID     world.UUID
	Value    []byte
	Pair     smp.PairOptions
	Wait     time.Duration
	Position [2]float64
	Loss     float64
	// Host, when set, plays the step only in runs with built-in hosts
	// only (world.HostBuiltin) or only where the kernel plays a device
	// (world.HostKernel); otherwise it is skipped.
	Host string
	// LoadBonds is power_on's and reboot's load_bonds (nil: the
	// device's world setting).
	LoadBonds *bool
	// Provision is a provision step's parameters (mesh_steps.go).
	Provision *ProvisionStep
	// On is pairing_mode's on; Passkey is passkey's value (lock_steps.go).
	On      bool
	Passkey uint32

	peerNode *yaml.Node // connect's peer, for errors
	peerPath string
}

// Expectation kinds.
const (
	ExpEncryptionChange = "encryption_change"
	ExpPairing          = "pairing"
	ExpFinding          = "finding"
	ExpRead             = "read"
	ExpBond             = "bond"
	ExpConnections      = "connections"
	ExpDisconnect       = "disconnect"
)

// ExpectKinds lists the expectation kinds.
var ExpectKinds = []string{ExpEncryptionChange, ExpPairing, ExpFinding, ExpRead, ExpBond, ExpConnections, ExpDisconnect,
	ExpProvisioning /* mesh_steps.go */, ExpATTError /* lock_steps.go */}

// Expectation is one thing the run must show. Without Count, at least one
// matching event must happen (by Within when set); with Count, exactly
// that many. bond is checked on the device's bond store at the end (or
// at Within); connections counts the device's connections.
type Expectation struct {
	Line   int
	Kind   string
	Device string
	// Status is the HCI status of encryption_change (nil: any failure or
	// success counts; 0x00 is success).
	Status *uint8
	// Result is "success" or "failed" (pairing).
	Result string
	// Method (one of PairingMethods) and SC (LE Secure Connections or
	// legacy) qualify a successful pairing (expect.go).
	Method string
	SC     *bool
	// Reason is the SMP reason of a failed pairing, or the HCI reason of
	// a disconnect (nil: any).
	Reason *uint8
	Code   string // finding code
	UUID   world.UUID
	Value  []byte // read: nil means any value
	// Present is what bond expects; Peer optionally names the bond's peer.
	Present bool
	Peer    string
	Count   *int
	Within  time.Duration
	// Host, when set, limits the expectation to runs where the real
	// kernel plays a device (world.HostKernel) or to runs with built-in
	// hosts only (world.HostBuiltin): the kernel and BlueZ do some things
	// differently, e.g. they try a failed connection twice.
	Host string
	// Mesh is what a provisioning expectation adds (mesh_steps.go).
	Mesh *MeshExpect

	// Message is text a finding's message must contain; ATTError is
	// att_error's code (nil: any) (lock_steps.go).
	Message  string
	ATTError *uint8
}
