package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"blesim/hosts/mesh/prov"
	"blesim/hosts/meshnode"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/world"
)

// Mesh provisioning steps and expectations (Mesh Protocol v1.1 §5.4):
//
//	steps:
//	  - provision: {device: Hub, node: Lamp, bearer: pb-gatt, auth: output, public_key: oob}
//	expect:
//	  - provisioning: {device: Hub, node: Lamp, result: success, route: A2B3, bearer: pb-gatt}
//	  - provisioning: {device: Hub, node: Lamp, result: failed, reason: 0x04}
//
// A provision step makes one attempt (no retry; a PB-GATT connection that
// fails before the protocol starts is tried again, up to three times) and
// is done when the provisioner has provisioned and configured the node, or
// when the attempt failed; with background: true it is done at once.
//
// The OOB values are wired the way a user would: for output OOB (B3) the
// runner reads the value the node outputs (OOBOutput) and enters it on the
// provisioner, for input OOB (B4) it reads the value the provisioner shows
// (OOBShow) and types it on the node, each 500 ms after both sides are
// ready. oob_value replaces what the user enters (a wrong value makes
// Confirmation Failed). static_oob replaces the static OOB value the
// provisioner uses (default: the node's own, from the world file).
const (
	ActProvision    = "provision"
	ExpProvisioning = "provisioning"
)

// Fields of the provision step and the provisioning expectation.
var (
	provisionFields    = []string{"device", "node", "bearer", "auth", "public_key", "static_oob", "oob_value", "background"}
	provisioningFields = []string{"device", "node", "result", "reason", "link_closed", "route", "bearer", "count"}
	provisionAuths     = []string{"none", "static", "output", "input"}
	provisionKeys      = []string{"in-band", "oob"}
	linkCloseReasons   = []string{"success", "timeout", "fail"}
)

// ProvisionTimeout is how long a provision step may take beyond
// StepTimeout: a lost PB-ADV link ends with the 30 s transaction timeout
// (§5.3.2), a silent session with the 60 s protocol timeout (§5.4.4).
const ProvisionTimeout = 60 * time.Second

// oobTypeDelay is how long the user takes to enter an OOB value.
const oobTypeDelay = 500 * sim.Millisecond

// ProvisionStep is a provision step's parameters.
type ProvisionStep struct {
	Node   string
	Bearer string // pb-adv (default) or pb-gatt
	Auth   string // none (default), static, output or input
	// PublicKeyOOB: the provisioner reads the node's public key out of
	// band (route A2).
	PublicKeyOOB bool
	// StaticOOB replaces the node's static OOB value (nil: the node's).
	StaticOOB []byte
	// OOBValue replaces the output/input OOB value the user enters.
	OOBValue *prov.OOBValue
	// Background completes the step when the attempt starts; the
	// provisioning goes on while the next steps run.
	Background bool

	fields map[string]*yaml.Node
	node   *yaml.Node
	path   string
}

// MeshExpect is what a provisioning expectation adds.
type MeshExpect struct {
	Node       string
	LinkClosed string // success, timeout or fail: the link closed with this reason
	Route      string // A1B1 .. A2B4
	Bearer     string // pb-adv or pb-gatt
	uuid       *[16]byte
	fields     map[string]*yaml.Node // for errors
}

// meshObs carries a mesh event among the runner's observations. The
// embedded profiles.Event is nil: it only makes meshObs one.
type meshObs struct {
	profiles.Event
	Mesh meshnode.Event
}

// meshStep decodes a provision step; handled is false for other actions.
func (d *decoder) meshStep(st *Step, v *yaml.Node, p string) (ok, handled bool) {
	if st.Action != ActProvision {
		return false, false
	}
	nerr := len(d.errs)
	m, ok := d.fields(v, p, provisionFields)
	if !ok {
		return false, true
	}
	ps := &ProvisionStep{Bearer: world.MeshBearers[0], Auth: "none", fields: m, node: v, path: p}
	st.Provision = ps
	st.Wait = ProvisionTimeout // extends the step's timeout (exec)
	if dv := d.need(v, m, p, "device", "the mesh-provisioner"); dv != nil {
		st.Device = d.device(dv, join(p, "device"), false)
	}
	if nv := d.need(v, m, p, "node", "the mesh-node to provision"); nv != nil {
		ps.Node = d.device(nv, join(p, "node"), false)
	}
	enum := func(name string, options []string, dst *string) {
		if n := m[name]; n != nil {
			if s, ok := d.str(n, join(p, name), strings.Join(options, " or ")); ok {
				if !slices.Contains(options, s) {
					d.errorf(n, join(p, name), "want %s, got %q", strings.Join(options, ", "), s)
					return
				}
				*dst = s
			}
		}
	}
	enum("bearer", world.MeshBearers, &ps.Bearer)
	enum("auth", provisionAuths, &ps.Auth)
	key := "in-band"
	enum("public_key", provisionKeys, &key)
	ps.PublicKeyOOB = key == "oob"
	if n := m["static_oob"]; n != nil {
		ps.StaticOOB, _ = d.value(n, join(p, "static_oob"))
		if ps.Auth != "static" {
			d.errorf(n, join(p, "static_oob"), "static_oob is used with auth: static only")
		}
	}
	if n := m["oob_value"]; n != nil {
		if s, ok := d.str(n, join(p, "oob_value"), "the value the user enters"); ok {
			v := prov.Text(s)
			if u, err := strconv.ParseUint(s, 10, 32); err == nil {
				v = prov.Num(uint32(u))
			}
			ps.OOBValue = &v
		}
		if ps.Auth != "output" && ps.Auth != "input" {
			d.errorf(n, join(p, "oob_value"), "oob_value is used with auth: output or input only")
		}
	}
	if n := m["background"]; n != nil {
		ps.Background = d.boolean(n, join(p, "background"))
	}
	return len(d.errs) == nerr, true
}

// meshExpect decodes what a provisioning expectation adds.
func (d *decoder) meshExpect(e *Expectation, v *yaml.Node, am map[string]*yaml.Node, p string) {
	me := &MeshExpect{fields: am}
	e.Mesh = me
	e.Result = d.result(v, am, p)
	if rv := am["reason"]; rv != nil {
		e.Reason, _ = d.byte8(rv, join(p, "reason"), "a Provisioning Failed error code (§5.4.4)")
	}
	if nv := am["node"]; nv != nil {
		me.Node = d.device(nv, join(p, "node"), false)
	}
	str := func(name string, options []string, dst *string) {
		if n := am[name]; n != nil {
			if s, ok := d.str(n, join(p, name), strings.Join(options, ", ")); ok {
				if options != nil && !slices.Contains(options, s) {
					d.errorf(n, join(p, name), "want %s, got %q", strings.Join(options, ", "), s)
					return
				}
				*dst = s
			}
		}
	}
	str("link_closed", linkCloseReasons, &me.LinkClosed)
	str("bearer", world.MeshBearers, &me.Bearer)
	str("route", []string{"A1B1", "A1B2", "A1B3", "A1B4", "A2B1", "A2B2", "A2B3", "A2B4"}, &me.Route)
	if e.Result == "success" && (e.Reason != nil || me.LinkClosed != "") {
		d.errorf(v, p, "reason and link_closed describe a failed provisioning; use result: failed")
	}
	if e.Result == "failed" && me.Route != "" {
		d.errorf(am["route"], join(p, "route"), "a failed provisioning has no route; remove it or use result: success")
	}
}

// checkMesh checks the provision steps and provisioning expectations
// against the world: who provisions whom, over which bearer, with which
// OOB data the node has.
func (d *decoder) checkMesh(s *Scenario) {
	spec := map[string]world.Device{}
	for _, dv := range s.World.Devices {
		spec[dv.Name] = dv
	}
	for _, st := range s.Steps {
		ps := st.Provision
		if ps == nil {
			continue
		}
		hub, okH := spec[st.Device]
		node, okN := spec[ps.Node]
		if !okH || !okN {
			continue // reported by checkDevices
		}
		f := func(name string) *yaml.Node {
			if n := ps.fields[name]; n != nil {
				return n
			}
			return ps.node
		}
		switch {
		case hub.Profile != world.ProfileMeshProvisioner:
			d.errorf(f("device"), join(ps.path, "device"), "%q is a %s; provision needs a mesh-provisioner", hub.Name, hub.Profile)
			continue
		case hub.Mesh.Any || len(hub.Mesh.Targets) > 0:
			d.errorf(f("device"), join(ps.path, "device"), "%s provisions devices on its own; give it mesh: {any: false} and no targets so that it provisions only what the steps say", hub.Name)
		}
		if node.Profile != world.ProfileMeshNode {
			d.errorf(f("node"), join(ps.path, "node"), "%q is a %s; provision needs a mesh-node", node.Name, node.Profile)
			continue
		}
		bearers := node.Mesh.Bearers
		if len(bearers) == 0 {
			bearers = []string{"pb-adv"}
		}
		if !slices.Contains(bearers, ps.Bearer) {
			d.errorf(f("bearer"), join(ps.path, "bearer"), "%s offers %s, not %s (its mesh.bearers)", node.Name, strings.Join(bearers, ", "), ps.Bearer)
		}
		if ps.Bearer == "pb-gatt" && !hub.Mesh.PBGATT {
			d.errorf(f("bearer"), join(ps.path, "bearer"), "%s does not use PB-GATT; give it mesh: {pb_gatt: true}", hub.Name)
		}
		if ps.PublicKeyOOB && !node.Mesh.PublicKeyOOB {
			d.errorf(f("public_key"), join(ps.path, "public_key"), "%s has no OOB public key (mesh.public_key_oob: true)", node.Name)
		}
		var missing string
		switch {
		case ps.Auth == "static" && len(node.Mesh.StaticOOB) == 0:
			missing = "static OOB (mesh.static_oob)"
		case ps.Auth == "output" && node.Mesh.OutputSize == 0:
			missing = "output OOB (mesh.output_oob)"
		case ps.Auth == "input" && node.Mesh.InputSize == 0:
			missing = "input OOB (mesh.input_oob)"
		}
		if missing != "" {
			d.errorf(f("auth"), join(ps.path, "auth"), "%s has no %s", node.Name, missing)
		}
	}
	for i := range s.Expect {
		e := &s.Expect[i]
		if e.Mesh == nil {
			continue
		}
		path := fmt.Sprintf("expect[%d].%s", i, ExpProvisioning)
		if dv, ok := spec[e.Device]; ok && dv.Profile != world.ProfileMeshProvisioner && dv.Profile != world.ProfileMeshNode {
			d.errorf(e.Mesh.fields["device"], join(path, "device"), "%q is a %s; provisioning needs a mesh-provisioner or a mesh-node", e.Device, dv.Profile)
		}
		if e.Mesh.Node == "" {
			continue
		}
		if dv, ok := spec[e.Mesh.Node]; ok {
			if dv.Profile != world.ProfileMeshNode {
				d.errorf(e.Mesh.fields["node"], join(path, "node"), "%q is a %s, not a mesh-node", e.Mesh.Node, dv.Profile)
				continue
			}
			u := dv.Mesh.UUID
			e.Mesh.uuid = &u
		}
	}
}

// meshAct runs a provision step; handled is false for other actions.
func (r *runner) meshAct(st Step, finish func(error)) (handled bool, err error) {
	ps := st.Provision
	if st.Action != ActProvision || ps == nil {
		return false, nil
	}
	hubDev, nodeDev := r.ew.Device(st.Device), r.ew.Device(ps.Node)
	hub, node := hubDev.MeshProvisioner(), nodeDev.MeshNode()
	if hub == nil || node == nil {
		return true, fmt.Errorf("%s cannot provision %s", st.Device, ps.Node)
	}
	uuid := node.UUID()
	t := meshnode.Target{UUID: uuid, Output: ps.Auth == "output", Input: ps.Auth == "input"}
	if ps.Auth == "static" {
		t.StaticOOB = nodeDev.Spec.Mesh.StaticOOB
		if ps.StaticOOB != nil {
			t.StaticOOB = ps.StaticOOB
		}
	}
	if ps.PublicKeyOOB {
		t.PublicKey = node.PublicKey() // as read from a QR code
	}
	w := &oobWiring{r: r, hub: hubDev, node: nodeDev, uuid: uuid, override: ps.OOBValue}
	if !ps.Background {
		w.finish = finish
	}
	r.waiters = append(r.waiters, w.see)
	if err := hub.ProvisionOnce(t, ps.Bearer); err != nil {
		w.over = true
		return true, err
	}
	if ps.Background {
		finish(nil)
	}
	return true, nil
}

// oobWiring is the user of one provision step: it carries output and
// input OOB values between the devices and ends the step with the
// provisioner's outcome.
type oobWiring struct {
	r         *runner
	hub, node *engine.Device
	uuid      [16]byte
	override  *prov.OOBValue
	finish    func(error)
	over      bool
	shown     *prov.OOBValue // output by the node (B3) or shown by the provisioner (B4)
	hubWaits  bool           // the provisioner prompts for the output value
	nodeWaits bool           // the node asks for input
}

// see takes one observation; it returns true once the attempt is over.
func (w *oobWiring) see(dev string, e profiles.Event) bool {
	if w.over {
		return true
	}
	mo, ok := e.(meshObs)
	if !ok {
		return false
	}
	switch ev := mo.Mesh.(type) {
	case meshnode.OOBOutput:
		if dev == w.node.Spec.Name && ev.UUID == w.uuid {
			v := ev.Value
			w.shown = &v
		}
	case meshnode.OOBShow:
		if dev == w.hub.Spec.Name && ev.UUID == w.uuid {
			v := ev.Value
			w.shown = &v
		}
	case meshnode.OOBPrompt:
		w.hubWaits = w.hubWaits || dev == w.hub.Spec.Name && ev.UUID == w.uuid
	case meshnode.OOBInputRequest:
		w.nodeWaits = w.nodeWaits || dev == w.node.Spec.Name && ev.UUID == w.uuid
	case meshnode.NodeConfigured:
		// Provisioned, then configured (AppKey added and bound): the
		// next step does not compete with the configuration traffic.
		if dev == w.hub.Spec.Name && ev.UUID == w.uuid {
			return w.end()
		}
	case meshnode.ProvisioningFailed:
		if dev == w.hub.Spec.Name && ev.UUID == w.uuid {
			return w.end()
		}
	}
	w.enter()
	return false
}

func (w *oobWiring) end() bool {
	w.over = true
	if w.finish != nil {
		w.finish(nil)
	}
	return true
}

// enter types the value once one side waits for it and it is known.
func (w *oobWiring) enter() {
	v := w.shown
	if w.override != nil {
		v = w.override
	}
	if v == nil || !(w.hubWaits || w.nodeWaits) {
		return
	}
	val, toHub := *v, w.hubWaits
	w.hubWaits, w.nodeWaits = false, false
	w.r.ew.Sched.After(oobTypeDelay, func() {
		var err error
		if toHub {
			if p := w.hub.MeshProvisioner(); p != nil {
				err = p.Enter(w.uuid, val)
			}
		} else if n := w.node.MeshNode(); n != nil {
			err = n.Input(val)
		}
		if err != nil {
			w.r.log.Info("OOB value not entered", zap.Error(err))
		}
	})
}

// matchMesh reports whether a mesh observation is of the expectation's
// kind (related) and matches every field given.
func (e Expectation) matchMesh(o meshObs) (related, match bool) {
	if e.Kind != ExpProvisioning || e.Mesh == nil {
		return false, false
	}
	me := e.Mesh
	switch ev := o.Mesh.(type) {
	case meshnode.Provisioned:
		if me.uuid != nil && ev.UUID != *me.uuid {
			return false, false
		}
		return true, e.Result == "success" && (me.Route == "" || me.Route == ev.Route) &&
			(me.Bearer == "" || strings.EqualFold(me.Bearer, ev.Bearer))
	case meshnode.ProvisioningFailed:
		if me.uuid != nil && ev.UUID != *me.uuid {
			return false, false
		}
		if e.Result != "failed" || me.Bearer != "" {
			return true, false
		}
		code, closed := failure(ev.Err)
		if e.Reason != nil && (code == nil || *code != prov.ErrorCode(*e.Reason)) {
			return true, false
		}
		return true, me.LinkClosed == "" || closed != nil && closed.String() == me.LinkClosed
	}
	return false, false
}

// failure says why a provisioning failed: a Provisioning Failed error code
// (sent or received, §5.4.4), or the reason the link closed (§5.3.1.4).
func failure(err error) (*prov.ErrorCode, *prov.CloseReason) {
	var pe *prov.Error
	if errors.As(err, &pe) {
		return &pe.Code, nil
	}
	var ce *prov.ClosedError
	if errors.As(err, &ce) {
		return nil, &ce.Reason
	}
	return nil, nil
}

// describeMesh says what a provisioning expectation expects.
func (e Expectation) describeMesh() string {
	s := "provisioning " + e.Result
	if me := e.Mesh; me != nil {
		if me.Node != "" {
			s += " of " + me.Node
		}
		if me.Route != "" {
			s += " by route " + me.Route
		}
		if me.Bearer != "" {
			s += " over " + me.Bearer
		}
		if me.LinkClosed != "" {
			s += ", link closed (" + me.LinkClosed + ")"
		}
	}
	if e.Reason != nil {
		s += fmt.Sprintf(" with %v", prov.ErrorCode(*e.Reason))
	}
	return s
}

// describeMeshEvent names a mesh observation.
func describeMeshEvent(o meshObs) string {
	switch ev := o.Mesh.(type) {
	case meshnode.Provisioned:
		return fmt.Sprintf("provisioned %x as 0x%04x (%s, route %s)", ev.UUID[:4], ev.Address, ev.Bearer, ev.Route)
	case meshnode.ProvisioningFailed:
		code, closed := failure(ev.Err)
		switch {
		case code != nil:
			return fmt.Sprintf("provisioning of %x failed: %v", ev.UUID[:4], *code)
		case closed != nil:
			return fmt.Sprintf("provisioning of %x failed: link closed (%v)", ev.UUID[:4], *closed)
		}
		return fmt.Sprintf("provisioning of %x failed: %v", ev.UUID[:4], ev.Err)
	}
	return fmt.Sprintf("%T", o.Mesh)
}
