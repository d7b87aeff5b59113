package hci

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// H4 framing (Core v5.4 Vol 4 Part A §2): every packet is preceded by a
// one-octet packet indicator. On a byte stream (a UART, a TCP socket) the
// receiver finds the end of a packet from the length field in the header
// that follows the indicator:
//
//	0x01 command: opcode(2) length(1)        (Vol 4 Part E §5.4.1)
//	0x02 ACL:     handle(2) length(2)        (§5.4.2)
//	0x03 SCO:     handle(2) length(1)        (§5.4.3)
//	0x04 event:   code(1)   length(1)        (§5.4.4)
//	0x05 ISO:     handle(2) length(2), only the low 14 bits (§5.4.5)

// MaxH4Size is the largest H4 packet any header can describe: indicator,
// 4-octet ACL header and 65535 data octets.
const MaxH4Size = 1 + ACLHeaderLen + 0xffff

// h4Header returns the header size of a packet type and the length encoded
// in such a header.
func h4Header(t PacketType) (size int, length func(h []byte) int, ok bool) {
	switch t {
	case CommandPacket:
		return CommandHeaderLen, func(h []byte) int { return int(h[2]) }, true
	case ACLPacket:
		return ACLHeaderLen, func(h []byte) int { return int(binary.LittleEndian.Uint16(h[2:])) }, true
	case SCOPacket:
		return 3, func(h []byte) int { return int(h[2]) }, true
	case EventPacket:
		return EventHeaderLen, func(h []byte) int { return int(h[1]) }, true
	case ISOPacket:
		return 4, func(h []byte) int { return int(binary.LittleEndian.Uint16(h[2:]) & 0x3fff) }, true
	}
	return 0, nil, false
}

// ReadH4 reads exactly one H4 packet (indicator first) from a byte stream,
// using the header's length field to find its end. It returns io.EOF only
// when the stream ends cleanly between packets, io.ErrUnexpectedEOF when it
// ends inside one, and an error wrapping ErrType for an unknown indicator
// (the stream cannot be resynchronised after that: close it).
// Wrap r in a bufio.Reader to avoid three reads per packet.
func ReadH4(r io.Reader) ([]byte, error) { return ReadH4Max(r, MaxH4Size) }

// ReadH4Max is ReadH4 with a limit on the packet size (indicator
// included); a longer packet gives an error wrapping ErrTooLong and is not
// consumed past its header.
func ReadH4Max(r io.Reader, limit int) ([]byte, error) {
	var hdr [1 + ACLHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, err // io.EOF at a packet boundary
	}
	t := PacketType(hdr[0])
	size, length, ok := h4Header(t)
	if !ok {
		return nil, fmt.Errorf("%w: H4 packet indicator 0x%02x (want 0x01 command, 0x02 ACL, 0x03 SCO, 0x04 event or 0x05 ISO); the peer is not speaking H4 or the stream lost sync", ErrType, hdr[0])
	}
	if _, err := io.ReadFull(r, hdr[1:1+size]); err != nil {
		return nil, unexpected(err)
	}
	n := 1 + size + length(hdr[1:])
	if n > limit {
		return nil, fmt.Errorf("%w: %s packet of %d bytes, limit %d", ErrTooLong, t, n, limit)
	}
	pkt := make([]byte, n)
	copy(pkt, hdr[:1+size])
	if _, err := io.ReadFull(r, pkt[1+size:]); err != nil {
		return nil, unexpected(err)
	}
	return pkt, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// SplitH4 splits an H4 packet into its indicator and the packet that
// follows (aliasing pkt). For the known types it checks the header and
// that the length field matches the size (errors wrap ErrShort or
// ErrLength). For any other indicator — /dev/vhci's 0xff vendor packet,
// garbage — it still returns the type and the rest, with an error wrapping
// ErrType, so the caller can log it and carry on.
func SplitH4(pkt []byte) (PacketType, []byte, error) {
	if len(pkt) < 1 {
		return 0, nil, fmt.Errorf("%w: empty H4 packet", ErrShort)
	}
	t, body := PacketType(pkt[0]), pkt[1:]
	size, length, ok := h4Header(t)
	if !ok {
		return t, body, fmt.Errorf("%w: H4 packet indicator 0x%02x", ErrType, pkt[0])
	}
	if len(body) < size {
		return t, body, fmt.Errorf("%w: %s packet of %d bytes, header needs %d", ErrShort, t, len(body), size)
	}
	if want := size + length(body); want != len(body) {
		return t, body, fmt.Errorf("%w: %s header says %d bytes, packet has %d", ErrLength, t, want, len(body))
	}
	return t, body, nil
}

// AppendH4 appends the indicator t and the packet body to dst.
func AppendH4(dst []byte, t PacketType, body []byte) []byte {
	dst = append(dst, byte(t))
	return append(dst, body...)
}

// H4 returns a new slice holding the indicator t followed by body.
func H4(t PacketType, body []byte) []byte {
	return AppendH4(make([]byte, 0, 1+len(body)), t, body)
}
