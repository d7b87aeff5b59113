// Package crypto is the Bluetooth Mesh security toolbox (Mesh Protocol v1.1
// §3.9): the salt and key derivation functions s1, k1–k4 and, for the
// BTM_ECDH_P256_HMAC_SHA256_AES_CCM provisioning algorithm, s2 and k5
// (§3.9.2); the keys derived from a NetKey (§3.9.6); AES-CCM with 32- and
// 64-bit MICs (§3.9.2); the network, application, device and proxy nonces
// (§3.9.5); and network PDU encryption and obfuscation (§3.9.7).
//
// Everything is big-endian ("network order"), exactly as the spec prints its
// sample data (§8): no byte is ever reversed in mesh, unlike SMP. AES-CMAC is
// blesim's own (hosts/crypto/cmac, RFC 4493); AES-CCM is linklayer/ccm.
//
// The package has no state: every function derives what it needs from its
// arguments.
package crypto

import (
	"crypto/hmac"
	"crypto/sha256"

	"blesim/hosts/crypto/cmac"
)

// Key is a 128-bit mesh key: NetKey, AppKey, DevKey, or one derived from
// them.
type Key = [16]byte

// S1 is the salt generation function s1(M) = AES-CMAC_ZERO(M) (§3.9.2).
func S1(m []byte) Key {
	var zero Key
	return cmac.Sum(zero[:], m)
}

// S1String is S1 of an ASCII string, as the spec writes s1("smk2").
func S1String(s string) Key { return S1([]byte(s)) }

// K1 is the key derivation function k1(N, SALT, P) = AES-CMAC_T(P) with
// T = AES-CMAC_SALT(N) (§3.9.2). N is any length (a 16-octet key or the
// 32-octet ECDH secret).
func K1(n []byte, salt Key, p []byte) Key {
	t := cmac.Sum(salt[:], n)
	return cmac.Sum(t[:], p)
}

// NetworkKeys is the output of k2: the NID and the EncryptionKey and
// PrivacyKey that secure and obfuscate network PDUs (§3.9.2, §3.9.6).
type NetworkKeys struct {
	NID           uint8 // 7 bits
	EncryptionKey Key
	PrivacyKey    Key
}

// K2 is the network key material derivation function k2(N, P) (§3.9.2):
// SALT = s1("smk2"), T = AES-CMAC_SALT(N), T1 = AES-CMAC_T(P||0x01),
// T2 = AES-CMAC_T(T1||P||0x02), T3 = AES-CMAC_T(T2||P||0x03); NID is the
// low 7 bits of T1's last octet. P is 0x00 for managed flooding, 0x02 for
// directed forwarding, and 0x01||LPNAddress||FriendAddress||LPNCounter||
// FriendCounter for friendship credentials.
func K2(n Key, p []byte) NetworkKeys {
	salt := S1String("smk2")
	t := cmac.Sum(salt[:], n[:])
	m, _ := cmac.New(t[:])
	var out NetworkKeys
	var prev []byte
	for i := byte(1); i <= 3; i++ {
		m.Reset()
		m.Write(prev)
		m.Write(p)
		m.Write([]byte{i})
		ti := m.Sum(nil)
		switch i {
		case 1:
			out.NID = ti[15] & 0x7f
		case 2:
			out.EncryptionKey = Key(ti)
		case 3:
			out.PrivacyKey = Key(ti)
		}
		prev = ti
	}
	return out
}

// K3 is the derivation function of the 64-bit Network ID (§3.9.2):
// the last 8 octets of AES-CMAC_T("id64"||0x01), T = AES-CMAC_s1("smk3")(N).
func K3(n Key) [8]byte {
	salt := S1String("smk3")
	t := cmac.Sum(salt[:], n[:])
	r := cmac.Sum(t[:], []byte("id64\x01"))
	return [8]byte(r[8:])
}

// K4 is the derivation function of the 6-bit AID of an AppKey (§3.9.2):
// AES-CMAC_T("id6"||0x01) mod 2^6, T = AES-CMAC_s1("smk4")(N).
func K4(n Key) uint8 {
	salt := S1String("smk4")
	t := cmac.Sum(salt[:], n[:])
	r := cmac.Sum(t[:], []byte("id6\x01"))
	return r[15] & 0x3f
}

// S2 is the salt generation function of the HMAC-SHA256 provisioning
// algorithm, s2(M) = HMAC-SHA256_ZERO(M) with a 32-octet zero key
// (§3.9.2, Mesh Protocol v1.1).
func S2(m []byte) [32]byte {
	var zero [32]byte
	return hmacSum(zero[:], m)
}

// K5 is the key derivation function of the HMAC-SHA256 provisioning
// algorithm, k5(N, SALT, P) = HMAC-SHA256_T(P) with T = HMAC-SHA256_SALT(N)
// (§3.9.2, Mesh Protocol v1.1).
func K5(n, salt, p []byte) [32]byte {
	t := hmacSum(salt, n)
	return hmacSum(t[:], p)
}

// HMACSHA256 is HMAC-SHA256_key(m), the confirmation function of the
// HMAC-SHA256 provisioning algorithm (§5.4.2.4).
func HMACSHA256(key, m []byte) [32]byte { return hmacSum(key, m) }

func hmacSum(key, m []byte) [32]byte {
	h := hmac.New(sha256.New, key)
	h.Write(m)
	return [32]byte(h.Sum(nil))
}

// id128 is the P of the NetKey-derived k1 keys: "id128" || 0x01.
const id128 = "id128\x01"

// IdentityKey derives the key of the Node Identity advertising (§3.9.6):
// k1(NetKey, s1("nkik"), "id128"||0x01).
func IdentityKey(netKey Key) Key {
	return K1(netKey[:], S1String("nkik"), []byte(id128))
}

// BeaconKey derives the key that authenticates Secure Network beacons
// (§3.9.6): k1(NetKey, s1("nkbk"), "id128"||0x01).
func BeaconKey(netKey Key) Key {
	return K1(netKey[:], S1String("nkbk"), []byte(id128))
}

// PrivateBeaconKey derives the key of Mesh Private beacons (§3.9.6):
// k1(NetKey, s1("nkpk"), "id128"||0x01).
func PrivateBeaconKey(netKey Key) Key {
	return K1(netKey[:], S1String("nkpk"), []byte(id128))
}

// NetworkID is k3(NetKey), the public identifier of a network (§3.9.6).
func NetworkID(netKey Key) [8]byte { return K3(netKey) }

// AID is k4(AppKey), the 6-bit identifier of an application key
// (§3.9.6).
func AID(appKey Key) uint8 { return K4(appKey) }

// VirtualAddress is the 16-bit virtual address of a Label UUID (§3.4.2):
// 0x8000 | (AES-CMAC_s1("vtad")(LabelUUID) mod 2^14).
func VirtualAddress(label [16]byte) uint16 {
	salt := S1String("vtad")
	h := cmac.Sum(salt[:], label[:])
	return 0x8000 | (uint16(h[14])<<8|uint16(h[15]))&0x3fff
}

// URIHash is the URI Hash of an Unprovisioned Device beacon (§3.10.2):
// the first 4 octets of s1(URI Data), where URI Data is the URI with its
// scheme replaced by the Assigned Numbers URI scheme code point
// (e.g. 0x17 for "https:").
func URIHash(uriData []byte) [4]byte {
	s := S1(uriData)
	return [4]byte(s[:4])
}
