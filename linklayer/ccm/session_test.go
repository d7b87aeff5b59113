package ccm

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// llVectors is /work/shared/vectors/ll_ccm.json: the spec's LE encryption
// sample data (Core v5.4 Vol 6 Part C §1.1 "Encrypt command" and §1.2
// "Derivation of the MIC and encrypted data"). Its "byte_order" key says
// *_msb fields are written MSO first as the spec prints them, *_lsb fields
// least significant octet first as on air and over HCI, and air_pdu is the
// exact octet sequence on air.
type llVectors struct {
	Setup struct {
		LTK       string `json:"ltk_msb"`
		EDIV      string `json:"ediv_msb"`
		Rand      string `json:"rand_msb"`
		SKDm      string `json:"skd_m_msb"`
		SKDs      string `json:"skd_s_msb"`
		IVm       string `json:"iv_m_msb"`
		IVs       string `json:"iv_s_msb"`
		SKD       string `json:"skd_msb"`
		IV        string `json:"iv_msb"`
		SK        string `json:"sk_msb"`
		HCIParams string `json:"hci_le_encrypt_command_params_lsb"`
		HCIResult string `json:"hci_le_encrypt_result_lsb"`
		EncReq    struct {
			Rand, EDIV string
			SKDm       string `json:"skd_m"`
			IVm        string `json:"iv_m"`
		} `json:"ll_enc_req_fields_lsb_derived"`
		EncRsp struct {
			SKDs string `json:"skd_s"`
			IVs  string `json:"iv_s"`
		} `json:"ll_enc_rsp_fields_lsb_derived"`
	} `json:"setup"`
	CCM struct {
		MICLen   int `json:"mic_len"`
		NonceLen int `json:"nonce_len"`
	} `json:"ccm"`
	Packets []struct {
		Name      string `json:"name"`
		Label     string `json:"spec_label"`
		Counter   uint64 `json:"packet_counter"`
		Dir       uint8  `json:"direction_bit"`
		Header    string `json:"header"`
		LenPlain  int    `json:"length_plain"`
		Plain     string `json:"payload_plain"`
		Encrypted string `json:"encrypted_payload"`
		MIC       string `json:"mic"`
		Air       string `json:"air_pdu"`
		Nonce     string `json:"nonce_derived"`
		AAD       string `json:"aad_derived"`
	} `json:"packets"`
	Verification struct {
		Status string `json:"status"`
	} `json:"verification"`
}

// vectorFiles are the copies of the sample data the tests run: the shared
// file when this checkout sits next to it, and the copy in testdata (the
// same file, so the test also runs in a checkout on its own).
func vectorFiles(t *testing.T) map[string]llVectors {
	t.Helper()
	out := map[string]llVectors{}
	for _, path := range []string{"../../../shared/vectors/ll_ccm.json", "testdata/ll_ccm.json"} {
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && path != "testdata/ll_ccm.json" {
			t.Logf("%s not present; using the testdata copy", path)
			continue
		}
		require.NoError(t, err)
		var v llVectors
		require.NoError(t, json.Unmarshal(raw, &v), path)
		require.Equal(t, "all values verified", v.Verification.Status, path)
		require.Len(t, v.Packets, 4, path)
		out[path] = v
	}
	return out
}

func hx(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err, s)
	return b
}

func arr16(t *testing.T, s string) (a [16]byte) {
	t.Helper()
	b := hx(t, s)
	require.Len(t, b, 16, s)
	copy(a[:], b)
	return
}

func rev(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// TestSampleData11EncryptCommand is Vol 6 Part C §1.1: SKD = SKDs || SKDm,
// IV = IVs || IVm, SK = e(LTK, SKD), in the spec's MSB-first form, in the
// HCI LE Encrypt transcript's LSO-first form, and assembled from the
// LL_ENC_REQ / LL_ENC_RSP fields as they are on air.
func TestSampleData11EncryptCommand(t *testing.T) {
	for path, v := range vectorFiles(t) {
		t.Run(path, func(t *testing.T) {
			s := v.Setup
			// SKD and IV from their halves (MSB first).
			require.Equal(t, s.SKD, s.SKDs+s.SKDm)
			require.Equal(t, s.IV, s.IVs+s.IVm)
			var skdm, skds [8]byte
			var ivm, ivs [4]byte
			copy(skdm[:], rev(hx(t, s.SKDm)))
			copy(skds[:], rev(hx(t, s.SKDs)))
			copy(ivm[:], rev(hx(t, s.IVm)))
			copy(ivs[:], rev(hx(t, s.IVs)))
			// The LSO-first halves are what LL_ENC_REQ / LL_ENC_RSP carry.
			require.Equal(t, s.EncReq.SKDm, hex.EncodeToString(skdm[:]))
			require.Equal(t, s.EncReq.IVm, hex.EncodeToString(ivm[:]))
			require.Equal(t, s.EncRsp.SKDs, hex.EncodeToString(skds[:]))
			require.Equal(t, s.EncRsp.IVs, hex.EncodeToString(ivs[:]))
			require.Equal(t, s.EncReq.Rand, hex.EncodeToString(rev(hx(t, s.Rand))))
			require.Equal(t, s.EncReq.EDIV, hex.EncodeToString(rev(hx(t, s.EDIV))))

			skd := SKD(skdm, skds)
			require.Equal(t, s.SKD, hex.EncodeToString(skd[:]))
			iv := IV(ivm, ivs)
			require.Equal(t, s.IV, hex.EncodeToString(iv[:]))

			// SK = e(LTK, SKD).
			sk := SessionKey(arr16(t, s.LTK), arr16(t, s.SKD))
			require.Equal(t, s.SK, hex.EncodeToString(sk[:]))

			// The HCI LE Encrypt transcript: Key (LTK) then Plaintext (SKD),
			// LSO first; the result is SK LSO first.
			p := hx(t, s.HCIParams)
			require.Len(t, p, 32)
			var ltkLE [16]byte
			copy(ltkLE[:], p[:16])
			require.Equal(t, s.SKD, hex.EncodeToString(rev(p[16:])))
			ltk, skd2, iv2 := FromLL(ltkLE, skdm, skds, ivm, ivs)
			require.Equal(t, s.LTK, hex.EncodeToString(ltk[:]))
			require.Equal(t, skd, skd2)
			require.Equal(t, iv, iv2)
			require.Equal(t, s.HCIResult, hex.EncodeToString(rev(sk[:])))

			sess, err := NewSession(ltk, skd, iv)
			require.NoError(t, err)
			require.Equal(t, sk, sess.SessionKey())
			require.Equal(t, iv, sess.IV())
			require.Zero(t, sess.Counter(CentralToPeripheral))
			require.Zero(t, sess.Counter(PeripheralToCentral))
		})
	}
}

// TestSampleData12MICAndEncryptedData is Vol 6 Part C §1.2: the four
// sample packets, LL_START_ENC_RSP and a 27-octet LL data PDU each way.
// A central session seals what the central sends and opens what the
// peripheral sends; a peripheral session the reverse. Both start at
// counter 0 and advance once per packet, so the packets run in their
// order with the counters the spec gives, and every output octet (nonce,
// AAD, encrypted payload, MIC, the air PDU) must match.
func TestSampleData12MICAndEncryptedData(t *testing.T) {
	for path, v := range vectorFiles(t) {
		t.Run(path, func(t *testing.T) {
			require.Equal(t, MICLen, v.CCM.MICLen)
			require.Equal(t, NonceSize, v.CCM.NonceLen)
			s := v.Setup
			newSess := func() *Session {
				sess, err := NewSession(arr16(t, s.LTK), arr16(t, s.SKD), [8]byte(hx(t, s.IV)))
				require.NoError(t, err)
				return sess
			}
			cen, per := newSess(), newSess()
			for _, p := range v.Packets {
				t.Run(p.Name, func(t *testing.T) {
					dir := Direction(p.Dir)
					tx, rx := cen, per
					if dir == PeripheralToCentral {
						tx, rx = per, cen
					}
					require.Equal(t, p.Counter, tx.Counter(dir), "%s: sender's counter", p.Label)
					require.Equal(t, p.Counter, rx.Counter(dir), "%s: receiver's counter", p.Label)
					n := Nonce(p.Counter, dir, tx.IV())
					require.Equal(t, p.Nonce, hex.EncodeToString(n[:]))
					hdr := hx(t, p.Header)[0]
					require.Equal(t, p.AAD, hex.EncodeToString([]byte{AAD(hdr)}))

					plain := hx(t, p.Plain)
					require.Len(t, plain, p.LenPlain)
					pdu := append([]byte{hdr, byte(len(plain))}, plain...)
					air, err := tx.Seal(dir, pdu)
					require.NoError(t, err)
					require.Equal(t, p.Air, hex.EncodeToString(air))
					require.Equal(t, p.Encrypted+p.MIC, hex.EncodeToString(air[2:]))
					require.Equal(t, byte(p.LenPlain+MICLen), air[1])

					back, err := rx.Open(dir, hx(t, p.Air))
					require.NoError(t, err)
					require.Equal(t, pdu, back)
					require.Equal(t, p.Counter+1, tx.Counter(dir))
					require.Equal(t, p.Counter+1, rx.Counter(dir))
				})
			}
			// Each packet on its own, with the counter set to the spec's.
			for _, p := range v.Packets {
				dir := Direction(p.Dir)
				sess := newSess()
				sess.SetCounter(dir, p.Counter)
				ct, err := sess.SealPayload(dir, hx(t, p.Header)[0], hx(t, p.Plain))
				require.NoError(t, err)
				require.Equal(t, p.Encrypted+p.MIC, hex.EncodeToString(ct), p.Name)
				sess.SetCounter(dir, p.Counter)
				pt, err := sess.OpenPayload(dir, hx(t, p.Header)[0], ct)
				require.NoError(t, err)
				require.Equal(t, p.Plain, hex.EncodeToString(pt))
			}
		})
	}
}

// TestSampleData12Tamper: every single-bit change of a sample air PDU's
// payload or MIC, the wrong direction, the wrong counter, another key and
// a changed LLID are MIC failures that leave the counter where it was; a
// change in NESN, SN or MD is not (they are not authenticated).
func TestSampleData12Tamper(t *testing.T) {
	v := vectorFiles(t)["testdata/ll_ccm.json"]
	s := v.Setup
	p := v.Packets[2] // LL_DATA1, central -> peripheral, counter 1
	air := hx(t, p.Air)
	fresh := func(ltk string) *Session {
		sess, err := NewSession(arr16(t, ltk), arr16(t, s.SKD), [8]byte(hx(t, s.IV)))
		require.NoError(t, err)
		sess.SetCounter(CentralToPeripheral, 1)
		sess.SetCounter(PeripheralToCentral, 1)
		return sess
	}
	for i := 2; i < len(air); i++ {
		for bit := range 8 {
			b := append([]byte(nil), air...)
			b[i] ^= 1 << bit
			sess := fresh(s.LTK)
			_, err := sess.Open(CentralToPeripheral, b)
			require.ErrorIs(t, err, ErrOpen, "octet %d bit %d", i, bit)
			require.EqualValues(t, 1, sess.Counter(CentralToPeripheral))
		}
	}
	_, err := fresh(s.LTK).Open(PeripheralToCentral, air)
	require.ErrorIs(t, err, ErrOpen, "direction bit")
	sess := fresh(s.LTK)
	sess.SetCounter(CentralToPeripheral, 2)
	_, err = sess.Open(CentralToPeripheral, air)
	require.ErrorIs(t, err, ErrOpen, "counter")
	_, err = fresh("00000000000000000000000000000000").Open(CentralToPeripheral, air)
	require.ErrorIs(t, err, ErrOpen, "key")
	b := append([]byte(nil), air...)
	b[0] ^= 0x03 // LLID start -> continuation... (0b10 -> 0b01)
	_, err = fresh(s.LTK).Open(CentralToPeripheral, b)
	require.ErrorIs(t, err, ErrOpen, "LLID is authenticated")
	b = append([]byte(nil), air...)
	b[0] ^= 0x1C // NESN, SN, MD
	back, err := fresh(s.LTK).Open(CentralToPeripheral, b)
	require.NoError(t, err)
	require.Equal(t, p.Plain, hex.EncodeToString(back[2:]))
}

func TestSessionEdges(t *testing.T) {
	sess, err := NewSession([16]byte{1}, [16]byte{2}, [8]byte{3})
	require.NoError(t, err)
	// Empty PDUs are not encrypted and use no counter value.
	for _, empty := range [][]byte{{0x01, 0x00}, {0x0D, 0x00}} {
		out, err := sess.Seal(CentralToPeripheral, empty)
		require.NoError(t, err)
		require.Equal(t, empty, out)
		out, err = sess.Open(CentralToPeripheral, empty)
		require.NoError(t, err)
		require.Equal(t, empty, out)
	}
	require.Zero(t, sess.Counter(CentralToPeripheral))
	// Malformed PDUs.
	for _, bad := range [][]byte{nil, {0x02}, {0x02, 3, 1}, {0x22, 1}} {
		_, err := sess.Seal(CentralToPeripheral, bad)
		require.ErrorIs(t, err, ErrPDU, "% x", bad)
		_, err = sess.Open(CentralToPeripheral, bad)
		require.ErrorIs(t, err, ErrPDU, "% x", bad)
	}
	_, err = sess.Seal(CentralToPeripheral, append([]byte{0x02, 252}, make([]byte, 252)...))
	require.ErrorIs(t, err, ErrPDU, "no room for the MIC")
	// Fewer octets than a MIC plus one: not authentic.
	for n := range MICLen + 1 {
		_, err := sess.OpenPayload(PeripheralToCentral, 0x02, make([]byte, n))
		require.ErrorIs(t, err, ErrOpen)
	}
	// CTEInfo is carried in the clear and Length counts the MIC.
	pdu := []byte{0x22, 2, 0x55, 0xAA, 0xBB}
	air, err := sess.Seal(PeripheralToCentral, pdu)
	require.NoError(t, err)
	require.Equal(t, []byte{0x22, 6, 0x55}, air[:3])
	sess.SetCounter(PeripheralToCentral, 0)
	back, err := sess.Open(PeripheralToCentral, air)
	require.NoError(t, err)
	require.Equal(t, pdu, back)
	// The 39-bit counter never wraps.
	sess.SetCounter(CentralToPeripheral, MaxCounter)
	_, err = sess.SealPayload(CentralToPeripheral, 0x02, []byte{1})
	require.NoError(t, err)
	_, err = sess.SealPayload(CentralToPeripheral, 0x02, []byte{1})
	require.ErrorIs(t, err, ErrCounterExhausted)
	// The counter's top bits go to octet 4 under the direction bit.
	n := Nonce(0x7F_0000_0001, CentralToPeripheral, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	require.Equal(t, "01000000ff0807060504030201", hex.EncodeToString(n[:]))
	n = Nonce(0x7F_0000_0001, PeripheralToCentral, [8]byte{})
	require.Equal(t, byte(0x7F), n[4])
}

// FuzzSessionOpen feeds arbitrary PDUs to Open and Seal: they never panic,
// and whatever Seal produces Open turns back into the same PDU.
func FuzzSessionOpen(f *testing.F) {
	f.Add([]byte{0x0e, 0x05, 1, 2, 3, 4, 5}, uint8(1))
	f.Add([]byte{0x0f, 0x05, 0x9f, 0xcd, 0xa7, 0xf4, 0x48}, uint8(1))
	f.Add([]byte{0x22, 0x01, 0x00}, uint8(0))
	f.Fuzz(func(t *testing.T, p []byte, dir uint8) {
		sess, err := NewSession([16]byte{1}, [16]byte{2}, [8]byte{3})
		require.NoError(t, err)
		d := Direction(dir & 1)
		_, _ = sess.Open(d, p)
		if _, err := dataHeaderLen(p); err != nil || len(p)+MICLen > 258 {
			return
		}
		sess.SetCounter(d, 7)
		air, err := sess.Seal(d, p)
		if err != nil {
			return
		}
		sess.SetCounter(d, 7)
		back, err := sess.Open(d, air)
		require.NoError(t, err)
		require.Equal(t, p, back)
	})
}
