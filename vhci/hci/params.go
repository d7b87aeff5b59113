package hci

import (
	"encoding/binary"
	"fmt"
)

// Reader decodes little-endian fields from command, event or PDU
// parameters. It never panics: reading past the end records an error
// (sticky) and returns zero values. Check Err once after reading.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, r.off, len(r.b))
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// U8 reads one octet.
func (r *Reader) U8() uint8 {
	s := r.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

// U16 reads a little-endian uint16.
func (r *Reader) U16() uint16 {
	s := r.take(2)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(s)
}

// U24 reads a little-endian 24-bit value.
func (r *Reader) U24() uint32 {
	s := r.take(3)
	if s == nil {
		return 0
	}
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16
}

// U32 reads a little-endian uint32.
func (r *Reader) U32() uint32 {
	s := r.take(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

// U64 reads a little-endian uint64.
func (r *Reader) U64() uint64 {
	s := r.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

// Addr reads a 6-octet device address.
func (r *Reader) Addr() BDAddr {
	var a BDAddr
	copy(a[:], r.take(6))
	return a
}

// Bytes reads n octets (aliasing the input).
func (r *Reader) Bytes(n int) []byte { return r.take(n) }

// Rest returns the unread octets.
func (r *Reader) Rest() []byte {
	if r.err != nil || r.off > len(r.b) {
		return nil
	}
	s := r.b[r.off:]
	r.off = len(r.b)
	return s
}

// Len returns the number of unread octets.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Err returns the first error, if any.
func (r *Reader) Err() error { return r.err }

// Exact returns an error unless every octet was read and none was missing.
func (r *Reader) Exact() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrLength, len(r.b)-r.off)
	}
	return nil
}

// Writer appends little-endian fields. The zero value is ready to use.
type Writer struct{ B []byte }

// U8 appends one octet.
func (w *Writer) U8(v uint8) *Writer { w.B = append(w.B, v); return w }

// U16 appends a little-endian uint16.
func (w *Writer) U16(v uint16) *Writer { w.B = binary.LittleEndian.AppendUint16(w.B, v); return w }

// U24 appends a little-endian 24-bit value.
func (w *Writer) U24(v uint32) *Writer {
	w.B = append(w.B, byte(v), byte(v>>8), byte(v>>16))
	return w
}

// U32 appends a little-endian uint32.
func (w *Writer) U32(v uint32) *Writer { w.B = binary.LittleEndian.AppendUint32(w.B, v); return w }

// U64 appends a little-endian uint64.
func (w *Writer) U64(v uint64) *Writer { w.B = binary.LittleEndian.AppendUint64(w.B, v); return w }

// Addr appends a device address.
func (w *Writer) Addr(a BDAddr) *Writer { w.B = append(w.B, a[:]...); return w }

// Bytes appends raw octets.
func (w *Writer) Bytes(b []byte) *Writer { w.B = append(w.B, b...); return w }
