package radio

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/linklayer/sim"
)

// rec is a Receiver that records what it gets.
type rec struct {
	s    *sim.Scheduler
	name string
	got  []got
}

type got struct {
	at    sim.Time
	ch    Channel
	aa    uint32
	pdu   string
	rssi  int8
	start sim.Time
	end   sim.Time
}

func (r *rec) Receive(rx *Reception) {
	r.got = append(r.got, got{r.s.Now(), rx.Channel, rx.AccessAddress, string(rx.PDU), rx.RSSI(), rx.Start, rx.End})
}

func newWorld(seed uint64) (*sim.Scheduler, *Medium) {
	s := sim.New(seed)
	return s, NewMedium(s, DefaultConfig())
}

func attach(s *sim.Scheduler, m *Medium, name string, x float64) (*Port, *rec) {
	r := &rec{s: s, name: name}
	return m.Attach(Position{X: x}, 0, r), r
}

const aa = AdvertisingAccessAddress

func TestAirTime(t *testing.T) {
	assert.Equal(t, sim.Duration(64), AirTime(0))
	assert.Equal(t, sim.Duration(80), AirTime(2))   // empty data PDU
	assert.Equal(t, sim.Duration(376), AirTime(39)) // ADV_IND with 31 octets of AdvData
	assert.Equal(t, sim.Duration(176), AirTime(14)) // SCAN_REQ
	assert.Equal(t, sim.Duration(352), AirTime(36)) // CONNECT_IND
	assert.Equal(t, sim.Duration(2120), AirTime(257))
	assert.Equal(t, sim.Duration(64), AirTime(-5))
}

func TestChannel(t *testing.T) {
	assert.Equal(t, 2402, AdvChannel37.FrequencyMHz())
	assert.Equal(t, 2404, Channel(0).FrequencyMHz())
	assert.Equal(t, 2424, Channel(10).FrequencyMHz())
	assert.Equal(t, 2428, Channel(11).FrequencyMHz())
	assert.Equal(t, 2478, Channel(36).FrequencyMHz())
	assert.Equal(t, 2426, AdvChannel38.FrequencyMHz())
	assert.Equal(t, 2480, AdvChannel39.FrequencyMHz())
	assert.Equal(t, 0, Channel(40).FrequencyMHz())
	assert.True(t, AdvChannel39.IsAdvertising())
	assert.False(t, Channel(36).IsAdvertising())
	assert.False(t, Channel(40).Valid())
}

func TestDeliveryOnlyToMatchingListeners(t *testing.T) {
	s, m := newWorld(1)
	tx, txr := attach(s, m, "tx", 0)
	b, br := attach(s, m, "b", 1)
	c, cr := attach(s, m, "c", 1)
	d, dr := attach(s, m, "d", 1)
	_, er := attach(s, m, "e", 1) // idle
	b.Listen(37, aa)
	c.Listen(38, aa)
	d.Listen(37, 0x12345678)
	tx.Listen(37, aa) // a sender never hears itself

	pdu := []byte{0x00, 0x01, 0xAB}
	s.RunFor(100)
	end := tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: pdu})
	pdu[2] = 0xFF // the medium copied it
	assert.Equal(t, sim.Time(100).Add(AirTime(3)), end)
	s.RunFor(sim.Second)

	require.Len(t, br.got, 1)
	g := br.got[0]
	assert.Equal(t, end, g.at, "delivered at the end of the air time")
	assert.Equal(t, sim.Time(100), g.start)
	assert.Equal(t, end, g.end)
	assert.Equal(t, "\x00\x01\xAB", g.pdu)
	assert.Equal(t, Channel(37), g.ch)
	assert.Equal(t, aa, g.aa)
	assert.Empty(t, cr.got, "other channel")
	assert.Empty(t, dr.got, "other access address")
	assert.Empty(t, er.got, "idle")
	assert.Empty(t, txr.got, "sender")

	// A data channel with its own access address.
	d.Listen(5, 0x12345678)
	tx.Transmit(Packet{Channel: 5, AccessAddress: 0x12345678, PDU: []byte{1, 0}})
	s.RunFor(sim.Second)
	assert.Len(t, dr.got, 1)
	assert.Len(t, br.got, 1)
	st := m.Stats()
	assert.Equal(t, uint64(2), st.Transmissions)
	assert.Equal(t, uint64(2), st.Deliveries)
}

func TestRSSIFormula(t *testing.T) {
	cfg := DefaultConfig()
	assert.InDelta(t, -40, cfg.RSSI(0, 1), 1e-9)
	assert.InDelta(t, -60, cfg.RSSI(0, 10), 1e-9)
	assert.InDelta(t, -76, cfg.RSSI(4, 100), 1e-9)
	assert.InDelta(t, -20, cfg.RSSI(0, 0), 1e-9, "distances below 0.1 m count as 0.1 m")
	assert.InDelta(t, -20, cfg.RSSI(0, 0.05), 1e-9)
	cfg.PathLossExponent = 3
	assert.InDelta(t, -70, cfg.RSSI(0, 10), 1e-9)
	assert.InDelta(t, 5, Distance(Position{1, 1}, Position{4, 5}), 1e-12)

	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	tx.SetTxPower(-4)
	var rs []*rec
	for _, d := range []float64{0, 0.5, 1, 3, 10, 30, 100, 300} {
		p, r := attach(s, m, fmt.Sprint(d), 0)
		p.SetPosition(Position{X: d * 0.6, Y: d * 0.8})
		p.Listen(39, aa)
		rs = append(rs, r)
	}
	tx.Transmit(Packet{Channel: 39, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	prev := int8(math.MaxInt8)
	for i, d := range []float64{0, 0.5, 1, 3, 10, 30, 100, 300} {
		require.Len(t, rs[i].got, 1, "d=%v", d)
		r := rs[i].got[0].rssi
		assert.Equal(t, int8(math.Round(-4-40-20*math.Log10(math.Max(d, 0.1)))), r, "d=%v", d)
		assert.LessOrEqual(t, r, prev)
		prev = r
	}
	assert.Equal(t, int8(-44), rs[2].got[0].rssi)
}

func TestOutOfRange(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	// 0 dBm − 40 − 20·log10(d) ≥ −95  ⇔  d ≤ 10^2.75 ≈ 562 m
	near, nr := attach(s, m, "near", 560)
	far, fr := attach(s, m, "far", 565)
	near.Listen(37, aa)
	far.Listen(37, aa)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, nr.got, 1)
	assert.Empty(t, fr.got)
	assert.Equal(t, uint64(1), m.Stats().BelowSensitivity)

	cfg := m.Config()
	cfg.SensitivityDBm = -100 // now 565 m is in range
	m.SetConfig(cfg)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, fr.got, 1)
}

func lossTrial(seed uint64, rate float64, n int) []bool {
	s, m := newWorld(seed)
	m.SetLossRate(rate)
	tx, _ := attach(s, m, "tx", 0)
	rx, r := attach(s, m, "rx", 1)
	rx.Listen(37, aa)
	out := make([]bool, n)
	for i := range n {
		before := len(r.got)
		tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
		s.RunFor(sim.Millisecond)
		out[i] = len(r.got) > before
	}
	return out
}

func TestLossRate(t *testing.T) {
	const n = 20000
	for _, rate := range []float64{0, 0.1, 0.3, 0.9, 1} {
		res := lossTrial(42, rate, n)
		ok := 0
		for _, r := range res {
			if r {
				ok++
			}
		}
		lost := float64(n-ok) / n
		assert.InDelta(t, rate, lost, 0.015, "rate %v", rate)
	}
	assert.Equal(t, lossTrial(7, 0.3, 2000), lossTrial(7, 0.3, 2000), "same seed, same losses")
	assert.NotEqual(t, lossTrial(7, 0.3, 2000), lossTrial(8, 0.3, 2000))

	_, m := newWorld(1)
	m.SetLossRate(-1)
	assert.Equal(t, 0.0, m.Config().LossRate)
	m.SetLossRate(math.NaN())
	assert.Equal(t, 0.0, m.Config().LossRate)
	m.SetLossRate(3)
	assert.Equal(t, 1.0, m.Config().LossRate)
}

func TestZeroConfigIsDefault(t *testing.T) {
	m := NewMedium(sim.New(1), Config{})
	assert.Equal(t, DefaultConfig(), m.Config())
}

// scenario runs several randomly timed transmitters and listeners with loss
// and returns the delivery log.
func scenario(seed uint64) []string {
	s, m := newWorld(seed)
	m.SetLossRate(0.2)
	var log []string
	var recs []*rec
	for i := range 4 {
		p, r := attach(s, m, fmt.Sprint("rx", i), float64(i*7))
		p.Listen(Channel(37+i%3), aa)
		recs = append(recs, r)
	}
	for i := range 6 {
		p, _ := attach(s, m, fmt.Sprint("tx", i), float64(i*3+1))
		var next func()
		next = func() {
			ch := Channel(37 + s.Rand().IntN(3))
			p.Transmit(Packet{Channel: ch, AccessAddress: aa, PDU: []byte{byte(i), 1, byte(s.Rand().IntN(256))}})
			s.After(sim.Duration(500+s.Rand().IntN(5000)), next)
		}
		s.After(sim.Duration(s.Rand().IntN(1000)), next)
	}
	s.RunFor(2 * sim.Second)
	for _, r := range recs {
		for _, g := range r.got {
			log = append(log, fmt.Sprintf("%s %v %d %x %d", r.name, g.at, g.ch, g.pdu, g.rssi))
		}
	}
	return log
}

func TestDeterministic(t *testing.T) {
	a, b := scenario(99), scenario(99)
	require.NotEmpty(t, a)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, scenario(100))
}

// TestListenUntil: a receive window closes by itself: a packet that ends
// inside it arrives, one that ends after it does not, and the expired
// listener drops out of the channel's listener list.
func TestListenUntil(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	rx, r := attach(s, m, "rx", 1)
	pdu := make([]byte, 10) // 144 µs on air
	rx.ListenUntil(37, aa, 200)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: pdu}) // 0..144: inside
	s.RunUntil(150)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: pdu}) // 150..294: ends after 200
	s.RunUntil(400)
	require.Len(t, r.got, 1)
	assert.Equal(t, sim.Time(144), r.got[0].end)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: pdu}) // starts after the window
	s.RunUntil(600)
	require.Len(t, r.got, 1)
	assert.Empty(t, m.listeners[37], "the expired listener left the list")
	_, _, listening := rx.Listening()
	assert.False(t, listening)
	// Listen without an end clears a previous window.
	rx.ListenUntil(38, aa, 700)
	rx.Listen(38, aa)
	s.RunUntil(800)
	tx.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: pdu})
	s.RunUntil(1000)
	require.Len(t, r.got, 2)
}

// TestAcceptAdvTypes: a port that accepts only some advertising PDU types
// gets only those on advertising channels, and everything on data channels.
func TestAcceptAdvTypes(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	rx, r := attach(s, m, "rx", 1)
	rx.AcceptAdvTypes(1<<3 | 1<<5) // SCAN_REQ, CONNECT_IND
	rx.Listen(37, aa)
	advInd := []byte{0x00, 6, 1, 2, 3, 4, 5, 6}
	scanReq := []byte{0x03, 12, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: advInd})
	s.RunFor(1000)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: scanReq})
	s.RunFor(1000)
	require.Len(t, r.got, 1)
	assert.Equal(t, string(scanReq), r.got[0].pdu)
	rx.Listen(5, 0x12345678)
	tx.Transmit(Packet{Channel: 5, AccessAddress: 0x12345678, PDU: advInd})
	s.RunFor(1000)
	require.Len(t, r.got, 2, "the filter applies to advertising channels only")
}

// TestRadioNeverHearsItself: ports of one radio (a controller's
// advertising and scanning ports) do not receive each other's packets;
// other devices still do.
func TestRadioNeverHearsItself(t *testing.T) {
	s, m := newWorld(1)
	dev := NewRadio()
	r1, r2 := &rec{s: s}, &rec{s: s}
	adv := m.AttachRadio(dev, Position{}, 0, r1)
	scan := m.AttachRadio(dev, Position{}, 0, r2)
	other, got := attach(s, m, "other", 1)
	scan.Listen(37, aa)
	other.Listen(37, aa)
	adv.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{0, 6, 1, 2, 3, 4, 5, 6}})
	s.RunFor(1000)
	assert.Empty(t, r2.got, "the device's own scanner heard its advertising")
	assert.Len(t, got.got, 1)
}
