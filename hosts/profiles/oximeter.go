package profiles

import (
	"encoding/binary"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/linklayer/sim"
)

// Pulse Oximeter Service assigned numbers (PLXS 1.0, Assigned Numbers
// §3.4/§3.8).
var (
	UUIDPulseOximeterService = att.UUID16(0x1822)
	UUIDPLXSpotCheck         = att.UUID16(0x2A5E)
	UUIDPLXContinuous        = att.UUID16(0x2A5F)
	UUIDPLXFeatures          = att.UUID16(0x2A60)
)

// OximeterConfig configures a pulse oximeter.
type OximeterConfig struct {
	PeripheralConfig `yaml:",inline"`
	// SpO2 (percent, default 97) and PulseRate (bpm, default 72) are the
	// centre values; measurements vary slightly around them.
	SpO2      float64 `yaml:"spo2"`
	PulseRate float64 `yaml:"pulse_rate"`
	// ContinuousPeriod (default 1 s) and SpotCheckPeriod (default 5 s)
	// pace the notifications and indications.
	ContinuousPeriod time.Duration `yaml:"continuous_period"`
	SpotCheckPeriod  time.Duration `yaml:"spot_check_period"`
	// MeasurementSecurity is what subscribing to the PLX measurements
	// (and reading PLX Features) needs, e.g. Encryption: a central then
	// has to pair or encrypt first.
	MeasurementSecurity CharSecurity `yaml:"measurement_security"`
}

// Oximeter is a pulse oximeter peripheral: Pulse Oximeter Service 0x1822
// with PLX Spot-Check Measurement (indicate), PLX Continuous Measurement
// (notify) and PLX Features (read) — no Record Access Control Point, as
// measurement storage is not supported (PLXS 1.0 §3.1) — plus Battery
// Service and Device Information.
type Oximeter struct {
	*Peripheral
	SpotCheck, Continuous, Features, Battery *gatt.Characteristic

	cfg   OximeterConfig
	sched *sim.Scheduler
}

// NewOximeter creates an oximeter. Defaults: name "blesim Oximeter",
// appearance 0x0C41 (Pulse Oximeter: Fingertip), battery 100 %.
func NewOximeter(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg OximeterConfig) (*Oximeter, error) {
	if cfg.Name == "" {
		cfg.Name = "blesim Oximeter"
	}
	if cfg.Appearance == 0 {
		cfg.Appearance = gatt.AppearanceFingertipOxim
	}
	if cfg.BatteryLevel == 0 {
		cfg.BatteryLevel = 100
	}
	if cfg.SpO2 == 0 {
		cfg.SpO2 = 97
	}
	if cfg.PulseRate == 0 {
		cfg.PulseRate = 72
	}
	if cfg.ContinuousPeriod == 0 {
		cfg.ContinuousPeriod = time.Second
	}
	if cfg.SpotCheckPeriod == 0 {
		cfg.SpotCheckPeriod = 5 * time.Second
	}
	o := &Oximeter{cfg: cfg, sched: sched}
	spo2, pr := cfg.SpO2, cfg.PulseRate
	o.SpotCheck = &gatt.Characteristic{UUID: UUIDPLXSpotCheck, Props: gatt.PropIndicate, Value: EncodePLXSpotCheck(spo2, pr)}
	o.Continuous = &gatt.Characteristic{UUID: UUIDPLXContinuous, Props: gatt.PropNotify, Value: EncodePLXContinuous(spo2, pr)}
	// PLX Features: Supported Features 0x0000 (no optional fields).
	o.Features = &gatt.Characteristic{UUID: UUIDPLXFeatures, Props: gatt.PropRead, Value: []byte{0x00, 0x00}, MaxLen: 2}
	for _, c := range []*gatt.Characteristic{o.SpotCheck, o.Continuous, o.Features} {
		cfg.MeasurementSecurity.apply(c)
	}
	plx := &gatt.Service{UUID: UUIDPulseOximeterService, Characteristics: []*gatt.Characteristic{o.SpotCheck, o.Continuous, o.Features}}
	bas, bl := BatteryService(cfg.BatteryLevel)
	o.Battery = bl
	p, err := NewPeripheral(log, sched, send, cfg.PeripheralConfig, plx, bas, DeviceInformationService("blesim-oximeter"))
	if err != nil {
		return nil, err
	}
	o.Peripheral = p
	p.Every(cfg.ContinuousPeriod, func() {
		s, r := o.sample()
		p.Server.Update(o.Continuous, EncodePLXContinuous(s, r))
	})
	p.Every(cfg.SpotCheckPeriod, func() {
		s, r := o.sample()
		p.Server.Update(o.SpotCheck, EncodePLXSpotCheck(s, r))
	})
	return o, nil
}

// sample returns SpO2 within ±1 % (0.5 steps) and pulse rate within ±2 bpm
// of the configured values, drawn from the scheduler's seeded source.
func (o *Oximeter) sample() (spo2, pr float64) {
	r := o.sched.Rand()
	spo2 = min(100, o.cfg.SpO2+float64(r.IntN(5)-2)*0.5)
	pr = o.cfg.PulseRate + float64(r.IntN(5)-2)
	return spo2, pr
}

// SetBattery changes the battery level and notifies subscribers.
func (o *Oximeter) SetBattery(level uint8) { o.Server.Update(o.Battery, []byte{min(level, 100)}) }

// EncodePLXSpotCheck encodes a PLX Spot-Check Measurement (GATT
// Specification Supplement, "PLX Spot-Check Measurement"; PLXS 1.0 §3.1): Flags 0x00 (no timestamp, status or
// pulse amplitude index), SpO2 and PR as SFLOAT.
func EncodePLXSpotCheck(spo2, pr float64) []byte {
	b := []byte{0x00}
	b = binary.LittleEndian.AppendUint16(b, EncodeSFloat(spo2))
	return binary.LittleEndian.AppendUint16(b, EncodeSFloat(pr))
}

// EncodePLXContinuous encodes a PLX Continuous Measurement (GATT
// Specification Supplement, "PLX Continuous Measurement"; PLXS 1.0 §3.2): Flags 0x00 (only SpO2PR-Normal), SpO2
// and PR as SFLOAT.
func EncodePLXContinuous(spo2, pr float64) []byte { return EncodePLXSpotCheck(spo2, pr) }

// DecodePLX decodes the SpO2 and PR of a spot-check or continuous
// measurement with flags 0 (for tests and the central's logs).
func DecodePLX(b []byte) (spo2, pr float64, ok bool) {
	if len(b) < 5 {
		return 0, 0, false
	}
	return DecodeSFloat(binary.LittleEndian.Uint16(b[1:])), DecodeSFloat(binary.LittleEndian.Uint16(b[3:])), true
}
