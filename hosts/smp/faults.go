package smp

import (
	"encoding/binary"
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/crypto/smpcrypto"
)

// Faults make a device break the specification on purpose, to reproduce
// peers seen in the field (the Raspberry Pi of
// field-traces/rpi-key-distribution.btmon.txt) and to test how the other
// side reacts. The zero value is a conforming device.
type Faults struct {
	// SendUnnegotiatedKeys distributes, in phase 3, every key of
	// Config.Distribute (what this device offered) whatever the Pairing
	// Response negotiated: Encryption Information and Central
	// Identification (Vol 3 Part H §3.6.2, §3.6.3) even when EncKey was
	// not negotiated, or in LE Secure Connections, where the LTK is not
	// distributed at all (§3.6.1). The keys are sent in the order of
	// §3.6.1; a conforming peer reports FindingKeyNotNegotiated, and a
	// strict one fails the pairing with Unspecified Reason.
	SendUnnegotiatedKeys bool
	// FixedLTK, FixedEDIV and FixedRand replace the random LTK (wire
	// order, reduced to the negotiated key size), EDIV and Rand this
	// device distributes (§2.4.2.3 requires them to be random; a peer
	// reports FindingNonRandomKey for values NonRandom rejects).
	FixedLTK  *Key
	FixedEDIV *uint16
	FixedRand *uint64
}

// LocalOOB is a device's fixed LE Secure Connections OOB data
// (§2.3.5.6.4): its P-256 private key and its random r. A device with
// fixed data (an NFC tag, a label) uses this key pair and r in every
// OOB pairing, and its peer gets r and C = f4(PKx, PKx, r, 0) out of band
// (LocalOOB.Data).
type LocalOOB struct {
	// PrivateKey is the P-256 private scalar, most significant octet
	// first, in [1, n-1].
	PrivateKey [32]byte
	// R is the random value r, in wire order.
	R Key
}

// Data returns what the peer receives out of band: r and the confirm
// value C = f4(PKx, PKx, r, 0), both in wire order (the peer's
// OOBData.PeerR and PeerC).
func (o LocalOOB) Data() (r, c Key, err error) {
	lo, err := o.local()
	if err != nil {
		return Key{}, Key{}, err
	}
	cv := smpcrypto.F4(lo.kp.Public.X, lo.kp.Public.X, lo.r, 0)
	return o.R, Key(smpcrypto.Rev16(cv)), nil
}

func (o LocalOOB) local() (*localOOB, error) {
	kp, err := smpcrypto.KeyPairFromPrivate(o.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("smp: LE Secure Connections OOB private key: %w", err)
	}
	return &localOOB{kp: kp, r: smpcrypto.Rev16(o.R)}, nil
}

// distributedKeys is what this device sends in phase 3: the negotiated
// keys, or with Faults.SendUnnegotiatedKeys every key it offers too.
func (s *session) distributedKeys(negotiated KeyDist) KeyDist {
	if s.m.cfg.Faults.SendUnnegotiatedKeys {
		return negotiated | s.m.cfg.distribute()
	}
	return negotiated
}

// encKeyMaterial returns the LTK (wire order), EDIV and Rand this device
// distributes: random (§2.4.2.3), unless Faults fix them. The LTK is
// reduced to the key size (the significant octets come first).
func (s *session) encKeyMaterial() (Key, uint16, uint64) {
	m, f := s.m, &s.m.cfg.Faults
	raw := m.random16()
	if f.FixedLTK != nil {
		raw = smpcrypto.Rev16(*f.FixedLTK)
	}
	ltk := Key(smpcrypto.Rev16(smpcrypto.MaskKey(raw, s.p.keySize)))
	r := m.random(10)
	ediv, rand := binary.LittleEndian.Uint16(r), binary.LittleEndian.Uint64(r[2:])
	if f.FixedEDIV != nil {
		ediv = *f.FixedEDIV
	}
	if f.FixedRand != nil {
		rand = *f.FixedRand
	}
	return ltk, ediv, rand
}

// setFixedOOB checks Config.LocalOOB and logs the data its peers need.
func (m *Manager) setFixedOOB() error {
	if m.cfg.LocalOOB == nil {
		return nil
	}
	lo, err := m.cfg.LocalOOB.local()
	if err != nil {
		return err
	}
	m.fixedOOB = lo
	r, c, _ := m.cfg.LocalOOB.Data()
	m.log.Info("fixed LE Secure Connections OOB data (give the peer r and C)",
		zap.Stringer("r", r), zap.Stringer("c", c))
	return nil
}
