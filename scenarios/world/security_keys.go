package world

import (
	"slices"

	"gopkg.in/yaml.v3"
)

// KeyDist is a key distribution field of a pairing command (Core v5.4
// Vol 3 Part H §3.6.1, Figure 3.11): which keys are distributed in
// phase 3.
type KeyDist uint8

// Key distribution bits, as in the Pairing Request and Response.
const (
	KeyEnc  KeyDist = 0x01 // LTK, EDIV and Rand (LE legacy pairing only)
	KeyID   KeyDist = 0x02 // IRK and identity address
	KeySign KeyDist = 0x04 // CSRK
)

// KeyNames are the names of the keys in initiator_keys and
// responder_keys, in the order of the KeyDist bits.
var KeyNames = []string{"enc-key", "id-key", "sign"}

// KeySecurity is the part of a security section about key distribution,
// deliberate misbehaviour and LE Secure Connections OOB data.
type KeySecurity struct {
	// InitiatorKeys and ResponderKeys are the key distribution fields
	// this device uses when it pairs (§3.6.1): a central requests them
	// in its Pairing Request (it offers InitiatorKeys and asks for
	// ResponderKeys); a peripheral accepts from the initiator at most
	// InitiatorKeys and gives at most ResponderKeys, answering with the
	// intersection with the request. nil: all three keys.
	InitiatorKeys, ResponderKeys *KeyDist
	// StrictKeyDistribution fails a pairing in which the peer distributes
	// a key that was not negotiated, or non-random key material, with
	// Pairing Failed Unspecified Reason (0x08); otherwise such keys are
	// reported as findings and ignored.
	StrictKeyDistribution bool
	// RequestMITM sets the MITM flag of the pairing commands without
	// requiring an authenticated key (BlueZ does this when its IO
	// capability is not no-input-no-output).
	RequestMITM bool
	// SendUnnegotiatedKeys distributes every key this device offers,
	// whatever the pairing negotiated (a misbehaving device).
	SendUnnegotiatedKeys bool
	// FixedLTK (16 bytes, in the order they go on air), FixedEDIV and
	// FixedRand replace the random LTK, EDIV and Rand this device
	// distributes (a misbehaving device).
	FixedLTK  []byte
	FixedEDIV *uint16
	FixedRand *uint64
	// OOBSC is LE Secure Connections OOB data (§2.3.5.6.4).
	OOBSC *OOBSC

	peripheralOnly []*yaml.Node // keys of the fields checkCentralSecurity rejects
}

// OOBSC is LE Secure Connections out-of-band data (Vol 3 Part H
// §2.3.5.6.4). PrivateKey and Random are this device's own, fixed OOB
// data (an NFC tag): its P-256 key pair comes from PrivateKey and its
// peer receives Random and the confirm value C = f4(PKx, PKx, r, 0),
// which the device logs at start. PeerRandom and PeerConfirm are the
// peer's data, received out of band: with them this device sets the OOB
// data flag and checks the peer's public key against PeerConfirm. Byte
// strings are in the order they go on air (r and C as btmon prints
// them); PrivateKey is the scalar, most significant octet first.
type OOBSC struct {
	PrivateKey, Random      []byte
	PeerRandom, PeerConfirm []byte
}

var keySecurityFields = []string{"initiator_keys", "responder_keys", "strict_key_distribution", "request_mitm",
	"send_unnegotiated_keys", "fixed_ltk", "fixed_ediv", "fixed_rand", "oob_sc"}

var oobSCFields = []string{"private_key", "random", "peer_random", "peer_confirm"}

// keySecurity decodes the KeySecurity fields of a security mapping m.
// bonding is the section's bonding setting.
func (d *decoder) keySecurity(s *KeySecurity, m map[string]field, path string, bonding bool) {
	for name, dst := range map[string]**KeyDist{"initiator_keys": &s.InitiatorKeys, "responder_keys": &s.ResponderKeys} {
		if v := m[name].val; v != nil {
			*dst = d.keyDist(v, path+"."+name)
		}
	}
	for name, dst := range map[string]*bool{"strict_key_distribution": &s.StrictKeyDistribution, "request_mitm": &s.RequestMITM,
		"send_unnegotiated_keys": &s.SendUnnegotiatedKeys} {
		if v := m[name].val; v != nil {
			*dst, _ = d.boolean(v, path+"."+name)
		}
	}
	s.FixedLTK = d.key16(m["fixed_ltk"].val, path+".fixed_ltk")
	if v := m["fixed_ediv"].val; v != nil {
		if e, ok := d.integer(v, path+".fixed_ediv", "an EDIV", 0, 0xFFFF); ok {
			ediv := uint16(e)
			s.FixedEDIV = &ediv
		}
	}
	if v := m["fixed_rand"].val; v != nil {
		if r, ok := d.uint64(v, path+".fixed_rand"); ok {
			s.FixedRand = &r
		}
	}
	if v := m["oob_sc"].val; v != nil {
		s.OOBSC = d.oobSC(v, path+".oob_sc")
	}
	for _, f := range []string{"fixed_ltk", "fixed_ediv", "fixed_rand"} {
		if k := m[f].key; k != nil && !bonding && !s.SendUnnegotiatedKeys {
			d.errorf(k, path+"."+f, "keys are only distributed when bonding: set bonding: true (or send_unnegotiated_keys: true)")
			break
		}
	}
	for _, f := range []string{"security_request", "rpa_rotate"} {
		if k := m[f].key; k != nil {
			s.peripheralOnly = append(s.peripheralOnly, k)
		}
	}
}

// keyDist decodes a list of key names.
func (d *decoder) keyDist(n *yaml.Node, path string) *KeyDist {
	var k KeyDist
	items := d.list(n, path, "a list of keys from: "+joinList(KeyNames)+" ([] for none)")
	for i, item := range items {
		s, ok := d.enum(item, index(path, i), "key", KeyNames)
		if !ok {
			continue
		}
		bit := KeyDist(1) << slices.Index(KeyNames, s)
		if k&bit != 0 {
			d.errorf(item, index(path, i), "%q is listed twice", s)
		}
		k |= bit
	}
	return &k
}

// oobSC decodes oob_sc: private_key and random together, peer_random and
// peer_confirm together, at least one pair.
func (d *decoder) oobSC(n *yaml.Node, path string) *OOBSC {
	m, ok := d.fields(n, path, "a mapping with "+joinList(oobSCFields), oobSCFields)
	if !ok {
		return nil
	}
	o := &OOBSC{}
	get := func(name string, size int) []byte {
		if v := m[name].val; v != nil {
			return d.hexBytes(v, path+"."+name, size)
		}
		return nil
	}
	o.PrivateKey, o.Random = get("private_key", 32), get("random", 16)
	o.PeerRandom, o.PeerConfirm = get("peer_random", 16), get("peer_confirm", 16)
	pair := func(a, b string) bool {
		ka, kb := m[a].key, m[b].key
		switch {
		case ka != nil && kb == nil:
			d.errorf(ka, path+"."+a, "%s needs %s too", a, b)
		case kb != nil && ka == nil:
			d.errorf(kb, path+"."+b, "%s needs %s too", b, a)
		}
		return ka != nil || kb != nil
	}
	own, peer := pair("private_key", "random"), pair("peer_random", "peer_confirm")
	if !own && !peer {
		d.errorf(n, path, "want this device's private_key and random, the peer's peer_random and peer_confirm, or both")
	}
	if k := m["private_key"].val; k != nil && o.PrivateKey != nil && !validScalar(o.PrivateKey) {
		d.errorf(k, path+".private_key", "not a P-256 private key: want a number from 1 to n-1 (n is the order of the curve)")
	}
	return o
}

// p256N is the order of the P-256 group, most significant octet first.
var p256N = []byte{0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51}

// validScalar reports whether d (32 octets, big-endian) is in [1, n-1].
func validScalar(d []byte) bool {
	zero := true
	for _, b := range d {
		zero = zero && b == 0
	}
	return !zero && string(d) < string(p256N)
}

// checkCentralSecurity reports security fields a central cannot use:
// the central does not advertise and does not send Security Requests.
func (d *decoder) checkCentralSecurity(s *Security, path string) {
	for _, k := range s.peripheralOnly {
		d.errorf(k, path+".security."+k.Value, "a central does not advertise or send Security Requests; remove %s", k.Value)
	}
}
