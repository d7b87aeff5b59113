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
func newHost(log *zap.Logger, s *sim.Scheduler, send func([]byte), spec world.Device, emit func(profiles.Event), centralCfg func(world.Device) profiles.CentralConfig, stateDir string, meshEvent func(meshnode.Event)) (builtinHost, *profiles.Central, error) {
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
		h, err := newMeshHost(log, s, send, spec, stateDir, meshEvent)
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
	case world.ProfileELock:
		h, err := profiles.NewLock(log, s, send, profiles.LockConfig{PeripheralConfig: pc, PairingMode: spec.Security.PairingMode})
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
		if spec.Security.Line > 0 { // the world gives the central's security
			cc.Security.SecurityConfig = securityConfig(spec, stateDir)
		}
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
	keySecurity(&sc, spec)
	return sc
}

// keySecurity maps the key distribution, misbehaviour and SC OOB fields.
// initiator_keys and responder_keys are the pairing commands' fields: a
// central (the initiator) distributes the first and requests the second,
// a peripheral the other way round.
func keySecurity(sc *profiles.SecurityConfig, spec world.Device) {
	ws := spec.Security
	dist := func(k *world.KeyDist) *smp.KeyDist {
		if k == nil {
			return nil
		}
		d := smp.KeyDist(*k)
		return &d
	}
	sc.Distribute, sc.Request = dist(ws.ResponderKeys), dist(ws.InitiatorKeys)
	if spec.Profile == world.ProfileCentral {
		sc.Distribute, sc.Request = sc.Request, sc.Distribute
	}
	sc.Strict, sc.RequestMITM = ws.StrictKeyDistribution, ws.RequestMITM
	sc.Faults = smp.Faults{SendUnnegotiatedKeys: ws.SendUnnegotiatedKeys, FixedEDIV: ws.FixedEDIV, FixedRand: ws.FixedRand}
	if len(ws.FixedLTK) == 16 {
		ltk := smp.Key(ws.FixedLTK)
		sc.Faults.FixedLTK = &ltk
	}
	o := ws.OOBSC
	if o == nil {
		return
	}
	if len(o.PrivateKey) == 32 && len(o.Random) == 16 {
		sc.LocalOOB = &smp.LocalOOB{PrivateKey: [32]byte(o.PrivateKey), R: smp.Key(o.Random)}
	}
	if len(o.PeerRandom) == 16 && len(o.PeerConfirm) == 16 {
		if sc.OOB == nil {
			sc.OOB = &smp.OOBData{}
		}
		r, c := smp.Key(o.PeerRandom), smp.Key(o.PeerConfirm)
		sc.OOB.PeerR, sc.OOB.PeerC = &r, &c
	}
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
