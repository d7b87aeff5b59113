package profiles

import (
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/linklayer/sim"
)

// Heart Rate Service assigned numbers (HRS 1.0).
var (
	UUIDHeartRateService    = att.UUID16(0x180D)
	UUIDHeartRateMeasure    = att.UUID16(0x2A37)
	UUIDBodySensorLocation  = att.UUID16(0x2A38)
	BodySensorLocationChest = uint8(0x01)
)

// HeartRateConfig configures a heart rate sensor.
type HeartRateConfig struct {
	PeripheralConfig `yaml:",inline"`
	// BPM is the centre heart rate (default 70); measurements vary by
	// ±3 bpm.
	BPM uint8 `yaml:"bpm"`
	// Period between measurements (default 1 s).
	Period time.Duration `yaml:"period"`
	// Location is the Body Sensor Location (default 0x01 chest).
	Location uint8 `yaml:"location"`
}

// HeartRate is a heart rate sensor: Heart Rate Service 0x180D with Heart
// Rate Measurement 0x2A37 (notify) and Body Sensor Location 0x2A38 (read),
// Battery Service and Device Information. The Heart Rate Control Point is
// left out, as Energy Expended is not supported (HRS 1.0 §3.3).
type HeartRate struct {
	*Peripheral
	Measurement, Location, Battery *gatt.Characteristic
	cfg                            HeartRateConfig
	sched                          *sim.Scheduler
}

// NewHeartRate creates a heart rate sensor. Defaults: name "blesim HRM",
// appearance 0x0341 (Heart Rate Sensor: Belt), battery 100 %.
func NewHeartRate(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg HeartRateConfig) (*HeartRate, error) {
	if cfg.Name == "" {
		cfg.Name = "blesim HRM"
	}
	if cfg.Appearance == 0 {
		cfg.Appearance = gatt.AppearanceHRBelt
	}
	if cfg.BatteryLevel == 0 {
		cfg.BatteryLevel = 100
	}
	if cfg.BPM == 0 {
		cfg.BPM = 70
	}
	if cfg.Period == 0 {
		cfg.Period = time.Second
	}
	if cfg.Location == 0 {
		cfg.Location = BodySensorLocationChest
	}
	h := &HeartRate{cfg: cfg, sched: sched}
	h.Measurement = &gatt.Characteristic{UUID: UUIDHeartRateMeasure, Props: gatt.PropNotify, Value: EncodeHeartRate(cfg.BPM)}
	h.Location = &gatt.Characteristic{UUID: UUIDBodySensorLocation, Props: gatt.PropRead, Value: []byte{cfg.Location}, MaxLen: 1}
	hrs := &gatt.Service{UUID: UUIDHeartRateService, Characteristics: []*gatt.Characteristic{h.Measurement, h.Location}}
	bas, bl := BatteryService(cfg.BatteryLevel)
	h.Battery = bl
	p, err := NewPeripheral(log, sched, send, cfg.PeripheralConfig, hrs, bas, DeviceInformationService("blesim-hrm"))
	if err != nil {
		return nil, err
	}
	h.Peripheral = p
	p.Every(cfg.Period, func() {
		bpm := int(cfg.BPM) + sched.Rand().IntN(7) - 3
		p.Server.Update(h.Measurement, EncodeHeartRate(uint8(max(1, min(255, bpm)))))
	})
	return h, nil
}

// SetBattery changes the battery level and notifies subscribers.
func (h *HeartRate) SetBattery(level uint8) { h.Server.Update(h.Battery, []byte{min(level, 100)}) }

// EncodeHeartRate encodes a Heart Rate Measurement (HRS 1.0 §3.1.1): Flags
// 0x06 (UINT8 format, sensor contact supported and detected) and the
// heart rate in bpm.
func EncodeHeartRate(bpm uint8) []byte { return []byte{0x06, bpm} }
