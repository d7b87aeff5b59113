// Package cmac is AES-CMAC (RFC 4493, NIST SP 800-38B), the MAC behind the
// Bluetooth SMP functions (Core v5.4 Vol 3 Part H §2.2.5) and the mesh
// crypto functions (Mesh Protocol v1.1 §3.9.2.2).
package cmac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"hash"
)

const blockSize = aes.BlockSize

// MAC is an AES-CMAC hash.Hash. Sum appends the 16-byte tag.
type MAC struct {
	b      cipher.Block
	k1, k2 [blockSize]byte
	x      [blockSize]byte // running CBC state
	buf    [blockSize]byte // pending input, not yet known to be the last block
	n      int             // bytes in buf
}

var _ hash.Hash = (*MAC)(nil)

// New returns an AES-CMAC keyed with key (16, 24 or 32 bytes).
func New(key []byte) (*MAC, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return NewWithCipher(b), nil
}

// NewWithCipher returns a CMAC over an AES block cipher.
func NewWithCipher(b cipher.Block) *MAC {
	m := &MAC{b: b}
	var l [blockSize]byte
	b.Encrypt(l[:], l[:])
	shift(&m.k1, &l)
	shift(&m.k2, &m.k1)
	return m
}

// shift sets dst = src << 1, xor Rb (0x87) when src's top bit is set
// (RFC 4493 §2.3 subkey generation).
func shift(dst, src *[blockSize]byte) {
	var carry byte
	for i := blockSize - 1; i >= 0; i-- {
		v := src[i]
		dst[i] = v<<1 | carry
		carry = v >> 7
	}
	if carry != 0 {
		dst[blockSize-1] ^= 0x87
	}
}

// Write absorbs p. It never fails.
func (m *MAC) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if m.n == blockSize {
			// buf is full and more data follows: it is not the last block.
			subtle.XORBytes(m.x[:], m.x[:], m.buf[:])
			m.b.Encrypt(m.x[:], m.x[:])
			m.n = 0
		}
		c := copy(m.buf[m.n:], p)
		m.n += c
		p = p[c:]
	}
	return n, nil
}

// Sum appends the tag of everything written so far to b.
func (m *MAC) Sum(b []byte) []byte {
	var last [blockSize]byte
	if m.n == blockSize {
		subtle.XORBytes(last[:], m.buf[:], m.k1[:])
	} else {
		copy(last[:], m.buf[:m.n])
		last[m.n] = 0x80
		subtle.XORBytes(last[:], last[:], m.k2[:])
	}
	var t [blockSize]byte
	subtle.XORBytes(t[:], m.x[:], last[:])
	m.b.Encrypt(t[:], t[:])
	return append(b, t[:]...)
}

// Reset forgets the input.
func (m *MAC) Reset() {
	m.x = [blockSize]byte{}
	m.n = 0
}

// Size is the tag size, 16.
func (m *MAC) Size() int { return blockSize }

// BlockSize is AES's block size, 16.
func (m *MAC) BlockSize() int { return blockSize }

// Sum returns AES-CMAC(key, msg) for a 16-byte key. It panics only on a
// key of the wrong length, a programming error.
func Sum(key, msg []byte) [16]byte {
	m, err := New(key)
	if err != nil {
		panic("cmac: " + err.Error())
	}
	m.Write(msg)
	var t [16]byte
	copy(t[:], m.Sum(nil))
	return t
}
