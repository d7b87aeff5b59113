package scenario

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"blesim/scenarios/world"
)

// Fields of each action's mapping (an action may also be a bare device
// name where it needs nothing else).
var actionFields = map[string][]string{
	ActConnect:    {"device", "peer"},
	ActPair:       {"device", "bond", "secure_connections", "mitm", "io_capability"},
	ActRead:       {"device", "uuid"},
	ActWrite:      {"device", "uuid", "value"},
	ActSubscribe:  {"device", "uuid"},
	ActDisconnect: {"device"},
	ActForgetKeys: {"device"},
	ActDeleteBond: {"device", "peer"},
	ActMove:       {"device", "position"},
	ActPowerOn:    powerFields, // device_steps.go
	ActReboot:     powerFields,
	ActProvision:  provisionFields, // mesh_steps.go
}

// centralActions are the actions only a central can do.
var centralActions = []string{ActConnect, ActPair, ActRead, ActWrite, ActSubscribe, ActDisconnect, ActDeleteBond}

// step decodes one entry of steps.
func (d *decoder) step(n *yaml.Node, path string) (Step, bool) {
	st := Step{Line: n.Line}
	known := append([]string{fieldAt, fieldAfter, fieldHost}, Actions...)
	m, ok := d.fields(n, path, known)
	if !ok {
		return st, false
	}
	if v := m[fieldHost]; v != nil {
		st.Host = d.hostFilter(v, join(path, fieldHost))
	}
	if m[fieldAt] != nil && m[fieldAfter] != nil {
		d.errorf(m[fieldAfter], join(path, fieldAfter), "give either at or after, not both")
	}
	if v := m[fieldAt]; v != nil {
		st.At, _ = d.duration(v, join(path, fieldAt), 0, MaxDuration)
		st.HasAt = true
	}
	if v := m[fieldAfter]; v != nil && !(v.Kind == yaml.ScalarNode && v.Value == afterPrevious) {
		// after: 500ms is that long after the previous step completed.
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && !isDuration(v.Value) {
			d.errorf(v, join(path, fieldAfter), "want previous or a delay after the previous step such as 500ms, got %s", describe(v))
		} else {
			st.Delay, _ = d.duration(v, join(path, fieldAfter), 0, MaxDuration)
		}
	}
	var acts []string
	for _, a := range Actions {
		if m[a] != nil {
			acts = append(acts, a)
		}
	}
	if len(acts) != 1 {
		d.errorf(n, path, "want exactly one action (%s), got %d", strings.Join(Actions, ", "), len(acts))
		return st, false
	}
	st.Action = acts[0]
	v, p := m[st.Action], join(path, st.Action)
	central := slices.Contains(centralActions, st.Action)
	switch st.Action {
	case ActWait:
		st.Wait, ok = d.duration(v, p, 0, MaxDuration)
		return st, ok
	case ActPacketLoss:
		st.Loss, ok = d.number(v, p, "a probability", 0, 1)
		return st, ok
	}
	if ok, handled := d.deviceStep(&st, v, p); handled {
		return st, ok
	}
	if ok, handled := d.meshStep(&st, v, p); handled {
		return st, ok
	}
	if ok, handled := d.lockStep(&st, v, p); handled { // lock_steps.go
		return st, ok
	}
	if v.Kind == yaml.ScalarNode && (st.Action == ActDisconnect || st.Action == ActForgetKeys || st.Action == ActDeleteBond || st.Action == ActPair || st.Action == ActConnect) {
		st.Device = d.device(v, p, central)
		if st.Action == ActConnect {
			d.errorf(v, p, "want a mapping with device (the central) and peer (the peripheral)")
			return st, false
		}
		st.Pair = d.pairOptions(nil, p)
		return st, true
	}
	am, ok := d.fields(v, p, actionFields[st.Action])
	if !ok {
		return st, false
	}
	nerr := len(d.errs)
	if dv := d.need(v, am, p, "device", "a device name"); dv != nil {
		st.Device = d.device(dv, join(p, "device"), central)
	}
	switch st.Action {
	case ActConnect:
		if pv := d.need(v, am, p, "peer", "the peripheral's name"); pv != nil {
			st.Peer = d.device(pv, join(p, "peer"), false)
			st.peerNode, st.peerPath = pv, join(p, "peer")
		}
	case ActDeleteBond:
		if pv := am["peer"]; pv != nil {
			st.Peer = d.device(pv, join(p, "peer"), false)
		}
	case ActPair:
		st.Pair = d.pairOptions(am, p)
	case ActRead, ActSubscribe, ActWrite:
		if uv := d.need(v, am, p, "uuid", "a characteristic UUID"); uv != nil {
			st.UUID, _ = d.uuid(uv, join(p, "uuid"))
		}
		if st.Action == ActWrite {
			if vv := d.need(v, am, p, "value", `a value ("hex:01" or text)`); vv != nil {
				st.Value, _ = d.value(vv, join(p, "value"))
			}
		}
	case ActMove:
		if pv := d.need(v, am, p, "position", "[x, y] in metres"); pv != nil {
			st.Position = d.position(pv, join(p, "position"))
		}
	}
	return st, len(d.errs) == nerr
}

// need returns field name of mapping m (node n), or reports it missing.
func (d *decoder) need(n *yaml.Node, m map[string]*yaml.Node, path, name, what string) *yaml.Node {
	v := m[name]
	if v == nil {
		d.errorf(n, path, "missing required field %q (%s)", name, what)
	}
	return v
}

// position reads [x, y] in metres.
func (d *decoder) position(n *yaml.Node, path string) [2]float64 {
	var p [2]float64
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		d.errorf(n, path, "want [x, y] in metres, got %s", describe(n))
		return p
	}
	for i, c := range n.Content {
		p[i], _ = d.number(c, path, "a distance in metres", -world.MaxPosition, world.MaxPosition)
	}
	return p
}

// Fields of each expectation kind (besides device).
var expectFields = map[string][]string{
	ExpEncryptionChange: {"device", "status", "count"},
	ExpPairing:          {"device", "result", "reason", "method", "secure_connections", "count"},
	ExpFinding:          {"device", "code", "message", "count"},
	ExpRead:             {"device", "uuid", "value", "count"},
	ExpBond:             {"device", "present", "peer"},
	ExpConnections:      {"device", "count"},
	ExpDisconnect:       {"device", "reason", "count"},
	ExpProvisioning:     provisioningFields, // mesh_steps.go
	ExpATTError:         attErrorFields,     // lock_steps.go
}

// expectation decodes one entry of expect.
func (d *decoder) expectation(n *yaml.Node, path string) (Expectation, bool) {
	e := Expectation{Line: n.Line}
	m, ok := d.fields(n, path, append([]string{fieldWithin, fieldHost}, ExpectKinds...))
	if !ok {
		return e, false
	}
	var kinds []string
	for _, k := range ExpectKinds {
		if m[k] != nil {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		d.errorf(n, path, "want exactly one of %s, got %d", strings.Join(ExpectKinds, ", "), len(kinds))
		return e, false
	}
	e.Kind = kinds[0]
	nerr := len(d.errs)
	if v := m[fieldWithin]; v != nil {
		e.Within, _ = d.duration(v, join(path, fieldWithin), time.Microsecond, MaxDuration)
	}
	if v := m[fieldHost]; v != nil {
		e.Host = d.hostFilter(v, join(path, fieldHost))
	}
	v, p := m[e.Kind], join(path, e.Kind)
	am, ok := d.fields(v, p, expectFields[e.Kind])
	if !ok {
		return e, false
	}
	if dv := d.need(v, am, p, "device", "a device name"); dv != nil {
		e.Device = d.device(dv, join(p, "device"), false)
	}
	if cv := am["count"]; cv != nil {
		if c, ok := d.number(cv, join(p, "count"), "a count", 0, 1e6); ok {
			n := int(c)
			e.Count = &n
		}
	}
	switch e.Kind {
	case ExpEncryptionChange:
		if sv := am["status"]; sv != nil {
			e.Status, _ = d.byte8(sv, join(p, "status"), "an HCI status")
		}
	case ExpPairing:
		e.Result = d.result(v, am, p)
		if rv := am["reason"]; rv != nil {
			e.Reason, _ = d.byte8(rv, join(p, "reason"), "an SMP reason")
		}
		d.pairingDetails(&e, am, p) // expect.go
	case ExpDisconnect:
		if rv := am["reason"]; rv != nil {
			e.Reason, _ = d.byte8(rv, join(p, "reason"), "an HCI reason")
		}
	case ExpProvisioning:
		d.meshExpect(&e, v, am, p)
	case ExpATTError:
		d.attErrorExpect(&e, v, am, p) // lock_steps.go
	case ExpFinding:
		if cv := d.need(v, am, p, "code", "a finding code such as key-not-negotiated"); cv != nil {
			e.Code, _ = d.str(cv, join(p, "code"), "a finding code")
		}
		d.findingMessage(&e, am, p) // lock_steps.go
	case ExpRead:
		if uv := d.need(v, am, p, "uuid", "a characteristic UUID"); uv != nil {
			e.UUID, _ = d.uuid(uv, join(p, "uuid"))
		}
		if vv := am["value"]; vv != nil {
			e.Value, _ = d.value(vv, join(p, "value"))
			if e.Value == nil {
				e.Value = []byte{}
			}
		}
	case ExpBond:
		e.Present = true
		if pv := am["present"]; pv != nil {
			e.Present = d.boolean(pv, join(p, "present"))
		}
		if pv := am["peer"]; pv != nil {
			e.Peer = d.device(pv, join(p, "peer"), false)
		}
	case ExpConnections:
		if e.Count == nil {
			d.errorf(v, p, "missing required field \"count\" (how many connections)")
		}
	}
	return e, len(d.errs) == nerr
}

// isDuration reports whether s is a Go duration ("500ms").
func isDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

// hostFilter reads the host: of a step or expectation: builtin (only in
// runs with built-in hosts only) or kernel (only in runs where the kernel
// plays a device).
func (d *decoder) hostFilter(v *yaml.Node, path string) string {
	h, ok := d.str(v, path, "builtin or kernel")
	if !ok {
		return ""
	}
	if h != world.HostBuiltin && h != world.HostKernel {
		d.errorf(v, path, "want builtin or kernel (only in runs with built-in hosts only, or only with the kernel), got %q", h)
		return ""
	}
	return h
}

// result reads the required result field of a pairing or provisioning
// expectation: success or failed.
func (d *decoder) result(v *yaml.Node, am map[string]*yaml.Node, p string) string {
	rv := d.need(v, am, p, "result", "success or failed")
	if rv == nil {
		return ""
	}
	s, ok := d.str(rv, join(p, "result"), "success or failed")
	if ok && s != "success" && s != "failed" {
		d.errorf(rv, join(p, "result"), "want success or failed, got %q", s)
		return ""
	}
	return s
}
