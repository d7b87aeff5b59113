// Package ccm is AES-CCM (RFC 3610, NIST SP 800-38C) as a cipher.AEAD with a
// 13-byte nonce, the form Bluetooth uses: the link layer with a 4-byte MIC
// (Core v5.4 Vol 6 Part E §1) and mesh with 4- or 8-byte MICs (Mesh
// Protocol v1.1 §3.9.2.3).
package ccm

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
)

// NonceSize is the nonce length Bluetooth uses (so L = 2: payloads up to
// 65535 bytes).
const NonceSize = 13

const blockSize = 16

// ErrOpen is returned by Open when the MIC does not match.
var ErrOpen = errors.New("ccm: message authentication failed (MIC mismatch)")

type ccm struct {
	b   cipher.Block
	tag int
}

// New returns AES-CCM over b (an AES block cipher) with a tagSize-byte MIC:
// 4, 6, 8, 10, 12, 14 or 16.
func New(b cipher.Block, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != blockSize {
		return nil, errors.New("ccm: need a 16-byte block cipher")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, fmt.Errorf("ccm: bad MIC size %d (want 4, 6, ..., 16)", tagSize)
	}
	return &ccm{b: b, tag: tagSize}, nil
}

func (c *ccm) NonceSize() int { return NonceSize }
func (c *ccm) Overhead() int  { return c.tag }

// mac computes the CBC-MAC T over nonce, additional data and plaintext
// (RFC 3610 §2.2).
func (c *ccm) mac(nonce, plaintext, ad []byte) [blockSize]byte {
	var x, blk [blockSize]byte
	flags := byte((c.tag-2)/2) << 3
	flags |= 15 - NonceSize - 1 // L-1 = 1
	if len(ad) > 0 {
		flags |= 0x40
	}
	blk[0] = flags
	copy(blk[1:], nonce)
	blk[14] = byte(len(plaintext) >> 8)
	blk[15] = byte(len(plaintext))
	c.b.Encrypt(x[:], blk[:])
	if len(ad) > 0 {
		// Additional data: 2-byte length (ad < 0xFF00 here), then data,
		// zero-padded to whole blocks.
		buf := make([]byte, 0, 2+len(ad)+blockSize)
		buf = append(buf, byte(len(ad)>>8), byte(len(ad)))
		buf = append(buf, ad...)
		c.cbc(&x, buf)
	}
	c.cbc(&x, plaintext)
	return x
}

func (c *ccm) cbc(x *[blockSize]byte, data []byte) {
	for len(data) > 0 {
		var blk [blockSize]byte
		n := copy(blk[:], data)
		data = data[n:]
		subtle.XORBytes(x[:], x[:], blk[:])
		c.b.Encrypt(x[:], x[:])
	}
}

// ctr XORs data with the CTR key stream starting at counter i, into dst.
func (c *ccm) ctr(dst, src, nonce []byte, i uint16) {
	var a, s [blockSize]byte
	a[0] = 15 - NonceSize - 1
	copy(a[1:], nonce)
	for len(src) > 0 {
		a[14], a[15] = byte(i>>8), byte(i)
		c.b.Encrypt(s[:], a[:])
		n := subtle.XORBytes(dst, src, s[:])
		dst, src = dst[n:], src[n:]
		i++
	}
}

// Seal encrypts and authenticates plaintext, appending ciphertext and MIC
// to dst.
func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != NonceSize {
		panic("ccm: incorrect nonce length")
	}
	if len(plaintext) > 0xFFFF || len(ad) >= 0xFF00 {
		panic("ccm: message too long")
	}
	t := c.mac(nonce, plaintext, ad)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tag)
	c.ctr(out, plaintext, nonce, 1)
	var s0 [blockSize]byte
	c.ctr(s0[:], t[:], nonce, 0)
	copy(out[len(plaintext):], s0[:c.tag])
	return ret
}

// Open checks the MIC and decrypts, appending the plaintext to dst. On a
// MIC mismatch it returns ErrOpen and no plaintext.
func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, errors.New("ccm: incorrect nonce length")
	}
	if len(ciphertext) < c.tag || len(ciphertext)-c.tag > 0xFFFF || len(ad) >= 0xFF00 {
		return nil, ErrOpen
	}
	n := len(ciphertext) - c.tag
	ret, out := sliceForAppend(dst, n)
	c.ctr(out, ciphertext[:n], nonce, 1)
	t := c.mac(nonce, out, ad)
	var s0 [blockSize]byte
	c.ctr(s0[:], t[:], nonce, 0)
	if subtle.ConstantTimeCompare(s0[:c.tag], ciphertext[n:]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes (as crypto/cipher does).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
