// Package meshnode is blesim's built-in Bluetooth Mesh hosts: an
// unprovisioned device that becomes a node (Node), and a provisioner that
// provisions and configures nodes (Provisioner). Each drives its own
// virtual controller over HCI like the other built-in hosts (hosts/profiles):
// send passes H4 packets to the controller, Receive takes the
// controller's, Start brings it up. Everything runs on the simulation
// goroutine in virtual time.
//
// A node beacons (Unprovisioned Device beacon with its UUID, OOB
// information and optional URI hash), accepts provisioning over PB-ADV
// and/or PB-GATT (a connectable peripheral with the Mesh Provisioning
// Service), then runs the mesh stack (hosts/mesh/stack) with the
// Configuration Server and a Generic OnOff Server on every element over
// the advertising bearer (AdvBearer: ADV_NONCONN_IND out, passive scanning
// in). Its provisioning state lives in a state file when StatePath is set.
//
// The same Node and Provisioner run on any advertising bearer
// (NewNodeOnBearer, NewProvisionerOnBearer) — the in-memory pbadv.Air of
// the benchmarks, for instance.
//
// Wiring, as for the other built-in hosts:
//
//	node, err := meshnode.NewNode(log, sched, nodeSend, meshnode.NodeConfig{
//		Name: "lamp", UUID: uuid, PBADV: true, StaticOOB: []byte("secret"),
//		StatePath: "lamp.json"})
//	node.OnEvent = func(e meshnode.Event) { log.Info("lamp", zap.Any("event", e)) }
//	prov, err := meshnode.NewProvisioner(log, sched, provSend, meshnode.ProvisionerConfig{
//		NetKey: netKey, AppKey: appKey,
//		Targets: []meshnode.Target{{UUID: uuid, StaticOOB: []byte("secret")}}})
//	// nodeSend/provSend pass H4 packets to each controller; the wiring
//	// delivers controller → host packets to node.Receive / prov.Receive.
//	node.Start()
//	prov.Start()
//	sched.RunFor(30 * sim.Second) // provisioned, AppKey added and bound
//	prov.SetOnOff(node.Address(), true, nil)
package meshnode

import (
	"blesim/vhci/hci"
	"fmt"
	"time"

	"blesim/hosts/mesh/prov"
)

// NodeConfig describes a mesh device. The world-file loader fills it.
type NodeConfig struct {
	// Name identifies the device in logs.
	Name string
	// RandomAddress, when set, is the static random address the node uses
	// (LE Set Random Address at bring-up); otherwise it uses the
	// controller's public address.
	RandomAddress *hci.BDAddr
	// UUID is the Device UUID.
	UUID [16]byte
	// OOBInfo is the OOB Information field of the beacon (where the OOB
	// data is: bits of beacon.OOBInfo, e.g. 0x0020 number, 0x4000 inside
	// manual).
	OOBInfo uint16
	// URI, when set, is sent as the beacon's URI Hash.
	URI string
	// PBADV and PBGATT select the provisioning bearers; with neither set
	// the device uses PB-ADV.
	PBADV, PBGATT bool
	// Elements is the number of elements (default 1); each has a Generic
	// OnOff Server, the primary one also the Configuration Server.
	Elements int

	// PublicKeyOOB offers the device's public key out of band (route A2):
	// PrivateKey is then its P-256 private key (32 octets, big-endian);
	// without one the node draws a key pair, available from PublicKey.
	PublicKeyOOB bool
	PrivateKey   []byte
	// StaticOOB is the static OOB value (route B2), 16 octets for the CMAC
	// algorithm, 32 for HMAC (shorter is zero-padded).
	StaticOOB []byte
	// OnlyOOB refuses provisioning without OOB authentication.
	OnlyOOB bool
	// OutputSize (1..8) and OutputActions ("blink", "beep", "vibrate",
	// "numeric", "alphanumeric") offer output OOB (route B3): the node
	// reports the value in an OOBOutput event.
	OutputSize    uint8
	OutputActions []string
	// InputSize (1..8) and InputActions ("push", "twist", "numeric",
	// "alphanumeric") offer input OOB (route B4): the node asks with an
	// OOBInputRequest event; answer with Node.Input.
	InputSize    uint8
	InputActions []string

	// Composition Data identifiers.
	Company, Product, Version uint16
	// Relay turns the Relay state on when provisioned; NoRelay leaves the
	// feature out.
	Relay, NoRelay bool
	// NoSecureBeacon turns the Beacon state off when provisioned.
	NoSecureBeacon bool
	// DefaultTTL of the node (default 5).
	DefaultTTL uint8
	// StatePath is the state file (keys, address, sequence number, IV
	// Index, replay list): loaded at Start, written atomically on change,
	// deleted by Node Reset. Empty: the state is kept in memory only.
	StatePath string

	// BeaconInterval is the Unprovisioned Device beacon interval
	// (default 1 s).
	BeaconInterval time.Duration
	// Transmissions is how many advertising events each mesh PDU is held
	// for (default 3).
	Transmissions int
}

// Output and input OOB action names (Mesh Protocol v1.1 §5.4.1.2).
var (
	outputActionNames = map[string]prov.OutputActions{"blink": prov.OutputBlink, "beep": prov.OutputBeep,
		"vibrate": prov.OutputVibrate, "numeric": prov.OutputNumeric, "alphanumeric": prov.OutputAlphanumeric}
	inputActionNames = map[string]prov.InputActions{"push": prov.InputPush, "twist": prov.InputTwist,
		"numeric": prov.InputNumeric, "alphanumeric": prov.InputAlphanumeric}
)

// OutputActionNames and InputActionNames list the action names a
// NodeConfig takes.
func OutputActionNames() []string {
	return []string{"blink", "beep", "vibrate", "numeric", "alphanumeric"}
}

// InputActionNames lists the input OOB action names.
func InputActionNames() []string { return []string{"push", "twist", "numeric", "alphanumeric"} }

func outputActions(names []string) (prov.OutputActions, error) {
	var m prov.OutputActions
	for _, n := range names {
		a, ok := outputActionNames[n]
		if !ok {
			return 0, fmt.Errorf("output OOB action %q (want one of %v)", n, OutputActionNames())
		}
		m |= a
	}
	return m, nil
}

func inputActions(names []string) (prov.InputActions, error) {
	var m prov.InputActions
	for _, n := range names {
		a, ok := inputActionNames[n]
		if !ok {
			return 0, fmt.Errorf("input OOB action %q (want one of %v)", n, InputActionNames())
		}
		m |= a
	}
	return m, nil
}

// ProvisionerConfig describes the built-in provisioner. The world-file
// loader fills it.
type ProvisionerConfig struct {
	// Name identifies the provisioner in logs.
	Name string
	// RandomAddress, as for NodeConfig.
	RandomAddress *hci.BDAddr
	// The network: NetKey and its index, the IV Index, and the AppKey the
	// provisioner adds to every node it configures.
	NetKey      [16]byte
	NetKeyIndex uint16
	IVIndex     uint32
	AppKey      [16]byte
	AppKeyIndex uint16
	// Address is the provisioner's own unicast address (default 0x0001);
	// nodes get addresses from FirstAddress on (default Address + 1).
	Address      uint16
	FirstAddress uint16
	// Targets lists devices to provision with their OOB data. With Any
	// set, every device whose beacon is heard is provisioned too (with No
	// OOB, or output/input OOB through the OOB events).
	Targets []Target
	Any     bool
	// PBGATT makes the provisioner also connect to devices advertising
	// the Mesh Provisioning Service and provision them over PB-GATT (one
	// connection at a time; a device offering both bearers is then
	// provisioned over PB-GATT). Configuration still goes over the
	// advertising bearer.
	PBGATT bool
	// Parallel is how many devices are provisioned at a time (default 4).
	Parallel int
	// NoConfigure skips the configuration after provisioning. Otherwise
	// the provisioner reads Composition Data page 0, adds the AppKey and
	// binds it to every Generic OnOff Server of the node.
	NoConfigure bool
	// StatePath keeps the provisioner's own node state and the nodes it
	// provisioned (addresses, device keys).
	StatePath string
	// Attention is the Attention Timer asked for in the Invite (seconds).
	Attention uint8
	// Transmissions is how many advertising events each PDU is held for
	// (default 3).
	Transmissions int
}

// Target is one device the provisioner knows by UUID, with its OOB data.
type Target struct {
	UUID [16]byte
	// PublicKey is the device's public key X||Y (64 octets) obtained out
	// of band (route A2).
	PublicKey []byte
	// StaticOOB is the device's static OOB value (route B2).
	StaticOOB []byte
	// Output lets the provisioner use output OOB (route B3): it asks for
	// the value with an OOBPrompt event; answer with Provisioner.Enter.
	// Input lets it use input OOB (route B4): it shows the value in an
	// OOBShow event.
	Output, Input bool
}
