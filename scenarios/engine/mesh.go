package engine

import (
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"blesim/hosts/mesh/prov"
	"blesim/hosts/meshnode"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
	"blesim/vhci/hci"
)

// newMeshHost builds a mesh-node or mesh-provisioner from the world file.
// Its events are logged (serve prints them) and passed to event.
func newMeshHost(log *zap.Logger, s *sim.Scheduler, send func([]byte), spec world.Device, stateDir string, event func(meshnode.Event)) (builtinHost, error) {
	m := spec.Mesh
	var random *hci.BDAddr
	if spec.AddressType == hci.AddrRandom {
		a := spec.Address
		random = &a
	}
	state := m.StateFile
	if state == "" && stateDir != "" {
		state = filepath.Join(stateDir, fileName(spec.Name)+".mesh.json")
	}
	on := func(e meshnode.Event) {
		event(e)
		logMeshEvent(log, spec.Name, spec.Profile == world.ProfileMeshProvisioner, e)
	}
	switch spec.Profile {
	case world.ProfileMeshNode:
		cfg := meshnode.NodeConfig{
			Name: spec.Name, RandomAddress: random, UUID: m.UUID, OOBInfo: m.OOBInfo, URI: m.URI, Elements: m.Elements,
			PublicKeyOOB: m.PublicKeyOOB, PrivateKey: m.PrivateKey, StaticOOB: m.StaticOOB,
			OutputSize: uint8(m.OutputSize), OutputActions: m.OutputActions,
			InputSize: uint8(m.InputSize), InputActions: m.InputActions, StatePath: state,
		}
		for _, b := range m.Bearers {
			switch b {
			case "pb-adv":
				cfg.PBADV = true
			case "pb-gatt":
				cfg.PBGATT = true
			}
		}
		n, err := meshnode.NewNode(log, s, send, cfg)
		if err != nil {
			return nil, err
		}
		n.OnEvent = on
		return &meshNodeHost{n}, nil
	case world.ProfileMeshProvisioner:
		cfg := meshnode.ProvisionerConfig{
			Name: spec.Name, RandomAddress: random, IVIndex: m.IVIndex, Address: m.Address, Any: m.Any, PBGATT: m.PBGATT, StatePath: state,
		}
		r := s.Rand()
		if len(m.NetKey) == 16 {
			copy(cfg.NetKey[:], m.NetKey)
		} else {
			fillRandom(cfg.NetKey[:], r.Uint64)
		}
		if len(m.AppKey) == 16 {
			copy(cfg.AppKey[:], m.AppKey)
		} else {
			fillRandom(cfg.AppKey[:], r.Uint64)
		}
		for _, t := range m.Targets {
			cfg.Targets = append(cfg.Targets, meshnode.Target{UUID: t.UUID, StaticOOB: t.StaticOOB, PublicKey: t.PublicKey, Output: true, Input: true})
		}
		p, err := meshnode.NewProvisioner(log, s, send, cfg)
		if err != nil {
			return nil, err
		}
		p.OnEvent = on
		return p, nil
	}
	return nil, fmt.Errorf("unknown mesh profile %q", spec.Profile)
}

func fillRandom(b []byte, next func() uint64) {
	for i := 0; i < len(b); i += 8 {
		v := next()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// meshNodeHost adds the user input of `blesim ctl NAME passkey VALUE`
// (input OOB, route B4) to a node.
type meshNodeHost struct{ *meshnode.Node }

// EnterPasskey types the number the provisioner shows.
func (h *meshNodeHost) EnterPasskey(n uint32) error { return h.Node.Input(prov.Num(n)) }

// ConfirmNumber: mesh provisioning has no yes/no step.
func (h *meshNodeHost) ConfirmNumber(bool) error {
	return fmt.Errorf("mesh provisioning has no numeric comparison; use passkey VALUE for input OOB")
}

// logMeshEvent writes the events a user watches for: provisioning,
// configuration and OnOff changes, OOB values to show or enter.
func logMeshEvent(log *zap.Logger, name string, provisioner bool, e meshnode.Event) {
	switch ev := e.(type) {
	case meshnode.Provisioned:
		if provisioner {
			log.Info(fmt.Sprintf("mesh: %s provisioned device %x as 0x%04x (%s, route %s)", name, ev.UUID, ev.Address, ev.Bearer, ev.Route))
			return
		}
		log.Info(fmt.Sprintf("mesh: %s provisioned, address 0x%04x (%s, route %s)", name, ev.Address, ev.Bearer, ev.Route))
	case meshnode.OnOffChanged:
		v := 0
		if ev.On {
			v = 1
		}
		log.Info(fmt.Sprintf("mesh: %s OnOff → %d", name, v), zap.Int("element", ev.Element), zap.Uint16("src", ev.Src))
	case meshnode.OOBOutput:
		log.Info(fmt.Sprintf("mesh: %s outputs OOB value %s (%v)", name, oobString(ev.Value), ev.Action))
	case meshnode.OOBInputRequest:
		log.Info(fmt.Sprintf("mesh: %s asks for input OOB (%v, %d): blesim ctl %s passkey VALUE", name, ev.Action, ev.Size, name))
	case meshnode.ProvisioningFailed:
		log.Warn(fmt.Sprintf("mesh: %s provisioning failed: %v", name, ev.Err), zap.Stringer("code", ev.Code))
	case meshnode.Error:
		log.Warn(fmt.Sprintf("mesh: %s: %s: %v", name, ev.Step, ev.Err))
	default:
		log.Info("mesh", zap.String("device", name), zap.String("event", fmt.Sprintf("%T %+v", e, e)))
	}
}

func oobString(v prov.OOBValue) string {
	if v.Text != "" {
		return v.Text
	}
	return fmt.Sprint(v.Number)
}
