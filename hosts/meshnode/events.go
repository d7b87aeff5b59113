package meshnode

import (
	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/prov"
	"blesim/hosts/mesh/stack"
)

// Event is what a Node or a Provisioner reports on its OnEvent callback.
type Event interface{ isEvent() }

// Ready: the controller is up and the host is beaconing (unprovisioned)
// or running as a node (Provisioned says so).
type Ready struct {
	Provisioned bool
	Address     uint16
}

// Restored: a node loaded its state file and is back in its network.
type Restored struct {
	Address uint16
	IVIndex uint32
	Seq     uint32
}

// LinkOpened: a provisioning link opened (Bearer "PB-ADV" or "PB-GATT").
type LinkOpened struct {
	UUID   [16]byte
	Bearer string
}

// OOBOutput: the node outputs an OOB value (blinks, beeps, displays it;
// route B3) for the user to enter on the provisioner.
type OOBOutput struct {
	UUID   [16]byte
	Action prov.OutputAction
	Value  prov.OOBValue
}

// OOBInputRequest: the node asks the user to input the value the
// provisioner shows (route B4); answer with Node.Input.
type OOBInputRequest struct {
	UUID   [16]byte
	Action prov.InputAction
	Size   uint8
}

// Provisioned: provisioning completed; the node is in the network.
type Provisioned struct {
	UUID        [16]byte
	Address     uint16
	Elements    int
	NetKeyIndex uint16
	IVIndex     uint32
	Bearer      string
	Route       string // A1B1 .. A2B4
	Algorithm   prov.Algorithm
}

// ProvisioningFailed: a provisioning attempt failed (Code is the error
// code of Provisioning Failed, or why the link closed).
type ProvisioningFailed struct {
	UUID [16]byte
	Code prov.ErrorCode
	Err  error
}

// AppKeyAdded: a Configuration Client added (or the node refused, Status)
// an AppKey.
type AppKeyAdded struct {
	NetKeyIndex, AppKeyIndex uint16
	Status                   stack.Status
}

// ModelBound: an AppKey was bound to (or unbound from) a model.
type ModelBound struct {
	Element     uint16
	Model       access.ModelID
	AppKeyIndex uint16
	Unbind      bool
	Status      stack.Status
}

// ConfigChanged: another configuration change (subscription, publication,
// AppKey Delete, ...): the request opcode and the status.
type ConfigChanged struct {
	Opcode access.Opcode
	Status stack.Status
}

// OnOffChanged: a Generic OnOff Server changed state.
type OnOffChanged struct {
	Element int
	On      bool
	Src     uint16 // the client that set it (0: locally)
}

// Reset: Node Reset removed the node from its network; it is an
// unprovisioned device again and beacons.
type Reset struct{}

// Error: a step failed (controller bring-up, state file).
type Error struct {
	Step string
	Err  error
}

// Provisioner events.

// DeviceDiscovered: an Unprovisioned Device beacon from a new device.
type DeviceDiscovered struct {
	UUID    [16]byte
	OOBInfo uint16
	URIHash *[4]byte
}

// OOBPrompt: the device outputs a value (route B3); enter it with
// Provisioner.Enter.
type OOBPrompt struct {
	UUID   [16]byte
	Action prov.OutputAction
	Size   uint8
}

// OOBShow: the user must input Value on the device (route B4).
type OOBShow struct {
	UUID   [16]byte
	Action prov.InputAction
	Value  prov.OOBValue
}

// CompositionReceived: a node's Composition Data page 0.
type CompositionReceived struct {
	Address     uint16
	Composition access.Composition
}

// ConfigStep: a configuration request to a node finished (Step is
// "appkey-add" or "bind"); Err is set when it was not answered.
type ConfigStep struct {
	Address uint16
	Step    string
	Element uint16
	Model   access.ModelID
	Status  stack.Status
	Err     error
}

// NodeConfigured: the provisioner finished configuring a node (AppKey
// added and bound); Err is the first failure.
type NodeConfigured struct {
	UUID    [16]byte
	Address uint16
	Err     error
}

// OnOffStatus: a Generic OnOff Status from a node.
type OnOffStatus struct {
	Address uint16
	On      bool
	Err     error
}

func (Ready) isEvent()               {}
func (Restored) isEvent()            {}
func (LinkOpened) isEvent()          {}
func (OOBOutput) isEvent()           {}
func (OOBInputRequest) isEvent()     {}
func (Provisioned) isEvent()         {}
func (ProvisioningFailed) isEvent()  {}
func (AppKeyAdded) isEvent()         {}
func (ModelBound) isEvent()          {}
func (ConfigChanged) isEvent()       {}
func (OnOffChanged) isEvent()        {}
func (Reset) isEvent()               {}
func (Error) isEvent()               {}
func (DeviceDiscovered) isEvent()    {}
func (OOBPrompt) isEvent()           {}
func (OOBShow) isEvent()             {}
func (CompositionReceived) isEvent() {}
func (ConfigStep) isEvent()          {}
func (NodeConfigured) isEvent()      {}
func (OnOffStatus) isEvent()         {}
