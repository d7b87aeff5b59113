package hci

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real packets as btmon shows them (H4, indicator first).
var (
	h4Reset          = []byte{0x01, 0x03, 0x0c, 0x00}
	h4LESetEventMask = []byte{0x01, 0x01, 0x20, 0x08, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	h4ResetComplete  = []byte{0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00}
	h4CreateConnStat = []byte{0x04, 0x0f, 0x04, 0x00, 0x01, 0x0d, 0x20}
	h4DisconnComp    = []byte{0x04, 0x05, 0x04, 0x00, 0x40, 0x00, 0x13}
	h4LEConnComplete = []byte{0x04, 0x3e, 0x13, 0x01, 0x00, 0x40, 0x00, 0x01, 0x01,
		0x55, 0x44, 0x33, 0x22, 0x11, 0xc0, 0x18, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00}
	h4ACLExchangeMTU = []byte{0x02, 0x40, 0x20, 0x07, 0x00, 0x03, 0x00, 0x04, 0x00, 0x02, 0x17, 0x00}
	h4SCO            = []byte{0x03, 0x01, 0x00, 0x02, 0xaa, 0xbb}
	h4ISO            = []byte{0x05, 0x01, 0x20, 0x03, 0xc0, 0x01, 0x02, 0x03}
)

func realPackets() [][]byte {
	return [][]byte{h4Reset, h4LESetEventMask, h4ResetComplete, h4CreateConnStat, h4DisconnComp, h4LEConnComplete, h4ACLExchangeMTU, h4SCO, h4ISO}
}

func TestReadH4Stream(t *testing.T) {
	var stream []byte
	for _, p := range realPackets() {
		stream = append(stream, p...)
	}
	r := bufio.NewReader(bytes.NewReader(stream))
	for _, want := range realPackets() {
		got, err := ReadH4(r)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ReadH4(r)
	assert.Equal(t, io.EOF, err, "clean end between packets is io.EOF")
}

// iotestOneByte returns a reader that hands out one byte per Read, like a
// slow UART.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestReadH4Errors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		is   error
	}{
		{"empty", nil, io.EOF},
		{"unknown type", []byte{0x07, 0x00, 0x00}, ErrType},
		{"vendor type on a stream", []byte{0xff, 0x00, 0x00, 0x00}, ErrType},
		{"header cut", []byte{0x01, 0x03}, io.ErrUnexpectedEOF},
		{"body cut", []byte{0x04, 0x0e, 0x04, 0x01}, io.ErrUnexpectedEOF},
		{"acl body cut", []byte{0x02, 0x40, 0x20, 0x07, 0x00, 0x03}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadH4(bytes.NewReader(c.in))
			require.Error(t, err)
			assert.True(t, errors.Is(err, c.is), "got %v, want %v", err, c.is)
		})
	}
}

func TestReadH4OneByteAtATime(t *testing.T) {
	got, err := ReadH4(&oneByteReader{b: append(append([]byte{}, h4LEConnComplete...), h4Reset...)})
	require.NoError(t, err)
	assert.Equal(t, h4LEConnComplete, got)
}

func TestReadH4Max(t *testing.T) {
	big := H4(ACLPacket, NewACL(0x40, PBFirstNonFlushable, make([]byte, 2000)))
	_, err := ReadH4Max(bytes.NewReader(big), 1500)
	assert.ErrorIs(t, err, ErrTooLong)
	got, err := ReadH4Max(bytes.NewReader(big), len(big))
	require.NoError(t, err)
	assert.Equal(t, big, got)

	// The largest describable ACL packet fits MaxH4Size.
	huge := H4(ACLPacket, NewACL(1, 0, make([]byte, 0xffff)))
	assert.Len(t, huge, MaxH4Size)
	got, err = ReadH4(bytes.NewReader(huge))
	require.NoError(t, err)
	assert.Len(t, got, MaxH4Size)
}

func TestSplitH4(t *testing.T) {
	for _, p := range realPackets() {
		typ, body, err := SplitH4(p)
		require.NoError(t, err, "% x", p)
		assert.Equal(t, PacketType(p[0]), typ)
		assert.Equal(t, p[1:], body)
		assert.Equal(t, p, H4(typ, body))
	}
	cases := []struct {
		name string
		in   []byte
		typ  PacketType
		is   error
	}{
		{"empty", nil, 0, ErrShort},
		{"vendor", []byte{0xff, 0x00, 0x01, 0x00}, VendorPacket, ErrType},
		{"unknown", []byte{0x09}, 0x09, ErrType},
		{"short command", []byte{0x01, 0x03, 0x0c}, CommandPacket, ErrShort},
		{"short event", []byte{0x04, 0x0e}, EventPacket, ErrShort},
		{"long event", []byte{0x04, 0x0e, 0x00, 0x01}, EventPacket, ErrLength},
		{"cut ACL", []byte{0x02, 0x40, 0x20, 0x07, 0x00, 0x03}, ACLPacket, ErrLength},
		{"ISO length has 14 bits", []byte{0x05, 0x01, 0x20, 0x02, 0x40, 0xaa}, ISOPacket, ErrLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, _, err := SplitH4(c.in)
			assert.Equal(t, c.typ, typ)
			assert.ErrorIs(t, err, c.is)
		})
	}
}

func TestSplitH4ISOFlags(t *testing.T) {
	// The top two bits of the ISO length field are RFU, not length
	// (Vol 4 Part E §5.4.5).
	typ, body, err := SplitH4([]byte{0x05, 0x01, 0x20, 0x01, 0x40, 0xaa})
	require.NoError(t, err)
	assert.Equal(t, ISOPacket, typ)
	assert.Len(t, body, 5)
}

func TestAppendH4(t *testing.T) {
	b := AppendH4(nil, CommandPacket, NewCommand(OpReset, nil))
	b = AppendH4(b, EventPacket, NewCommandComplete(1, OpReset, []byte{0}))
	assert.Equal(t, append(append([]byte{}, h4Reset...), h4ResetComplete...), b)
}
