package crypto

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/hosts/crypto/cmac"
	"blesim/hosts/mesh/internal/vectors"
)

func h(t testing.TB, s string) []byte { return vectors.Hex(t, s) }

func hx(b []byte) string { return hex.EncodeToString(b) }

func u(t testing.TB, s string) uint32 {
	v, err := strconv.ParseUint(s, 16, 32)
	require.NoError(t, err, s)
	return uint32(v)
}

// TestSampleData81 checks s1, k1, k2, k3, k4, the salts printed in the
// tables and the virtual addresses against every vector of
// mesh_crypto.json (Mesh Protocol v1.1 §8.1, §8.2, §8.3.22–23).
func TestSampleData81(t *testing.T) {
	var v vectors.Crypto
	vectors.Load(t, "mesh_crypto.json", &v)

	t.Run("s1", func(t *testing.T) {
		require.NotEmpty(t, v.S1)
		for _, s := range v.S1 {
			got := S1String(s.M)
			require.Equal(t, s.S1, hx(got[:]), s.ID)
		}
		require.NotEmpty(t, v.Salts.Values)
		for ascii, want := range v.Salts.Values {
			got := S1String(ascii)
			require.Equal(t, want, hx(got[:]), "s1(%q)", ascii)
		}
	})
	t.Run("k1", func(t *testing.T) {
		require.Len(t, v.K1, 5)
		for _, k := range v.K1 {
			salt := vectors.Hex16(t, k.Salt)
			tt := cmac.Sum(salt[:], h(t, k.N))
			require.Equal(t, k.T, hx(tt[:]), "%s T", k.ID)
			got := K1(h(t, k.N), salt, h(t, k.P))
			require.Equal(t, k.K1, hx(got[:]), k.ID)
		}
	})
	t.Run("k2", func(t *testing.T) {
		require.Len(t, v.K2, 6)
		for _, k := range v.K2 {
			got := K2(vectors.Hex16(t, k.N), h(t, k.P))
			require.Equal(t, k.NID, hx([]byte{got.NID}), "%s NID", k.ID)
			require.Equal(t, k.EncryptionKey, hx(got.EncryptionKey[:]), "%s EncryptionKey", k.ID)
			require.Equal(t, k.PrivacyKey, hx(got.PrivacyKey[:]), "%s PrivacyKey", k.ID)
			if k.T2 != "" {
				require.Equal(t, k.T2, hx(got.EncryptionKey[:]), "%s T2", k.ID)
				require.Equal(t, k.T3, hx(got.PrivacyKey[:]), "%s T3", k.ID)
			}
		}
	})
	t.Run("k3", func(t *testing.T) {
		require.Len(t, v.K3, 2)
		for _, k := range v.K3 {
			got := K3(vectors.Hex16(t, k.N))
			require.Equal(t, k.NetworkID, hx(got[:]), k.ID)
			require.Equal(t, k.CMAC[16:], k.NetworkID, "%s: Network ID is the CMAC's last 8 octets", k.ID)
			got = NetworkID(vectors.Hex16(t, k.N))
			require.Equal(t, k.NetworkID, hx(got[:]), k.ID)
		}
	})
	t.Run("k4", func(t *testing.T) {
		require.Len(t, v.K4, 2)
		for _, k := range v.K4 {
			require.Equal(t, k.AID, hx([]byte{K4(vectors.Hex16(t, k.N))}), k.ID)
			require.Equal(t, k.AID, hx([]byte{AID(vectors.Hex16(t, k.N))}), k.ID)
		}
	})
	t.Run("virtual address", func(t *testing.T) {
		require.Len(t, v.VirtualAddress, 2)
		for _, a := range v.VirtualAddress {
			got := VirtualAddress(vectors.Hex16(t, a.Label))
			require.Equal(t, a.Address, hx(binary.BigEndian.AppendUint16(nil, got)), a.ID)
		}
	})
}

// TestDerivedKeys82 checks IdentityKey, BeaconKey and PrivateBeaconKey
// (§8.2.6–8.2.8) through their own functions, not only through k1.
func TestDerivedKeys82(t *testing.T) {
	net := vectors.Hex16(t, "7dd7364cd842ad18c17c2b820c84c3d6")
	ik := IdentityKey(net)
	require.Equal(t, "84396c435ac48560b5965385253e210c", hx(ik[:]))
	bk := BeaconKey(net)
	require.Equal(t, "5423d967da639a99cb02231a83f7d254", hx(bk[:]))
	pk := PrivateBeaconKey(vectors.Hex16(t, "3bbb6f1fbd53e157417f308ce7aec58f"))
	require.Equal(t, "ca478cdac626b7a8522d7272dd124f26", hx(pk[:]))
	pk = PrivateBeaconKey(vectors.Hex16(t, "db662f48d477740621f5e301cdd69611"))
	require.Equal(t, "0f30694a3a91b616a48a54701053cb90", hx(pk[:]))
	// §8.4.6.1 prints the PrivateBeaconKey of the §8.1 NetKey.
	pk = PrivateBeaconKey(vectors.Hex16(t, "f7a2a44f8e8a8029064f173ddc1e2b00"))
	require.Equal(t, "6be76842460b2d3a5850d4698409f1bb", hx(pk[:]))
}

func sampleKeys(t *testing.T, s vectors.NetworkSample) NetworkKeys {
	k := K2(vectors.Hex16(t, s.NetKey), h(t, s.K2P))
	require.Equal(t, s.NID, hx([]byte{k.NID}), "%s NID", s.ID)
	return k
}

func sampleHeader(t *testing.T, s vectors.NetworkSample) NetworkHeader {
	iv := u(t, s.IVIndex)
	return NetworkHeader{
		IVI: iv&1 != 0, NID: u8(t, s.NID), CTL: s.CTL == 1, TTL: u8(t, s.TTL),
		SEQ: u(t, s.SEQ), SRC: uint16(u(t, s.SRC)), DST: uint16(u(t, s.DST)),
	}
}

func u8(t *testing.T, s string) uint8 { return uint8(u(t, s)) }

// TestNetworkPDU83 encrypts and obfuscates every §8.3 message sample
// (network nonce, NetMIC of 32 and 64 bits, managed flooding and
// friendship credentials, both IVI values), checks every intermediate
// value, and decrypts the result back.
func TestNetworkPDU83(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.GreaterOrEqual(t, len(s.Network), 17)
	for _, m := range s.Network {
		t.Run(m.ID, func(t *testing.T) {
			k := sampleKeys(t, m)
			iv := u(t, m.IVIndex)
			hd := sampleHeader(t, m)
			n := NetworkNonce(hd.CTL, hd.TTL, hd.SEQ, hd.SRC, iv)
			require.Equal(t, m.Nonce, hx(n[:]), "network nonce")
			plain := append(binary.BigEndian.AppendUint16(nil, hd.DST), h(t, m.Transport)...)
			sealed, err := Seal(k.EncryptionKey, n, plain, nil, NetMICSize(hd.CTL))
			require.NoError(t, err)
			require.Equal(t, m.EncDSTTrans+m.NetMIC, hx(sealed), "EncDST || EncTransportPDU || NetMIC")
			p := PECB(k.PrivacyKey, iv, sealed[:7])
			require.Equal(t, m.PECB, hx(p[:6]), "PECB")

			pdu, err := EncryptNetworkPDU(k, iv, hd, h(t, m.Transport))
			require.NoError(t, err)
			require.Equal(t, m.NetworkPDU, hx(pdu), "network PDU")

			gotH, gotT, err := DecryptNetworkPDU(k, iv, pdu)
			require.NoError(t, err)
			require.Equal(t, hd, gotH)
			require.Equal(t, m.Transport, hx(gotT))
			require.Equal(t, m.NetworkPDU, hx(pdu), "decrypting must not modify the input")
		})
	}
}

// TestProxyPDU89 checks the proxy nonce and proxy configuration message
// encryption against §8.9.1–8.9.3.
func TestProxyPDU89(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.Len(t, s.Proxy, 3)
	for _, m := range s.Proxy {
		t.Run(m.ID, func(t *testing.T) {
			k := sampleKeys(t, m)
			iv := u(t, m.IVIndex)
			hd := sampleHeader(t, m)
			n := ProxyNonce(hd.SEQ, hd.SRC, iv)
			require.Equal(t, m.Nonce, hx(n[:]), "proxy nonce")
			pdu, err := EncryptProxyPDU(k, iv, hd.SEQ, hd.SRC, h(t, m.Transport))
			require.NoError(t, err)
			require.Equal(t, m.NetworkPDU, hx(pdu))
			p := PECB(k.PrivacyKey, iv, pdu[7:14])
			require.Equal(t, m.PECB, hx(p[:6]), "PECB")
			gotH, gotT, err := DecryptProxyPDU(k, iv, pdu)
			require.NoError(t, err)
			require.Equal(t, hd, gotH)
			require.Equal(t, m.Transport, hx(gotT))
			_, _, err = DecryptNetworkPDU(k, iv, pdu)
			require.Error(t, err, "a proxy PDU does not open with the network nonce")
		})
	}
}

// TestUpperTransport83 checks the application and device nonces and the
// upper transport AES-CCM with 32- and 64-bit TransMICs and a Label UUID
// as additional data (§8.3.6, §8.3.20–8.3.24).
func TestUpperTransport83(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.Len(t, s.Upper, 6)
	for _, m := range s.Upper {
		t.Run(m.ID, func(t *testing.T) {
			key := vectors.Hex16(t, m.Key)
			seq, src, dst, iv := u(t, m.SEQ), uint16(u(t, m.SRC)), uint16(u(t, m.DST)), u(t, m.IVIndex)
			var n Nonce
			if m.DeviceKey {
				n = DeviceNonce(m.ASZMIC == 1, seq, src, dst, iv)
			} else {
				n = ApplicationNonce(m.ASZMIC == 1, seq, src, dst, iv)
				require.Equal(t, m.AID, hx([]byte{AID(key)}))
			}
			require.Equal(t, m.Nonce, hx(n[:]), "nonce")
			var ad []byte
			if m.Label != "" {
				ad = h(t, m.Label)
				require.Equal(t, dst, VirtualAddress([16]byte(ad)))
			}
			mic := 4
			if m.ASZMIC == 1 {
				mic = 8
			}
			sealed, err := Seal(key, n, h(t, m.Access), ad, mic)
			require.NoError(t, err)
			require.Equal(t, m.EncAccess+m.TransMIC, hx(sealed))
			plain, err := Open(key, n, sealed, ad, mic)
			require.NoError(t, err)
			require.Equal(t, m.Access, hx(plain))
			sealed[0] ^= 1
			_, err = Open(key, n, sealed, ad, mic)
			require.Error(t, err, "a flipped bit fails the TransMIC")
		})
	}
}

// TestS2K5 checks s2 and k5 (HMAC-SHA256 provisioning) against §8.17.2.
func TestS2K5(t *testing.T) {
	var p vectors.Provisioning
	vectors.Load(t, "mesh_provisioning.json", &p)
	a := p.HMAC
	salt := S2(h(t, a.ConfirmationInputs))
	require.Equal(t, a.ConfirmationSalt, hx(salt[:]))
	n := append(h(t, a.ECDHSecret), h(t, a.AuthValue)...)
	tt := HMACSHA256(salt[:], n)
	require.Equal(t, a.K5T, hx(tt[:]), "k5 T")
	ck := K5(n, salt[:], []byte("prck256"))
	require.Equal(t, a.ConfirmationKey, hx(ck[:]))
	c := HMACSHA256(ck[:], h(t, a.RandomProvisioner))
	require.Equal(t, a.ConfirmationProv, hx(c[:]))
}

func TestURIHash(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	b := s.UnprovisionedBeacon[1]
	full := S1(h(t, b.URIData))
	require.Equal(t, b.URIS1, hx(full[:]))
	got := URIHash(h(t, b.URIData))
	require.Equal(t, b.URIS1[:8], hx(got[:]))
}

func TestErrors(t *testing.T) {
	var k NetworkKeys
	_, err := NewCCM(Key{}, 6)
	require.Error(t, err)
	_, err = EncryptNetworkPDU(k, 0, NetworkHeader{}, nil)
	require.Error(t, err, "empty transport PDU")
	_, err = EncryptNetworkPDU(k, 0, NetworkHeader{}, make([]byte, 17))
	require.Error(t, err, "too long")
	_, err = EncryptNetworkPDU(k, 0, NetworkHeader{SEQ: 1 << 24}, []byte{1})
	require.Error(t, err, "SEQ > 24 bits")
	_, _, err = DecryptNetworkPDU(k, 0, make([]byte, 13))
	require.Error(t, err)
	_, _, err = DecryptNetworkPDU(k, 1, make([]byte, 20))
	require.Error(t, err, "IVI mismatch")
	require.Error(t, Obfuscate(Key{}, 0, make([]byte, 13)))
}

// FuzzDecryptNetworkPDU feeds arbitrary octets to the network PDU
// decryption with the §8.3 credentials: it must fail cleanly, never panic,
// and anything it accepts must encrypt back to the same octets.
func FuzzDecryptNetworkPDU(f *testing.F) {
	f.Add(vectors.Hex(f, "68eca487516765b5e5bfdacbaf6cb7fb6bff871f035444ce83a670df"), uint32(0x12345678))
	f.Add(vectors.Hex(f, "e85cca51e2e8998c3dc87344a16c787f6b08cc897c941a5368"), uint32(0x12345677))
	f.Add([]byte{0x68}, uint32(0))
	k := K2(vectors.Hex16(f, "7dd7364cd842ad18c17c2b820c84c3d6"), []byte{0})
	f.Fuzz(func(t *testing.T, pdu []byte, iv uint32) {
		hd, tr, err := DecryptNetworkPDU(k, iv, pdu)
		if err != nil {
			return
		}
		again, err := EncryptNetworkPDU(k, iv, hd, tr)
		require.NoError(t, err)
		require.Equal(t, pdu, again)
	})
}
