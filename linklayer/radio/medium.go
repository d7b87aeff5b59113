// Package radio is blesim's shared radio medium (the LE 1M PHY, Core v5.4
// Vol 6 Part A): ports attached at positions transmit packets on RF channels
// and receive the packets of others that reach them with enough signal,
// after their air time, in virtual time.
//
// Everything runs on the simulation goroutine (linklayer/sim): no method is
// safe for concurrent use and none takes a lock.
//
// Model, kept simple and cheap:
//   - A packet is delivered to every other port that listens on its channel
//     with its access address without interruption from the start to the end
//     of its air time (Listen with the same channel and address again does
//     not interrupt). Delivery happens at the end of the air time, with one
//     scheduler event per transmission that has any listener.
//   - Path loss is log-distance: RSSI = txPower − (ReferenceLossDB +
//     10·n·log10(max(d, 0.1 m)/1 m)). Below SensitivityDBm nothing arrives.
//   - Two transmissions on the same channel that overlap in time interfere
//     at every receiver, whatever their access addresses: a packet survives
//     only if its RSSI is at least CaptureDB above every overlapping one
//     (capture effect), otherwise it is lost.
//   - A port never receives while it transmits (half duplex).
//   - Each delivery is lost with probability LossRate, drawn from the
//     scheduler's seeded random source, so runs are reproducible.
package radio

import (
	"math"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
)

// Channel is an LL channel index (Core v5.4 Vol 6 Part B §1.4.1): 0..36 are
// the data channels, 37, 38 and 39 the primary advertising channels.
type Channel uint8

// Channel numbers.
const (
	NumChannels  = 40 // indices 0..39
	AdvChannel37 = Channel(37)
	AdvChannel38 = Channel(38)
	AdvChannel39 = Channel(39)
)

// Valid reports whether c is a channel index (0..39).
func (c Channel) Valid() bool { return c < NumChannels }

// IsAdvertising reports whether c is one of the primary advertising channels.
func (c Channel) IsAdvertising() bool { return c >= 37 && c < NumChannels }

// FrequencyMHz returns the centre frequency of c (§1.4.1, Table 1.3), or 0
// for an invalid index.
func (c Channel) FrequencyMHz() int {
	switch {
	case c == 37:
		return 2402
	case c == 38:
		return 2426
	case c == 39:
		return 2480
	case c <= 10:
		return 2404 + 2*int(c)
	case c <= 36:
		return 2428 + 2*int(c-11)
	}
	return 0
}

// AdvertisingAccessAddress is the access address of advertising physical
// channel packets (Vol 6 Part B §2.1.2), 0x8E89BED6.
const AdvertisingAccessAddress uint32 = pdu.AdvertisingAccessAddress

// CaptureDB is the margin by which a packet must be stronger than every
// overlapping packet on its channel to be received.
const CaptureDB = 6.0

// Position is a point in the plane, in metres.
type Position struct{ X, Y float64 }

// Config is the medium's propagation model.
type Config struct {
	PathLossExponent float64 // n; 2.0 is free space
	ReferenceLossDB  float64 // path loss at 1 m; about 40 dB at 2.4 GHz
	SensitivityDBm   float64 // weakest signal received
	LossRate         float64 // probability that a delivery is lost, 0..1
}

// DefaultConfig returns free space at 2.4 GHz, -95 dBm sensitivity and no
// random loss.
func DefaultConfig() Config {
	return Config{PathLossExponent: 2.0, ReferenceLossDB: 40, SensitivityDBm: -95, LossRate: 0}
}

// RSSI returns the signal strength in dBm at distance d metres from a
// transmitter of txPowerDBm, by the log-distance model (distances under
// 0.1 m count as 0.1 m).
func (c Config) RSSI(txPowerDBm int8, d float64) float64 {
	return c.rssiSq(txPowerDBm, d*d)
}

// rssiSq is RSSI from the squared distance: 10·n·log10(d) = 5·n·log10(d²).
func (c Config) rssiSq(txPowerDBm int8, d2 float64) float64 {
	if !(d2 >= 0.01) { // also NaN
		d2 = 0.01
	}
	return float64(txPowerDBm) - c.ReferenceLossDB - 5*c.PathLossExponent*math.Log10(d2)
}

// Distance returns the distance between a and b in metres.
func Distance(a, b Position) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

func dist2(a, b Position) float64 {
	dx, dy := a.X-b.X, a.Y-b.Y
	return dx*dx + dy*dy
}

// AirTime returns the air time of a packet on the LE 1M PHY whose PDU
// (header and payload, including any MIC) is pduLen octets: preamble 1,
// access address 4, PDU, CRC 3 octets at 8 µs per octet (Vol 6 Part B §2.1).
func AirTime(pduLen int) sim.Duration {
	if pduLen < 0 {
		pduLen = 0
	}
	return sim.Duration(1+4+pduLen+3) * 8 * sim.Microsecond
}

// Packet is what a port puts on air.
type Packet struct {
	Channel       Channel
	AccessAddress uint32
	PDU           []byte // header and payload; no preamble, access address or CRC
	// CRCInit is the CRC initial value (Vol 6 Part B §3.1.1): 0x555555 on
	// the advertising channels, the connection's CRCInit on data
	// channels. The medium does not compute CRCs (it models loss
	// directly); traces use it to write the CRC a sniffer would see.
	// Zero means unknown.
	CRCInit uint32
}

// Reception is a packet as a receiver got it.
type Reception struct {
	Packet
	Start, End sim.Time // air time of the packet

	// RSSI is computed on demand (most receivers drop most packets
	// without looking at it, and the logarithm is the medium's main cost).
	cfg     *Config
	power   int8
	d2      float64
	rssi    int8
	rssiSet bool
}

// RSSI returns the received signal strength in dBm, rounded (0 for a
// tapped transmission, which has no receiver).
func (rx *Reception) RSSI() int8 {
	if !rx.rssiSet {
		if rx.cfg != nil {
			rx.rssi = toInt8(rx.cfg.rssiSq(rx.power, rx.d2))
		}
		rx.rssiSet = true
	}
	return rx.rssi
}

// Receiver gets packets on the simulation goroutine at the end of their air
// time. rx and rx.PDU are only valid during the call and shared with other
// receivers of the same packet: copy what you keep, modify nothing.
type Receiver interface {
	Receive(rx *Reception)
}

// Stats counts what the medium did.
type Stats struct {
	Transmissions    uint64 // packets put on air
	Deliveries       uint64 // Receive calls
	Collisions       uint64 // receptions lost to overlapping packets
	BelowSensitivity uint64 // receptions too weak
	RandomLoss       uint64 // receptions dropped by LossRate
	Interrupted      uint64 // receivers that retuned, idled or transmitted during the packet
}

// activeTx is a transmission in the air on a channel, kept as an interferer
// for transmissions that start before it ends.
type activeTx struct {
	end   sim.Time
	pos   Position
	power int8
	rec   *transmission // nil when it has no receivers of its own
}

// Medium is the shared radio medium. Create it with NewMedium.
type Medium struct {
	s         *sim.Scheduler
	cfg       Config
	listeners [NumChannels][]*Port
	active    [NumChannels][]activeTx
	free      []*transmission
	tap       func(tx *Reception, from *Port)
	tapRx     Reception
	stats     Stats

	// Caches of the propagation model (reset by SetConfig): the squared
	// range of each transmit power, and the squared-distance ratio that a
	// transmit power difference allows before capture fails. They let the
	// delivery path decide range and collisions without logarithms.
	rangeD2   [256]float64
	captureR2 [511]float64
	cacheOK   [256 + 511]bool
}

// maxD2 returns the largest squared distance at which a transmitter of
// power dBm is heard: RSSI >= sensitivity ⟺ 5n·log10(d²) <= tx − ref − sens.
func (m *Medium) maxD2(power int8) float64 {
	i := int(power) + 128
	if !m.cacheOK[i] {
		c := &m.cfg
		m.rangeD2[i] = math.Pow(10, (float64(power)-c.ReferenceLossDB-c.SensitivityDBm)/(5*c.PathLossExponent))
		m.cacheOK[i] = true
	}
	return m.rangeD2[i]
}

// captureRatio returns r such that an interferer of power pi at squared
// distance di2 drowns a packet of power p at squared distance d2 exactly
// when di2 < d2·r: RSSIi > RSSI − CaptureDB ⟺
// 5n·log10(di2/d2) < pi − p + CaptureDB.
func (m *Medium) captureRatio(pi, p int8) float64 {
	diff := int(pi) - int(p)
	i := diff + 255
	if !m.cacheOK[256+i] {
		m.captureR2[i] = math.Pow(10, (float64(diff)+CaptureDB)/(5*m.cfg.PathLossExponent))
		m.cacheOK[256+i] = true
	}
	return m.captureR2[i]
}

// NewMedium returns an empty medium on scheduler s. A zero Config means
// DefaultConfig(); otherwise cfg is used as given.
func NewMedium(s *sim.Scheduler, cfg Config) *Medium {
	m := &Medium{s: s}
	if cfg == (Config{}) {
		cfg = DefaultConfig()
	}
	m.SetConfig(cfg)
	return m
}

// Config returns the propagation model in use.
func (m *Medium) Config() Config { return m.cfg }

// SetConfig replaces the propagation model; it applies to packets that end
// from now on. LossRate is clamped to 0..1.
func (m *Medium) SetConfig(cfg Config) {
	cfg.LossRate = clampRate(cfg.LossRate)
	m.cfg = cfg
	m.cacheOK = [256 + 511]bool{}
}

// SetLossRate sets the probability (0..1) that a delivery is lost.
func (m *Medium) SetLossRate(r float64) { m.cfg.LossRate = clampRate(r) }

// clampD2 applies the model's minimum distance of 0.1 m.
func clampD2(d2 float64) float64 {
	if !(d2 >= 0.01) { // also NaN
		return 0.01
	}
	return d2
}

func clampRate(r float64) float64 {
	if !(r > 0) { // also NaN
		return 0
	}
	return min(r, 1)
}

// SetTap installs fn to see every transmission once, when it starts (tx.RSSI
// is 0, Start and End are its air time); nil removes it. tx is only valid
// during the call. Use it for traces and pcap files.
func (m *Medium) SetTap(fn func(tx *Reception, from *Port)) { m.tap = fn }

// Stats returns the counters.
func (m *Medium) Stats() Stats { return m.stats }

// Attach adds a port at pos transmitting with txPowerDBm that hands received
// packets to r (which may be nil for a port that only transmits). The port
// starts idle.
func (m *Medium) Attach(pos Position, txPowerDBm int8, r Receiver) *Port {
	return &Port{m: m, r: r, pos: pos, power: txPowerDBm, idx: -1}
}

// Radio groups the ports of one device: a controller uses a port per role
// (advertising, scanning, each connection), but it is one radio, and a
// radio never receives its own transmissions. The zero value is unused;
// make one with NewRadio.
type Radio struct{ _ byte }

// NewRadio returns a group for one device's ports.
func NewRadio() *Radio { return &Radio{} }

// AttachRadio is Attach for a port of radio r: packets sent by any port of
// r are not delivered to the others.
func (m *Medium) AttachRadio(r *Radio, pos Position, txPowerDBm int8, rcv Receiver) *Port {
	p := m.Attach(pos, txPowerDBm, rcv)
	p.radio = r
	return p
}
