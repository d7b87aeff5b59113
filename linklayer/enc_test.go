package linklayer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/linklayer/ccm"
	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Tests of LL encryption (Core v5.4 Vol 6 Part B §5.1.3, Vol 6 Part E):
// two controllers connected by the test, their hosts driven by HCI
// packets, the air checked through the medium's tap by an eavesdropper
// that knows the LTK and follows the procedure on air with package ccm.

var (
	ltkA  = [16]byte{0xBF, 0x01, 0xFB, 0x9D, 0x4E, 0xF3, 0xBC, 0x36, 0xD8, 0x74, 0xF5, 0x39, 0x41, 0x38, 0x68, 0x4C}
	ltkB  = [16]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00}
	randA = [8]byte{0x90, 0x78, 0x56, 0x34, 0x12, 0xEF, 0xCD, 0xAB}
	edivA = uint16(0x2474)
)

// encEventMask is what the kernel sets once the controller has the LE
// Encryption feature: the default mask with Encryption Change (bit 7),
// Encryption Key Refresh Complete (bit 47) and LE Meta (bit 61).
const encEventMask = leMetaEventMask | 1<<47

// newEncWorld is two connected controllers whose hosts take encryption
// events.
func newEncWorld(t testing.TB, seed uint64, p connParams) *world {
	t.Helper()
	w := newWorld(t, seed, nil)
	for _, h := range []*testHost{w.cen, w.per} {
		h.cmd(hci.OpSetEventMask, u64(encEventMask))
	}
	w.connect(p)
	return w
}

// enable sends LE Enable Encryption for handle 1 from the central's host.
func (w *world) enable(ltk [16]byte) {
	w.cen.cmd(hci.OpLEEnableEncryption, uint16(1), randA[:], edivA, ltk[:])
}

// encChanges returns the Encryption Change parameters a host got.
func (h *testHost) encChanges() [][]byte {
	var out [][]byte
	for _, e := range h.events(hci.EvtEncryptionChange) {
		out = append(out, []byte(e.Params()))
	}
	return out
}

// refreshes returns the Encryption Key Refresh Complete parameters.
func (h *testHost) refreshes() [][]byte {
	var out [][]byte
	for _, e := range h.events(hci.EvtEncryptionKeyRefreshComplete) {
		out = append(out, []byte(e.Params()))
	}
	return out
}

// encSeq lists, in order, the encryption-related packets the host got
// since packet index from: Command Status / Complete of the encryption
// commands, LE Long Term Key Request, Encryption Change, Key Refresh
// Complete and Disconnection Complete.
func (h *testHost) encSeq(from int) []string {
	var out []string
	for _, p := range h.pkts[from:] {
		if hci.PacketType(p[0]) != hci.EventPacket {
			continue
		}
		e := hci.Event(p[1:])
		switch e.Code() {
		case hci.EvtCommandStatus:
			cs := hci.CommandStatus(e.Params())
			if cs.Opcode() == hci.OpLEEnableEncryption {
				out = append(out, fmt.Sprintf("Command Status %v %02x", cs.Opcode(), uint8(cs.Status())))
			}
		case hci.EvtCommandComplete:
			cc := hci.CommandComplete(e.Params())
			if cc.Opcode() == hci.OpLELongTermKeyRequestReply || cc.Opcode() == hci.OpLELongTermKeyRequestNegReply {
				out = append(out, fmt.Sprintf("Command Complete %v % x", cc.Opcode(), cc.Return()))
			}
		case hci.EvtLEMeta:
			if e.Subevent() == hci.LELongTermKeyRequest {
				out = append(out, fmt.Sprintf("LE Long Term Key Request % x", e.Params()[1:]))
			}
		case hci.EvtEncryptionChange:
			out = append(out, fmt.Sprintf("Encryption Change % x", e.Params()))
		case hci.EvtEncryptionKeyRefreshComplete:
			out = append(out, fmt.Sprintf("Encryption Key Refresh Complete % x", e.Params()))
		case hci.EvtDisconnectionComplete:
			out = append(out, fmt.Sprintf("Disconnection Complete % x", e.Params()))
		}
	}
	return out
}

// ltkRequestParams is LE Long Term Key Request's parameters for handle 1
// with randA and edivA.
func ltkRequestParams() string {
	var w hci.Writer
	w.U16(1).Bytes(randA[:]).U16(edivA)
	return fmt.Sprintf("LE Long Term Key Request % x", w.B)
}

// startEncryption runs Encryption Start with the LTK the central's host
// gives (cenLTK) and the one the peripheral's host replies (perLTK), and
// waits for the LTK request.
func (w *world) startEncryption(cenLTK, perLTK [16]byte) {
	w.t.Helper()
	n := len(w.per.leMeta(hci.LELongTermKeyRequest))
	w.enable(cenLTK)
	require.Equal(w.t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpLEEnableEncryption))
	w.runUntil(2*sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) > n }, "LTK request")
	w.per.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), perLTK[:])
}

// encryptOK runs Encryption Start with ltk on both sides to the end.
func (w *world) encryptOK(ltk [16]byte) {
	w.t.Helper()
	nc, np := len(w.cen.encChanges()), len(w.per.encChanges())
	w.startEncryption(ltk, ltk)
	w.runUntil(2*sim.Second, func() bool {
		return len(w.cen.encChanges()) > nc && len(w.per.encChanges()) > np
	}, "Encryption Change on both sides")
	require.Equal(w.t, "00 01 00 01", fmt.Sprintf("% x", w.cen.encChanges()[nc]))
	require.Equal(w.t, "00 01 00 01", fmt.Sprintf("% x", w.per.encChanges()[np]))
}

// airItem is one new (not retransmitted) non-empty data channel PDU seen
// on air.
type airItem struct {
	central   bool // sent by the central
	start     sim.Time
	llid      pdu.LLID
	raw       []byte // the payload as on air
	plain     []byte // decrypted, or raw when sent in the clear
	encrypted bool
	counter   uint64 // its packet counter when encrypted
}

func (a airItem) op() pdu.Opcode {
	if a.llid != pdu.LLIDControl || len(a.plain) == 0 {
		return 0xFF
	}
	return pdu.Opcode(a.plain[0])
}

func (a airItem) String() string {
	who := "P"
	if a.central {
		who = "C"
	}
	enc := "clear"
	if a.encrypted {
		enc = fmt.Sprintf("enc#%d", a.counter)
	}
	if a.llid == pdu.LLIDControl {
		return fmt.Sprintf("%s %v %s", who, a.op(), enc)
	}
	return fmt.Sprintf("%s data(%d) %s", who, len(a.plain), enc)
}

// decodeAir replays the tap as an eavesdropper holding the LTKs (one per
// Encryption Start, in order) would: it drops retransmissions (a PDU
// with the same SN as its sender's previous transmission), derives each
// session from the LL_ENC_REQ / LL_ENC_RSP on air with package ccm (not
// with the controllers' state), switches each direction where §5.1.3
// says (the central's PDUs after LL_START_ENC_REQ, the peripheral's after
// the central's LL_START_ENC_RSP; both off after the peripheral's
// LL_PAUSE_ENC_RSP) and decrypts. It stops at the first MIC failure and
// returns it.
func (w *world) decodeAir(ltks ...[16]byte) ([]airItem, error) {
	var items []airItem
	var lastSN [2]*bool
	var on [2]bool
	var sess, pending *ccm.Session
	var req pdu.EncReq
	for _, a := range w.air {
		side := 1
		if a.from == w.cc.port {
			side = 0
		} else if a.from != w.pc.port {
			continue
		}
		d, err := pdu.ParseData(a.pdu)
		if err != nil {
			continue
		}
		sn := d.SN()
		if lastSN[side] != nil && *lastSN[side] == sn {
			continue // retransmission
		}
		lastSN[side] = &sn
		raw := d.Payload()
		if len(raw) == 0 {
			continue
		}
		it := airItem{central: side == 0, start: a.start, llid: d.LLID(), raw: slices.Clone(raw), plain: slices.Clone(raw)}
		if on[side] {
			dir := ccm.Direction(1 - side) // the central sends with direction bit 1
			it.counter = sess.Counter(dir)
			it.encrypted = true
			it.plain, err = sess.OpenPayload(dir, a.pdu[0], raw)
			if err != nil {
				return items, fmt.Errorf("%v at %v: %w", it, a.start, err)
			}
		}
		items = append(items, it)
		switch it.op() {
		case pdu.OpEncReq:
			req, _ = pdu.ParseEncReq(it.plain)
		case pdu.OpEncRsp:
			rsp, _ := pdu.ParseEncRsp(it.plain)
			pending = nil
			if len(ltks) > 0 {
				l, skd, iv := ccm.FromLL(ltks[0], req.SKDc, rsp.SKDp, req.IVc, rsp.IVp)
				ltks = ltks[1:]
				pending, _ = ccm.NewSession(l, skd, iv)
			}
		case pdu.OpStartEncReq:
			if pending == nil {
				return items, fmt.Errorf("no LTK for the Encryption Start at %v", a.start)
			}
			sess, on[0] = pending, true
		case pdu.OpStartEncRsp:
			on[1] = true
		case pdu.OpPauseEncRsp:
			if side == 1 {
				on = [2]bool{}
			}
		}
	}
	return items, nil
}

// ctrlSeq lists the control PDUs of items as "C LL_ENC_REQ clear" etc.
func ctrlSeq(items []airItem) []string {
	var out []string
	for _, it := range items {
		if it.llid == pdu.LLIDControl {
			out = append(out, it.String())
		}
	}
	return out
}

// TestLLSECEncryptionStart is LL/SEC/CEN/BV-01-C (the central starts
// encryption) and LL/SEC/PER/BV-01-C (the peripheral answers) in one run:
// the hosts see exactly the events of §5.1.3.1 in order; on air
// LL_ENC_REQ, LL_ENC_RSP and LL_START_ENC_REQ are clear, both
// LL_START_ENC_RSPs are the first encrypted PDU of their direction
// (packet counter 0, as in the spec's sample data), and the session an
// eavesdropper derives from the air and the LTK is the controllers' one.
func TestLLSECEncryptionStart(t *testing.T) {
	tests := []struct {
		name     string
		seed     uint64
		latency  uint16
		interval uint16
		prep     func(w *world)
	}{
		{"LL/SEC/CEN/BV-01-C + LL/SEC/PER/BV-01-C", 20, 0, 24, nil},
		{"peripheral latency 4", 21, 4, 24, nil},
		{"after the Feature Exchange", 22, 0, 24, func(w *world) {
			w.cen.cmd(hci.OpLEReadRemoteFeatures, 1)
			w.runUntil(sim.Second, func() bool { return len(w.cen.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }, "features")
		}},
		{"7.5 ms interval", 23, 0, 6, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaultConnParams()
			p.Latency = tc.latency
			p.Interval = tc.interval
			w := newEncWorld(t, tc.seed, p)
			if tc.prep != nil {
				tc.prep(w)
			}
			c0, p0 := len(w.cen.pkts), len(w.per.pkts)
			w.encryptOK(ltkA)
			require.Equal(t, []string{
				"Command Status LE Enable Encryption 00",
				"Encryption Change 00 01 00 01",
			}, w.cen.encSeq(c0))
			require.Equal(t, []string{
				ltkRequestParams(),
				"Command Complete LE Long Term Key Request Reply 00 01 00",
				"Encryption Change 00 01 00 01",
			}, w.per.encSeq(p0))
			w.s.RunFor(200 * sim.Millisecond)

			items, err := w.decodeAir(ltkA)
			require.NoError(t, err)
			var enc []string
			for _, s := range ctrlSeq(items) {
				if s != "C LL_FEATURE_REQ clear" && s != "P LL_FEATURE_RSP clear" {
					enc = append(enc, s)
				}
			}
			require.Equal(t, []string{
				"C LL_ENC_REQ clear",
				"P LL_ENC_RSP clear",
				"P LL_START_ENC_REQ clear",
				"C LL_START_ENC_RSP enc#0",
				"P LL_START_ENC_RSP enc#0",
			}, enc)
			// LL_ENC_REQ carries the host's Rand and EDIV.
			for _, it := range items {
				if it.op() == pdu.OpEncReq {
					r, err := pdu.ParseEncReq(it.plain)
					require.NoError(t, err)
					require.Equal(t, randA, r.Rand)
					require.Equal(t, edivA, r.EDIV)
				}
				if it.encrypted {
					require.Len(t, it.raw, len(it.plain)+ccm.MICLen)
				}
			}
			// Both sides hold the same session, with SK = e(LTK, SKD).
			cs, ps := w.cc.enc.sess, w.pc.enc.sess
			require.Equal(t, cs.SessionKey(), ps.SessionKey())
			l, skd, iv := ccm.FromLL(ltkA, w.cc.enc.req.SKDc, w.cc.enc.rsp.SKDp, w.cc.enc.req.IVc, w.cc.enc.rsp.IVp)
			require.Equal(t, ccm.SessionKey(l, skd), cs.SessionKey())
			require.Equal(t, iv, cs.IV())
			require.Equal(t, w.cc.enc.req, w.pc.enc.req)
			require.Equal(t, w.cc.enc.rsp, w.pc.enc.rsp)
			for _, cn := range []*conn{w.cc, w.pc} {
				require.True(t, cn.enc.tx && cn.enc.rx)
				require.False(t, cn.enc.txPaused)
				require.Equal(t, encIdle, cn.enc.phase)
				require.EqualValues(t, 1, cn.enc.sess.Counter(ccm.CentralToPeripheral))
				require.EqualValues(t, 1, cn.enc.sess.Counter(ccm.PeripheralToCentral))
			}
			require.Empty(t, w.cen.disconnections())
			require.Empty(t, w.per.disconnections())
		})
	}
}

// TestLLSECEncryptedACL: after Encryption Start, host data both ways
// (single PDUs, fragmented, at the default and at the maximum data length)
// arrives intact; on air every non-empty PDU is encrypted (Length = payload
// + 4, payload different from the plaintext, MIC valid for the next packet
// counter of its direction) and decrypts, with the session an eavesdropper
// derives from the air, to exactly the data sent; empty PDUs stay empty and
// unencrypted.
func TestLLSECEncryptedACL(t *testing.T) {
	for _, dle := range []bool{false, true} {
		t.Run(fmt.Sprintf("data length extension %v", dle), func(t *testing.T) {
			w := newEncWorld(t, 30, defaultConnParams())
			if dle {
				w.cen.leMask()
				w.cen.cmd(hci.OpLESetDataLength, 1, 251, 2120)
				w.runUntil(sim.Second, func() bool { return len(w.cen.leMeta(hci.LEDataLengthChange)) == 1 }, "data length")
			}
			w.encryptOK(ltkA)
			mark := len(w.air)
			var want [2][][]byte
			for i, n := range []int{1, 20, 27, 28, 100, 251} {
				want[0] = append(want[0], payload(i, n))
				want[1] = append(want[1], payload(50+i, n))
			}
			for i := range want[0] {
				w.cen.acl(1, hci.PBFirstNonFlushable, want[0][i])
				w.per.acl(1, hci.PBFirstNonFlushable, want[1][i])
			}
			w.runUntil(3*sim.Second, func() bool {
				return w.cen.completedPackets(1) == len(want[0]) && w.per.completedPackets(1) == len(want[1])
			}, "data")
			w.s.RunFor(100 * sim.Millisecond)
			require.Equal(t, want[0], w.per.messages())
			require.Equal(t, want[1], w.cen.messages())

			items, err := w.decodeAir(ltkA)
			require.NoError(t, err)
			var got [2][]byte
			maxFrag := 27
			if dle {
				maxFrag = 251
			}
			for _, it := range items {
				if it.start < w.air[mark].start || it.llid == pdu.LLIDControl {
					continue
				}
				require.True(t, it.encrypted, "%v", it)
				require.Len(t, it.raw, len(it.plain)+ccm.MICLen)
				require.LessOrEqual(t, len(it.plain), maxFrag)
				require.NotEqual(t, it.plain, it.raw[:len(it.plain)], "ciphertext equals plaintext")
				side := 1
				if it.central {
					side = 0
				}
				got[side] = append(got[side], it.plain...)
			}
			require.Equal(t, bytes.Join(want[0], nil), got[0])
			require.Equal(t, bytes.Join(want[1], nil), got[1])
			// Empty PDUs are neither encrypted nor counted.
			for _, a := range w.air[mark:] {
				d := pdu.DataPDU(a.pdu)
				if len(d.Payload()) == 0 {
					require.EqualValues(t, 0, d.Length())
				}
			}
			// Each side's counters agree with the other side's and with
			// the number of encrypted PDUs on air.
			var n [2]uint64
			for _, it := range items {
				if it.encrypted {
					if it.central {
						n[0]++
					} else {
						n[1]++
					}
				}
			}
			for _, cn := range []*conn{w.cc, w.pc} {
				require.Equal(t, n[0], cn.enc.sess.Counter(ccm.CentralToPeripheral))
				require.Equal(t, n[1], cn.enc.sess.Counter(ccm.PeripheralToCentral))
			}
		})
	}
}

// TestLLSECTapSeesCiphertext: what the medium's tap sees of an encrypted
// link is the ciphertext: the on-air payload of a data PDU is not the
// plaintext, and decrypting it with the session key and its packet
// counter gives the plaintext back.
func TestLLSECTapSeesCiphertext(t *testing.T) {
	w := newEncWorld(t, 31, defaultConnParams())
	w.encryptOK(ltkA)
	msg := []byte("blesim encrypted on the air") // 27 octets: one PDU
	ctr := w.cc.enc.sess.Counter(ccm.CentralToPeripheral)
	mark := len(w.air)
	w.cen.acl(1, hci.PBFirstNonFlushable, msg)
	w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == 1 }, "data")
	var onAir []byte
	for _, a := range w.air[mark:] {
		d := pdu.DataPDU(a.pdu)
		if a.from == w.cc.port && d.LLID() == pdu.LLIDStart {
			onAir = a.pdu
			break
		}
	}
	require.NotNil(t, onAir)
	require.EqualValues(t, len(msg)+ccm.MICLen, pdu.DataPDU(onAir).Length())
	require.False(t, bytes.Contains(onAir, msg[:8]))
	// A fresh session from the same keys, at the PDU's counter.
	l, skd, iv := ccm.FromLL(ltkA, w.cc.enc.req.SKDc, w.cc.enc.rsp.SKDp, w.cc.enc.req.IVc, w.cc.enc.rsp.IVp)
	s, err := ccm.NewSession(l, skd, iv)
	require.NoError(t, err)
	s.SetCounter(ccm.CentralToPeripheral, ctr)
	back, err := s.Open(ccm.CentralToPeripheral, onAir)
	require.NoError(t, err)
	require.Equal(t, msg, []byte(pdu.DataPDU(back).Payload()))
	require.Equal(t, [][]byte{msg}, w.per.messages())
}

// TestLLSECDataHeldDuringProcedure: host data queued on both sides while
// the procedure runs (the peripheral's host takes 300 ms to find its key)
// is not sent between the central's LL_ENC_REQ and the end of the
// procedure (§5.1.3.1); it goes out, encrypted, afterwards and arrives
// intact. Data sent before LL_ENC_REQ went in the clear.
func TestLLSECDataHeldDuringProcedure(t *testing.T) {
	w := newEncWorld(t, 32, defaultConnParams())
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 60))
	w.per.acl(1, hci.PBFirstNonFlushable, payload(2, 60))
	w.s.RunFor(150 * sim.Millisecond)
	w.enable(ltkA)
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 1 }, "LTK request")
	for i := range 3 {
		w.cen.acl(1, hci.PBFirstNonFlushable, payload(10+i, 40))
		w.per.acl(1, hci.PBFirstNonFlushable, payload(20+i, 40))
	}
	w.s.RunFor(300 * sim.Millisecond)
	require.Len(t, w.per.messages(), 1)
	require.Len(t, w.cen.messages(), 1)
	w.per.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), ltkA[:])
	w.runUntil(2*sim.Second, func() bool { return w.cen.completedPackets(1) == 4 && w.per.completedPackets(1) == 4 }, "data")
	w.s.RunFor(50 * sim.Millisecond)
	require.Equal(t, [][]byte{payload(1, 60), payload(10, 40), payload(11, 40), payload(12, 40)}, w.per.messages())
	require.Equal(t, [][]byte{payload(2, 60), payload(20, 40), payload(21, 40), payload(22, 40)}, w.cen.messages())

	items, err := w.decodeAir(ltkA)
	require.NoError(t, err)
	inProc := false
	var starts int
	for _, it := range items {
		switch it.op() {
		case pdu.OpEncReq:
			inProc = true
		case pdu.OpStartEncRsp:
			if starts++; starts == 2 {
				inProc = false
			}
		}
		if it.llid != pdu.LLIDControl {
			require.False(t, inProc, "data PDU %v during the encryption procedure", it)
			require.Equal(t, starts == 2, it.encrypted, "%v", it)
		}
	}
	require.Equal(t, 2, starts)
}

// TestLLSECLTKNegativeReply is LL/SEC/PER/BV-04-C: the peripheral's host
// has no key (LE Long Term Key Request Negative Reply, or the LTK Request
// event masked): the peripheral answers LL_ENC_RSP, then LL_REJECT_IND
// (the central's features unknown) or LL_REJECT_EXT_IND (both support
// Extended Reject Indication) with PIN or Key Missing (0x06). The
// central's host gets Encryption Change (0x06, encryption off), the
// peripheral's nothing more; the link stays up and unencrypted.
func TestLLSECLTKNegativeReply(t *testing.T) {
	tests := []struct {
		name       string
		features   bool // Feature Exchange first
		maskLTKReq bool
		wantReject string
	}{
		{"LL/SEC/PER/BV-04-C LL_REJECT_IND", false, false, "P LL_REJECT_IND clear"},
		{"LL_REJECT_EXT_IND after the Feature Exchange", true, false, "P LL_REJECT_EXT_IND clear"},
		{"LTK Request event masked", false, true, "P LL_REJECT_IND clear"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newEncWorld(t, 40, defaultConnParams())
			if tc.features {
				w.cen.cmd(hci.OpLEReadRemoteFeatures, 1)
				w.runUntil(sim.Second, func() bool { return len(w.cen.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }, "features")
			}
			if tc.maskLTKReq {
				w.per.cmd(hci.OpLESetEventMask, u64(0x1F&^(1<<4)))
			}
			c0, p0 := len(w.cen.pkts), len(w.per.pkts)
			w.enable(ltkA)
			if !tc.maskLTKReq {
				w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 1 }, "LTK request")
				w.per.cmd(hci.OpLELongTermKeyRequestNegReply, uint16(1))
			}
			w.runUntil(sim.Second, func() bool { return len(w.cen.encChanges()) == 1 }, "Encryption Change")
			w.s.RunFor(300 * sim.Millisecond)
			require.Equal(t, []string{
				"Command Status LE Enable Encryption 00",
				"Encryption Change 06 01 00 00",
			}, w.cen.encSeq(c0))
			wantPer := []string{ltkRequestParams(), "Command Complete LE Long Term Key Request Negative Reply 00 01 00"}
			if tc.maskLTKReq {
				wantPer = nil
			}
			require.Equal(t, wantPer, w.per.encSeq(p0))

			items, err := w.decodeAir()
			require.NoError(t, err)
			seq := ctrlSeq(items)
			require.Equal(t, []string{"C LL_ENC_REQ clear", "P LL_ENC_RSP clear", tc.wantReject}, seq[len(seq)-3:])
			for _, it := range items {
				switch it.op() {
				case pdu.OpRejectInd:
					code, _ := pdu.ParseRejectInd(it.plain)
					require.EqualValues(t, hci.StatusPINOrKeyMissing, code)
				case pdu.OpRejectExtInd:
					op, code, _ := pdu.ParseRejectExtInd(it.plain)
					require.Equal(t, pdu.OpEncReq, op)
					require.EqualValues(t, hci.StatusPINOrKeyMissing, code)
				}
			}
			// Still connected and unencrypted; data flows in the clear.
			for _, cn := range []*conn{w.cc, w.pc} {
				require.False(t, cn.enc.tx || cn.enc.rx || cn.enc.txPaused)
				require.Equal(t, encIdle, cn.enc.phase)
			}
			w.per.acl(1, hci.PBFirstNonFlushable, payload(3, 30))
			w.runUntil(sim.Second, func() bool { return len(w.cen.messages()) == 1 }, "data")
			require.Empty(t, w.cen.disconnections())
			require.Empty(t, w.per.disconnections())
			// A second attempt with a key works.
			w.per.cmd(hci.OpLESetEventMask, u64(0x1F))
			w.encryptOK(ltkA)
		})
	}
}

// TestLLSECKeyRefresh: LE Enable Encryption on an encrypted link refreshes
// the key (§5.1.3.2, cf. LL/SEC/CEN/BV-04-C and LL/SEC/PER/BV-03-C):
// LL_PAUSE_ENC_REQ and the peripheral's LL_PAUSE_ENC_RSP encrypted with the
// old key, the central's LL_PAUSE_ENC_RSP and then LL_ENC_REQ ..
// LL_START_ENC_REQ in the clear, the LL_START_ENC_RSPs encrypted with the
// new key from packet counter 0. Both hosts get Encryption Key Refresh
// Complete, not Encryption Change; no data is sent during the pause; data
// afterwards uses the new key.
func TestLLSECKeyRefresh(t *testing.T) {
	w := newEncWorld(t, 50, defaultConnParams())
	w.encryptOK(ltkA)
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 50))
	w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == 1 }, "data")
	oldSK := w.cc.enc.sess.SessionKey()
	c0, p0 := len(w.cen.pkts), len(w.per.pkts)
	w.startEncryption(ltkB, ltkB)
	// Data queued during the refresh waits for it.
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(2, 50))
	w.per.acl(1, hci.PBFirstNonFlushable, payload(3, 50))
	w.runUntil(2*sim.Second, func() bool { return len(w.cen.refreshes()) == 1 && len(w.per.refreshes()) == 1 }, "refresh")
	w.runUntil(sim.Second, func() bool { return w.cen.completedPackets(1) == 2 && w.per.completedPackets(1) == 1 }, "data")
	w.s.RunFor(50 * sim.Millisecond)
	require.Equal(t, [][]byte{payload(1, 50), payload(2, 50)}, w.per.messages())
	require.Equal(t, [][]byte{payload(3, 50)}, w.cen.messages())
	require.Equal(t, []string{
		"Command Status LE Enable Encryption 00",
		"Encryption Key Refresh Complete 00 01 00",
	}, w.cen.encSeq(c0))
	require.Equal(t, []string{
		ltkRequestParams(),
		"Command Complete LE Long Term Key Request Reply 00 01 00",
		"Encryption Key Refresh Complete 00 01 00",
	}, w.per.encSeq(p0))
	require.Len(t, w.cen.encChanges(), 1)
	require.Len(t, w.per.encChanges(), 1)
	require.NotEqual(t, oldSK, w.cc.enc.sess.SessionKey())
	require.Equal(t, w.cc.enc.sess.SessionKey(), w.pc.enc.sess.SessionKey())

	items, err := w.decodeAir(ltkA, ltkB)
	require.NoError(t, err)
	seq := ctrlSeq(items)
	require.Equal(t, []string{
		"C LL_ENC_REQ clear", "P LL_ENC_RSP clear", "P LL_START_ENC_REQ clear",
		"C LL_START_ENC_RSP enc#0", "P LL_START_ENC_RSP enc#0",
		"C LL_PAUSE_ENC_REQ enc#2", "P LL_PAUSE_ENC_RSP enc#1", "C LL_PAUSE_ENC_RSP clear",
		"C LL_ENC_REQ clear", "P LL_ENC_RSP clear", "P LL_START_ENC_REQ clear",
		"C LL_START_ENC_RSP enc#0", "P LL_START_ENC_RSP enc#0",
	}, seq)
	paused := false
	for _, it := range items {
		switch it.op() {
		case pdu.OpPauseEncReq:
			paused = true
		case pdu.OpStartEncRsp:
			if !it.central {
				paused = false
			}
		}
		if it.llid != pdu.LLIDControl {
			require.False(t, paused, "data %v during the refresh", it)
			require.True(t, it.encrypted, "%v", it)
		}
	}
	// A refresh of a peripheral that lost the key: the link is left
	// unencrypted and the central's host hears Encryption Change 0x06.
	w.enable(ltkA)
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 3 }, "LTK request")
	w.per.cmd(hci.OpLELongTermKeyRequestNegReply, uint16(1))
	w.runUntil(sim.Second, func() bool { return len(w.cen.encChanges()) == 2 }, "Encryption Change")
	require.Equal(t, []byte{0x06, 1, 0, 0}, w.cen.encChanges()[1])
	require.Len(t, w.per.encChanges(), 1)
	require.Len(t, w.cen.refreshes(), 1)
	w.per.acl(1, hci.PBFirstNonFlushable, payload(4, 10))
	w.runUntil(sim.Second, func() bool { return len(w.cen.messages()) == 2 }, "clear data")
	require.False(t, w.cc.enc.tx || w.cc.enc.rx || w.pc.enc.tx || w.pc.enc.rx)
}

// TestLLSECWrongLTK: the two hosts hold different LTKs. The central's
// LL_START_ENC_RSP, the first encrypted PDU, fails its MIC at the
// peripheral: the peripheral does not acknowledge it, sends nothing more and
// reports Connection Terminated due to MIC Failure (0x3D) at once; the
// central hears nothing more and reports Connection Timeout (0x08) after
// connSupervisionTimeout, without Encryption Change (enc.go explains why
// this is what real controllers do; cf. LL/SEC/PER/BI-03-C).
func TestLLSECWrongLTK(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cenLTK, perLTK [16]byte
	}{
		{"peripheral host replies another key", ltkA, ltkB},
		{"central host gives another key", ltkB, ltkA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEncWorld(t, 60, defaultConnParams())
			c0, p0 := len(w.cen.pkts), len(w.per.pkts)
			w.startEncryption(tc.cenLTK, tc.perLTK)
			w.runUntil(sim.Second, func() bool { return len(w.per.disconnections()) == 1 }, "peripheral disconnect")
			failAt := w.s.Now()
			require.Equal(t, []hci.Status{hci.StatusMICFailure}, w.per.disconnections())
			require.Equal(t, []string{
				ltkRequestParams(),
				"Command Complete LE Long Term Key Request Reply 00 01 00",
				"Disconnection Complete 00 01 00 3d",
			}, w.per.encSeq(p0))
			w.runUntil(2*sim.Second, func() bool { return len(w.cen.disconnections()) == 1 }, "central disconnect")
			require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.cen.disconnections())
			require.InDelta(t, float64(sim.Second), float64(w.s.Now().Sub(failAt)), float64(100*sim.Millisecond))
			require.Equal(t, []string{
				"Command Status LE Enable Encryption 00",
				"Disconnection Complete 00 01 00 08",
			}, w.cen.encSeq(c0))

			// On air: the central's LL_START_ENC_RSP (it decrypts with the
			// central's key) was the peripheral's last reception; the
			// peripheral sent nothing after it.
			items, err := w.decodeAir(tc.cenLTK)
			require.NoError(t, err)
			last := items[len(items)-1]
			require.Equal(t, "C LL_START_ENC_RSP enc#0", last.String())
			for _, a := range w.air {
				if a.from == w.pc.port {
					require.Less(t, a.start, last.start, "the peripheral transmitted after the MIC failure")
				}
			}
			// The peripheral's own session with its key cannot open it.
			_, err = w.pc.enc.sess.OpenPayload(ccm.CentralToPeripheral, byte(pdu.LLIDControl), last.raw)
			require.ErrorIs(t, err, ccm.ErrOpen)
		})
	}
}

// TestLLSECMICFailure: on an encrypted link, a new PDU whose MIC does not
// verify (a forged or corrupted packet) ends the connection at the side
// that receives it with 0x3D and nothing more sent (cf. LL/SEC/PER/BI-03-C,
// BI-04-C); the other side loses the link by supervision timeout (0x08). A
// retransmission of an old PDU is not opened again, so it is no failure.
func TestLLSECMICFailure(t *testing.T) {
	for _, central := range []bool{true, false} {
		t.Run(map[bool]string{true: "central receives it", false: "peripheral receives it"}[central], func(t *testing.T) {
			w := newEncWorld(t, 70, defaultConnParams())
			w.encryptOK(ltkA)
			rx, rxHost, otherHost := w.pc, w.per, w.cen
			if central {
				rx, rxHost, otherHost = w.cc, w.cen, w.per
			}
			// A duplicate (old SN) with garbage is acknowledged, not opened.
			dup := pdu.DataHeader{LLID: pdu.LLIDStart, SN: !rx.arq.nesn, NESN: rx.arq.sn, Length: 9}.Bytes()
			_, ok := rx.rxPDU(append(dup[:], make([]byte, 9)...))
			require.True(t, ok)
			require.False(t, rx.closed)
			// A new one is opened and fails.
			h := pdu.DataHeader{LLID: pdu.LLIDStart, SN: rx.arq.nesn, NESN: rx.arq.sn, Length: 9}.Bytes()
			mark := len(w.air)
			rx.rxPDU(append(h[:], 1, 2, 3, 4, 5, 6, 7, 8, 9))
			require.True(t, rx.closed)
			require.Equal(t, []hci.Status{hci.StatusMICFailure}, rxHost.disconnections())
			w.runUntil(2*sim.Second, func() bool { return len(otherHost.disconnections()) == 1 }, "supervision timeout")
			require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, otherHost.disconnections())
			for _, a := range w.air[mark:] {
				require.NotEqual(t, rx.port, a.from, "sent after the MIC failure")
			}
		})
	}
}

// TestLLSECUnexpectedPDU: during the encryption start procedure, once the
// peripheral has LL_ENC_REQ (or the central LL_ENC_RSP), a PDU that is not
// the procedure's ends the connection with 0x3D (§5.1.3.1; cf.
// LL/SEC/PER/BI-05-C, LL/SEC/PER/BI-07-C). Empty PDUs and LL_TERMINATE_IND
// are not unexpected.
func TestLLSECUnexpectedPDU(t *testing.T) {
	data := func(n int) []byte { return append([]byte{byte(pdu.LLIDStart)}, payload(1, n)...) }
	ctrl := func(p []byte) []byte { return append([]byte{byte(pdu.LLIDControl)}, p...) }
	tests := []struct {
		name    string
		central bool     // the central receives it
		at      encPhase // when
		pdu     []byte   // LLID, then payload
		want    bool     // ends with 0x3D
	}{
		{"peripheral waiting for the LTK gets data", false, encPerLTK, data(10), true},
		{"peripheral waiting for the LTK gets LL_FEATURE_REQ", false, encPerLTK, ctrl(pdu.BuildFeatureReq(0)), true},
		{"peripheral waiting for the LTK gets a second LL_ENC_REQ", false, encPerLTK, ctrl(pdu.BuildEncReq(pdu.EncReq{})), true},
		{"peripheral waiting for the LTK gets an unknown opcode", false, encPerLTK, ctrl([]byte{0x7E}), true},
		{"peripheral waiting for the LTK gets an empty PDU", false, encPerLTK, []byte{byte(pdu.LLIDContinuation)}, false},
		{"central waiting for LL_START_ENC_REQ gets data", true, encCenStartReq, data(5), true},
		{"central waiting for LL_START_ENC_REQ gets LL_VERSION_IND", true, encCenStartReq, ctrl(pdu.BuildVersionInd(pdu.Version{})), true},
		{"central waiting for LL_START_ENC_REQ gets a reject for another PDU", true, encCenStartReq,
			ctrl(pdu.BuildRejectExtInd(pdu.OpConnectionParamReq, 0x1F)), true},
		{"central waiting for LL_ENC_RSP gets data (sent before LL_ENC_REQ)", true, encCenEncRsp, data(5), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newEncWorld(t, 80, defaultConnParams())
			rx, host := w.pc, w.per
			if tc.central {
				rx, host = w.cc, w.cen
			}
			w.enable(ltkA)
			w.runUntil(sim.Second, func() bool { return rx.enc.phase == tc.at }, tc.at.String())
			h := pdu.DataHeader{LLID: pdu.LLID(tc.pdu[0]), SN: rx.arq.nesn, NESN: rx.arq.sn, Length: uint8(len(tc.pdu) - 1)}.Bytes()
			rx.rxPDU(append(h[:], tc.pdu[1:]...))
			if tc.want {
				require.True(t, rx.closed)
				require.Equal(t, []hci.Status{hci.StatusMICFailure}, host.disconnections())
				return
			}
			require.False(t, rx.closed)
			require.Empty(t, host.disconnections())
		})
	}
}

// TestLLSECPeerWithoutEncryption: a peer that does not support LE
// Encryption answers LL_ENC_REQ with LL_UNKNOWN_RSP or LL_REJECT_IND 0x1A:
// the central's host gets Encryption Change with Unsupported Remote
// Feature (0x1A) and the link carries on in the clear. A peer known from
// the Feature Exchange to lack the feature is not asked at all.
func TestLLSECPeerWithoutEncryption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer []byte
	}{
		{"LL_UNKNOWN_RSP", pdu.BuildUnknownRsp(pdu.OpEncReq)},
		{"LL_REJECT_IND", pdu.BuildRejectInd(uint8(hci.StatusUnsupportedRemoteFeature))},
		{"LL_REJECT_EXT_IND", pdu.BuildRejectExtInd(pdu.OpEncReq, uint8(hci.StatusUnsupportedRemoteFeature))},
		{"features known", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEncWorld(t, 90, defaultConnParams())
			if tc.answer == nil {
				w.cc.procs.features = w.cc.c.leFeatures() &^ (1 << hci.LEFeatEncryption)
				w.cc.procs.featuresKnown = true
				w.enable(ltkA)
				require.Equal(t, [][]byte{{0x1A, 1, 0, 0}}, w.cen.encChanges())
				w.s.RunFor(200 * sim.Millisecond)
				require.NotContains(t, ctrlSeq(mustDecode(t, w)), "C LL_ENC_REQ clear")
			} else {
				// Our peripheral supports encryption, so the central's
				// LL_ENC_REQ is taken off its queue and the answer of a peer
				// without it is handed to the central directly.
				w.enable(ltkA)
				require.Equal(t, encCenEncRsp, w.cc.enc.phase)
				require.Len(t, w.cc.arq.ctrlQ, 1)
				w.cc.arq.ctrlQ = nil
				w.cc.onControl(tc.answer)
				require.Equal(t, [][]byte{{0x1A, 1, 0, 0}}, w.cen.encChanges())
			}
			require.Equal(t, encIdle, w.cc.enc.phase)
			require.False(t, w.cc.enc.txPaused)
			w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 10))
			w.runUntil(sim.Second, func() bool { return w.cen.completedPackets(1) == 1 }, "data")
		})
	}
}

func mustDecode(t *testing.T, w *world, ltks ...[16]byte) []airItem {
	t.Helper()
	items, err := w.decodeAir(ltks...)
	require.NoError(t, err)
	return items
}

// TestLLSECCommands: the HCI side of encryption and its errors (Vol 4
// Part E §7.8.24 to §7.8.26): unknown handles (0x02), a peripheral asking
// to encrypt, a second request while one runs, and LTK replies nobody
// asked for (0x0C).
func TestLLSECCommands(t *testing.T) {
	w := newEncWorld(t, 100, defaultConnParams())
	var k [16]byte
	w.cen.cmd(hci.OpLEEnableEncryption, uint16(9), randA[:], edivA, k[:])
	require.Equal(t, hci.StatusUnknownConnectionID, w.cen.cmdStatus(hci.OpLEEnableEncryption))
	w.per.cmd(hci.OpLEEnableEncryption, uint16(1), randA[:], edivA, k[:])
	require.Equal(t, hci.StatusCommandDisallowed, w.per.cmdStatus(hci.OpLEEnableEncryption))
	for _, h := range []*testHost{w.cen, w.per} {
		h.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), k[:])
		require.Equal(t, []byte{0x0C, 1, 0}, h.complete(hci.OpLELongTermKeyRequestReply))
		h.cmd(hci.OpLELongTermKeyRequestNegReply, uint16(1))
		require.Equal(t, []byte{0x0C, 1, 0}, h.complete(hci.OpLELongTermKeyRequestNegReply))
		h.cmd(hci.OpLELongTermKeyRequestReply, uint16(7), k[:])
		require.Equal(t, []byte{0x02, 7, 0}, h.complete(hci.OpLELongTermKeyRequestReply))
		h.cmd(hci.OpLELongTermKeyRequestNegReply, uint16(7))
		require.Equal(t, []byte{0x02, 7, 0}, h.complete(hci.OpLELongTermKeyRequestNegReply))
	}
	w.enable(ltkA)
	require.Equal(t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpLEEnableEncryption))
	w.enable(ltkA)
	require.Equal(t, hci.StatusCommandDisallowed, w.cen.cmdStatus(hci.OpLEEnableEncryption))
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 1 }, "LTK request")
	// The central cannot answer an LTK request.
	w.cen.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), k[:])
	require.Equal(t, []byte{0x0C, 1, 0}, w.cen.complete(hci.OpLELongTermKeyRequestReply))
	w.per.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), ltkA[:])
	require.Equal(t, []byte{0x00, 1, 0}, w.per.complete(hci.OpLELongTermKeyRequestReply))
	// Only one reply counts.
	w.per.cmd(hci.OpLELongTermKeyRequestNegReply, uint16(1))
	require.Equal(t, []byte{0x0C, 1, 0}, w.per.complete(hci.OpLELongTermKeyRequestNegReply))
	w.runUntil(sim.Second, func() bool { return len(w.cen.encChanges()) == 1 }, "Encryption Change")
	require.Equal(t, []byte{0, 1, 0, 1}, w.cen.encChanges()[0])
	// The peripheral's host never answers: LL Response Timeout (0x22) on
	// both sides after 40 s.
	w.enable(ltkB)
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 2 }, "LTK request")
	w.runUntil(45*sim.Second, func() bool {
		return len(w.cen.disconnections()) == 1 && len(w.per.disconnections()) == 1
	}, "response timeout")
	require.Equal(t, []hci.Status{hci.StatusLLResponseTimeout}, w.cen.disconnections())
	require.Equal(t, []hci.Status{hci.StatusLLResponseTimeout}, w.per.disconnections())
	require.Len(t, w.cen.refreshes(), 0)
}

// TestLLSECFeatureAndCommandsConsistent: the encryption handlers exist, so
// the supported-commands mask has LE Enable Encryption and both LTK
// replies, and the LE Encryption feature bit is set in LE Read Local
// Supported Features and in what the LL tells its peer.
func TestLLSECFeatureAndCommandsConsistent(t *testing.T) {
	w := newEncWorld(t, 110, defaultConnParams())
	c := w.cen.c
	w.cen.cmd(hci.OpReadLocalSupportedCommands)
	mask := hci.SupportedCommandsFromMask(w.cen.complete(hci.OpReadLocalSupportedCommands)[1:])
	for _, op := range []hci.Opcode{hci.OpLEEnableEncryption, hci.OpLELongTermKeyRequestReply, hci.OpLELongTermKeyRequestNegReply} {
		require.True(t, c.Supports(op), "%v", op)
		require.Contains(t, mask, op)
	}
	w.cen.cmd(hci.OpLEReadLocalSupportedFeatures)
	var f hci.LEFeatures
	copy(f[:], w.cen.complete(hci.OpLEReadLocalSupportedFeatures)[1:])
	require.True(t, f.Has(hci.LEFeatEncryption))
	require.NotContains(t, mask, hci.OpReadEncryptionKeySize)
	w.per.cmd(hci.OpLEReadRemoteFeatures, 1)
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }, "features")
	got := binary.LittleEndian.Uint64(w.per.leMeta(hci.LEReadRemoteFeaturesComplete)[0][3:])
	require.NotZero(t, got&(1<<hci.LEFeatEncryption))
}

// TestLLSECCollisions: procedures the peripheral started just before the
// central's LL_ENC_REQ (Feature Exchange, Data Length Update, Connection
// Parameters Request, Version Exchange) or the central's own queued ones
// complete around the encryption procedure without breaking it (§5.3): the
// answers held back during the procedure go out encrypted afterwards.
func TestLLSECCollisions(t *testing.T) {
	tests := []struct {
		name string
		do   func(w *world)
		done func(w *world) bool
	}{
		{"peripheral Feature Exchange", func(w *world) { w.per.cmd(hci.OpLEReadRemoteFeatures, 1) },
			func(w *world) bool { return len(w.per.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }},
		{"peripheral Data Length Update", func(w *world) { w.per.cmd(hci.OpLESetDataLength, 1, 251, 2120) },
			func(w *world) bool { return len(w.per.leMeta(hci.LEDataLengthChange)) == 1 }},
		{"peripheral Connection Parameters Request", func(w *world) { w.per.cmd(hci.OpLEConnectionUpdate, 1, 30, 40, 0, 300, 0, 0) },
			func(w *world) bool { return len(w.per.leMeta(hci.LEConnectionUpdateComplete)) == 1 }},
		{"peripheral Version Exchange", func(w *world) { w.per.cmd(hci.OpReadRemoteVersionInfo, 1) },
			func(w *world) bool { return len(w.per.events(hci.EvtReadRemoteVersionComplete)) == 1 }},
		{"central Version Exchange queued first", func(w *world) { w.cen.cmd(hci.OpReadRemoteVersionInfo, 1) },
			func(w *world) bool { return len(w.cen.events(hci.EvtReadRemoteVersionComplete)) == 1 }},
		{"central Connection Update", func(w *world) { w.cen.cmd(hci.OpLEConnectionUpdate, 1, 30, 40, 0, 300, 0, 0) },
			func(w *world) bool { return len(w.cen.leMeta(hci.LEConnectionUpdateComplete)) == 1 }},
	}
	for _, tc := range tests {
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("%s/seed %d", tc.name, seed), func(t *testing.T) {
				w := newEncWorld(t, 120+seed, defaultConnParams())
				w.per.leMask() // LE Data Length Change; the central's host accepts parameters itself
				// The two hosts act in the same instant, or a little apart.
				if seed%2 == 0 {
					tc.do(w)
					w.s.RunFor(sim.Duration(seed) * 10 * sim.Millisecond)
				}
				w.enable(ltkA)
				if seed%2 == 1 {
					w.s.RunFor(sim.Duration(seed) * 5 * sim.Millisecond)
					tc.do(w)
				}
				w.runUntil(2*sim.Second, func() bool { return len(w.per.leMeta(hci.LELongTermKeyRequest)) == 1 }, "LTK request")
				w.per.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), ltkA[:])
				w.runUntil(3*sim.Second, func() bool {
					return len(w.cen.encChanges()) == 1 && len(w.per.encChanges()) == 1 && tc.done(w)
				}, "both procedures")
				require.Equal(t, []byte{0, 1, 0, 1}, w.cen.encChanges()[0])
				require.Equal(t, []byte{0, 1, 0, 1}, w.per.encChanges()[0])
				w.s.RunFor(500 * sim.Millisecond)
				require.Empty(t, w.cen.disconnections())
				require.Empty(t, w.per.disconnections())
				items := mustDecode(t, w, ltkA)
				in := false
				for _, it := range items {
					switch {
					case it.op() == pdu.OpEncRsp:
						in = true
					case it.op() == pdu.OpStartEncRsp && !it.central:
						in = false
					case in:
						require.Contains(t, []pdu.Opcode{pdu.OpStartEncReq, pdu.OpStartEncRsp}, it.op(),
							"%v inside the encryption procedure", it)
					}
				}
			})
		}
	}
}

// TestLLSECPacketLoss: Encryption Start, data both ways, a key refresh and
// more data, under 30% packet loss with many retransmissions, for many
// seeds: nothing is lost or duplicated, no MIC failure happens (the
// packet counters advance per new PDU, not per transmission, so they never
// drift), and at the end both sides' counters agree with each other and
// with the encrypted PDUs on air.
func TestLLSECPacketLoss(t *testing.T) {
	seeds := uint64(24)
	if testing.Short() {
		seeds = 6
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			p := defaultConnParams()
			p.Timeout = 400
			p.Interval = uint16(6 + seed%20)
			p.Latency = uint16(seed % 3)
			w := newWorld(t, 200+seed, zap.NewNop())
			for _, h := range []*testHost{w.cen, w.per} {
				h.cmd(hci.OpSetEventMask, u64(encEventMask))
			}
			w.connect(p)
			w.m.SetLossRate(0.3)
			if seed%2 == 0 {
				w.cen.cmd(hci.OpLESetDataLength, 1, 251, 2120)
			}
			hosts := [2]*testHost{w.cen, w.per}
			var want [2][][]byte
			sent := [2]int{}
			pump := func(n int, until func() bool, what string) {
				for len(want[0]) < n {
					for side := range 2 {
						i := len(want[side])
						want[side] = append(want[side], payload(i+100*side, 1+(i*61+int(seed))%251))
					}
				}
				limit := w.s.Now().Add(60 * sim.Second)
				for !(until() && hosts[0].completedPackets(1) == n && hosts[1].completedPackets(1) == n) {
					require.Less(t, w.s.Now(), limit, "timed out: %s", what)
					for side, h := range hosts {
						for sent[side] < n && sent[side]-h.completedPackets(1) < aclNumDataPackets {
							h.acl(1, hci.PBFirstNonFlushable, want[side][sent[side]])
							sent[side]++
						}
					}
					w.s.RunFor(10 * sim.Millisecond)
					require.Empty(t, w.cen.disconnections())
					require.Empty(t, w.per.disconnections())
				}
			}
			// The peripheral's host answers each LTK request when it comes.
			answer := func(n int, ltk [16]byte) {
				if len(w.per.leMeta(hci.LELongTermKeyRequest)) == n && w.pc.enc.phase == encPerLTK {
					w.per.cmd(hci.OpLELongTermKeyRequestReply, uint16(1), ltk[:])
				}
			}
			w.enable(ltkA)
			pump(10, func() bool {
				answer(1, ltkA)
				return len(w.cen.encChanges()) == 1 && len(w.per.encChanges()) == 1
			}, "encryption")
			pump(25, func() bool { return true }, "encrypted data")
			w.enable(ltkB)
			pump(40, func() bool {
				answer(2, ltkB)
				return len(w.cen.refreshes()) == 1 && len(w.per.refreshes()) == 1
			}, "refresh")
			w.s.RunFor(200 * sim.Millisecond)
			require.Equal(t, want[0], w.per.messages())
			require.Equal(t, want[1], w.cen.messages())
			require.Equal(t, []byte{0, 1, 0, 1}, w.cen.encChanges()[0])
			require.Equal(t, []byte{0, 1, 0, 1}, w.per.encChanges()[0])

			// The next counter of each direction is one past the last
			// encrypted PDU on air (decoded with a session of its own).
			items := mustDecode(t, w, ltkA, ltkB)
			var n [2]uint64
			for _, it := range items {
				if it.encrypted {
					n[b2u(!it.central)] = it.counter + 1
				}
			}
			for _, cn := range []*conn{w.cc, w.pc} {
				require.Equal(t, n[0], cn.enc.sess.Counter(ccm.CentralToPeripheral))
				require.Equal(t, n[1], cn.enc.sess.Counter(ccm.PeripheralToCentral))
			}
			// Retransmissions did happen.
			require.Positive(t, w.m.Stats().RandomLoss)
		})
	}
}

// FuzzEncryptedRxPDU feeds arbitrary octets as data channel PDUs into an
// encrypted connection, in either role. Nothing may panic; a well-framed
// new non-empty PDU cannot carry a valid MIC, so it must end the connection
// with 0x3D and nothing more sent; anything else leaves it up. Input: the
// PDU, whether to force its SN to the expected one (a new PDU) and the
// role.
func FuzzEncryptedRxPDU(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Add([]byte{0x0E, 5, 0x9f, 0xcd, 0xa7, 0xf4, 0x48}, true, true)
	f.Add([]byte{0x0F, 4, 1, 2, 3, 4}, true, false)
	f.Add(append([]byte{0x0E, 255}, make([]byte, 255)...), true, true)
	f.Fuzz(func(t *testing.T, b []byte, forceNew, central bool) {
		if len(b) > 300 {
			return
		}
		w := newWorld(t, 7, zap.NewNop())
		for _, h := range []*testHost{w.cen, w.per} {
			h.cmd(hci.OpSetEventMask, u64(encEventMask))
		}
		w.connect(defaultConnParams())
		w.encryptOK(ltkA)
		cn, host := w.pc, w.per
		if central {
			cn, host = w.cc, w.cen
		}
		b = slices.Clone(b)
		if forceNew && len(b) > 0 {
			b[0] &^= 0x0C
			if cn.arq.nesn {
				b[0] |= 0x08
			}
		}
		if len(b) > 0 {
			// NESN never acknowledges what the peer did not send.
			b[0] &^= 0x04
			if cn.arq.sn {
				b[0] |= 0x04
			}
		}
		d, err := pdu.ParseData(b)
		framed := err == nil && len(d.Payload()) <= connMaxOctets+pdu.MICLen
		isNew := framed && d.SN() == cn.arq.nesn
		mark := len(w.air)
		cn.rxPDU(b)
		if isNew && len(d.Payload()) > 0 {
			require.True(t, cn.closed)
			require.Equal(t, []hci.Status{hci.StatusMICFailure}, host.disconnections())
			w.s.RunFor(50 * sim.Millisecond)
			for _, a := range w.air[mark:] {
				require.NotEqual(t, cn.port, a.from)
			}
			return
		}
		require.False(t, cn.closed)
		if isNew {
			// A forged empty PDU moved the sequence numbers on: the peer's
			// next retransmission looks new, and fails its MIC, as it would
			// on a real link.
			w.s.RunFor(2 * sim.Second)
			for _, r := range host.disconnections() {
				require.Contains(t, []hci.Status{hci.StatusMICFailure, hci.StatusConnectionTimeout}, r)
			}
			return
		}
		w.s.RunFor(50 * sim.Millisecond)
		require.Empty(t, host.disconnections())
		w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 30))
		w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == 1 }, "data")
	})
}

// TestLLSECAirHelpers keeps the tap decoder honest: a tampered encrypted PDU
// on the tap is reported as a MIC failure.
func TestLLSECAirHelpers(t *testing.T) {
	w := newEncWorld(t, 130, defaultConnParams())
	w.encryptOK(ltkA)
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 30))
	w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == 1 }, "data")
	_, err := w.decodeAir(ltkB)
	require.ErrorIs(t, err, ccm.ErrOpen)
	for i := len(w.air) - 1; i >= 0; i-- {
		if w.air[i].from == w.cc.port && pdu.DataPDU(w.air[i].pdu).LLID() == pdu.LLIDStart {
			w.air[i].pdu[5] ^= 0x40
			break
		}
	}
	_, err = w.decodeAir(ltkA)
	require.ErrorIs(t, err, ccm.ErrOpen)
}

// FuzzEncryptionProcedureRx feeds arbitrary data channel PDUs (each
// prefixed with its length octet, SN forced to "new" when asked) into a
// connection stopped at a stage of the encryption procedures, letting it
// run between them: 0 encrypted, 1 peripheral waiting for its host's LTK,
// 2 central waiting for LL_START_ENC_REQ, 3 peripheral waiting for
// LL_START_ENC_RSP, 4 central waiting for LL_PAUSE_ENC_RSP. Nothing may
// panic, and the connection ends at most once.
func FuzzEncryptionProcedureRx(f *testing.F) {
	for stage := range uint8(5) {
		for _, s := range fuzzSeeds()[80:] {
			f.Add(append([]byte{byte(len(s))}, s...), stage, true)
		}
		for _, s := range [][]byte{pdu.BuildStartEncReq(), pdu.BuildStartEncRsp(), pdu.BuildPauseEncRsp(),
			pdu.BuildEncReq(pdu.EncReq{}), pdu.BuildRejectInd(6), pdu.BuildRejectExtInd(pdu.OpEncReq, 6)} {
			c, _ := pdu.Control(s)
			f.Add(append([]byte{byte(len(c))}, c...), stage, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, stage uint8, forceNew bool) {
		if len(data) > 600 {
			return
		}
		w := newWorld(t, 9, zap.NewNop())
		for _, h := range []*testHost{w.cen, w.per} {
			h.cmd(hci.OpSetEventMask, u64(encEventMask))
		}
		w.connect(defaultConnParams())
		cn, host := w.pc, w.per
		switch stage % 5 {
		case 0:
			w.encryptOK(ltkA)
			cn, host = w.cc, w.cen
		case 1:
			w.enable(ltkA)
			w.runUntil(sim.Second, func() bool { return w.pc.enc.phase == encPerLTK }, "LTK wait")
		case 2:
			w.enable(ltkA)
			w.runUntil(sim.Second, func() bool { return w.cc.enc.phase == encCenStartReq }, "LL_START_ENC_REQ wait")
			cn, host = w.cc, w.cen
		case 3:
			w.startEncryption(ltkA, ltkA)
			require.Equal(t, encPerStartRsp, w.pc.enc.phase)
		case 4:
			w.encryptOK(ltkA)
			w.enable(ltkB)
			require.Equal(t, encCenPauseRsp, w.cc.enc.phase)
			cn, host = w.cc, w.cen
		}
		for len(data) > 0 && !cn.closed {
			n := min(int(data[0]), len(data)-1)
			b := slices.Clone(data[1 : 1+n])
			data = data[1+n:]
			if forceNew && len(b) > 0 {
				b[0] &^= 0x0C
				if cn.arq.nesn {
					b[0] |= 0x08
				}
				if cn.arq.sn {
					b[0] |= 0x04
				}
			}
			cn.rxPDU(b)
			w.s.RunFor(20 * sim.Millisecond)
		}
		w.s.RunFor(300 * sim.Millisecond)
		require.LessOrEqual(t, len(host.disconnections()), 1)
	})
}
