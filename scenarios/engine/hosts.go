package engine

import (
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
)

type builtinHost interface {
	Receive(h4 []byte)
	Start()
}

// newHost maps a world device to its built-in host profile.
func newHost(log *zap.Logger, s *sim.Scheduler, send func([]byte), spec world.Device, emit func(profiles.Event), centralCfg func(world.Device) profiles.CentralConfig) (builtinHost, *profiles.Central, error) {
	pc := profiles.PeripheralConfig{
		Name:        spec.Name,
		AddressType: spec.AddressType,
		Address:     spec.Address,
		AdvInterval: spec.AdvInterval,
		TxPower:     spec.TxPower,
		Connectable: spec.Connectable,
	}
	if spec.BatteryLevel != nil {
		pc.BatteryLevel = *spec.BatteryLevel
	}
	switch spec.Profile {
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
		h, err := profiles.NewCentral(log, s, send, cc)
		if err != nil {
			return nil, nil, err
		}
		h.OnEvent = emit
		return h, h, nil
	}
	return nil, nil, fmt.Errorf("unknown profile %q", spec.Profile)
}
