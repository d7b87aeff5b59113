package att_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/linklayer/sim"
)

func TestUUID(t *testing.T) {
	hr := att.UUID16(0x180D)
	v, ok := hr.Short()
	assert.True(t, ok)
	assert.Equal(t, uint16(0x180D), v)
	assert.Equal(t, "180D", hr.String())
	assert.Equal(t, "0000180d-0000-1000-8000-00805f9b34fb", hr.Long(), "BlueZ's form of a 16-bit UUID")
	assert.Equal(t, []byte{0x0D, 0x18}, hr.Bytes())
	assert.Equal(t, hr, att.MustParseUUID("0000180d-0000-1000-8000-00805f9b34fb"))
	assert.Equal(t, hr, att.MustParseUUID("0x180d"))
	long := att.MustParseUUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")
	assert.False(t, long.Is16())
	assert.Equal(t, "6e400001-b5a3-f393-e0a9-e50e24dcca9e", long.String())
	assert.Equal(t, long.String(), long.Long())
	assert.Len(t, long.Bytes(), 16)
	assert.Equal(t, byte(0x9e), long[0])
	u, err := att.ParseUUID(long.Bytes())
	require.NoError(t, err)
	assert.Equal(t, long, u)
	for _, bad := range []string{"", "18", "zzzz", "6e400001-b5a3-f393-e0a9-e50e24dcca9", "6e400001xb5a3-f393-e0a9-e50e24dcca9e"} {
		_, err := att.ParseUUIDString(bad)
		assert.Error(t, err, bad)
	}
	var x att.UUID
	require.NoError(t, x.UnmarshalText([]byte("2A37")))
	assert.Equal(t, att.UUID16(0x2A37), x)
	_, err = att.ParseUUID([]byte{1, 2, 3})
	assert.Error(t, err)
}

func TestRoundTrip(t *testing.T) {
	long := att.MustParseUUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")
	pdus := []att.PDU{
		att.ErrorRsp{Req: att.OpReadReq, Handle: 0x12, Code: att.ErrReadNotPermitted},
		att.ExchangeMTUReq{MTU: 247}, att.ExchangeMTURsp{MTU: 185},
		att.FindInfoReq{Start: 1, End: 0xffff},
		att.FindInfoRsp{Entries: []att.HandleUUID{{1, att.UUID16(0x2800)}, {2, att.UUID16(0x2803)}}},
		att.FindInfoRsp{Entries: []att.HandleUUID{{5, long}}},
		att.FindByTypeValueReq{Start: 1, End: 0xffff, Type: 0x2800, Value: []byte{0x0d, 0x18}},
		att.FindByTypeValueRsp{Handles: []att.HandleRange{{10, 15}}},
		att.ReadByTypeReq{Start: 1, End: 0xffff, Type: att.UUID16(0x2803)},
		att.ReadByTypeReq{Start: 1, End: 0xffff, Type: long},
		att.ReadByTypeRsp{Entries: []att.HandleValue{{2, []byte{2, 3, 0, 0, 0x2a}}, {4, []byte{2, 5, 0, 1, 0x2a}}}},
		att.ReadReq{Handle: 3}, att.ReadRsp{Value: []byte("abc")},
		att.ReadBlobReq{Handle: 3, Offset: 22}, att.ReadBlobRsp{Value: []byte("def")},
		att.ReadMultipleReq{Handles: []uint16{3, 5}}, att.ReadMultipleRsp{Values: []byte{1, 2}},
		att.ReadByGroupTypeReq{Start: 1, End: 0xffff, Type: att.UUID16(0x2800)},
		att.ReadByGroupTypeRsp{Entries: []att.GroupValue{{1, 5, []byte{0, 0x18}}, {6, 9, []byte{1, 0x18}}}},
		att.WriteReq{Handle: 9, Value: []byte{1, 0}}, att.WriteRsp{},
		att.WriteCmd{Handle: 9, Value: []byte{7}},
		att.SignedWriteCmd{Handle: 9, Value: []byte{7}, Signature: [12]byte{1, 2, 3}},
		att.PrepareWriteReq{Handle: 9, Offset: 3, Value: []byte{1}}, att.PrepareWriteRsp{Handle: 9, Offset: 3, Value: []byte{1}},
		att.ExecuteWriteReq{Flags: 1}, att.ExecuteWriteRsp{},
		att.HandleValueNtf{Handle: 3, Value: []byte{1}}, att.HandleValueInd{Handle: 3, Value: []byte{2}}, att.HandleValueCfm{},
	}
	for _, p := range pdus {
		t.Run(p.Opcode().String(), func(t *testing.T) {
			got, err := att.Parse(p.Marshal())
			require.NoError(t, err)
			assert.Equal(t, p, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil, {0x0A}, {0x0A, 1, 0, 0}, {0x05, 3, 1, 0, 0, 0x28}, {0x05, 1, 1, 0, 0},
		{0x08, 1, 0, 0xff, 0xff, 0x03}, {0x09, 1, 1, 0}, {0x11, 3, 1, 0, 2, 0}, {0x0E, 1, 0}, {0x99},
		{0xD2, 1, 0, 1}, {0x07, 1, 0, 2},
	} {
		_, err := att.Parse(b)
		assert.Error(t, err, "%x", b)
	}
}

type echoServer struct{ got [][]byte }

func (e *echoServer) ServeATT(b *att.Bearer, p []byte) { e.got = append(e.got, p) }

// A loopback of two bearers: a's output is b's input after 1 ms.
func loop(t *testing.T) (*sim.Scheduler, *att.Bearer, *att.Bearer) {
	s := sim.New(1)
	var a, b *att.Bearer
	a = att.NewBearer(zaptest.NewLogger(t), s, func(p []byte) error {
		p = append([]byte(nil), p...)
		s.After(sim.Millisecond, func() { b.Receive(p) })
		return nil
	}, nil)
	b = att.NewBearer(zaptest.NewLogger(t), s, func(p []byte) error {
		p = append([]byte(nil), p...)
		s.After(sim.Millisecond, func() { a.Receive(p) })
		return nil
	}, nil)
	return s, a, b
}

func TestBearerTransactions(t *testing.T) {
	s, a, b := loop(t)
	// b has no server: requests get Request Not Supported.
	var errs []error
	a.Request(att.ReadReq{Handle: 1}, func(_ att.PDU, err error) { errs = append(errs, err) })
	a.Request(att.ReadReq{Handle: 2}, func(_ att.PDU, err error) { errs = append(errs, err) })
	s.RunFor(sim.Second)
	assert.Equal(t, []error{att.ErrRequestNotSupported, att.ErrRequestNotSupported}, errs)

	// Indications: one at a time, confirmed automatically by the peer.
	var got [][]byte
	b.OnNotification = func(h uint16, v []byte, ind bool) { got = append(got, v) }
	var confirmed int
	a.Indicate(3, []byte{1}, func(err error) { require.NoError(t, err); confirmed++ })
	a.Indicate(3, []byte{2}, func(err error) { require.NoError(t, err); confirmed++ })
	assert.Equal(t, 2, a.PendingIndications())
	s.RunFor(sim.Second)
	assert.Equal(t, 2, confirmed)
	assert.Equal(t, [][]byte{{1}, {2}}, got)
}

func TestBearerTimeout(t *testing.T) {
	s := sim.New(1)
	var sent [][]byte
	b := att.NewBearer(zap.NewNop(), s, func(p []byte) error { sent = append(sent, p); return nil }, nil)
	timedOut := false
	b.OnTimeout = func() { timedOut = true }
	var errs []error
	b.Request(att.ReadReq{Handle: 1}, func(_ att.PDU, err error) { errs = append(errs, err) })
	b.Request(att.ReadReq{Handle: 2}, func(_ att.PDU, err error) { errs = append(errs, err) })
	b.Indicate(3, []byte{1}, func(err error) { errs = append(errs, err) })
	s.RunFor(att.TransactionTimeout + sim.Second)
	assert.True(t, timedOut)
	assert.Equal(t, []error{att.ErrTimeout, att.ErrTimeout, att.ErrTimeout}, errs)
	assert.True(t, b.Dead())
	assert.Len(t, sent, 2, "read 1 and the indication; nothing after the timeout")
	b.Notify(3, []byte{1})
	assert.Len(t, sent, 2)
}

func TestBearerUnexpected(t *testing.T) {
	s := sim.New(1)
	var sent [][]byte
	srv := &echoServer{}
	b := att.NewBearer(zap.NewNop(), s, func(p []byte) error { sent = append(sent, p); return nil }, srv)
	var got att.PDU
	var gerr error
	b.Request(att.ReadReq{Handle: 1}, func(p att.PDU, err error) { got, gerr = p, err })
	b.Receive(nil)
	b.Receive([]byte{0x13})                // Write Response while a Read is pending: ignored
	b.Receive([]byte{0x01, 0x12, 1, 0, 1}) // Error Response for another request: ignored
	b.Receive([]byte{0x1E})                // confirmation without indication
	b.Receive([]byte{0x1D, 1})             // malformed indication
	b.Receive([]byte{0x0A, 1, 0})          // a request goes to the server
	b.Receive([]byte{0x0B, 'o', 'k'})      // the read response
	assert.Equal(t, att.ReadRsp{Value: []byte("ok")}, got)
	assert.NoError(t, gerr)
	assert.Equal(t, [][]byte{{0x0A, 1, 0}}, srv.got)
	b.Receive([]byte{0x1D, 5, 0, 9}) // indication: confirmed
	assert.Equal(t, []byte{0x1E}, sent[len(sent)-1])
}

// FuzzParse checks Parse never panics and re-encodes what it accepts.
func FuzzParse(f *testing.F) {
	for _, s := range [][]byte{{0x02, 0xf7, 0}, {0x05, 1, 1, 0, 0, 0x28}, {0x09, 7, 2, 0, 2, 3, 0, 0, 0x2a}, {0x11, 6, 1, 0, 5, 0, 0, 0x18}, {0xD2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := att.Parse(b)
		if err != nil {
			return
		}
		q, err := att.Parse(p.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %x (%T) failed: %v", p.Marshal(), p, err)
		}
		assert.Equal(t, p.Opcode(), q.Opcode())
	})
}
