package trace

import (
	"bytes"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"blesim/linklayer"
	"blesim/linklayer/ccm"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
)

const testAA = 0x50654A2B

// decRig is a link whose two sides seal with their own keys.
type decRig struct {
	t                *testing.T
	d                *Decryptor
	cen, per         *radio.Port
	cenSess, perSess *ccm.Session
	cenKeys, perKeys linklayer.SessionKeys
}

func keys(role linklayer.Role, dir ccm.Direction, port *radio.Port, ltkByte byte) linklayer.SessionKeys {
	k := linklayer.SessionKeys{AccessAddress: testAA, Role: role, TxDir: dir, Port: port}
	for i := range k.LTK {
		k.LTK[i] = ltkByte
		k.SKD[i] = byte(i)
	}
	k.IV = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	return k
}

func newDecRig(t *testing.T, cenLTK, perLTK byte) *decRig {
	r := &decRig{t: t, d: NewDecryptor(), cen: new(radio.Port), per: new(radio.Port)}
	r.cenKeys = keys(linklayer.RoleCentral, ccm.CentralToPeripheral, r.cen, cenLTK)
	r.perKeys = keys(linklayer.RolePeripheral, ccm.PeripheralToCentral, r.per, perLTK)
	var err error
	r.cenSess, err = ccm.NewSession(r.cenKeys.LTK, r.cenKeys.SKD, r.cenKeys.IV)
	require.NoError(t, err)
	r.perSess, err = ccm.NewSession(r.perKeys.LTK, r.perKeys.SKD, r.perKeys.IV)
	require.NoError(t, err)
	return r
}

// pdu builds a data PDU with the given SN; sealed when s is set.
func (r *decRig) pdu(s *ccm.Session, dir ccm.Direction, sn byte, llid pdu.LLID, payload []byte) []byte {
	p, err := pdu.Data(llid, payload)
	require.NoError(r.t, err)
	p[0] |= sn << 3
	if s == nil {
		return p
	}
	sealed, err := s.Seal(dir, p)
	require.NoError(r.t, err)
	return sealed
}

func (r *decRig) decrypt(from *radio.Port, b []byte) (radio.Packet, int) {
	return r.d.Decrypt(radio.Packet{Channel: 5, AccessAddress: testAA, PDU: b, CRCInit: 0x123456}, from)
}

func TestDecryptorOpensWhatWasSealed(t *testing.T) {
	r := newDecRig(t, 0x11, 0x11)
	att := []byte{7, 0, 4, 0, 0x0B, 'h', 'e', 'l', 'l', 'o', '!'} // L2CAP: ATT Read Response "hello!"
	startEncReq := r.pdu(nil, 0, 0, pdu.LLIDControl, pdu.BuildStartEncReq())

	// Before any keys: everything is clear, even something sealed.
	sealedEarly := r.pdu(r.perSess, ccm.PeripheralToCentral, 0, pdu.LLIDStart, att)
	out, st := r.decrypt(r.per, sealedEarly)
	require.Equal(t, Clear, st)
	require.Equal(t, sealedEarly, out.PDU)
	r.perSess.SetCounter(ccm.PeripheralToCentral, 0)

	r.d.AddKeys(r.perKeys)
	out, st = r.decrypt(r.per, startEncReq)
	require.Equal(t, Clear, st, "LL_START_ENC_REQ goes out in clear")
	require.Equal(t, startEncReq, out.PDU)
	r.d.AddKeys(r.cenKeys)

	tests := []struct {
		name    string
		from    *radio.Port
		pdu     []byte
		want    int
		payload []byte // the clear payload, when decrypted
	}{
		{"central LL_START_ENC_RSP", r.cen, r.pdu(r.cenSess, ccm.CentralToPeripheral, 1, pdu.LLIDControl, pdu.BuildStartEncRsp()), Decrypted, pdu.BuildStartEncRsp()},
		{"peripheral LL_START_ENC_RSP", r.per, r.pdu(r.perSess, ccm.PeripheralToCentral, 1, pdu.LLIDControl, pdu.BuildStartEncRsp()), Decrypted, pdu.BuildStartEncRsp()},
		{"empty PDU", r.cen, r.pdu(nil, 0, 0, pdu.LLIDContinuation, nil), Clear, nil},
		{"ATT read response", r.per, r.pdu(r.perSess, ccm.PeripheralToCentral, 0, pdu.LLIDStart, att), Decrypted, att},
	}
	var lastSealed []byte
	for _, tc := range tests {
		out, st := r.decrypt(tc.from, tc.pdu)
		require.Equal(t, tc.want, st, tc.name)
		if tc.want == Clear {
			require.Equal(t, tc.pdu, out.PDU, tc.name)
			continue
		}
		require.Equal(t, tc.pdu[0], out.PDU[0], "%s: header flags as on air", tc.name)
		require.Equal(t, byte(len(tc.payload)), out.PDU[1], "%s: Length without the MIC", tc.name)
		require.Equal(t, tc.payload, out.PDU[2:], tc.name)
		require.NotEqual(t, tc.payload, tc.pdu[2:len(tc.pdu)-ccm.MICLen], "%s: sealed on air", tc.name)
		lastSealed = tc.pdu
	}

	// A retransmission (same SN and payload, NESN flipped) opens to the
	// same plaintext without using a counter value; the next new PDU still
	// opens.
	retx := append([]byte(nil), lastSealed...)
	retx[0] ^= 0x04
	out, st = r.decrypt(r.per, retx)
	require.Equal(t, Decrypted, st)
	require.Equal(t, att, out.PDU[2:])
	next := r.pdu(r.perSess, ccm.PeripheralToCentral, 1, pdu.LLIDStart, att)
	out, st = r.decrypt(r.per, next)
	require.Equal(t, Decrypted, st)
	require.Equal(t, att, out.PDU[2:])

	// A sender the decryptor has no port for: both directions are tried.
	other := new(radio.Port)
	out, st = r.decrypt(other, r.pdu(r.cenSess, ccm.CentralToPeripheral, 0, pdu.LLIDStart, att))
	require.Equal(t, Decrypted, st)
	require.Equal(t, att, out.PDU[2:])

	// Advertising and unknown links are never touched.
	_, st = r.d.Decrypt(radio.Packet{Channel: 37, AccessAddress: pdu.AdvertisingAccessAddress, PDU: next}, r.per)
	require.Equal(t, Clear, st)
	_, st = r.d.Decrypt(radio.Packet{Channel: 5, AccessAddress: 0x12345678, PDU: next}, r.per)
	require.Equal(t, Clear, st)
}

// TestDecryptorMarksAWrongKey: the central encrypts with one LTK, the
// peripheral derived its keys from another. The central's LL_START_ENC_RSP
// is shown in clear (the sender's keys) but marked as failing the
// receiver's MIC check, and the pcap flags say "MIC checked, invalid".
func TestDecryptorMarksAWrongKey(t *testing.T) {
	r := newDecRig(t, 0x11, 0x22)
	r.d.AddKeys(r.perKeys)
	r.d.AddKeys(r.cenKeys)
	rsp := r.pdu(r.cenSess, ccm.CentralToPeripheral, 1, pdu.LLIDControl, pdu.BuildStartEncRsp())
	out, st := r.decrypt(r.cen, rsp)
	require.Equal(t, DecryptedMICFailure, st)
	require.Equal(t, pdu.BuildStartEncRsp(), out.PDU[2:])

	for _, tc := range []struct {
		pk    Packet
		flags uint16
	}{
		{Packet{Air: out, Decrypted: true, MICInvalid: true}, phdrDecrypted | phdrMICChecked},
		{Packet{Air: out, Decrypted: true}, phdrDecrypted | phdrMICChecked | phdrMICValid},
		{Packet{Air: out}, 0},
	} {
		got := writeOne(t, tc.pk)
		require.Equal(t, tc.flags, got&(phdrDecrypted|phdrMICChecked|phdrMICValid))
	}
}

// writeOne writes pk as the only record and returns its pseudo-header flags.
func writeOne(t *testing.T, pk Packet) uint16 {
	var buf bytes.Buffer
	p, err := NewPcap(&buf, time.Unix(1700000000, 0))
	require.NoError(t, err)
	require.NoError(t, p.Write(pk))
	require.NoError(t, p.Close())
	rec := buf.Bytes()[24+16:]
	return uint16(rec[8]) | uint16(rec[9])<<8
}

// TestDecryptorSurvivesGarbage: nothing on the air makes it panic, and
// what it does not open comes back unchanged.
func TestDecryptorSurvivesGarbage(t *testing.T) {
	r := newDecRig(t, 0x11, 0x11)
	r.d.AddKeys(r.perKeys)
	r.d.AddKeys(r.cenKeys)
	rng := rand.New(rand.NewSource(2))
	ports := []*radio.Port{r.cen, r.per, nil, new(radio.Port)}
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(40))
		rng.Read(b)
		if len(b) >= 2 && rng.Intn(2) == 0 {
			b[1] = byte(len(b) - 2)
		}
		keep := append([]byte(nil), b...)
		out, st := r.decrypt(ports[rng.Intn(len(ports))], b)
		require.True(t, bytes.Equal(keep, b), "the input is not modified")
		if st == Clear {
			require.True(t, bytes.Equal(keep, out.PDU))
		}
	}
}
