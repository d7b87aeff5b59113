package scenario

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
	"blesim/vhci/hci"
)

// result checks the expectations against what was observed up to end.
func (r *runner) result(end sim.Time) *Result {
	res := &Result{Scenario: r.s.Name, Description: r.s.Description, Source: r.s.Source,
		Seed: r.s.World.Seed, Passed: true, Steps: r.steps, End: stamp(end),
		Findings: []FindingResult{}, Expectations: []ExpectationResult{}}
	if res.Steps == nil {
		res.Steps = []StepResult{}
	}
	for _, o := range r.obs {
		if f, ok := o.Event.(profiles.Finding); ok {
			res.Findings = append(res.Findings, FindingResult{Device: o.Device, Code: string(f.Code), Message: f.Message, At: stamp(o.At)})
		}
	}
	for i, e := range r.s.Expect {
		var er ExpectationResult
		if host := r.runHost(); e.Host != "" && e.Host != host {
			why := "only in runs where the kernel plays a device (host: kernel)"
			if e.Host == world.HostBuiltin {
				why = "only in runs with built-in hosts only"
			}
			er = ExpectationResult{Passed: true, Expected: e.describe(), At: stamp(end), Skipped: why}
		} else {
			er = r.check(e, end)
		}
		er.Index, er.Line, er.Kind, er.Device = i, e.Line, e.Kind, e.Device
		res.Passed = res.Passed && er.Passed
		res.Expectations = append(res.Expectations, er)
	}
	return res
}

// runHost is world.HostKernel when the kernel plays a device in this
// run, else world.HostBuiltin.
func (r *runner) runHost() string {
	for _, d := range r.ew.Devices {
		if d.Kernel() {
			return world.HostKernel
		}
	}
	return world.HostBuiltin
}

// check evaluates one expectation.
func (r *runner) check(e Expectation, end sim.Time) ExpectationResult {
	deadline := end
	if e.Within > 0 {
		deadline = min(end, r.t0.Add(sim.FromStd(e.Within)))
	}
	expected := e.describe()
	if e.Kind == ExpBond {
		return r.checkBond(e, expected, end)
	}
	var matches, related []observation
	for _, o := range r.obs {
		if o.Device != e.Device {
			continue
		}
		rel, match := e.matches(o.Event)
		if rel {
			related = append(related, o)
		}
		if match && o.At <= deadline {
			matches = append(matches, o)
		}
	}
	er := ExpectationResult{Expected: expected}
	if e.Count == nil {
		er.Passed = len(matches) > 0
		if er.Passed {
			er.At = stamp(matches[0].At)
			er.Observed = describeObs(matches[0])
			return er
		}
	} else {
		er.Passed = len(matches) == *e.Count
		if er.Passed && len(matches) > 0 {
			er.At = stamp(matches[len(matches)-1].At)
		} else {
			er.At = stamp(deadline)
		}
		if er.Passed {
			er.Observed = fmt.Sprintf("%d", len(matches))
			return er
		}
	}
	er.At = stamp(deadline)
	er.Observed = describeAll(related, len(matches), e.Count != nil)
	return er
}

// checkBond looks at the device's bond store at the end of the run
// (bluetoothd's bonds for a host: kernel device).
func (r *runner) checkBond(e Expectation, expected string, end sim.Time) ExpectationResult {
	er := ExpectationResult{Expected: expected, At: stamp(end)}
	var peers []hci.BDAddr
	holder := ""
	if k, ok := r.kernels[e.Device]; ok {
		if k.bondErr != nil {
			er.Observed = "bluetoothd's bonds could not be read: " + k.bondErr.Error()
			return er
		}
		peers, holder = k.bonded, "bluetoothd has "
	} else {
		m := r.ew.Device(e.Device).SMP()
		if m == nil {
			er.Observed = e.Device + " keeps no bonds"
			return er
		}
		for _, b := range m.Store().All() {
			peers = append(peers, b.Peer.Addr)
		}
	}
	var names []string
	found := false
	for _, a := range peers {
		names = append(names, a.String())
		if e.Peer == "" || a == r.ew.Device(e.Peer).Spec.Address {
			found = true
		}
	}
	er.Passed = found == e.Present
	if len(names) == 0 {
		er.Observed = holder + "no bonds"
	} else {
		er.Observed = holder + "bonds with " + strings.Join(names, ", ")
	}
	return er
}

// matches reports whether ev is of the expectation's kind (related) and
// whether it matches every field given.
func (e Expectation) matches(ev profiles.Event) (related, match bool) {
	switch ev := ev.(type) {
	case profiles.EncryptionChanged:
		if e.Kind != ExpEncryptionChange || ev.Refresh {
			return false, false
		}
		return true, e.Status == nil || uint8(ev.Status) == *e.Status
	case profiles.PairingComplete:
		if e.Kind != ExpPairing {
			return false, false
		}
		return true, e.Result == "success" && (e.Method == "" || methodName(ev.Method) == e.Method) && (e.SC == nil || *e.SC == ev.SC)
	case profiles.PairingFailed:
		if e.Kind != ExpPairing {
			return false, false
		}
		return true, e.Result == "failed" && (e.Reason == nil || uint8(ev.Reason) == *e.Reason)
	case profiles.Finding:
		return e.Kind == ExpFinding, e.Kind == ExpFinding && string(ev.Code) == e.Code && strings.Contains(ev.Message, e.Message)
	case profiles.Error:
		return e.matchesATTError(ev) // lock_steps.go
	case profiles.Read:
		if e.Kind != ExpRead {
			return false, false
		}
		u, err := att.ParseUUID(e.UUID.Bytes())
		return true, err == nil && u == ev.UUID && (e.Value == nil || bytes.Equal(e.Value, ev.Value))
	case profiles.Connected:
		return e.Kind == ExpConnections, e.Kind == ExpConnections
	case profiles.Disconnected:
		if e.Kind != ExpDisconnect {
			return false, false
		}
		// The reason the device gave when it ended the link itself,
		// else the one it was told.
		reason := ev.Reason
		if ev.Given != 0 {
			reason = ev.Given
		}
		return true, e.Reason == nil || uint8(reason) == *e.Reason
	case meshObs:
		return e.matchMesh(ev) // mesh_steps.go
	}
	return false, false
}

// describe says what e expects, in words.
func (e Expectation) describe() string {
	var s string
	switch e.Kind {
	case ExpEncryptionChange:
		s = "Encryption Change"
		if e.Status != nil {
			s += " status " + status(hci.Status(*e.Status))
		}
	case ExpPairing:
		s = "pairing " + e.Result
		if e.Method != "" {
			s += " by " + e.Method
		}
		if e.SC != nil {
			s += map[bool]string{true: " (LE Secure Connections)", false: " (LE legacy pairing)"}[*e.SC]
		}
		if e.Reason != nil {
			s += fmt.Sprintf(" with reason %s (0x%02X)", smp.Reason(*e.Reason).String(), *e.Reason)
		}
	case ExpFinding:
		s = "finding " + e.Code
		if e.Message != "" {
			s += fmt.Sprintf(" saying %q", e.Message)
		}
	case ExpATTError:
		s = e.describeATTError() // lock_steps.go
	case ExpRead:
		s = "read of " + e.UUID.String()
		if e.Value != nil {
			s += " = " + hex.EncodeToString(e.Value)
		}
	case ExpConnections:
		s = "connections"
	case ExpProvisioning:
		s = e.describeMesh() // mesh_steps.go
	case ExpDisconnect:
		s = "Disconnection"
		if e.Reason != nil {
			s += " reason " + status(hci.Status(*e.Reason))
		}
	case ExpBond:
		if e.Present {
			s = "a bond"
		} else {
			s = "no bond"
		}
		if e.Peer != "" {
			s += " with " + e.Peer
		}
		return fmt.Sprintf("%s on %s at the end", s, e.Device)
	}
	s = fmt.Sprintf("%s on %s", s, e.Device)
	if e.Count != nil {
		s = fmt.Sprintf("%d × %s", *e.Count, s)
	}
	if e.Within > 0 {
		s += " within " + e.Within.String()
	}
	return s
}

// describeObs says what one observation was and when.
func describeObs(o observation) string {
	return fmt.Sprintf("%s at %s", describeEvent(o.Event), stamp(o.At).Text)
}

// describeAll says what happened instead: the related events.
func describeAll(related []observation, matched int, counted bool) string {
	if len(related) == 0 {
		return "nothing of the kind"
	}
	var parts []string
	for i, o := range related {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("... %d more", len(related)-i))
			break
		}
		parts = append(parts, describeObs(o))
	}
	s := strings.Join(parts, "; ")
	if counted {
		s = fmt.Sprintf("%d matching (%s)", matched, s)
	}
	return s
}

// describeEvent names an event with its status or value.
func describeEvent(ev profiles.Event) string {
	switch ev := ev.(type) {
	case profiles.EncryptionChanged:
		return "Encryption Change " + status(ev.Status)
	case profiles.PairingComplete:
		return fmt.Sprintf("pairing success (%v, %s, bonded %v)", ev.Method, map[bool]string{true: "LE SC", false: "legacy"}[ev.SC], ev.Bonded)
	case profiles.PairingFailed:
		return fmt.Sprintf("pairing failed: %s (0x%02X)", ev.Reason, uint8(ev.Reason))
	case profiles.Finding:
		return "finding " + string(ev.Code)
	case profiles.Read:
		return fmt.Sprintf("read %s = %x", ev.UUID, ev.Value)
	case profiles.Connected:
		return "connection to " + ev.PeerAddr.String()
	case profiles.Disconnected:
		if ev.Given != 0 {
			return "Disconnect with " + status(ev.Given)
		}
		return "Disconnection " + status(ev.Reason)
	case meshObs:
		return describeMeshEvent(ev) // mesh_steps.go
	case profiles.Error:
		return ev.Error()
	}
	return fmt.Sprintf("%T", ev)
}

// PairingMethods are the pairing expectation's method values: the
// association models of Core v5.4 Vol 3 Part H §2.3.5.1.
var PairingMethods = []string{"just-works", "passkey-entry", "numeric-comparison", "oob"}

// methodName is m as a PairingMethods value.
func methodName(m smp.Method) string {
	switch {
	case m == smp.JustWorks:
		return "just-works"
	case m.Passkey():
		return "passkey-entry"
	case m == smp.NumericComparison:
		return "numeric-comparison"
	case m == smp.OutOfBand:
		return "oob"
	}
	return m.String()
}

// pairingDetails reads a pairing expectation's method and
// secure_connections, which describe a successful pairing.
func (d *decoder) pairingDetails(e *Expectation, am map[string]*yaml.Node, p string) {
	if v := am["method"]; v != nil {
		if s, ok := d.str(v, join(p, "method"), "a pairing method"); ok {
			if slices.Contains(PairingMethods, s) {
				e.Method = s
			} else {
				d.errorf(v, join(p, "method"), "want one of %s, got %q", strings.Join(PairingMethods, ", "), s)
			}
		}
	}
	if v := am["secure_connections"]; v != nil {
		sc := d.boolean(v, join(p, "secure_connections"))
		e.SC = &sc
	}
	if e.Result == "failed" {
		for _, f := range []string{"method", "secure_connections"} {
			if v := am[f]; v != nil {
				d.errorf(v, join(p, f), "%s describes a successful pairing; remove it or expect result: success", f)
			}
		}
	}
}
