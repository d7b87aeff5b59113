package gatt_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/internal/fakectl"
	"blesim/hosts/internal/testrig"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
)

var long128 = att.MustParseUUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")

// testDB is laid out as:
//
//	1 GAP service, 2/3 Device Name, 4/5 Appearance
//	6 GATT service, 7/8 Service Changed, 9 CCCD
//	10 service AAAA
//	11/12 A001 read|write|notify "hello", 13 CCCD
//	14/15 A002 read, 100-byte value
//	16/17 A003 write only, MaxLen 4
//	18/19 A004 read, encryption required
//	20/21 A005 indicate, 22 CCCD, 23 user description "ind"
//	24 service 6e400001-..., 25/26 128-bit characteristic read|write-no-rsp
func testDB() (*gatt.DB, map[string]*gatt.Characteristic) {
	longVal := make([]byte, 100)
	for i := range longVal {
		longVal[i] = byte(i)
	}
	c := map[string]*gatt.Characteristic{
		"A001": {UUID: att.UUID16(0xA001), Props: gatt.PropRead | gatt.PropWrite | gatt.PropNotify, Value: []byte("hello")},
		"A002": {UUID: att.UUID16(0xA002), Props: gatt.PropRead, Value: longVal},
		"A003": {UUID: att.UUID16(0xA003), Props: gatt.PropWrite, MaxLen: 4},
		"A004": {UUID: att.UUID16(0xA004), Props: gatt.PropRead, Perm: gatt.PermRead | gatt.PermReadEncrypt, Value: []byte{4}},
		"A005": {UUID: att.UUID16(0xA005), Props: gatt.PropIndicate, Descriptors: []*gatt.Descriptor{
			{UUID: gatt.TypeUserDescription, Perm: gatt.PermRead, Value: []byte("ind")}}},
		"long": {UUID: long128, Props: gatt.PropRead | gatt.PropWriteNoRsp, Value: []byte{1, 2}},
	}
	db := gatt.MustDB(
		gatt.GAPService("blesim", gatt.AppearancePulseOximeter),
		gatt.GATTService(),
		&gatt.Service{UUID: att.UUID16(0xAAAA), Characteristics: []*gatt.Characteristic{c["A001"], c["A002"], c["A003"], c["A004"], c["A005"]}},
		&gatt.Service{UUID: long128, Characteristics: []*gatt.Characteristic{c["long"]}},
	)
	return db, c
}

type rig struct {
	*testrig.Pair
	srv    *gatt.Server
	sc     *gatt.ServerConn
	client *gatt.Client
	raw    [][]byte // raw PDUs the central received, when raw
	chars  map[string]*gatt.Characteristic
}

// newRig connects a central (GATT client, or raw when raw is set) to a
// peripheral running the GATT server on testDB.
func newRig(t testing.TB, log *zap.Logger, raw bool) *rig {
	r := &rig{Pair: testrig.New(t, log, fakectl.Options{ACLLen: 27, ACLNum: 3})}
	db, chars := testDB()
	r.chars = chars
	r.srv = gatt.NewServer(log, db)
	r.OnConnect = func(c *l2cap.Conn) {
		if c.Role == 1 {
			r.sc = r.srv.Attach(gatt.NewBearer(log, c), c)
			return
		}
		if raw {
			c.SetHandler(l2cap.CIDATT, func(p []byte) { r.raw = append(r.raw, append([]byte(nil), p...)) })
			return
		}
		r.client = gatt.NewClient(log, gatt.NewBearer(log, c))
	}
	r.Connect(t)
	return r
}

func (r *rig) send(t testing.TB, pdu []byte) {
	require.NoError(t, r.CConn.Send(l2cap.CIDATT, pdu))
	r.Run(100 * sim.Millisecond)
}

func TestServerRaw(t *testing.T) {
	tests := []struct {
		id   string // PTS test ID where one fits
		req  []byte
		want []byte
	}{
		{"GATT/SR/GAC/BV-01-C exchange MTU", []byte{0x02, 0x00, 0x02}, []byte{0x03, 247, 0}},
		{"GATT/SR/GAD/BV-01-C discover all primary services", []byte{0x10, 1, 0, 0xff, 0xff, 0x00, 0x28},
			[]byte{0x11, 6, 1, 0, 5, 0, 0x00, 0x18, 6, 0, 9, 0, 0x01, 0x18, 10, 0, 23, 0, 0xAA, 0xAA}},
		{"GATT/SR/GAD/BV-01-C 128-bit services", []byte{0x10, 24, 0, 0xff, 0xff, 0x00, 0x28},
			append([]byte{0x11, 20, 24, 0, 26, 0}, long128[:]...)},
		{"GATT/SR/GAD/BV-01-C end", []byte{0x10, 27, 0, 0xff, 0xff, 0x00, 0x28}, []byte{0x01, 0x10, 27, 0, 0x0A}},
		{"GATT/SR/GAD/BV-02-C discover service by UUID", []byte{0x06, 1, 0, 0xff, 0xff, 0x00, 0x28, 0xAA, 0xAA},
			[]byte{0x07, 10, 0, 23, 0}},
		{"GATT/SR/GAD/BV-04-C discover characteristics", []byte{0x08, 10, 0, 23, 0, 0x03, 0x28},
			[]byte{0x09, 7, 11, 0, 0x1A, 12, 0, 0x01, 0xA0, 14, 0, 0x02, 15, 0, 0x02, 0xA0, 16, 0, 0x08, 17, 0, 0x03, 0xA0}},
		{"GATT/SR/GAR/BV-03-C read using characteristic UUID", []byte{0x08, 1, 0, 0xff, 0xff, 0x02, 0xA0},
			append([]byte{0x09, 21, 15, 0}, seq(0, 19)...)},
		{"read by type not permitted", []byte{0x08, 1, 0, 0xff, 0xff, 0x03, 0xA0}, []byte{0x01, 0x08, 17, 0, 0x02}},
		{"GATT/SR/GAD/BV-06-C discover descriptors", []byte{0x04, 21, 0, 23, 0},
			[]byte{0x05, 1, 21, 0, 0x05, 0xA0, 22, 0, 0x02, 0x29, 23, 0, 0x01, 0x29}},
		{"GATT/SR/GAR/BV-01-C read characteristic value", []byte{0x0A, 12, 0}, []byte{0x0B, 'h', 'e', 'l', 'l', 'o'}},
		{"GATT/SR/GAR/BI-01-C read not permitted", []byte{0x0A, 17, 0}, []byte{0x01, 0x0A, 17, 0, 0x02}},
		{"GATT/SR/GAR/BI-02-C read invalid handle", []byte{0x0A, 0x99, 0}, []byte{0x01, 0x0A, 0x99, 0, 0x01}},
		{"GATT/SR/GAR/BI-04-C read needs encryption, no key: insufficient authentication", []byte{0x0A, 19, 0}, []byte{0x01, 0x0A, 19, 0, 0x05}},
		{"GATT/SR/GAR/BV-04-C read long", []byte{0x0C, 15, 0, 22, 0}, append([]byte{0x0D}, seq(22, 44)...)},
		{"GATT/SR/GAR/BI-13-C read blob invalid offset", []byte{0x0C, 15, 0, 101, 0}, []byte{0x01, 0x0C, 15, 0, 0x07}},
		{"GATT/SR/GAR/BI-xx read blob not long", []byte{0x0C, 12, 0, 1, 0}, []byte{0x01, 0x0C, 12, 0, 0x0B}},
		{"GATT/SR/GAR/BV-05-C read multiple", []byte{0x0E, 12, 0, 26, 0}, []byte{0x0F, 'h', 'e', 'l', 'l', 'o', 1, 2}},
		{"GATT/SR/GAR/BV-06-C read descriptor", []byte{0x0A, 23, 0}, []byte{0x0B, 'i', 'n', 'd'}},
		{"read by type 128-bit", append([]byte{0x08, 1, 0, 0xff, 0xff}, long128[:]...), []byte{0x09, 4, 26, 0, 1, 2}},
		{"GATT/SR/GAW/BV-03-C write characteristic value", []byte{0x12, 17, 0, 1, 2}, []byte{0x13}},
		{"GATT/SR/GAW/BI-02-C write invalid handle", []byte{0x12, 0, 1, 1}, []byte{0x01, 0x12, 0, 1, 0x01}},
		{"GATT/SR/GAW/BI-03-C write not permitted", []byte{0x12, 15, 0, 1}, []byte{0x01, 0x12, 15, 0, 0x03}},
		{"GATT/SR/GAW/BI-05-C invalid attribute value length", []byte{0x12, 17, 0, 1, 2, 3, 4, 5}, []byte{0x01, 0x12, 17, 0, 0x0D}},
		{"GATT/SR/GAW/BV-01-C write without response", []byte{0x52, 26, 0, 9}, nil},
		{"write command not permitted is silent", []byte{0x52, 15, 0, 9}, nil},
		{"CCCD improperly configured", []byte{0x12, 13, 0, 2, 0}, []byte{0x01, 0x12, 13, 0, 0xFD}},
		{"CCCD wrong length", []byte{0x12, 13, 0, 1}, []byte{0x01, 0x12, 13, 0, 0x0D}},
		{"invalid range", []byte{0x04, 5, 0, 4, 0}, []byte{0x01, 0x04, 5, 0, 0x01}},
		{"zero start", []byte{0x08, 0, 0, 4, 0, 0x03, 0x28}, []byte{0x01, 0x08, 0, 0, 0x01}},
		{"unsupported group type", []byte{0x10, 1, 0, 0xff, 0xff, 0x03, 0x28}, []byte{0x01, 0x10, 1, 0, 0x10}},
		{"find info not found", []byte{0x04, 30, 0, 40, 0}, []byte{0x01, 0x04, 30, 0, 0x0A}},
		{"read by type not found", []byte{0x08, 1, 0, 0xff, 0xff, 0x99, 0x99}, []byte{0x01, 0x08, 1, 0, 0x0A}},
		{"invalid PDU", []byte{0x0A, 1}, []byte{0x01, 0x0A, 0, 0, 0x04}},
		{"unknown request", []byte{0x3F, 1}, []byte{0x01, 0x3F, 0, 0, 0x06}},
		{"unknown command ignored", []byte{0x7F, 1}, nil},
		{"execute bad flags", []byte{0x18, 7}, []byte{0x01, 0x18, 0, 0, 0x04}},
		{"execute empty queue", []byte{0x18, 1}, []byte{0x19}},
		{"signed write ignored", append([]byte{0xD2, 26, 0, 1}, make([]byte, 12)...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r := newRig(t, zap.NewNop(), true)
			r.send(t, tt.req)
			if tt.want == nil {
				assert.Empty(t, r.raw)
				return
			}
			require.Len(t, r.raw, 1)
			assert.Equal(t, tt.want, r.raw[0], "% x", r.raw[0])
		})
	}
}

func seq(from, to int) []byte {
	var b []byte
	for i := from; i < to; i++ {
		b = append(b, byte(i))
	}
	return b
}

// GATT/SR/GAW/BV-05-C: write long characteristic value with Prepare/Execute.
func TestGATT_SR_GAW_BV_05_C(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), true)
	r.chars["A001"].MaxLen = 30
	r.send(t, []byte{0x16, 12, 0, 0, 0, 'a', 'b', 'c'})
	r.send(t, []byte{0x16, 12, 0, 3, 0, 'd', 'e'})
	assert.Equal(t, [][]byte{{0x17, 12, 0, 0, 0, 'a', 'b', 'c'}, {0x17, 12, 0, 3, 0, 'd', 'e'}}, r.raw)
	assert.Equal(t, []byte("hello"), r.chars["A001"].Value, "nothing written before execute")
	r.send(t, []byte{0x18, 1})
	assert.Equal(t, []byte{0x19}, r.raw[2])
	assert.Equal(t, []byte("abcde"), r.chars["A001"].Value)

	// Invalid offset on execute; nothing is written.
	r.send(t, []byte{0x16, 12, 0, 9, 0, 'x'})
	r.send(t, []byte{0x18, 1})
	assert.Equal(t, []byte{0x01, 0x18, 12, 0, 0x07}, r.raw[4])
	assert.Equal(t, []byte("abcde"), r.chars["A001"].Value)
	// Cancel.
	r.send(t, []byte{0x16, 12, 0, 0, 0, 'z'})
	r.send(t, []byte{0x18, 0})
	assert.Equal(t, []byte{0x19}, r.raw[6])
	assert.Equal(t, []byte("abcde"), r.chars["A001"].Value)
	// Too long in total.
	r.send(t, []byte{0x16, 17, 0, 0, 0, 1, 2, 3})
	r.send(t, []byte{0x16, 17, 0, 3, 0, 4, 5})
	r.send(t, []byte{0x18, 1})
	assert.Equal(t, []byte{0x01, 0x18, 17, 0, 0x0D}, r.raw[9])
	// Not permitted on prepare.
	r.send(t, []byte{0x16, 15, 0, 0, 0, 1})
	assert.Equal(t, []byte{0x01, 0x16, 15, 0, 0x03}, r.raw[10])
}

func connectClient(t *testing.T) *rig {
	r := newRig(t, zaptest.NewLogger(t), false)
	var mtu int
	r.client.ExchangeMTU(185, func(m int, err error) { require.NoError(t, err); mtu = m })
	r.Run(sim.Second)
	require.Equal(t, 185, mtu)
	require.Equal(t, 185, r.sc.Bearer.MTU())
	var err error = att.ErrUnlikely
	r.client.DiscoverAll(func(_ []*gatt.RemoteService, e error) { err = e })
	r.Run(sim.Second)
	require.NoError(t, err)
	return r
}

// GATT/CL/GAD/BV-01-C, BV-04-C, BV-06-C: the client discovers all
// services, characteristics and descriptors.
func TestGATT_CL_GAD_Discovery(t *testing.T) {
	r := connectClient(t)
	svcs := r.client.Services()
	require.Len(t, svcs, 4)
	for i, s := range r.srv.DB.Services {
		assert.Equal(t, s.UUID, svcs[i].UUID)
		assert.Equal(t, s.Handle, svcs[i].Start)
		assert.Equal(t, s.EndHandle, svcs[i].End)
		require.Len(t, svcs[i].Characteristics, len(s.Characteristics))
		for j, c := range s.Characteristics {
			rc := svcs[i].Characteristics[j]
			assert.Equal(t, c.UUID, rc.UUID)
			assert.Equal(t, c.Props, rc.Props)
			assert.Equal(t, c.ValueHandle, rc.ValueHandle)
			assert.Equal(t, c.CCCDHandle, rc.CCCDHandle)
			assert.Equal(t, c.EndHandle, rc.EndHandle)
		}
	}
	assert.Len(t, r.client.Characteristic(att.UUID16(0xA005)).Descriptors, 2)
	r.NoViolations(t)
}

// GATT/CL/GAR/BV-01-C and BV-04-C: read, and read long.
func TestGATT_CL_GAR(t *testing.T) {
	r := connectClient(t)
	var short, long []byte
	r.client.Read(r.chars["A001"].ValueHandle, func(v []byte, err error) { require.NoError(t, err); short = v })
	r.client.Read(r.chars["A002"].ValueHandle, func(v []byte, err error) { require.NoError(t, err); long = v })
	var encErr error
	r.client.Read(r.chars["A004"].ValueHandle, func(_ []byte, err error) { encErr = err })
	r.Run(sim.Second)
	assert.Equal(t, []byte("hello"), short)
	assert.Equal(t, seq(0, 100), long)
	assert.ErrorIs(t, encErr, att.ErrInsufficientAuthn, "no key shared: pair first")
	// With a bond the client is told to encrypt.
	r.PConn.HasLTK = true
	r.client.Read(r.chars["A004"].ValueHandle, func(_ []byte, err error) { encErr = err })
	r.Run(sim.Second)
	assert.ErrorIs(t, encErr, att.ErrInsufficientEncryption)
	// Once the link is encrypted the same read works.
	r.PConn.Encrypted = true
	var v []byte
	r.client.Read(r.chars["A004"].ValueHandle, func(b []byte, err error) { require.NoError(t, err); v = b })
	r.Run(sim.Second)
	assert.Equal(t, []byte{4}, v)
}

// GATT/CL/GAW/BV-03-C, BV-05-C, BV-01-C: write, long write, write without
// response; dynamic values and write callbacks.
func TestGATT_CL_GAW(t *testing.T) {
	r := connectClient(t)
	var written [][]byte
	r.chars["A001"].OnWrite = func(_ *gatt.ServerConn, v []byte) error {
		if bytes.Equal(v, []byte("bad")) {
			return att.ErrValueNotAllowed
		}
		written = append(written, v)
		return nil
	}
	big := bytes.Repeat([]byte("0123456789"), 40)
	var errs []error
	done := func(err error) { errs = append(errs, err) }
	r.client.Write(r.chars["A001"].ValueHandle, []byte("world"), done)
	r.client.Write(r.chars["A001"].ValueHandle, big, done)
	r.client.Write(r.chars["A001"].ValueHandle, []byte("bad"), done)
	r.client.Write(r.chars["A002"].ValueHandle, []byte("x"), done)
	r.client.WriteCommand(r.chars["long"].ValueHandle, []byte{9, 9})
	r.Run(sim.Second)
	assert.Equal(t, []error{nil, nil, att.ErrValueNotAllowed, att.ErrWriteNotPermitted}, errs)
	assert.Equal(t, [][]byte{[]byte("world"), big}, written)
	assert.Equal(t, big, r.chars["A001"].Value)
	assert.Equal(t, []byte{9, 9}, r.chars["long"].Value)

	n := 0
	r.chars["A002"].OnRead = func(*gatt.ServerConn) []byte { n++; return []byte{byte(n)} }
	var v []byte
	r.client.Read(r.chars["A002"].ValueHandle, func(b []byte, err error) { v = b })
	r.Run(sim.Second)
	assert.Equal(t, []byte{1}, v)
	r.NoViolations(t)
}

// GATT/SR/GAN/BV-01-C and GATT/CL/GAN/BV-01-C: notifications after the
// client writes the CCCD; none before, none after unsubscribing.
func TestGATT_SR_GAN_BV_01_C(t *testing.T) {
	r := connectClient(t)
	ch := r.chars["A001"]
	var got [][]byte
	r.srv.Update(ch, []byte{0})
	r.Run(sim.Second)
	var subs []uint16
	ch.OnSubscribe = func(_ *gatt.ServerConn, v uint16) { subs = append(subs, v) }
	rc := r.client.Characteristic(ch.UUID)
	r.client.Subscribe(rc, func(v []byte, ind bool) { assert.False(t, ind); got = append(got, v) }, func(err error) { require.NoError(t, err) })
	r.Run(sim.Second)
	assert.Equal(t, uint16(1), r.sc.CCCD(ch))
	r.srv.Update(ch, []byte{1})
	r.srv.Update(ch, bytes.Repeat([]byte{2}, 300)) // truncated to MTU-3
	r.Run(sim.Second)
	r.client.Unsubscribe(rc, func(err error) { require.NoError(t, err) })
	r.Run(sim.Second)
	r.srv.Update(ch, []byte{3})
	r.Run(sim.Second)
	assert.Equal(t, [][]byte{{1}, bytes.Repeat([]byte{2}, 182)}, got)
	assert.Equal(t, []uint16{1, 0}, subs)
	var ro []byte
	r.client.Read(rc.CCCDHandle, func(v []byte, err error) { ro = v })
	r.Run(sim.Second)
	assert.Equal(t, []byte{0, 0}, ro)
}

// GATT/SR/GAI/BV-01-C and GATT/CL/GAI/BV-01-C: indications, confirmed by
// the client, one outstanding at a time.
func TestGATT_SR_GAI_BV_01_C(t *testing.T) {
	r := connectClient(t)
	ch := r.chars["A005"]
	var got [][]byte
	rc := r.client.Characteristic(ch.UUID)
	r.client.Subscribe(rc, func(v []byte, ind bool) { assert.True(t, ind); got = append(got, v) }, func(err error) { require.NoError(t, err) })
	r.Run(sim.Second)
	assert.Equal(t, uint16(2), r.sc.CCCD(ch))
	var confirmed []error
	r.sc.Indicate(ch, []byte{1}, func(err error) { confirmed = append(confirmed, err) })
	r.sc.Indicate(ch, []byte{2}, func(err error) { confirmed = append(confirmed, err) })
	assert.Equal(t, 2, r.sc.Bearer.PendingIndications())
	r.srv.Update(ch, []byte{3})
	r.Run(sim.Second)
	assert.Equal(t, []error{nil, nil}, confirmed)
	assert.Equal(t, [][]byte{{1}, {2}, {3}}, got)
	assert.Equal(t, 0, r.sc.Bearer.PendingIndications())
}

// GATT/SR/GAI/BI-01-C-like: a client that never confirms an indication
// times the bearer out after 30 s; nothing more is sent.
func TestIndicationTimeout(t *testing.T) {
	r := newRig(t, zaptest.NewLogger(t), true)
	ch := r.chars["A005"]
	r.send(t, []byte{0x12, byte(ch.CCCDHandle), 0, 2, 0})
	timedOut := false
	r.sc.Bearer.OnTimeout = func() { timedOut = true }
	var err error
	r.sc.Indicate(ch, []byte{1}, func(e error) { err = e })
	r.Run(att.TransactionTimeout + sim.Second)
	assert.True(t, timedOut)
	assert.ErrorIs(t, err, att.ErrTimeout)
	assert.Len(t, r.raw, 2) // write response, indication
	r.srv.Update(ch, []byte{2})
	r.Run(sim.Second)
	assert.Len(t, r.raw, 2)
}

func TestCCCDPerConnectionAndDisconnect(t *testing.T) {
	r := connectClient(t)
	rc := r.client.Characteristic(att.UUID16(0xA001))
	r.client.Subscribe(rc, func([]byte, bool) {}, func(err error) { require.NoError(t, err) })
	r.Run(sim.Second)
	require.Len(t, r.srv.Conns(), 1)
	var rerr error
	r.client.Read(rc.ValueHandle, func(_ []byte, err error) { rerr = err })
	r.CConn.Disconnect(0x13)
	r.Run(sim.Second)
	assert.Empty(t, r.srv.Conns())
	assert.ErrorIs(t, rerr, att.ErrClosed)
}

func TestDBErrors(t *testing.T) {
	db, _ := testDB()
	assert.Equal(t, 26, db.Len())
	assert.Equal(t, uint16(12), db.Characteristic(att.UUID16(0xA001)).ValueHandle)
	assert.Nil(t, db.Characteristic(att.UUID16(0xBEEF)))
	var many []*gatt.Characteristic
	for i := 0; i < 33000; i++ {
		many = append(many, &gatt.Characteristic{UUID: att.UUID16(0xB000), Props: gatt.PropRead})
	}
	_, err := gatt.NewDB(&gatt.Service{UUID: att.UUID16(0xBBBB), Characteristics: many})
	assert.Error(t, err)
}

// FuzzServer feeds arbitrary PDUs to the server's request handler and
// checks that every request gets exactly one response and commands none.
func FuzzServer(f *testing.F) {
	for _, s := range [][]byte{{0x02, 0x00, 0x02}, {0x10, 1, 0, 0xff, 0xff, 0x00, 0x28}, {0x08, 10, 0, 23, 0, 0x03, 0x28},
		{0x04, 21, 0, 23, 0}, {0x0C, 15, 0, 22, 0}, {0x16, 12, 0, 0, 0, 'a'}, {0x18, 1}, {0x12, 13, 0, 1, 0}, {0x0E, 12, 0, 26, 0}} {
		f.Add(s)
	}
	r := newRig(f, zap.NewNop(), true)
	r.chars["A001"].MaxLen = 0
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > 185 {
			return
		}
		r.raw = nil
		require.NoError(t, r.CConn.Send(l2cap.CIDATT, b))
		r.Run(10 * sim.Millisecond)
		op := att.Opcode(b[0])
		var rsps int
		for _, p := range r.raw {
			if att.Opcode(p[0]).IsResponse() {
				rsps++
				_, err := att.Parse(p)
				require.NoError(t, err, "server sent a malformed response % x", p)
				require.LessOrEqual(t, len(p), r.sc.Bearer.MTU())
			}
		}
		switch {
		case op.IsCommand() || op == att.OpHandleValueCfm || op.IsResponse() || op == att.OpHandleValueNtf || op == att.OpHandleValueInd:
			require.Equal(t, 0, rsps, "request % x", b)
		default:
			require.Equal(t, 1, rsps, "request % x", b)
		}
	})
}
