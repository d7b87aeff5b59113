package smpcrypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/hosts/crypto/cmac"
	"blesim/vhci/hci"
)

// vectorFile finds ../shared/vectors/name above the working directory (the
// module root's sibling, see DESIGN.md).
func vectorFile(t *testing.T, name string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		p := filepath.Join(dir, "shared", "vectors", name)
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("vector file %s not found above the working directory (the hard-coded spec samples in crypto_test.go still run)", name)
		}
		dir = parent
	}
}

func hx(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err, "hex %q", s)
	return b
}

func b16(t *testing.T, s string) (o [16]byte) {
	t.Helper()
	b := hx(t, s)
	require.Len(t, b, 16, s)
	copy(o[:], b)
	return
}

func b32(t *testing.T, s string) (o [32]byte) {
	t.Helper()
	b := hx(t, s)
	require.Len(t, b, 32, s)
	copy(o[:], b)
	return
}

func b7(t *testing.T, s string) (o [7]byte) {
	t.Helper()
	copy(o[:], hx(t, s))
	return
}

func b6(t *testing.T, s string) (o [6]byte) {
	t.Helper()
	copy(o[:], hx(t, s))
	return
}

func h(b []byte) string { return hex.EncodeToString(b) }

type vmap = map[string]any

func str(m vmap, k string) string {
	s, _ := m[k].(string)
	return s
}

// TestLegacyVectors runs every vector of shared/vectors/smp_legacy.json:
// e, c1 (with p1 and p2 and the intermediate values), s1 (with r'), ah,
// and checks that the *_lsb fields are the byte-reverse of the spec
// values (the wire order the smp package uses).
func TestLegacyVectors(t *testing.T) {
	var f struct {
		Vectors map[string][]vmap `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(vectorFile(t, "smp_legacy.json"), &f))
	n := 0
	for _, v := range f.Vectors["e"] {
		got := E(b16(t, str(v, "key_msb")), b16(t, str(v, "plaintext_msb")))
		require.Equal(t, str(v, "ciphertext_msb"), h(got[:]))
		require.Equal(t, str(v, "key_hci_lsb"), h(Reverse(hx(t, str(v, "key_msb")))))
		require.Equal(t, str(v, "ciphertext_hci_lsb"), h(Reverse(got[:])))
		n++
	}
	for _, v := range f.Vectors["c1"] {
		k, r := b16(t, str(v, "k_msb")), b16(t, str(v, "r_msb"))
		preq, pres := b7(t, str(v, "preq_msb")), b7(t, str(v, "pres_msb"))
		ia, ra := b6(t, str(v, "ia_msb")), b6(t, str(v, "ra_msb"))
		iat, rat := uint8(v["iat"].(float64)), uint8(v["rat"].(float64))
		got := C1(k, r, preq, pres, iat, rat, ia, ra)
		require.Equal(t, str(v, "result_msb"), h(got[:]), "c1")
		// Intermediate values.
		p1 := append(append(append([]byte{}, pres[:]...), preq[:]...), rat, iat)
		require.Equal(t, str(v, "p1_msb"), h(p1))
		p2 := append(append(make([]byte, 4), ia[:]...), ra[:]...)
		require.Equal(t, str(v, "p2_msb"), h(p2))
		var p1a [16]byte
		copy(p1a[:], p1)
		x := xor16(r, p1a)
		require.Equal(t, str(v, "r_xor_p1_derived"), h(x[:]))
		ex := E(k, x)
		require.Equal(t, str(v, "e_k_r_xor_p1_derived"), h(ex[:]))
		// Wire forms: the PDUs as sent, addresses as in HCI.
		require.Equal(t, str(v, "preq_wire_lsb"), h(Reverse(preq[:])))
		require.Equal(t, str(v, "pres_wire_lsb"), h(Reverse(pres[:])))
		require.Equal(t, str(v, "ia_wire_lsb"), h(Reverse(ia[:])))
		require.Equal(t, str(v, "ra_wire_lsb"), h(Reverse(ra[:])))
		require.Equal(t, str(v, "r_wire_lsb"), h(Reverse(r[:])))
		require.Equal(t, str(v, "result_wire_lsb"), h(Reverse(got[:])))
		n++
	}
	for _, v := range f.Vectors["s1"] {
		r1, r2 := b16(t, str(v, "r1_msb")), b16(t, str(v, "r2_msb"))
		got := S1(b16(t, str(v, "k_msb")), r1, r2)
		require.Equal(t, str(v, "result_msb"), h(got[:]), "s1")
		require.Equal(t, str(v, "r_prime_msb"), h(append(append([]byte{}, r1[8:]...), r2[8:]...)))
		require.Equal(t, str(v, "result_wire_lsb"), h(Reverse(got[:])))
		n++
	}
	for _, v := range f.Vectors["ah"] {
		irk := b16(t, str(v, "irk_msb"))
		var pr [3]byte
		copy(pr[:], hx(t, str(v, "prand_msb")))
		got := Ah(irk, pr)
		require.Equal(t, str(v, "result_msb"), h(got[:]), "ah")
		var m [16]byte
		copy(m[13:], pr[:])
		require.Equal(t, str(v, "m_msb"), h(m[:]))
		full := E(irk, m)
		require.Equal(t, str(v, "aes_128_msb"), h(full[:]))
		require.Equal(t, str(v, "irk_wire_lsb"), h(Reverse(irk[:])))
		require.Equal(t, str(v, "prand_wire_lsb"), h(Reverse(pr[:])))
		require.Equal(t, str(v, "result_wire_lsb"), h(Reverse(got[:])))
		// The derived RPA 70:81:94:0d:fb:aa resolves with the IRK.
		rpa := RPAFromPrand(irk, pr)
		want, err := hci.ParseBDAddr("70:81:94:0D:FB:AA")
		require.NoError(t, err)
		require.Equal(t, want, rpa)
		require.True(t, ResolveRPA(irk, rpa))
		n++
	}
	require.Equal(t, 4, n, "one vector of each function")
}

// TestLESCVectors runs every vector of shared/vectors/smp_lesc.json:
// AES-CMAC (RFC 4493 subkeys and MACs), f4, f5 (T, MacKey, LTK), f6, g2
// (with the six displayed digits), h6, h7, h8, the CTKD derivations
// D.9–D.12, both P-256 data sets (public keys from private keys, DHKey in
// both directions) and the debug key pair.
func TestLESCVectors(t *testing.T) {
	var f struct {
		Vectors struct {
			CMAC struct {
				Key      string `json:"key_msb"`
				L        string `json:"subkey_l_msb"`
				Examples []struct {
					Len  int    `json:"len"`
					M    string `json:"m_msb"`
					CMAC string `json:"cmac_msb"`
				} `json:"examples"`
			} `json:"aes_cmac_rfc4493"`
			F4, F5, F6, G2, H6, H7, H8 []vmap
			CTKD                       struct {
				LTKToLinkKey struct {
					LTK  string `json:"ltk_msb"`
					CT21 vmap   `json:"ct2_1"`
					CT20 vmap   `json:"ct2_0"`
				} `json:"ltk_to_linkkey"`
				LinkKeyToLTK struct {
					LinkKey string `json:"linkkey_msb"`
					CT21    vmap   `json:"ct2_1"`
					CT20    vmap   `json:"ct2_0"`
				} `json:"linkkey_to_ltk"`
			} `json:"ctkd"`
			P256  []vmap `json:"p256_ecdh"`
			Debug vmap   `json:"debug_keys"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(vectorFile(t, "smp_lesc.json"), &f))
	v := f.Vectors

	key := hx(t, v.CMAC.Key)
	l := E([16]byte(key), [16]byte{})
	require.Equal(t, v.CMAC.L, h(l[:]), "CMAC subkey L")
	require.Len(t, v.CMAC.Examples, 4)
	for _, ex := range v.CMAC.Examples {
		m := hx(t, ex.M)
		require.Len(t, m, ex.Len)
		got := cmac.Sum(key, m)
		require.Equal(t, ex.CMAC, h(got[:]), "CMAC len %d", ex.Len)
	}

	require.NotEmpty(t, v.F4)
	for _, x := range v.F4 {
		z := hx(t, str(x, "z"))[0]
		got := F4(b32(t, str(x, "u_msb")), b32(t, str(x, "v_msb")), b16(t, str(x, "x_msb")), z)
		require.Equal(t, str(x, "result_msb"), h(got[:]), "f4")
	}
	require.NotEmpty(t, v.F5)
	for _, x := range v.F5 {
		w := b32(t, str(x, "w_msb"))
		tk := cmac.Sum(hx(t, str(x, "salt_msb")), w[:])
		require.Equal(t, str(x, "t_msb"), h(tk[:]), "f5 T")
		require.Equal(t, str(x, "salt_msb"), h(saltF5[:]))
		require.Equal(t, str(x, "key_id_msb"), h(keyIDBtle[:]))
		mk, ltk := F5(w, b16(t, str(x, "n1_msb")), b16(t, str(x, "n2_msb")), b7(t, str(x, "a1_msb")), b7(t, str(x, "a2_msb")))
		require.Equal(t, str(x, "mackey_msb"), h(mk[:]), "f5 MacKey")
		require.Equal(t, str(x, "ltk_msb"), h(ltk[:]), "f5 LTK")
	}
	require.NotEmpty(t, v.F6)
	for _, x := range v.F6 {
		var io [3]byte
		copy(io[:], hx(t, str(x, "iocap_msb")))
		got := F6(b16(t, str(x, "w_msb")), b16(t, str(x, "n1_msb")), b16(t, str(x, "n2_msb")), b16(t, str(x, "r_msb")),
			io, b7(t, str(x, "a1_msb")), b7(t, str(x, "a2_msb")))
		require.Equal(t, str(x, "result_msb"), h(got[:]), "f6")
	}
	require.NotEmpty(t, v.G2)
	for _, x := range v.G2 {
		u, vv := b32(t, str(x, "u_msb")), b32(t, str(x, "v_msb"))
		xk, y := b16(t, str(x, "x_msb")), b16(t, str(x, "y_msb"))
		got := G2(u, vv, xk, y)
		full := cmac.Sum(xk[:], append(append(append([]byte{}, u[:]...), vv[:]...), y[:]...))
		require.Equal(t, str(x, "aes_cmac_msb"), h(full[:]))
		require.Equal(t, str(x, "result_msb"), h([]byte{byte(got >> 24), byte(got >> 16), byte(got >> 8), byte(got)}), "g2")
		require.Equal(t, uint32(x["numeric_comparison_value"].(float64)), got%1000000)
	}
	require.NotEmpty(t, v.H6)
	for _, x := range v.H6 {
		got := H6(b16(t, str(x, "w_msb")), [4]byte(hx(t, str(x, "key_id_msb"))))
		require.Equal(t, str(x, "result_msb"), h(got[:]), "h6")
		require.Equal(t, str(x, "key_id_ascii"), "lebr")
		require.Equal(t, str(x, "key_id_msb"), h(keyIDLebr[:]))
	}
	require.NotEmpty(t, v.H7)
	for _, x := range v.H7 {
		got := H7(b16(t, str(x, "salt_msb")), b16(t, str(x, "w_msb")))
		require.Equal(t, str(x, "result_msb"), h(got[:]), "h7")
		require.Equal(t, str(x, "salt_msb"), h(saltTmp1[:]))
	}
	require.NotEmpty(t, v.H8)
	for _, x := range v.H8 {
		k, s := b16(t, str(x, "k_msb")), b16(t, str(x, "s_msb"))
		got := H8(k, s, [4]byte(hx(t, str(x, "key_id_msb"))))
		require.Equal(t, str(x, "result_msb"), h(got[:]), "h8")
		ik := cmac.Sum(s[:], k[:])
		require.Equal(t, str(x, "ik_derived"), h(ik[:]))
	}

	c := v.CTKD
	ltk := b16(t, c.LTKToLinkKey.LTK)
	lk1, lk0 := LTKToLinkKey(ltk, true), LTKToLinkKey(ltk, false)
	require.Equal(t, str(c.LTKToLinkKey.CT21, "linkkey_msb"), h(lk1[:]), "D.9")
	require.Equal(t, str(c.LTKToLinkKey.CT20, "linkkey_msb"), h(lk0[:]), "D.10")
	ilk1, ilk0 := H7(saltTmp1, ltk), H6(ltk, keyIDTmp1)
	require.Equal(t, str(c.LTKToLinkKey.CT21, "ilk_derived"), h(ilk1[:]))
	require.Equal(t, str(c.LTKToLinkKey.CT20, "ilk_derived"), h(ilk0[:]))
	require.Equal(t, str(c.LTKToLinkKey.CT21, "salt_msb"), h(saltTmp1[:]))
	lk := b16(t, c.LinkKeyToLTK.LinkKey)
	lt1, lt0 := LinkKeyToLTK(lk, true), LinkKeyToLTK(lk, false)
	require.Equal(t, str(c.LinkKeyToLTK.CT21, "ltk_msb"), h(lt1[:]), "D.11")
	require.Equal(t, str(c.LinkKeyToLTK.CT20, "ltk_msb"), h(lt0[:]), "D.12")
	iltk1, iltk0 := H7(saltTmp2, lk), H6(lk, keyIDTmp2)
	require.Equal(t, str(c.LinkKeyToLTK.CT21, "iltk_derived"), h(iltk1[:]))
	require.Equal(t, str(c.LinkKeyToLTK.CT20, "iltk_derived"), h(iltk0[:]))
	require.Equal(t, str(c.LinkKeyToLTK.CT21, "salt_msb"), h(saltTmp2[:]))

	require.Len(t, v.P256, 2)
	for _, x := range v.P256 {
		a, err := KeyPairFromPrivate(b32(t, str(x, "private_a_msb")))
		require.NoError(t, err)
		b, err := KeyPairFromPrivate(b32(t, str(x, "private_b_msb")))
		require.NoError(t, err)
		require.Equal(t, str(x, "public_a_x_msb"), h(a.Public.X[:]))
		require.Equal(t, str(x, "public_a_y_msb"), h(a.Public.Y[:]))
		require.Equal(t, str(x, "public_b_x_msb"), h(b.Public.X[:]))
		require.Equal(t, str(x, "public_b_y_msb"), h(b.Public.Y[:]))
		ab, err := a.DHKey(b.Public)
		require.NoError(t, err)
		ba, err := b.DHKey(a.Public)
		require.NoError(t, err)
		require.Equal(t, str(x, "dhkey_msb"), h(ab[:]), "DHKey A·PB")
		require.Equal(t, str(x, "dhkey_msb"), h(ba[:]), "DHKey B·PA")
		pa := a.Private()
		require.Equal(t, str(x, "private_a_msb"), h(pa[:]))
	}

	d := v.Debug
	require.Equal(t, str(d, "private_msb"), h(DebugPrivateKey[:]))
	require.Equal(t, str(d, "public_x_msb"), h(DebugPublicKey.X[:]))
	require.Equal(t, str(d, "public_y_msb"), h(DebugPublicKey.Y[:]))
	require.Equal(t, str(d, "private_wire_lsb"), h(Reverse(DebugPrivateKey[:])))
	require.Equal(t, str(d, "public_x_wire_lsb"), h(Reverse(DebugPublicKey.X[:])))
	require.Equal(t, str(d, "public_y_wire_lsb"), h(Reverse(DebugPublicKey.Y[:])))
	dk, err := KeyPairFromPrivate(DebugPrivateKey)
	require.NoError(t, err)
	require.Equal(t, DebugPublicKey, dk.Public, "debug public key is the debug private key's")
	require.True(t, bytes.Equal(dk.Public.X[:], DebugPublicKey.X[:]))
}
