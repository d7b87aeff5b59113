package smpcrypto

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"
)

// PublicKey is a P-256 public key as LE Secure Connections carries it: the
// affine X and Y coordinates (Vol 3 Part H §3.5.6), each most significant
// octet first here (the Pairing Public Key PDU sends each coordinate least
// significant octet first).
type PublicKey struct {
	X, Y [32]byte
}

// KeyPair is a P-256 key pair for LE Secure Connections (§2.3.5.6.1).
type KeyPair struct {
	priv   *ecdh.PrivateKey
	Public PublicKey
}

// ErrInvalidPublicKey is returned for a public key that is not a point on
// P-256 (or is the point at infinity).
var ErrInvalidPublicKey = errors.New("smpcrypto: public key is not a valid P-256 point")

// Debug keys of LE Secure Connections debug mode (§2.3.5.6.1), most
// significant octet first. A device using them lets anyone with a sniffer
// decrypt the link.
var (
	DebugPrivateKey = [32]byte{
		0x3f, 0x49, 0xf6, 0xd4, 0xa3, 0xc5, 0x5f, 0x38, 0x74, 0xc9, 0xb3, 0xe3, 0xd2, 0x10, 0x3f, 0x50,
		0x4a, 0xff, 0x60, 0x7b, 0xeb, 0x40, 0xb7, 0x99, 0x58, 0x99, 0xb8, 0xa6, 0xcd, 0x3c, 0x1a, 0xbd}
	DebugPublicKey = PublicKey{
		X: [32]byte{
			0x20, 0xb0, 0x03, 0xd2, 0xf2, 0x97, 0xbe, 0x2c, 0x5e, 0x2c, 0x83, 0xa7, 0xe9, 0xf9, 0xa5, 0xb9,
			0xef, 0xf4, 0x91, 0x11, 0xac, 0xf4, 0xfd, 0xdb, 0xcc, 0x03, 0x01, 0x48, 0x0e, 0x35, 0x9d, 0xe6},
		Y: [32]byte{
			0xdc, 0x80, 0x9c, 0x49, 0x65, 0x2a, 0xeb, 0x6d, 0x63, 0x32, 0x9a, 0xbf, 0x5a, 0x52, 0x15, 0x5c,
			0x76, 0x63, 0x45, 0xc2, 0x8f, 0xed, 0x30, 0x24, 0x74, 0x1c, 0x8e, 0xd0, 0x15, 0x89, 0xd2, 0x8b},
	}
)

// KeyPairFromPrivate builds the key pair of a private scalar d (most
// significant octet first). d must be in [1, n-1].
func KeyPairFromPrivate(d [32]byte) (*KeyPair, error) {
	priv, err := ecdh.P256().NewPrivateKey(d[:])
	if err != nil {
		return nil, fmt.Errorf("smpcrypto: %w", err)
	}
	kp := &KeyPair{priv: priv}
	pub := priv.PublicKey().Bytes() // 0x04 || X || Y
	copy(kp.Public.X[:], pub[1:33])
	copy(kp.Public.Y[:], pub[33:65])
	return kp, nil
}

// GenerateKeyPair draws a private key from rnd. Unlike
// ecdh.Curve.GenerateKey it honours rnd, so a simulation seeded the same
// way makes the same keys.
func GenerateKeyPair(rnd io.Reader) (*KeyPair, error) {
	for range 64 {
		var d [32]byte
		if _, err := io.ReadFull(rnd, d[:]); err != nil {
			return nil, fmt.Errorf("smpcrypto: reading random private key: %w", err)
		}
		if kp, err := KeyPairFromPrivate(d); err == nil {
			return kp, nil
		}
	}
	return nil, errors.New("smpcrypto: no valid P-256 private key from the random source")
}

// Private returns the private scalar, most significant octet first.
func (k *KeyPair) Private() [32]byte {
	var d [32]byte
	copy(d[:], k.priv.Bytes())
	return d
}

func (p PublicKey) ecdh() (*ecdh.PublicKey, error) {
	b := make([]byte, 0, 65)
	b = append(b, 0x04)
	b = append(b, p.X[:]...)
	b = append(b, p.Y[:]...)
	pk, err := ecdh.P256().NewPublicKey(b)
	if err != nil {
		return nil, ErrInvalidPublicKey
	}
	return pk, nil
}

// Valid reports whether p is a point on P-256 (SEC 1 §2.3.4 checks: the
// coordinates are below p and satisfy the curve equation).
func (p PublicKey) Valid() bool {
	_, err := p.ecdh()
	return err == nil
}

// DHKey computes the Diffie-Hellman key (the X coordinate of d·P, most
// significant octet first) with the peer's public key, after checking the
// point is on the curve (the invalid-curve check of §2.3.5.6.1).
func (k *KeyPair) DHKey(peer PublicKey) ([32]byte, error) {
	var out [32]byte
	pk, err := peer.ecdh()
	if err != nil {
		return out, err
	}
	s, err := k.priv.ECDH(pk)
	if err != nil {
		return out, ErrInvalidPublicKey
	}
	copy(out[:], s)
	return out, nil
}
