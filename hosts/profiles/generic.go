package profiles

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/linklayer/sim"
)

// GenericConfig describes a generic peripheral: its services are data.
type GenericConfig struct {
	PeripheralConfig `yaml:",inline"`
	Services         []ServiceConfig `yaml:"services"`
}

// ServiceConfig is one primary service of a generic peripheral.
type ServiceConfig struct {
	UUID            att.UUID               `yaml:"uuid"` // 16- or 128-bit
	Characteristics []CharacteristicConfig `yaml:"characteristics"`
}

// CharacteristicConfig is one characteristic of a generic peripheral.
type CharacteristicConfig struct {
	UUID  att.UUID   `yaml:"uuid"`
	Props gatt.Props `yaml:"props"` // see ParseProps for names
	Value []byte     `yaml:"value"` // initial value
	// NotifyPeriod, when set, increments the value's last byte every
	// period and sends it to subscribed clients (notify or indicate).
	NotifyPeriod time.Duration `yaml:"notify_period"`
	// Security is what reading, writing and subscribing need.
	Security CharSecurity `yaml:"security"`
}

// Generic is a peripheral whose services come from its configuration.
type Generic struct {
	*Peripheral
	// Chars holds the characteristics in configuration order.
	Chars []*gatt.Characteristic
}

// NewGeneric creates a generic peripheral (plus a Battery Service when
// BatteryLevel is set).
func NewGeneric(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg GenericConfig) (*Generic, error) {
	g := &Generic{}
	var svcs []*gatt.Service
	type periodic struct {
		c      *gatt.Characteristic
		period time.Duration
	}
	var ticks []periodic
	for i, sc := range cfg.Services {
		if sc.UUID == (att.UUID{}) {
			return nil, fmt.Errorf("generic %q: service %d has no UUID", cfg.Name, i)
		}
		s := &gatt.Service{UUID: sc.UUID}
		for j, cc := range sc.Characteristics {
			if cc.UUID == (att.UUID{}) {
				return nil, fmt.Errorf("generic %q: service %s characteristic %d has no UUID", cfg.Name, sc.UUID, j)
			}
			if len(cc.Value) > att.MaxAttrLen {
				return nil, fmt.Errorf("generic %q: characteristic %s: value of %d bytes (max %d)", cfg.Name, cc.UUID, len(cc.Value), att.MaxAttrLen)
			}
			if cc.NotifyPeriod > 0 && cc.Props&(gatt.PropNotify|gatt.PropIndicate) == 0 {
				return nil, fmt.Errorf("generic %q: characteristic %s has a notify period but neither notify nor indicate", cfg.Name, cc.UUID)
			}
			if ks := cc.Security.MinKeySize; ks != 0 && (ks < 7 || ks > 16) {
				return nil, fmt.Errorf("generic %q: characteristic %s: min key size %d outside 7..16", cfg.Name, cc.UUID, ks)
			}
			c := &gatt.Characteristic{UUID: cc.UUID, Props: cc.Props, Value: append([]byte(nil), cc.Value...)}
			cc.Security.apply(c)
			s.Characteristics = append(s.Characteristics, c)
			g.Chars = append(g.Chars, c)
			if cc.NotifyPeriod > 0 {
				ticks = append(ticks, periodic{c, cc.NotifyPeriod})
			}
		}
		svcs = append(svcs, s)
	}
	if cfg.BatteryLevel > 0 {
		bs, _ := BatteryService(cfg.BatteryLevel)
		svcs = append(svcs, bs)
	}
	p, err := NewPeripheral(log, sched, send, cfg.PeripheralConfig, svcs...)
	if err != nil {
		return nil, err
	}
	g.Peripheral = p
	for _, t := range ticks {
		c := t.c
		p.Every(t.period, func() {
			v := append([]byte(nil), c.Value...)
			if len(v) == 0 {
				v = []byte{0}
			}
			v[len(v)-1]++
			p.Server.Update(c, v)
		})
	}
	return g, nil
}
