// Package report turns what happened in a simulation into things people
// open: a message sequence chart (SVG inside a self-contained HTML page)
// with one column per device, arrows for the air, SMP, ATT and
// provisioning exchanges, the moment the link gets encrypted, and the
// findings. It is what a teacher projects and what a bug report attaches.
//
// The input is a Timeline. The scenario runner fills one from its own
// events; Recorder builds one from the packets seen on the air (the
// medium's tap), decoding advertising PDUs, LL control PDUs, L2CAP, ATT,
// SMP and mesh advertising bearers — after encryption starts too, from
// the stream decrypted with the session keys the controllers derived
// (scenarios/trace.Decryptor), drawn with a lock.
package report

import (
	"sort"

	"blesim/linklayer/sim"
)

// Kind says what an Event is.
type Kind int

// Event kinds.
const (
	// Message is an arrow from one device to another (To "" is a
	// broadcast, e.g. advertising).
	Message Kind = iota
	// EncryptionStarted marks the moment a link between From and To
	// became encrypted: the chart draws a band "link encrypted from here".
	EncryptionStarted
	// Finding is a problem found on device From (a red marker).
	Finding
	// Note is a remark on device From's lifeline.
	Note
)

func (k Kind) String() string {
	switch k {
	case Message:
		return "message"
	case EncryptionStarted:
		return "encryption-started"
	case Finding:
		return "finding"
	case Note:
		return "note"
	}
	return "kind?"
}

// Layers an Event can belong to; each gets its own colour in the chart.
const (
	LayerLL    = "LL"
	LayerSMP   = "SMP"
	LayerATT   = "ATT"
	LayerL2CAP = "L2CAP"
	LayerHCI   = "HCI"
	LayerMesh  = "MESH"
)

// Layers lists the known layers in legend order.
var Layers = []string{LayerLL, LayerL2CAP, LayerATT, LayerSMP, LayerMesh, LayerHCI}

// Event is one row of the chart.
type Event struct {
	// At is the virtual time of the event (µs since the start of the run).
	At sim.Time
	// From and To name devices (columns). To is empty for a broadcast and
	// for events on one device (findings, notes).
	From, To string
	// Layer is one of the Layer constants ("LL", "SMP", "ATT", "L2CAP",
	// "HCI", "MESH"); others are drawn in a neutral colour.
	Layer string
	// Label is the short text on the arrow ("Read Request").
	Label string
	// Detail is the longer text under it ("handle 0x0003").
	Detail string
	// Encrypted marks a PDU that went over the air encrypted.
	Encrypted bool
	// Decrypted marks an Encrypted PDU shown decrypted with the session
	// keys the controllers derived: its label and detail are its clear
	// content, and the chart draws it with a lock.
	Decrypted bool
	// MICFailure marks a Decrypted PDU whose receiver derived other keys
	// (a wrong LTK): it saw a MIC failure (Core v5.4 Vol 6 Part B §5.1.3.1).
	MICFailure bool
	Kind       Kind
	// Count is how many identical events this row stands for (0 and 1
	// both mean one); Until is the time of the last of them.
	Count int
	Until sim.Time
}

// Timeline is the input of the chart: the devices in column order and the
// events in time order.
type Timeline struct {
	Title   string
	Devices []string
	Events  []Event
}

// Sort orders the events by time, keeping the order of simultaneous ones.
func (tl *Timeline) Sort() {
	sort.SliceStable(tl.Events, func(i, j int) bool { return tl.Events[i].At < tl.Events[j].At })
}

// AddDevice appends name to the columns unless it is there already or empty.
func (tl *Timeline) AddDevice(name string) {
	if name == "" {
		return
	}
	for _, d := range tl.Devices {
		if d == name {
			return
		}
	}
	tl.Devices = append(tl.Devices, name)
}

// Findings returns the Finding events, in order.
func (tl Timeline) Findings() []Event {
	var out []Event
	for _, e := range tl.Events {
		if e.Kind == Finding {
			out = append(out, e)
		}
	}
	return out
}
