package engine

import (
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/meshnode"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
)

type builtinHost interface {
	Receive(h4 []byte)
	Start()
}

// newHost maps a world device to its built-in host profile.
func newHost(log *zap.Logger, s *sim.Scheduler, send func([]byte), spec world.Device, emit func(profiles.Event), centralCfg func(world.Device) profiles.CentralConfig, stateDir string, meshEvents *[]meshnode.Event) (builtinHost, *profiles.Central, error) {
	pc := profiles.PeripheralConfig{
		Name:            spec.Name,
		AddressType:     spec.AddressType,
		Address:         spec.Address,
		AdvInterval:     spec.AdvInterval,
		TxPower:         spec.TxPower,
		Connectable:     spec.Connectable,
		Security:        securityConfig(spec, stateDir),
		SecurityRequest: spec.Security.SecurityRequest,
		Privacy:         spec.Security.RPARotate > 0,
		RPARotation:     spec.Security.RPARotate,
	}
	if spec.BatteryLevel != nil {
		pc.BatteryLevel = *spec.BatteryLevel
	}
	switch spec.Profile {
	case world.ProfileMeshNode, world.ProfileMeshProvisioner:
		h, err := newMeshHost(log, s, send, spec, stateDir, meshEvents)
		return h, nil, err
	case world.ProfileOximeter:
		h, err := profiles.NewOximeter(log, s, send, profiles.OximeterConfig{PeripheralConfig: pc})
		if err != nil {
			return nil, nil, err
		}
		h.OnEvent = emit
		return h, nil, nil
	case world.ProfileHeartRate:
		h, err := profiles.NewHeartRate(log, s, send, profiles.HeartRateConfig{PeripheralConfig: pc})
		if err != nil {
			return nil, nil, err
		}
		h.OnEvent = emit
		return h, nil, nil
	case world.ProfileGeneric:
		gc := profiles.GenericConfig{PeripheralConfig: pc}
		for _, sv := range spec.Services {
			u, err := att.ParseUUID(sv.UUID.Bytes())
			if err != nil {
				return nil, nil, err
			}
			scfg := profiles.ServiceConfig{UUID: u}
			for _, ch := range sv.Characteristics {
				cu, err := att.ParseUUID(ch.UUID.Bytes())
				if err != nil {
					return nil, nil, err
				}
				scfg.Characteristics = append(scfg.Characteristics, profiles.CharacteristicConfig{
					UUID: cu, Props: gatt.Props(ch.Properties), Value: ch.Value, NotifyPeriod: ch.NotifyEvery,
					Security: charSecurity(ch.Security),
				})
			}
			gc.Services = append(gc.Services, scfg)
		}
		h, err := profiles.NewGeneric(log, s, send, gc)
		if err != nil {
			return nil, nil, err
		}
		h.OnEvent = emit
		return h, nil, nil
	case world.ProfileCentral:
		var cc profiles.CentralConfig
		if centralCfg != nil {
			cc = centralCfg(spec)
		}
		cc.Name, cc.AddressType, cc.Address = spec.Name, spec.AddressType, spec.Address
		if cc.Security.BondFile == "" && stateDir != "" {
			cc.Security.BondFile = filepath.Join(stateDir, fileName(spec.Name)+".bonds.json")
		}
		h, err := profiles.NewCentral(log, s, send, cc)
		if err != nil {
			return nil, nil, err
		}
		h.OnEvent = emit
		return h, h, nil
	}
	return nil, nil, fmt.Errorf("unknown profile %q", spec.Profile)
}

// securityConfig maps a world device's security section to the built-in
// peripheral's. Bonds go to the device's bond_file, else
// STATE_DIR/NAME.bonds.json, else memory.
func securityConfig(spec world.Device, stateDir string) profiles.SecurityConfig {
	ws := spec.Security
	sc := profiles.SecurityConfig{
		IOCapability:          ws.IOCapability,
		NoBonding:             !ws.Bonding,
		MITM:                  ws.MITM,
		SecureConnectionsOnly: ws.SecureConnections == "only",
		LegacyOnly:            ws.SecureConnections == "legacy",
		Passkey:               ws.Passkey,
		MinKeySize:            ws.MinKeySize,
		BondFile:              ws.BondFile,
		ForgetAfter:           ws.ForgetKeysAfter,
	}
	if sc.BondFile == "" && stateDir != "" {
		sc.BondFile = filepath.Join(stateDir, fileName(spec.Name)+".bonds.json")
	}
	if len(ws.OOBLegacyTK) == 16 {
		var tk smp.Key
		copy(tk[:], ws.OOBLegacyTK)
		sc.OOB = &smp.OOBData{TK: &tk}
	}
	return sc
}

// charSecurity maps a characteristic's security level.
func charSecurity(level string) profiles.CharSecurity {
	switch level {
	case "encrypted":
		return profiles.CharSecurity{Encryption: true}
	case "authenticated":
		return profiles.CharSecurity{Encryption: true, Authentication: true}
	case "authorized":
		return profiles.CharSecurity{Encryption: true, Authorization: true}
	}
	return profiles.CharSecurity{}
}
