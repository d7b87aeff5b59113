package l2cap_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/internal/fakectl"
	"blesim/hosts/internal/testrig"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

func pair(t testing.TB, log *zap.Logger) *testrig.Pair {
	p := testrig.New(t, log, fakectl.Options{})
	p.Connect(t)
	return p
}

// capture replaces c's handler on cid and collects what arrives.
func capture(c *l2cap.Conn, cid uint16) *[][]byte {
	var got [][]byte
	c.SetHandler(cid, func(b []byte) { got = append(got, append([]byte(nil), b...)) })
	return &got
}

// L2CAP/LE/CPU/BV-01-C: the peripheral requests new connection parameters,
// the central accepts and updates the connection.
func TestL2CAP_LE_CPU_BV_01_C(t *testing.T) {
	p := pair(t, zaptest.NewLogger(t))
	var accepted bool
	var err error = l2cap.ErrTimeout
	var updated int
	p.PConn.OnParamsUpdated = func() { updated++ }
	want := l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Latency: 0, Timeout: 500}
	p.PConn.RequestParamUpdate(want, func(a bool, e error) { accepted, err = a, e })
	p.Run(sim.Second)
	require.NoError(t, err)
	assert.True(t, accepted)
	assert.Equal(t, hci.OpLEConnectionUpdate, p.CCtl.Commands[len(p.CCtl.Commands)-1])
	assert.Equal(t, uint16(56), p.PConn.Interval)
	assert.Equal(t, uint16(500), p.CConn.Timeout)
	assert.Equal(t, 1, updated)
	p.NoViolations(t)
}

// L2CAP/LE/CPU/BV-02-C: the central rejects unacceptable parameters, and
// does not update the connection.
func TestL2CAP_LE_CPU_BV_02_C(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params l2cap.ConnParams
		policy func(l2cap.ConnParams) bool
	}{
		{"host policy", l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}, func(l2cap.ConnParams) bool { return false }},
		{"timeout too short", l2cap.ConnParams{IntervalMin: 400, IntervalMax: 800, Latency: 4, Timeout: 100}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pair(t, zaptest.NewLogger(t))
			p.CConn.OnParamUpdateRequest = tc.policy
			got := capture(p.PConn, l2cap.CIDSignaling)
			require.NoError(t, p.PConn.Send(l2cap.CIDSignaling, l2cap.Signal{Code: l2cap.SigConnParamUpdateReq, Ident: 7, Data: tc.params.Marshal()}.Marshal()))
			p.Run(sim.Second)
			assert.Equal(t, [][]byte{{0x13, 7, 2, 0, 1, 0}}, *got)
			assert.NotContains(t, p.CCtl.Commands, hci.OpLEConnectionUpdate)
		})
	}
}

func TestRequestParamUpdateErrors(t *testing.T) {
	p := pair(t, zaptest.NewLogger(t))
	var errs []error
	p.CConn.RequestParamUpdate(l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}, func(_ bool, e error) { errs = append(errs, e) })
	p.PConn.RequestParamUpdate(l2cap.ConnParams{IntervalMin: 1, IntervalMax: 56, Timeout: 500}, func(_ bool, e error) { errs = append(errs, e) })
	// The central answers nothing: the request times out after RTX.
	p.CConn.SetHandler(l2cap.CIDSignaling, func([]byte) {})
	p.PConn.RequestParamUpdate(l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}, func(_ bool, e error) { errs = append(errs, e) })
	p.Run(l2cap.RTX + sim.Second)
	require.Len(t, errs, 3)
	assert.ErrorIs(t, errs[0], l2cap.ErrNotAllow)
	assert.ErrorIs(t, errs[1], l2cap.ErrBadParams)
	assert.ErrorIs(t, errs[2], l2cap.ErrTimeout)
}

func TestSignalingRejects(t *testing.T) {
	tests := []struct {
		name string // PTS ID where one fits
		from string // side that sends
		in   []byte
		want [][]byte
	}{
		{"L2CAP/LE/REJ/BI-01-C unknown code", "central", []byte{0x20, 3, 0, 0}, [][]byte{{0x01, 3, 2, 0, 0, 0}}},
		{"L2CAP/LE/CPU/BI-02-C update request to peripheral", "central",
			l2cap.Signal{Code: 0x12, Ident: 4, Data: l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}.Marshal()}.Marshal(),
			[][]byte{{0x01, 4, 2, 0, 0, 0}}},
		{"L2CAP/LE/REJ/BI-02-C credit based connection refused", "central",
			[]byte{0x14, 5, 10, 0, 0x80, 0, 0x40, 0, 23, 0, 23, 0, 1, 0}, [][]byte{{0x15, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0}}},
		{"disconnection request invalid CID", "central", []byte{0x06, 6, 4, 0, 0x40, 0, 0x41, 0},
			[][]byte{{0x01, 6, 6, 0, 2, 0, 0x40, 0, 0x41, 0}}},
		{"length mismatch", "peripheral", []byte{0x12, 8, 9, 0, 1}, [][]byte{{0x01, 8, 2, 0, 0, 0}}},
		{"short update request", "peripheral", []byte{0x12, 8, 2, 0, 1, 0}, [][]byte{{0x01, 8, 2, 0, 0, 0}}},
		{"too short", "peripheral", []byte{0x12, 8}, nil},
		{"identifier zero", "peripheral", []byte{0x20, 0, 0, 0}, nil},
		{"unexpected response", "peripheral", []byte{0x13, 9, 2, 0, 0, 0}, nil},
		{"MTU exceeded", "peripheral", append([]byte{0x20, 10, 20, 0}, make([]byte, 20)...), [][]byte{{0x01, 10, 4, 0, 1, 0, 23, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pair(t, zap.NewNop())
			from := p.CConn
			if tt.from == "peripheral" {
				from = p.PConn
			}
			got := capture(from, l2cap.CIDSignaling)
			require.NoError(t, from.Send(l2cap.CIDSignaling, tt.in))
			p.Run(sim.Second)
			assert.Equal(t, tt.want, *got)
		})
	}
}

// SM/PER/GEN/BI-xx-style: the placeholder SMP refuses pairing.
func TestSMPPlaceholder(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"pairing request", []byte{0x01, 0x03, 0x00, 0x01, 0x10, 0x07, 0x07}, [][]byte{{0x05, 0x05}}},
		{"security request ignored", []byte{0x0B, 0x01}, nil},
		{"reserved code ignored", []byte{0x7F}, nil},
		{"empty", []byte{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pair(t, zap.NewNop())
			got := capture(p.CConn, l2cap.CIDSMP)
			require.NoError(t, p.CConn.Send(l2cap.CIDSMP, tt.in))
			p.Run(sim.Second)
			assert.Equal(t, tt.want, *got)
		})
	}
}

func TestDisconnectClosesConn(t *testing.T) {
	p := pair(t, zaptest.NewLogger(t))
	var err error
	var reason hci.Status
	p.PConn.OnClose(func(r hci.Status) { reason = r })
	p.PConn.RequestParamUpdate(l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}, func(_ bool, e error) { err = e })
	p.CConn.Disconnect(hci.StatusRemoteUserTerminated)
	p.Run(sim.Second)
	assert.ErrorIs(t, err, l2cap.ErrDisconnected)
	assert.Equal(t, hci.StatusRemoteUserTerminated, reason)
	assert.Equal(t, []hci.Status{hci.StatusLocalHostTerminated}, p.CClosed)
	assert.True(t, p.PConn.Closed())
	assert.ErrorIs(t, p.PConn.Send(l2cap.CIDATT, []byte{1}), l2cap.ErrDisconnected)
	assert.Equal(t, 0, p.PMux.Conns())
}

func TestBadFrames(t *testing.T) {
	p := pair(t, zap.NewNop())
	for _, f := range [][]byte{nil, {1}, {5, 0, 4, 0}, {0, 0, 0x99, 0}} {
		p.PConn.Receive(f)
	}
}

// FuzzSignaling feeds arbitrary C-frames to both roles' signalling channel.
func FuzzSignaling(f *testing.F) {
	f.Add([]byte{0x12, 1, 8, 0, 40, 0, 56, 0, 0, 0, 0xf4, 1})
	f.Add([]byte{0x13, 1, 2, 0, 0, 0})
	f.Add([]byte{0x01, 1, 2, 0, 0, 0})
	f.Add([]byte{0x14, 5, 10, 0, 0x80, 0, 0x40, 0, 23, 0, 23, 0, 1, 0})
	f.Add([]byte{0x06, 6, 4, 0, 0x40, 0, 0x41, 0})
	p := pair(f, zap.NewNop())
	p.PConn.RequestParamUpdate(l2cap.ConnParams{IntervalMin: 40, IntervalMax: 56, Timeout: 500}, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []*l2cap.Conn{p.CConn, p.PConn} {
			frame := append([]byte{byte(len(b)), byte(len(b) >> 8), 5, 0}, b...)
			c.Receive(frame)
			c.Receive(append([]byte{byte(len(b)), byte(len(b) >> 8), 6, 0}, b...))
		}
		p.Run(10 * sim.Millisecond)
	})
}

// A connect hook (the Security Manager's) runs before OnConnect and can
// take the SMP channel over from the placeholder; Encryption Change
// updates the link's security and a disabled link loses it.
func TestConnectHookAndSecurity(t *testing.T) {
	p := testrig.New(t, zap.NewNop(), fakectl.Options{})
	var order []string
	var smp [][]byte
	p.PMux.AddConnectHook(func(c *l2cap.Conn) {
		order = append(order, "hook")
		require.NotNil(t, c.Handler(l2cap.CIDSMP), "the placeholder is there")
		c.SetHandler(l2cap.CIDSMP, func(b []byte) { smp = append(smp, b) })
	})
	prev := p.PMux.OnConnect
	p.PMux.OnConnect = func(c *l2cap.Conn) { order = append(order, "OnConnect"); prev(c) }
	p.Connect(t)
	assert.Equal(t, []string{"hook", "OnConnect"}, order)
	require.NoError(t, p.CConn.Send(l2cap.CIDSMP, []byte{0x01, 0x03, 0x00, 0x01, 0x10, 0x07, 0x07}))
	p.Run(sim.Second)
	assert.Len(t, smp, 1, "the hook's handler got the Pairing Request")
	assert.Nil(t, p.PConn.Handler(0x0040))

	p.PConn.Authenticated, p.PConn.KeySize = true, 16
	p.PCtl.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewEvent(hci.EvtEncryptionChange, []byte{0, byte(p.PConn.Handle), byte(p.PConn.Handle >> 8), 1})...))
	p.Run(sim.Millisecond)
	assert.True(t, p.PConn.Encrypted)
	assert.True(t, p.PConn.Authenticated)
	p.PCtl.Inject(append([]byte{byte(hci.EventPacket)}, hci.NewEvent(hci.EvtEncryptionChange, []byte{0, byte(p.PConn.Handle), byte(p.PConn.Handle >> 8), 0})...))
	p.Run(sim.Millisecond)
	assert.False(t, p.PConn.Encrypted)
	assert.False(t, p.PConn.Authenticated)
	assert.Zero(t, p.PConn.KeySize)
}
