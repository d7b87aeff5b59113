package trace_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/pbadv"
	"blesim/scenarios/library"
	"blesim/scenarios/scenario"
)

var (
	libraryMu   sync.Mutex
	libraryDirs = map[string]*libraryRunResult{}
)

type libraryRunResult struct {
	once sync.Once
	dir  string
	err  error
}

// libraryRun plays the library scenario name once per test binary (tests
// share the run) and returns its output directory (TestMain removes it).
func libraryRun(t *testing.T, name string) string {
	t.Helper()
	libraryMu.Lock()
	r := libraryDirs[name]
	if r == nil {
		r = &libraryRunResult{}
		libraryDirs[name] = r
	}
	libraryMu.Unlock()
	r.once.Do(func() {
		s, err := library.Load(name)
		if err != nil {
			r.err = err
			return
		}
		if r.dir, r.err = os.MkdirTemp("", "blesim-trace-"+name+"-"); r.err != nil {
			return
		}
		res, err := scenario.Run(s, scenario.Options{Log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), OutDir: r.dir})
		if err == nil && !res.Passed {
			err = fmt.Errorf("%s did not pass:\n%s", name, res.Summary())
		}
		r.err = err
	})
	require.NoError(t, r.err)
	return r.dir
}

// removeLibraryRuns removes the output directories of libraryRun.
func removeLibraryRuns() {
	libraryMu.Lock()
	defer libraryMu.Unlock()
	for _, r := range libraryDirs {
		if r.dir != "" {
			os.RemoveAll(r.dir)
		}
	}
}

// advAccessAddress is the access address of the advertising channels.
const advAccessAddress = 0x8E89BED6

// pbadvFrame is one PB-ADV PDU on the air: the pcap frame number (1-based,
// as tshark numbers them) and the PDU (AD type 0x29 data).
type pbadvFrame struct {
	frame int
	raw   []byte
	pdu   pbadv.PDU
}

// pbadvFrames returns the PB-ADV PDUs in the ADV_NONCONN_IND PDUs of a
// pcap (Mesh Protocol v1.1 §3.3.1: mesh AD types travel in
// ADV_NONCONN_IND), each checked with pbadv.Parse (sizes, SegN against
// TotalLength, padding, bearer opcodes).
func pbadvFrames(t *testing.T, recs []record) []pbadvFrame {
	t.Helper()
	var out []pbadvFrame
	for i, r := range recs {
		if r.aa != advAccessAddress || len(r.pdu) < 2+6 {
			continue
		}
		switch r.pdu[0] & 0x0f {
		case 0x0, 0x2, 0x4, 0x6: // ADV_IND, ADV_NONCONN_IND, SCAN_RSP, ADV_SCAN_IND: AdvA, AdvData
		default:
			continue
		}
		require.Equal(t, int(r.pdu[1]), len(r.pdu)-2, "frame %d: advertising PDU Length", i+1)
		for ad := r.pdu[2+6:]; len(ad) > 0 && ad[0] != 0; {
			l := int(ad[0])
			require.LessOrEqual(t, 1+l, len(ad), "frame %d: AD structure overruns the PDU", i+1)
			if ad[1] == 0x29 {
				require.Equal(t, byte(0x02), r.pdu[0]&0x0f, "frame %d: PB-ADV in an ADV_NONCONN_IND", i+1)
				p, err := pbadv.Parse(ad[2 : 1+l])
				require.NoError(t, err, "frame %d: % x", i+1, ad[2:1+l])
				out = append(out, pbadvFrame{frame: i + 1, raw: ad[2 : 1+l], pdu: p})
			}
			ad = ad[1+l:]
		}
	}
	return out
}

// transactionKey names one transaction as Wireshark's PB-ADV reassembly
// does (packet-btmesh-pbadv.c, pbadv_fragment_key: the Link ID and the
// Transaction Number, nothing else).
type transactionKey struct {
	link  uint32
	trans uint8
}

// pbadvTransactions checks the Generic Provisioning transactions on the
// air (Mesh Protocol v1.1 §5.3.1): every copy of a segment (the sender's
// retransmissions, and one advertising event recorded on channels 37, 38
// and 39) has the same octets; once every segment is on the air, the
// segments have the sizes SegN and TotalLength call for (the Start 20
// octets, each Continuation 23, the last the rest; §5.3.1.1, §5.3.1.3)
// and the FCS of the reassembled PDU matches (§5.3.1.1). It returns the
// frames that repeat a segment of a transaction that was complete on the
// air before them, and how many transactions completed.
func pbadvTransactions(frames []pbadvFrame) (repeats map[int]bool, complete int, err error) {
	type transaction struct {
		start *pbadv.PDU
		segs  map[uint8][]byte // by segment index, the first copy
		done  bool
	}
	txs := map[transactionKey]*transaction{}
	repeats = map[int]bool{}
	for _, f := range frames {
		p := f.pdu
		if p.Kind != pbadv.TransactionStart && p.Kind != pbadv.TransactionContinuation {
			continue
		}
		k := transactionKey{p.LinkID, p.Trans}
		name := fmt.Sprintf("frame %d: transaction %#02x of link %#08x", f.frame, p.Trans, p.LinkID)
		tx := txs[k]
		if tx == nil {
			tx = &transaction{segs: map[uint8][]byte{}}
			txs[k] = tx
		}
		idx := p.Seg
		if p.Kind == pbadv.TransactionStart {
			idx = 0
		}
		if first, ok := tx.segs[idx]; ok {
			if !bytes.Equal(first, f.raw) {
				return nil, 0, fmt.Errorf("%s: this copy of segment %d (% x) differs from the first (% x)", name, idx, f.raw, first)
			}
			if tx.done {
				repeats[f.frame] = true
			}
			continue
		}
		if tx.done {
			return nil, 0, fmt.Errorf("%s: segment %d after every segment up to SegN %d", name, idx, tx.start.Seg)
		}
		tx.segs[idx] = f.raw
		if p.Kind == pbadv.TransactionStart {
			s := p
			tx.start = &s
		}
		if tx.start == nil || len(tx.segs) < int(tx.start.Seg)+1 {
			continue
		}
		// As many segments as SegN calls for: reassemble (§5.3.2).
		tx.done = true
		complete++
		var whole []byte
		for i := 0; i <= int(tx.start.Seg); i++ {
			raw, ok := tx.segs[uint8(i)]
			if !ok {
				return nil, 0, fmt.Errorf("%s: segment %d missing, another above SegN %d", name, i, tx.start.Seg)
			}
			q, _ := pbadv.Parse(raw) // parsed before
			want := pbadv.ContinuationMax
			if i == 0 {
				want = min(int(tx.start.TotalLength), pbadv.FirstSegmentMax)
			} else if i == int(tx.start.Seg) {
				want = int(tx.start.TotalLength) - pbadv.FirstSegmentMax - pbadv.ContinuationMax*(i-1)
			}
			if len(q.Data) != want {
				return nil, 0, fmt.Errorf("%s: segment %d has %d octets, SegN %d and TotalLength %d want %d", name, i, len(q.Data), tx.start.Seg, tx.start.TotalLength, want)
			}
			whole = append(whole, q.Data...)
		}
		if fcs := pbadv.FCS(whole); fcs != tx.start.FCS {
			return nil, 0, fmt.Errorf("%s: FCS %#02x, the PDU's is %#02x", name, tx.start.FCS, fcs)
		}
	}
	return repeats, complete, nil
}

// TestPBADVOnTheAir: in the air pcap of every library scenario, PB-ADV
// PDUs are well formed, ride in ADV_NONCONN_IND, and each transaction
// reassembles (segment sizes, TotalLength, FCS) from identical copies of
// its segments. These are the facts behind the PB-ADV exceptions of
// TestTsharkDissectsEveryScenario.
func TestPBADVOnTheAir(t *testing.T) {
	for _, name := range library.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := libraryRun(t, name)
			frames := pbadvFrames(t, readPcap(t, filepath.Join(dir, "air.pcap")))
			repeats, n, err := pbadvTransactions(frames)
			require.NoError(t, err)
			t.Logf("%d PB-ADV PDUs, %d complete transactions, %d copies after completion", len(frames), n, len(repeats))
		})
	}
}

// TestPBADVTransactionsCheck: the transaction check finds copies after
// completion, and fails on a retransmission that differs from the first
// copy, a wrong FCS, a short segment and a segment above SegN.
func TestPBADVTransactionsCheck(t *testing.T) {
	seg, err := pbadv.Segment(0x01020304, 0x80, bytes.Repeat([]byte{0xa5}, 33)) // a 32-octet Confirmation
	require.NoError(t, err)
	require.Len(t, seg, 2)
	start, cont := seg[0], seg[1]
	frames := func(pdus ...pbadv.PDU) []pbadvFrame {
		var out []pbadvFrame
		for i, p := range pdus {
			raw := p.Marshal()
			q, err := pbadv.Parse(raw)
			require.NoError(t, err)
			out = append(out, pbadvFrame{frame: i + 1, raw: raw, pdu: q})
		}
		return out
	}
	repeats, n, err := pbadvTransactions(frames(cont, start, start, cont, start))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, map[int]bool{3: true, 4: true, 5: true}, repeats, "the copies after the transaction was complete")

	badFCS := start
	badFCS.FCS ^= 1
	changed := cont
	changed.Data = append([]byte{0x5a}, cont.Data[1:]...)
	short := cont
	short.Data = cont.Data[:len(cont.Data)-1]
	above := cont
	above.Seg = 2
	for _, tc := range []struct {
		name string
		pdus []pbadv.PDU
		want string
	}{
		{"bad FCS", []pbadv.PDU{badFCS, cont}, "FCS"},
		{"changed copy", []pbadv.PDU{start, cont, changed}, "differs from the first"},
		{"short last segment", []pbadv.PDU{start, short}, "has 12 octets"},
		{"segment above SegN", []pbadv.PDU{start, above}, "segment 1 missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := pbadvTransactions(frames(tc.pdus...))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
