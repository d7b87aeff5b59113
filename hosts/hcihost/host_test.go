package hcihost_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/hcihost"
	"blesim/hosts/internal/fakectl"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

type rig struct {
	s    *sim.Scheduler
	w    *fakectl.World
	ctl  *fakectl.Controller
	host *hcihost.Host
	evs  []hcihost.Event
	pdus [][]byte
}

func newRig(t testing.TB, log *zap.Logger, opts fakectl.Options) *rig {
	s := sim.New(1)
	w := fakectl.NewWorld(s)
	r := &rig{s: s, w: w, ctl: w.NewController(hci.BDAddr{1, 2, 3, 4, 5, 6}, opts)}
	r.host = hcihost.New(log, s, r.ctl.Send)
	r.ctl.Attach(r.host.Receive)
	r.host.OnEvent(func(e hcihost.Event) { r.evs = append(r.evs, e) })
	r.host.OnACL(func(h uint16, pdu []byte) { r.pdus = append(r.pdus, pdu) })
	return r
}

func (r *rig) bringup(t testing.TB) {
	var done bool
	r.host.Bringup(func(err error) { require.NoError(t, err); done = true })
	r.s.RunFor(sim.Second)
	require.True(t, done)
}

// connect connects the rig's controller as peripheral to a controller
// without a host; the rig's handle is 0x0042.
func (r *rig) connect() {
	other := r.w.NewController(hci.BDAddr{9, 9, 9, 9, 9, 9}, fakectl.Options{})
	r.w.Connect(other, r.ctl)
	r.s.RunFor(sim.Millisecond)
}

func TestBringup(t *testing.T) {
	for _, numCmd := range []uint8{1, 5} {
		r := newRig(t, zaptest.NewLogger(t), fakectl.Options{ACLLen: 251, ACLNum: 8, NumCmd: numCmd})
		r.bringup(t)
		assert.Equal(t, []hci.Opcode{
			hci.OpReset, hci.OpReadLocalVersion, hci.OpReadBDADDR, hci.OpReadLocalSupportedCommands,
			hci.OpReadLocalSupportedFeatures, hci.OpLEReadLocalSupportedFeatures, hci.OpLEReadBufferSize,
			hci.OpSetEventMask, hci.OpLESetEventMask,
		}, r.ctl.Commands)
		assert.Equal(t, r.ctl.Addr, r.host.Info.Addr)
		assert.Equal(t, 251, r.host.Info.ACLDataLen)
		assert.Equal(t, 8, r.host.ACLBuffersFree())
		assert.Equal(t, uint8(0x0D), r.host.Info.HCIVersion)
		assert.Empty(t, r.ctl.Violations)
	}
}

func TestCommandQueueHonoursCredits(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), fakectl.Options{})
	var got []hci.Opcode
	for i := 0; i < 10; i++ {
		r.host.Command(hci.OpReadBDADDR, nil, func(ret []byte, err error) {
			require.NoError(t, err)
			assert.Len(t, ret, 6)
			got = append(got, hci.OpReadBDADDR)
		})
	}
	r.host.Command(0xFC99, nil, func(ret []byte, err error) {
		assert.ErrorIs(t, err, hci.StatusUnknownCommand)
		got = append(got, 0xFC99)
	})
	r.s.RunFor(sim.Second)
	assert.Len(t, got, 11)
	assert.Empty(t, r.ctl.Violations)
}

func TestCommandStatusAndTimeout(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), fakectl.Options{})
	var st error = hci.StatusSuccess
	r.host.Disconnect(0x99, hci.StatusRemoteUserTerminated, func(ret []byte, err error) { st = err })
	r.s.RunFor(sim.Second)
	assert.ErrorIs(t, st, hci.StatusUnknownConnectionID)

	r = newRig(t, zap.NewNop(), fakectl.Options{Silent: true})
	var errs []error
	r.host.Command(hci.OpReset, nil, func(_ []byte, err error) { errs = append(errs, err) })
	r.host.Command(hci.OpReset, nil, func(_ []byte, err error) { errs = append(errs, err) })
	r.s.RunFor(5 * sim.Second)
	require.Len(t, errs, 2)
	assert.ErrorIs(t, errs[0], hcihost.ErrCommandTimeout)
	assert.ErrorIs(t, errs[1], hcihost.ErrCommandTimeout)
}

func l2capPDU(cid uint16, n int) []byte {
	w := &hci.Writer{}
	w.U16(uint16(n)).U16(cid)
	for i := 0; i < n; i++ {
		w.U8(byte(i))
	}
	return w.B
}

func TestFragmentationAndFlowControl(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), fakectl.Options{ACLLen: 27, ACLNum: 2})
	r.bringup(t)
	assert.ErrorIs(t, r.host.SendACL(0x42, l2capPDU(4, 10)), hcihost.ErrNotConnected)
	r.connect()
	r.ctl.HoldCompleted = true
	pdu := l2capPDU(4, 100) // 104 bytes: 27+27+27+23
	require.NoError(t, r.host.SendACL(0x42, pdu))
	assert.ErrorIs(t, r.host.SendACL(0x42, []byte{1, 0, 4}), hcihost.ErrMalformedPDU)
	r.s.RunFor(10 * sim.Millisecond)
	require.Len(t, r.ctl.ACLFromHost, 2, "only as many packets as buffers")
	assert.Equal(t, 2, r.host.ACLQueued())
	r.ctl.Release()
	r.s.RunFor(10 * sim.Millisecond)
	r.ctl.Release()
	r.s.RunFor(10 * sim.Millisecond)
	require.Len(t, r.ctl.ACLFromHost, 4)
	var joined []byte
	for i, p := range r.ctl.ACLFromHost {
		a := hci.ACL(p)
		if i == 0 {
			assert.Equal(t, hci.PBFirstNonFlushable, a.PB())
		} else {
			assert.Equal(t, hci.PBContinuing, a.PB())
		}
		joined = append(joined, a.Data()...)
	}
	assert.Equal(t, pdu, joined)
	assert.Empty(t, r.ctl.Violations)
	r.ctl.Release()
	r.s.RunFor(10 * sim.Millisecond)
	assert.Equal(t, 2, r.host.ACLBuffersFree())
}

func TestDisconnectionReturnsCredits(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), fakectl.Options{ACLLen: 27, ACLNum: 2})
	r.bringup(t)
	r.connect()
	r.ctl.HoldCompleted = true
	require.NoError(t, r.host.SendACL(0x42, l2capPDU(4, 100)))
	r.s.RunFor(10 * sim.Millisecond)
	assert.Equal(t, 0, r.host.ACLBuffersFree())
	r.ctl.Inject(append([]byte{4}, hci.NewEvent(hci.EvtDisconnectionComplete, []byte{0, 0x42, 0, 0x13})...))
	r.s.RunFor(10 * sim.Millisecond)
	assert.Equal(t, 2, r.host.ACLBuffersFree())
	assert.Equal(t, 0, r.host.ACLQueued())
	assert.Contains(t, r.evs, hcihost.DisconnectionComplete{Handle: 0x42, Reason: hci.StatusRemoteUserTerminated})
}

func acl(pb uint8, data ...byte) []byte {
	return append([]byte{2}, hci.NewACL(0x42, pb, data)...)
}

func TestReassembly(t *testing.T) {
	full := l2capPDU(4, 5) // 05 00 04 00 00 01 02 03 04
	tests := []struct {
		name string
		in   [][]byte
		want [][]byte
	}{
		{"single", [][]byte{acl(2, full...)}, [][]byte{full}},
		{"first non-flushable tolerated", [][]byte{acl(0, full...)}, [][]byte{full}},
		{"three fragments", [][]byte{acl(2, full[:2]...), acl(1, full[2:6]...), acl(1, full[6:]...)}, [][]byte{full}},
		{"continuing without start", [][]byte{acl(1, full...)}, nil},
		{"restart drops partial", [][]byte{acl(2, full[:6]...), acl(2, full...)}, [][]byte{full}},
		{"too long", [][]byte{acl(2, append(append([]byte{}, full...), 9)...)}, nil},
		{"reserved PB", [][]byte{acl(3, full...)}, nil},
		{"empty first", [][]byte{acl(2), acl(1, full...)}, [][]byte{full}},
		{"bad length field", [][]byte{{2, 0x42, 0x20, 9, 0, 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, zap.NewNop(), fakectl.Options{})
			r.bringup(t)
			r.connect()
			for _, p := range tt.in {
				r.ctl.Inject(p)
			}
			r.s.RunFor(sim.Millisecond)
			assert.Equal(t, tt.want, r.pdus)
		})
	}
}

func TestEventParsing(t *testing.T) {
	adv := (&hci.Writer{}).U8(2).
		U8(0).U8(1).Addr(hci.BDAddr{1, 1, 1, 1, 1, 0xC1}).U8(3).Bytes([]byte{2, 1, 6}).U8(0xC4).
		U8(4).U8(0).Addr(hci.BDAddr{2}).U8(0).U8(0xB0).B
	tests := []struct {
		name string
		pkt  []byte
		want []hcihost.Event
	}{
		{"adv report x2", hci.NewLEMeta(hci.LEAdvertisingReport, adv), []hcihost.Event{
			hcihost.AdvertisingReport{EventType: hcihost.AdvInd, AddrType: hci.AddrRandom, Addr: hci.BDAddr{1, 1, 1, 1, 1, 0xC1}, Data: []byte{2, 1, 6}, RSSI: -60},
			hcihost.AdvertisingReport{EventType: hcihost.ScanRsp, Addr: hci.BDAddr{2}, RSSI: -80},
		}},
		{"conn update", hci.NewLEMeta(hci.LEConnectionUpdateComplete, []byte{0, 0x42, 0, 6, 0, 0, 0, 0x90, 1}),
			[]hcihost.Event{hcihost.ConnectionUpdateComplete{Handle: 0x42, Interval: 6, Timeout: 400}}},
		{"data length", hci.NewLEMeta(hci.LEDataLengthChange, []byte{0x42, 0, 251, 0, 0x48, 8, 251, 0, 0x48, 8}),
			[]hcihost.Event{hcihost.DataLengthChange{Handle: 0x42, MaxTxOctets: 251, MaxTxTime: 2120, MaxRxOctets: 251, MaxRxTime: 2120}}},
		{"ltk request", hci.NewLEMeta(hci.LELongTermKeyRequest, []byte{0x42, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0}),
			[]hcihost.Event{hcihost.LTKRequest{Handle: 0x42, Rand: 1, EDIV: 2}}},
		{"encryption change", hci.NewEvent(hci.EvtEncryptionChange, []byte{0, 0x42, 0, 1}),
			[]hcihost.Event{hcihost.EncryptionChange{Handle: 0x42, Enabled: 1}}},
		{"remote features", hci.NewLEMeta(hci.LEReadRemoteFeaturesComplete, []byte{0, 0x42, 0, 1, 0, 0, 0, 0, 0, 0, 0}),
			[]hcihost.Event{hcihost.RemoteFeaturesComplete{Handle: 0x42, Features: [8]byte{1}}}},
		{"unknown subevent", hci.NewLEMeta(0x33, []byte{7}), []hcihost.Event{hcihost.RawEvent{Code: hci.EvtLEMeta, Subevent: 0x33, Params: []byte{7}}}},
		{"truncated conn complete", hci.NewLEMeta(hci.LEConnectionComplete, []byte{0, 0x42}), nil},
		{"trailing bytes", hci.NewEvent(hci.EvtDisconnectionComplete, []byte{0, 0x42, 0, 0x13, 0}), nil},
		{"zero adv reports", hci.NewLEMeta(hci.LEAdvertisingReport, []byte{0}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, zap.NewNop(), fakectl.Options{})
			r.ctl.Inject(append([]byte{4}, tt.pkt...))
			r.s.RunFor(sim.Millisecond)
			assert.Equal(t, tt.want, r.evs)
		})
	}
}

func TestRemoteConnParamRequestAnswered(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), fakectl.Options{})
	r.ctl.Inject(append([]byte{4}, hci.NewLEMeta(hci.LERemoteConnParamRequest, []byte{0x42, 0, 24, 0, 40, 0, 0, 0, 0x90, 1})...))
	r.ctl.Inject(append([]byte{4}, hci.NewLEMeta(hci.LERemoteConnParamRequest, []byte{0x41, 0, 2, 0, 40, 0, 0, 0, 0x90, 1})...))
	r.s.RunFor(sim.Second)
	assert.Equal(t, []hci.Opcode{hci.OpLERemoteConnParamReqReply, hci.OpLERemoteConnParamReqNegReply}, r.ctl.Commands)
	assert.Equal(t, []byte{0x41, 0, 0x3B}, r.ctl.Params[hci.OpLERemoteConnParamReqNegReply])
}

// FuzzReceive feeds arbitrary H4 packets to a brought-up, connected host.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{4, 0x3e, 3, 2, 1, 0})
	f.Add(acl(2, 5, 0, 4, 0, 1))
	f.Add(append([]byte{4}, hci.NewEvent(hci.EvtNumberOfCompletedPackets, []byte{1, 0x42, 0, 5, 0})...))
	f.Add(append([]byte{4}, hci.NewCommandComplete(1, hci.OpReset, []byte{0})...))
	f.Add(append([]byte{4}, hci.NewCommandStatus(0, 1, hci.OpLECreateConnection)...))
	r := newRig(f, zap.NewNop(), fakectl.Options{})
	r.bringup(f)
	r.connect()
	f.Fuzz(func(t *testing.T, pkt []byte) {
		r.host.Receive(pkt)
		r.host.Receive(append([]byte{4}, pkt...))
		r.host.Receive(append([]byte{4, 0x3e, byte(len(pkt))}, pkt...))
		r.host.Receive(append([]byte{2, 0x42, 0x20, byte(len(pkt)), 0}, pkt...))
	})
}
