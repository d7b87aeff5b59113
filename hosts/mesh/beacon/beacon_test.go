package beacon

import (
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/internal/vectors"
)

func hx(b []byte) string { return hex.EncodeToString(b) }

// TestUnprovisioned84 checks the Unprovisioned Device beacon samples
// (Mesh Protocol v1.1 §8.4.1, §8.4.2: OOB information and URI hash).
func TestUnprovisioned84(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.Len(t, s.UnprovisionedBeacon, 2)
	for _, v := range s.UnprovisionedBeacon {
		t.Run(v.ID, func(t *testing.T) {
			oob, err := strconv.ParseUint(v.OOBInfo, 16, 16)
			require.NoError(t, err)
			b := Unprovisioned{UUID: vectors.Hex16(t, v.UUID), OOB: OOBInfo(oob)}
			if v.URI != "" {
				require.Equal(t, v.URIData, hx(URIData(v.URI)))
				b = b.WithURI(v.URI)
			}
			require.Equal(t, v.Beacon, hx(b.Marshal()))
			got, err := ParseUnprovisioned(b.Marshal())
			require.NoError(t, err)
			require.Equal(t, b, got)
			ad := b.AD()
			require.Equal(t, byte(len(ad)-1), ad[0])
			require.Equal(t, byte(0x2b), ad[1])
		})
	}
	b := Unprovisioned{OOB: OOBString | OOBOnPaper | OOBOnDevice}
	require.Equal(t, OOBInfo(0xa040), b.OOB, "§8.4.1: String, on piece of paper, on device")
	require.Equal(t, OOBInfo(0x4020), OOBNumber|OOBInsideManual, "§8.4.2: Number, inside manual")
}

// TestSecureNetwork84 checks the Secure Network beacon samples (§8.4.3–
// 8.4.5).
func TestSecureNetwork84(t *testing.T) {
	var s vectors.Samples
	vectors.Load(t, "mesh_samples.json", &s)
	require.Len(t, s.SecureNetworkBeacon, 3)
	for _, v := range s.SecureNetworkBeacon {
		t.Run(v.ID, func(t *testing.T) {
			net := vectors.Hex16(t, v.NetKey)
			require.Equal(t, v.BeaconKey, hx(ptr(mcrypto.BeaconKey(net))))
			flags, _ := strconv.ParseUint(v.Flags, 16, 8)
			iv, _ := strconv.ParseUint(v.IVIndex, 16, 32)
			b := NewSecureNetwork(net, uint8(flags), uint32(iv))
			require.Equal(t, v.NetworkID, hx(b.NetworkID[:]))
			require.Equal(t, v.AuthCMAC[:16], hx(b.Auth[:]))
			require.Equal(t, v.Beacon, hx(b.Marshal()))
			got, err := Parse(b.Marshal())
			require.NoError(t, err)
			require.Equal(t, b, got)
			require.True(t, got.(SecureNetwork).Verify(mcrypto.BeaconKey(net)))
			b.IVIndex++
			require.False(t, b.Verify(mcrypto.BeaconKey(net)))
		})
	}
}

func ptr(k mcrypto.Key) []byte { return k[:] }

func TestParseErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {0, 1}, make([]byte, 20), {1}, {2, 0}, append([]byte{1}, make([]byte, 22)...)} {
		_, err := Parse(b)
		require.Error(t, err, "% x", b)
	}
	require.Equal(t, []byte{0x01, 'a', ':', 'b'}, URIData("a:b"))
	require.Equal(t, []byte{0x16, '/', '/', 'x'}, URIData("http://x"))
}

// FuzzParse: beacon parsing never panics and round-trips.
func FuzzParse(f *testing.F) {
	f.Add(vectors.Hex(f, "0070cf7c9732a345b691494810d2e9cbf44020d36b25b8"))
	f.Add(vectors.Hex(f, "01003ecaff672f673370123456788ea261582f364f6f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			return
		}
		switch x := v.(type) {
		case Unprovisioned:
			require.Equal(t, b, x.Marshal())
		case SecureNetwork:
			require.Equal(t, b, x.Marshal())
		}
	})
}
