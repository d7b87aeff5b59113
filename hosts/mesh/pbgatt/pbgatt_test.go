package pbgatt

import (
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/internal/fakectl"
	"blesim/hosts/internal/testrig"
	"blesim/hosts/l2cap"
	"blesim/hosts/mesh/internal/vectors"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

func hx(b []byte) string { return hex.EncodeToString(b) }

// TestSAR88 checks proxy PDU segmentation against the PB-GATT SAR sample
// (Mesh Protocol v1.1 §8.8: a Provisioning Public Key over ATT_MTU 23) and
// reassembles it.
func TestSAR88(t *testing.T) {
	var v vectors.Provisioning
	vectors.Load(t, "mesh_provisioning.json", &v)
	pdu := vectors.Hex(t, v.GATT.ProvisioningPDU)
	segs, err := Segment(MessageProvisioning, pdu, v.GATT.MTU-3)
	require.NoError(t, err)
	var got []string
	for _, s := range segs {
		got = append(got, hx(s))
	}
	require.Equal(t, v.GATT.Values, got)

	var msgs [][]byte
	r := NewReassembler(nil, func(typ uint8, m []byte) {
		require.Equal(t, uint8(MessageProvisioning), typ)
		msgs = append(msgs, m)
	}, func(err error) { t.Fatal(err) })
	for _, s := range segs {
		r.Receive(s)
	}
	r.Receive([]byte{0x03, 0x08}) // a Complete one after it
	require.Equal(t, [][]byte{pdu, {0x08}}, msgs)
}

// TestSARViolations: every SAR violation, and the 20 s SAR timeout, is an
// error (the connection is then closed).
func TestSARViolations(t *testing.T) {
	for _, tc := range []struct {
		name string
		pdus []string
	}{
		{"Continuation without First", []string{"8301"}},
		{"Last without First", []string{"c301"}},
		{"Complete inside a message", []string{"4301", "0301"}},
		{"First inside a message", []string{"4301", "4301"}},
		{"message type changes", []string{"4301", "8201"}},
		{"empty Proxy PDU", []string{"03"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			r := NewReassembler(nil, func(uint8, []byte) {}, func(err error) { errs = append(errs, err) })
			for _, p := range tc.pdus {
				b, _ := hex.DecodeString(p)
				r.Receive(b)
			}
			require.Len(t, errs, 1)
		})
	}
	sched := sim.New(1)
	var errs []error
	r := NewReassembler(sched, func(uint8, []byte) {}, func(err error) { errs = append(errs, err) })
	r.Receive([]byte{0x43, 1})
	sched.RunFor(SARTimeout - sim.Millisecond)
	require.Empty(t, errs)
	sched.RunFor(sim.Millisecond)
	require.Len(t, errs, 1, "SAR timeout")
	long := make([]byte, MaxMessageLen+1)
	_, err := Segment(3, long, 20)
	require.Error(t, err)
	_, err = Segment(3, []byte{1}, 1)
	require.Error(t, err)
}

// TestAdvData checks the PB-GATT advertising data against §8.5.1 (with the
// OOB Information big-endian; see mesh_samples.json) and parses it back.
func TestAdvData(t *testing.T) {
	uuid := vectors.Hex16(t, "70cf7c9732a345b691494810d2e9cbf4")
	ad, err := AdvData(uuid, 0x4020)
	require.NoError(t, err)
	require.Equal(t, "020106"+"03032718"+"1516271870cf7c9732a345b691494810d2e9cbf4"+"4020", hx(ad))
	u, oob, ok := ParseAdvData(ad)
	require.True(t, ok)
	require.Equal(t, uuid, u)
	require.Equal(t, uint16(0x4020), oob)
	_, _, ok = ParseAdvData([]byte{2, 1, 6})
	require.False(t, ok)
}

func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

// gattBed connects a provisioner (GATT client, central) to a device (the
// Mesh Provisioning Service, peripheral) on fake controllers.
type gattBed struct {
	*testrig.Pair
	srv        *Server
	client     *gatt.Client
	cconn      *l2cap.Conn
	devResult  *prov.Result
	provResult *prov.Result
}

func newGattBed(t *testing.T, log *zap.Logger) *gattBed {
	b := &gattBed{Pair: testrig.New(t, log, fakectl.Options{ACLLen: 27, ACLNum: 3})}
	b.srv = NewServer(log.Named("pb-gatt"), b.Sched)
	gs := gatt.NewServer(log, gatt.MustDB(gatt.GAPService("mesh device", 0), gatt.GATTService(), b.srv.Service))
	b.OnConnect = func(c *l2cap.Conn) {
		if c.Role == hcihost.RolePeripheral {
			gs.Attach(gatt.NewBearer(log, c), c)
			return
		}
		b.cconn = c
		b.client = gatt.NewClient(log, gatt.NewBearer(log, c))
	}
	b.Connect(t)
	return b
}

// provision runs one provisioning over the GATT connection.
func (b *gattBed) provision(t *testing.T, dcfg prov.DeviceConfig, pcfg prov.ProvisionerConfig, target prov.Target) {
	dcfg.Done = func(r prov.Result) { b.devResult = &r }
	target.Done = func(r prov.Result) { b.provResult = &r }
	d, err := prov.NewDevice(dcfg)
	require.NoError(t, err)
	p, err := prov.NewProvisioner(pcfg)
	require.NoError(t, err)
	b.srv.OnLink = func(l *ServerLink) Handler { return d.Open(l) }
	DialClient(zap.NewNop(), b.Sched, b.client, b.cconn, func(l *ClientLink, err error) {
		require.NoError(t, err)
		l.SetHandler(p.Open(l, target))
	})
	b.Sched.RunWhile(b.Sched.Now().Add(60*sim.Second), func() bool { return b.provResult == nil || b.devResult == nil })
	require.NotNil(t, b.provResult)
	require.NotNil(t, b.devResult)
}

// TestRoutesOverGATT provisions over PB-GATT on every route, A1/A2 ×
// B1..B4, with both algorithms (the device and the provisioner on real
// built-in hosts over fake controllers: ATT MTU 23, so the public keys
// take 4 segments each way); the provisioner then closes the link by
// disconnecting.
func TestRoutesOverGATT(t *testing.T) {
	for _, alg := range []prov.Algorithm{prov.AlgorithmCMAC, prov.AlgorithmHMAC} {
		for _, a2 := range []bool{false, true} {
			for m := prov.NoOOB; m <= prov.InputOOB; m++ {
				st := prov.Start{Algorithm: alg, PublicKeyOOB: a2, Method: m}
				if m == prov.OutputOOB {
					st.Action, st.Size = uint8(prov.ActionOutputNumeric), 6
				}
				if m == prov.InputOOB {
					st.Action, st.Size = uint8(prov.ActionInputAlphanumeric), 4
				}
				t.Run(fmt.Sprintf("%s/%s", st.Route(), alg), func(t *testing.T) {
					log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
					b := newGattBed(t, log)
					var shown *prov.OOBValue
					var enter func(prov.OOBValue)
					try := func() {
						if shown != nil && enter != nil {
							e := enter
							enter = nil
							e(*shown)
						}
					}
					dcfg := prov.DeviceConfig{Rand: seeded(1), Sched: b.Sched, StaticOOB: []byte("static"),
						OutputSize: 8, OutputActions: prov.OutputNumeric, InputSize: 8, InputActions: prov.InputAlphanumeric,
						Output: func(_ prov.OutputAction, v prov.OOBValue) { shown = &v; try() },
						Input:  func(_ prov.InputAction, _ uint8, e func(prov.OOBValue)) { enter = e; try() }}
					target := prov.Target{Start: &st, StaticOOB: []byte("static"),
						Prompt: func(_ prov.OutputAction, _ uint8, e func(prov.OOBValue)) { enter = e; try() },
						Show:   func(_ prov.InputAction, v prov.OOBValue) { shown = &v; try() },
						Data:   func(uint8) (prov.Data, error) { return prov.Data{Address: 0x0100, IVIndex: 7}, nil }}
					if a2 {
						k, err := prov.NewKey(seeded(9))
						require.NoError(t, err)
						dcfg.OOBKey = k
						target.DevicePublicKey = prov.PublicKeyBytes(k.PublicKey())
					}
					b.provision(t, dcfg, prov.ProvisionerConfig{Rand: seeded(2), Sched: b.Sched}, target)
					require.NoError(t, b.devResult.Err)
					require.NoError(t, b.provResult.Err)
					require.Equal(t, b.devResult.DevKey, b.provResult.DevKey)
					require.Equal(t, uint16(0x0100), b.devResult.Data.Address)
					b.Run(100 * sim.Millisecond)
					require.True(t, b.cconn.Closed(), "closing the link disconnects")
					require.NotEmpty(t, b.CClosed)
					b.NoViolations(t)
				})
			}
		}
	}
}

// TestDeviceFailureOverGATT: a device failure is reported in Provisioning
// Failed over Data Out and the provisioner disconnects.
func TestDeviceFailureOverGATT(t *testing.T) {
	b := newGattBed(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	b.provision(t, prov.DeviceConfig{Rand: seeded(1), Accept: func(prov.Result) error {
		return &prov.Error{Code: prov.OutOfResources, Msg: "full"}
	}}, prov.ProvisionerConfig{Rand: seeded(2)},
		prov.Target{Data: func(uint8) (prov.Data, error) { return prov.Data{Address: 1}, nil }})
	require.Equal(t, prov.OutOfResources, prov.CodeOf(b.devResult.Err))
	require.Equal(t, prov.OutOfResources, prov.CodeOf(b.provResult.Err))
	require.True(t, b.provResult.Remote)
	b.Run(100 * sim.Millisecond)
	require.True(t, b.cconn.Closed())
}

// FuzzReassembler: any Proxy PDU sequence (split on 0xff) never panics and
// reassembled messages are never longer than the bound.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0x43, 1, 2, 0xff, 0x83, 3, 0xff, 0xc3, 4})
	f.Add([]byte{0x03, 8})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReassembler(nil, func(_ uint8, m []byte) {
			require.LessOrEqual(t, len(m), MaxMessageLen)
		}, func(error) {})
		start := 0
		for i, c := range stream {
			if c == 0xff {
				r.Receive(stream[start:i])
				start = i + 1
			}
		}
		r.Receive(stream[start:])
	})
}

// TestSARErrorDisconnects: a Data In write that breaks the proxy SAR rules
// makes the device disconnect and its session see the link close.
func TestSARErrorDisconnects(t *testing.T) {
	b := newGattBed(t, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	d, err := prov.NewDevice(prov.DeviceConfig{Rand: seeded(1), Done: func(r prov.Result) { b.devResult = &r }})
	require.NoError(t, err)
	b.srv.OnLink = func(l *ServerLink) Handler { return d.Open(l) }
	var link *ClientLink
	DialClient(zap.NewNop(), b.Sched, b.client, b.cconn, func(l *ClientLink, err error) {
		require.NoError(t, err)
		link = l
	})
	b.Run(sim.Second)
	require.NotNil(t, link)
	require.False(t, b.cconn.Closed())
	b.client.WriteCommand(link.dataIn.ValueHandle, []byte{0x83, 0x00}) // Continuation without First
	b.Run(sim.Second)
	require.True(t, b.cconn.Closed())
	require.NotNil(t, b.devResult)
	var ce *prov.ClosedError
	require.ErrorAs(t, b.devResult.Err, &ce)
}
