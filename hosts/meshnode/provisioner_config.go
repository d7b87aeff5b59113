package meshnode

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
)

// configure runs the configuration of a new node (Mesh Protocol v1.1
// §4.4.2, as mesh-cfgclient does it): Composition Data Get, AppKey Add,
// then Model App Bind of the AppKey to every Generic OnOff Server the
// composition lists.
func (p *Provisioner) configure(n *ProvisionedNode) {
	net := p.cfg.NetKeyIndex
	fail := func(step string, err error) {
		p.log.Info("configuration failed", zap.Uint16("address", n.Address), zap.String("step", step), zap.Error(err))
		p.emit(NodeConfigured{UUID: n.UUID, Address: n.Address, Err: err})
	}
	p.Config.CompositionData(n.Address, net, func(comp access.Composition, err error) {
		if err != nil {
			fail("composition-get", err)
			return
		}
		n.Composition = &comp
		p.emit(CompositionReceived{Address: n.Address, Composition: comp})
		p.Config.AppKeyAdd(n.Address, net, p.cfg.AppKeyIndex, p.cfg.AppKey, func(s stack.Status, err error) {
			p.emit(ConfigStep{Address: n.Address, Step: "appkey-add", Status: s, Err: err})
			if err == nil {
				err = s.Err()
			}
			if err != nil {
				fail("appkey-add", err)
				return
			}
			p.bindAll(n, comp, fail)
		})
	})
}

// bindAll binds the AppKey to the Generic OnOff Servers, one request at a
// time.
func (p *Provisioner) bindAll(n *ProvisionedNode, comp access.Composition, fail func(string, error)) {
	type target struct {
		elem  uint16
		model access.ModelID
	}
	var todo []target
	for i, e := range comp.Elements {
		for _, m := range e.Models {
			if m == access.SIGModel(access.ModelOnOffServer) {
				todo = append(todo, target{n.Address + uint16(i), m})
			}
		}
	}
	var next func(i int)
	next = func(i int) {
		if i == len(todo) {
			n.Configured = true
			p.emit(NodeConfigured{UUID: n.UUID, Address: n.Address})
			return
		}
		t := todo[i]
		p.Config.ModelAppBind(n.Address, p.cfg.NetKeyIndex, t.elem, p.cfg.AppKeyIndex, t.model, func(s stack.Status, err error) {
			p.emit(ConfigStep{Address: n.Address, Step: "bind", Element: t.elem, Model: t.model, Status: s, Err: err})
			if err == nil {
				err = s.Err()
			}
			if err != nil {
				fail("bind", err)
				return
			}
			next(i + 1)
		})
	}
	next(0)
}
