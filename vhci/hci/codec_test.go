package hci

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandView(t *testing.T) {
	cases := []struct {
		name   string
		in     Command
		op     Opcode
		params []byte
		err    error
	}{
		{"reset", Command{0x03, 0x0c, 0x00}, OpReset, []byte{}, nil},
		{"le set scan enable", Command{0x0c, 0x20, 0x02, 0x01, 0x00}, OpLESetScanEnable, []byte{0x01, 0x00}, nil},
		{"empty", Command{}, 0, nil, ErrShort},
		{"opcode only", Command{0x03, 0x0c}, OpReset, nil, ErrShort},
		{"length too big", Command{0x03, 0x0c, 0x05, 0x01}, OpReset, []byte{0x01}, ErrLength},
		{"trailing bytes", Command{0x03, 0x0c, 0x00, 0xff}, OpReset, []byte{}, ErrLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.op, c.in.Opcode())
			assert.Equal(t, c.params, c.in.Params())
			err := c.in.Validate()
			if c.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, c.err)
			}
		})
	}
	cmd := NewCommand(OpLESetEventMask, []byte{0x1f, 0, 0, 0, 0, 0, 0, 0})
	assert.Equal(t, h4LESetEventMask[1:], []byte(cmd))
	assert.Equal(t, OGFLE, int(cmd.Opcode().OGF()))
	assert.Equal(t, uint16(0x001), cmd.Opcode().OCF())
	assert.Equal(t, OpReset, MakeOpcode(OGFControllerBB, 0x003))
}

func TestEventView(t *testing.T) {
	ev := Event(h4ResetComplete[1:])
	require.NoError(t, ev.Validate())
	assert.Equal(t, EvtCommandComplete, ev.Code())
	cc := CommandComplete(ev.Params())
	assert.Equal(t, uint8(1), cc.NumPackets())
	assert.Equal(t, OpReset, cc.Opcode())
	assert.Equal(t, StatusSuccess, cc.Status())
	assert.Equal(t, []byte{0}, cc.Return())
	assert.Equal(t, ev, NewCommandComplete(1, OpReset, []byte{0}))

	st := Event(h4CreateConnStat[1:])
	require.NoError(t, st.Validate())
	cs := CommandStatus(st.Params())
	assert.Equal(t, StatusSuccess, cs.Status())
	assert.Equal(t, uint8(1), cs.NumPackets())
	assert.Equal(t, OpLECreateConnection, cs.Opcode())
	assert.Equal(t, st, NewCommandStatus(StatusSuccess, 1, OpLECreateConnection))

	le := Event(h4LEConnComplete[1:])
	require.NoError(t, le.Validate())
	assert.Equal(t, LEConnectionComplete, le.Subevent())
	assert.Equal(t, le, NewLEMeta(LEConnectionComplete, le.Params()[1:]))
	assert.Equal(t, uint8(0), Event(h4DisconnComp[1:]).Subevent())

	cases := []struct {
		name string
		in   Event
		err  error
	}{
		{"empty", Event{}, ErrShort},
		{"code only", Event{0x0e}, ErrShort},
		{"cut", Event{0x0e, 0x04, 0x01}, ErrLength},
		{"long", Event{0x0e, 0x00, 0x01}, ErrLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.ErrorIs(t, c.in.Validate(), c.err)
			assert.NotPanics(t, func() {
				_ = c.in.Code()
				_ = c.in.Params()
				_ = c.in.Subevent()
				_ = CommandComplete(c.in.Params()).Status()
				_ = CommandStatus(c.in.Params()).Opcode()
			})
		})
	}
	// Views of truncated parameters return zero values.
	assert.Equal(t, Opcode(0), CommandComplete{0x01, 0x03}.Opcode())
	assert.Nil(t, CommandComplete{0x01}.Return())
	assert.Equal(t, Status(0), CommandStatus{}.Status())
}

func TestACLView(t *testing.T) {
	a := ACL(h4ACLExchangeMTU[1:])
	require.NoError(t, a.Validate())
	assert.Equal(t, uint16(0x040), a.Handle())
	assert.Equal(t, PBFirstFlushable, a.PB())
	assert.Equal(t, uint8(0), a.BC())
	assert.Equal(t, []byte{0x03, 0x00, 0x04, 0x00, 0x02, 0x17, 0x00}, a.Data())
	assert.Equal(t, a, NewACL(0x040, PBFirstFlushable, a.Data()))

	assert.ErrorIs(t, ACL{0x40}.Validate(), ErrShort)
	assert.ErrorIs(t, ACL{0x40, 0x20, 0x05, 0x00, 0x01}.Validate(), ErrLength)
	assert.Equal(t, []byte{0x01}, ACL{0x40, 0x20, 0x05, 0x00, 0x01}.Data())
	assert.Nil(t, ACL{0x40, 0x20}.Data())
	// Handle bits above 12 do not leak into the flags.
	assert.Equal(t, uint16(0x0fff), NewACL(0xffff, PBContinuing, nil).Handle())
	assert.Equal(t, PBContinuing, NewACL(0xffff, PBContinuing, nil).PB())
}

func TestReaderWriter(t *testing.T) {
	var w Writer
	addr := BDAddr{0x55, 0x44, 0x33, 0x22, 0x11, 0xc0}
	w.U8(0x01).U16(0x0203).U24(0x040506).U32(0x0708090a).U64(0x0b0c0d0e0f101112).Addr(addr).Bytes([]byte{0xaa, 0xbb})
	r := NewReader(w.B)
	assert.Equal(t, uint8(0x01), r.U8())
	assert.Equal(t, uint16(0x0203), r.U16())
	assert.Equal(t, uint32(0x040506), r.U24())
	assert.Equal(t, uint32(0x0708090a), r.U32())
	assert.Equal(t, uint64(0x0b0c0d0e0f101112), r.U64())
	assert.Equal(t, addr, r.Addr())
	assert.Equal(t, 2, r.Len())
	assert.Equal(t, []byte{0xaa, 0xbb}, r.Bytes(2))
	assert.NoError(t, r.Exact())

	r = NewReader([]byte{0x01, 0x02, 0x03})
	assert.Equal(t, uint16(0x0201), r.U16())
	assert.Equal(t, uint32(0), r.U32()) // past the end
	assert.ErrorIs(t, r.Err(), ErrShort)
	assert.Equal(t, uint8(0), r.U8(), "errors are sticky")
	assert.Nil(t, r.Rest())
	assert.ErrorIs(t, r.Exact(), ErrShort)

	r = NewReader([]byte{0x01, 0x02})
	r.U8()
	assert.ErrorIs(t, r.Exact(), ErrLength)
	assert.Equal(t, []byte{0x02}, r.Rest())
	assert.NoError(t, r.Exact())
	assert.Nil(t, NewReader(nil).Bytes(-1))
}

func TestStatusAsError(t *testing.T) {
	assert.NoError(t, StatusSuccess.Err())
	err := StatusPINOrKeyMissing.Err()
	require.Error(t, err)
	assert.Equal(t, "PIN or Key Missing (0x06)", err.Error())
	var s Status
	assert.True(t, errors.As(err, &s))
	assert.Equal(t, StatusPINOrKeyMissing, s)
	assert.Equal(t, "Status(0xfe)", Status(0xfe).String())
}

func TestPacketTypeString(t *testing.T) {
	assert.Equal(t, "Command", CommandPacket.String())
	assert.Equal(t, "Vendor", VendorPacket.String())
	assert.Equal(t, "PacketType(0x07)", PacketType(7).String())
}
