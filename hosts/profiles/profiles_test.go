package profiles_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/internal/fakectl"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

type world struct {
	s   *sim.Scheduler
	w   *fakectl.World
	log *zap.Logger
}

func newWorld(t testing.TB, log *zap.Logger) *world {
	s := sim.New(42)
	return &world{s: s, w: fakectl.NewWorld(s), log: log}
}

var (
	periphAddr  = hci.BDAddr{0x01, 0x00, 0x00, 0x00, 0x5E, 0x00}
	centralAddr = hci.BDAddr{0x02, 0x00, 0x00, 0x00, 0x5E, 0x00}
)

func (w *world) ctl(addr hci.BDAddr) *fakectl.Controller {
	return w.w.NewController(addr, fakectl.Options{ACLLen: 27, ACLNum: 4})
}

func (w *world) central(t testing.TB, cfg profiles.CentralConfig) (*profiles.Central, *fakectl.Controller, *[]profiles.Event) {
	ctl := w.ctl(centralAddr)
	c, err := profiles.NewCentral(w.log.Named("central"), w.s, ctl.Send, cfg)
	require.NoError(t, err)
	ctl.Attach(c.Receive)
	var evs []profiles.Event
	c.OnEvent = func(e profiles.Event) { evs = append(evs, e) }
	c.Start()
	return c, ctl, &evs
}

func oximeter(t testing.TB, w *world, cfg profiles.OximeterConfig) (*profiles.Oximeter, *fakectl.Controller, *[]profiles.Event) {
	ctl := w.ctl(periphAddr)
	o, err := profiles.NewOximeter(w.log.Named("oximeter"), w.s, ctl.Send, cfg)
	require.NoError(t, err)
	ctl.Attach(o.Receive)
	var evs []profiles.Event
	o.OnEvent = func(e profiles.Event) { evs = append(evs, e) }
	o.Start()
	return o, ctl, &evs
}

func count[T profiles.Event](evs []profiles.Event) (n int, last T) {
	for _, e := range evs {
		if v, ok := e.(T); ok {
			n++
			last = v
		}
	}
	return
}

// The make-run demo: a central discovers, connects to and reads an
// oximeter, subscribes to its measurements, and disconnects.
func TestCentralReadsOximeter(t *testing.T) {
	w := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	o, octl, oevs := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true, TxPower: -4}})
	c, cctl, cevs := w.central(t, profiles.CentralConfig{
		Target:    "blesim Oximeter",
		Read:      []att.UUID{profiles.UUIDPLXFeatures, profiles.UUIDManufacturerName, profiles.UUIDBatteryLevel},
		Subscribe: []att.UUID{profiles.UUIDPLXContinuous, profiles.UUIDPLXSpotCheck},
		Hold:      12 * time.Second,
	})
	w.s.RunFor(20 * sim.Second)
	for _, e := range *cevs {
		if err, ok := e.(profiles.Error); ok {
			t.Errorf("central error: %v", err)
		}
	}

	// Advertising data: flags, name, 16-bit UUIDs, TX power.
	ads, err := profiles.ParseAD(octl.AdvData())
	require.NoError(t, err)
	assert.Equal(t, []profiles.AD{
		{Type: profiles.ADFlags, Data: []byte{0x06}},
		{Type: profiles.ADCompleteName, Data: []byte("blesim Oximeter")},
		{Type: profiles.ADComplete16, Data: []byte{0x22, 0x18, 0x0F, 0x18, 0x0A, 0x18}},
		{Type: profiles.ADTxPower, Data: []byte{0xFC}},
	}, ads)
	sr, err := profiles.ParseAD(octl.ScanRspData())
	require.NoError(t, err)
	assert.Equal(t, profiles.AD{Type: profiles.ADAppearance, Data: []byte{0x41, 0x0C}}, sr[0])

	evs := *cevs
	require.IsType(t, profiles.Ready{}, evs[0])
	assert.Equal(t, profiles.Discovered{Name: "blesim Oximeter", Addr: periphAddr, RSSI: -50}, evs[1])
	require.IsType(t, profiles.Connected{}, evs[2])
	assert.Equal(t, periphAddr, evs[2].(profiles.Connected).PeerAddr)
	assert.Equal(t, profiles.MTUExchanged{MTU: 247}, evs[3])
	sd := evs[4].(profiles.ServicesDiscovered)
	var uuids []string
	for _, s := range sd.Services {
		uuids = append(uuids, s.UUID.String())
	}
	assert.Equal(t, []string{"1800", "1801", "1822", "180F", "180A"}, uuids)
	assert.Equal(t, profiles.Read{UUID: profiles.UUIDPLXFeatures, Handle: o.Features.ValueHandle, Value: []byte{0, 0}}, evs[5])
	assert.Equal(t, []byte("blesim"), evs[6].(profiles.Read).Value)
	assert.Equal(t, []byte{100}, evs[7].(profiles.Read).Value)
	assert.Equal(t, profiles.Subscribed{UUID: profiles.UUIDPLXContinuous, CCCD: 1}, evs[8])
	assert.Equal(t, profiles.Subscribed{UUID: profiles.UUIDPLXSpotCheck, CCCD: 2}, evs[9])
	assert.Equal(t, profiles.ProceduresDone{}, evs[10])

	var cont, spot int
	for _, e := range evs {
		if n, ok := e.(profiles.Notification); ok {
			spo2, pr, ok := profiles.DecodePLX(n.Value)
			require.True(t, ok)
			assert.InDelta(t, 97, spo2, 1.01)
			assert.InDelta(t, 72, pr, 2.01)
			if n.Indication {
				spot++
				assert.Equal(t, profiles.UUIDPLXSpotCheck, n.UUID)
			} else {
				cont++
				assert.Equal(t, profiles.UUIDPLXContinuous, n.UUID)
			}
		}
	}
	assert.InDelta(t, 12, cont, 1, "one continuous measurement a second while subscribed")
	assert.InDelta(t, 2, spot, 1, "one spot-check every 5 s")
	n, d := count[profiles.Disconnected](evs)
	assert.Equal(t, 1, n)
	assert.Equal(t, hci.StatusLocalHostTerminated, d.Reason)
	_, pd := count[profiles.Disconnected](*oevs)
	assert.Equal(t, hci.StatusRemoteUserTerminated, pd.Reason)
	n, _ = count[profiles.Subscribed](*oevs)
	assert.Equal(t, 2, n)
	assert.Nil(t, c.Conn)
	// The oximeter advertises again.
	assert.True(t, octl.Advertising())
	assert.Empty(t, octl.Violations)
	assert.Empty(t, cctl.Violations)
}

func TestDeterministic(t *testing.T) {
	run := func() string {
		w := newWorld(t, zap.NewNop())
		oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true}})
		_, _, evs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter", Subscribe: []att.UUID{profiles.UUIDPLXContinuous}, Hold: 5 * time.Second})
		w.s.RunFor(10 * sim.Second)
		var out []string
		for _, e := range *evs {
			if sd, ok := e.(profiles.ServicesDiscovered); ok {
				for _, s := range sd.Services {
					out = append(out, fmt.Sprintf("svc %s %d-%d", s.UUID, s.Start, s.End))
				}
				continue
			}
			out = append(out, fmt.Sprintf("%T%+v", e, e))
		}
		return strings.Join(out, "\n")
	}
	a, b := run(), run()
	assert.Equal(t, a, b)
	assert.Contains(t, a, "profiles.Notification")
}

func TestRandomAddressAndHeartRate(t *testing.T) {
	w := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	static := hci.BDAddr{0x11, 0x22, 0x33, 0x44, 0x55, 0xC6}
	ctl := w.ctl(periphAddr)
	h, err := profiles.NewHeartRate(w.log, w.s, ctl.Send, profiles.HeartRateConfig{
		PeripheralConfig: profiles.PeripheralConfig{Name: "HRM", AddressType: hci.AddrRandom, Address: static, Connectable: true, AdvInterval: 50 * time.Millisecond},
	})
	require.NoError(t, err)
	ctl.Attach(h.Receive)
	h.Start()
	c, _, evs := w.central(t, profiles.CentralConfig{
		Name: "C", AddressType: hci.AddrRandom, Address: hci.BDAddr{1, 2, 3, 4, 5, 0xC0},
		Target: "HRM", Read: []att.UUID{profiles.UUIDBodySensorLocation}, Subscribe: []att.UUID{profiles.UUIDHeartRateMeasure},
	})
	w.s.RunFor(5 * sim.Second)
	assert.Equal(t, static, ctl.RandomAddr())
	assert.Equal(t, []byte{0x20 * 5 / 2, 0, 0x20 * 5 / 2, 0, 0x00, 0x01}, ctl.Params[hci.OpLESetAdvertisingParameters][:6])
	_, d := count[profiles.Discovered](*evs)
	assert.Equal(t, profiles.Discovered{Name: "HRM", AddrType: hci.AddrRandom, Addr: static, RSSI: -50}, d)
	_, conn := count[profiles.Connected](*evs)
	assert.Equal(t, hci.AddrRandom, conn.PeerAddrType)
	_, r := count[profiles.Read](*evs)
	assert.Equal(t, []byte{0x01}, r.Value)
	n, last := count[profiles.Notification](*evs)
	assert.GreaterOrEqual(t, n, 3)
	require.Len(t, last.Value, 2)
	assert.Equal(t, byte(0x06), last.Value[0])
	assert.InDelta(t, 70, int(last.Value[1]), 3)
	require.NotNil(t, c.Conn)
	// Still connected: no Hold.
	h.SetBattery(50)
	w.s.RunFor(sim.Second)
	assert.Equal(t, []byte{50}, h.Battery.Value)
}

func TestGenericNotifyPeriodAndNonConnectable(t *testing.T) {
	w := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	custom := att.MustParseUUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")
	props, err := profiles.ParseProps([]string{"read", "notify"})
	require.NoError(t, err)
	cfg := profiles.GenericConfig{
		PeripheralConfig: profiles.PeripheralConfig{Name: "Thing", Connectable: true, BatteryLevel: 80},
		Services: []profiles.ServiceConfig{{UUID: custom, Characteristics: []profiles.CharacteristicConfig{
			{UUID: att.MustParseUUID("6e400002-b5a3-f393-e0a9-e50e24dcca9e"), Props: props, Value: []byte{7, 0}, NotifyPeriod: 500 * time.Millisecond},
			{UUID: att.UUID16(0xFFF1), Props: gatt.PropRead | gatt.PropWrite, Value: []byte("x")},
		}}},
	}
	ctl := w.ctl(periphAddr)
	g, err := profiles.NewGeneric(w.log, w.s, ctl.Send, cfg)
	require.NoError(t, err)
	ctl.Attach(g.Receive)
	g.Start()
	_, _, evs := w.central(t, profiles.CentralConfig{Target: "Thing", Subscribe: []att.UUID{g.Chars[0].UUID}, Read: []att.UUID{profiles.UUIDBatteryLevel}})
	w.s.RunFor(3 * sim.Second)
	var vals [][]byte
	for _, e := range *evs {
		if n, ok := e.(profiles.Notification); ok {
			vals = append(vals, n.Value)
		}
	}
	require.GreaterOrEqual(t, len(vals), 3)
	for i := 1; i < len(vals); i++ {
		assert.Equal(t, vals[i-1][1]+1, vals[i][1])
		assert.Equal(t, byte(7), vals[i][0])
	}
	sr, _ := profiles.ParseAD(ctl.ScanRspData())
	assert.Equal(t, profiles.AD{Type: profiles.ADComplete128, Data: custom[:]}, sr[1])
	_, r := count[profiles.Read](*evs)
	assert.Equal(t, []byte{80}, r.Value)

	// A non-connectable peripheral is discovered but never connected.
	w2 := newWorld(t, zap.NewNop())
	cfg.Connectable = false
	ctl2 := w2.ctl(periphAddr)
	g2, err := profiles.NewGeneric(w2.log, w2.s, ctl2.Send, cfg)
	require.NoError(t, err)
	ctl2.Attach(g2.Receive)
	g2.Start()
	_, _, evs2 := w2.central(t, profiles.CentralConfig{Target: "Thing"})
	w2.s.RunFor(2 * sim.Second)
	n, d := count[profiles.Discovered](*evs2)
	assert.Equal(t, 1, n)
	assert.Equal(t, "Thing", d.Name)
	n, _ = count[profiles.Connected](*evs2)
	assert.Equal(t, 0, n)
	assert.Equal(t, uint8(0x03), ctl2.Params[hci.OpLESetAdvertisingParameters][4])
}

func TestConfigErrors(t *testing.T) {
	s := sim.New(1)
	send := func([]byte) {}
	_, err := profiles.NewPeripheral(zap.NewNop(), s, send, profiles.PeripheralConfig{AddressType: hci.AddrRandom, Address: hci.BDAddr{1}})
	assert.ErrorContains(t, err, "static random")
	_, err = profiles.NewCentral(zap.NewNop(), s, send, profiles.CentralConfig{MTU: 5})
	assert.Error(t, err)
	_, err = profiles.NewGeneric(zap.NewNop(), s, send, profiles.GenericConfig{Services: []profiles.ServiceConfig{{}}})
	assert.Error(t, err)
	_, err = profiles.NewGeneric(zap.NewNop(), s, send, profiles.GenericConfig{Services: []profiles.ServiceConfig{{UUID: att.UUID16(1),
		Characteristics: []profiles.CharacteristicConfig{{UUID: att.UUID16(2), Props: gatt.PropRead, NotifyPeriod: time.Second}}}}})
	assert.ErrorContains(t, err, "notify period")
	_, err = profiles.ParseProps([]string{"fly"})
	assert.Error(t, err)
}

func TestConnectFailureAndTimeout(t *testing.T) {
	w := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	// The controller refuses LE Create Connection once.
	c, cctl, evs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter", ConnectTimeout: 2 * time.Second})
	refused := false
	cctl.OnCommand = func(cmd hci.Command) bool {
		if cmd.Opcode() == hci.OpLECreateConnection && !refused {
			refused = true
			cctl.Status(cmd.Opcode(), hci.StatusCommandDisallowed)
			return true
		}
		return false
	}
	_, octl, _ := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true}})
	w.s.RunFor(5 * sim.Second)
	n, e := count[profiles.Error](*evs)
	assert.Equal(t, 1, n)
	assert.Equal(t, "create connection", e.Step)
	n, _ = count[profiles.Connected](*evs)
	assert.Equal(t, 1, n, "retried after scanning again")
	require.NotNil(t, c.Conn)
	_ = octl

	// Connect timeout: the target stops advertising before the attempt.
	w2 := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	o2, octl2, _ := oximeter(t, w2, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true}})
	_, cctl2, evs2 := w2.central(t, profiles.CentralConfig{Target: "blesim Oximeter", ConnectTimeout: time.Second})
	cctl2.OnCommand = func(cmd hci.Command) bool {
		if cmd.Opcode() == hci.OpLECreateConnection {
			o2.Stop()
		}
		return false
	}
	w2.s.RunFor(3 * sim.Second)
	assert.Contains(t, cctl2.Commands, hci.OpLECreateConnectionCancel)
	_, e = count[profiles.Error](*evs2)
	assert.Equal(t, "connect", e.Step)
	assert.ErrorIs(t, e.Err, hci.StatusUnknownConnectionID)
	assert.False(t, octl2.Advertising())
}

func TestLinkLossReadvertises(t *testing.T) {
	w := newWorld(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	_, octl, oevs := oximeter(t, w, profiles.OximeterConfig{PeripheralConfig: profiles.PeripheralConfig{Connectable: true}})
	_, _, cevs := w.central(t, profiles.CentralConfig{Target: "blesim Oximeter"})
	w.s.RunFor(2 * sim.Second)
	require.False(t, octl.Advertising())
	octl.Disconnect(hci.StatusConnectionTimeout)
	w.s.RunFor(sim.Second)
	_, d := count[profiles.Disconnected](*cevs)
	assert.Equal(t, hci.StatusConnectionTimeout, d.Reason)
	n, _ := count[profiles.Disconnected](*oevs)
	assert.Equal(t, 1, n)
	assert.True(t, octl.Advertising())
}

func TestSFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want uint16
	}{
		{97, 0x0061}, {72, 0x0048}, {97.5, 0xF3CF}, {0, 0}, {-1, 0x0FFF}, {2045, 0x07FD}, {20440, 0x17FC},
		{math.NaN(), profiles.SFloatNaN}, {math.Inf(1), profiles.SFloatPInf}, {1e12, profiles.SFloatPInf},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, profiles.EncodeSFloat(tt.in), "%v", tt.in)
		if !math.IsNaN(tt.in) && tt.in < 1e10 {
			assert.InDelta(t, tt.in, profiles.DecodeSFloat(tt.want), math.Abs(tt.in)/100+0.01)
		}
	}
}

func TestAdvData(t *testing.T) {
	long := strings.Repeat("N", 40)
	ad := profiles.BuildAdvData(long, []att.UUID{att.UUID16(0x180D)}, 0)
	assert.LessOrEqual(t, len(ad), 31)
	name, ok := profiles.LocalName(ad)
	assert.True(t, ok)
	assert.Equal(t, strings.Repeat("N", 26), name)
	ads, _ := profiles.ParseAD(ad)
	assert.Equal(t, profiles.ADShortName, ads[1].Type)
	_, err := profiles.ParseAD([]byte{5, 9, 'a'})
	assert.Error(t, err)
	ads, err = profiles.ParseAD([]byte{2, 1, 6, 0, 0, 0})
	assert.NoError(t, err)
	assert.Len(t, ads, 1)
	_, ok = profiles.LocalName([]byte{2, 1, 6})
	assert.False(t, ok)
	var _ hcihost.Role = hcihost.RoleCentral
}
