package trace_test

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// record is one pcap record: pseudo-header flags and the LL PDU (header
// and payload, no access address or CRC).
type record struct {
	flags uint16
	aa    uint32
	pdu   []byte
}

const (
	flagDecrypted  = 0x0008
	flagMICChecked = 0x1000
	flagMICValid   = 0x2000
)

// readPcap parses a LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR file.
func readPcap(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(b), 24)
	require.Equal(t, uint32(256), binary.LittleEndian.Uint32(b[20:]))
	var out []record
	for off := 24; off < len(b); {
		require.GreaterOrEqual(t, len(b)-off, 16)
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		rec := b[off+16 : off+16+n]
		off += 16 + n
		require.GreaterOrEqual(t, n, 10+4+2+3)
		out = append(out, record{
			flags: binary.LittleEndian.Uint16(rec[8:]),
			aa:    binary.LittleEndian.Uint32(rec[10:]),
			pdu:   rec[14 : n-3],
		})
	}
	return out
}

// l2cap returns the CID and the first payload octet of a data PDU that
// starts an L2CAP frame.
func l2cap(pdu []byte) (cid uint16, op byte, ok bool) {
	if len(pdu) < 2+5 || pdu[0]&0x03 != 0x02 {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint16(pdu[4:]), pdu[6], true
}

// lostBondRun plays the lost-bond library scenario once (it pairs twice,
// and reads the battery level over encrypted links) and returns its
// output directory.
func lostBondRun(t *testing.T) string {
	return libraryRun(t, "lost-bond")
}

func TestMain(m *testing.M) {
	code := m.Run()
	removeLibraryRuns()
	os.Exit(code)
}

// TestDecryptedCopyOfARun: the raw pcap and its decrypted copy have the
// same packets; where the copy is flagged decrypted, the raw packet is the
// same PDU with the MIC, and what was encrypted on air (the ATT read of
// the battery level, SMP key distribution) is readable only in the copy.
func TestDecryptedCopyOfARun(t *testing.T) {
	dir := lostBondRun(t)
	raw := readPcap(t, filepath.Join(dir, "air.pcap"))
	dec := readPcap(t, filepath.Join(dir, "air-decrypted.pcap"))
	require.Equal(t, len(raw), len(dec), "one record per transmission in both")

	var decrypted, readRsp, keyDist int
	for i := range raw {
		r, d := raw[i], dec[i]
		require.Equal(t, r.aa, d.aa)
		if d.flags&flagDecrypted == 0 {
			require.Equal(t, r.pdu, d.pdu, "record %d: not decrypted, so as on air", i)
			require.Zero(t, r.flags&(flagDecrypted|flagMICChecked|flagMICValid))
			continue
		}
		decrypted++
		require.Equal(t, uint16(flagDecrypted|flagMICChecked|flagMICValid), d.flags&(flagDecrypted|flagMICChecked|flagMICValid),
			"record %d: decrypted, MIC checked and valid", i)
		require.Equal(t, r.pdu[0], d.pdu[0], "record %d: the header's flags as on air", i)
		require.Equal(t, len(r.pdu)-4, len(d.pdu), "record %d: the MIC removed", i)
		require.Equal(t, int(d.pdu[1]), len(d.pdu)-2, "record %d: Length fixed", i)
		require.NotEqual(t, r.pdu[2:len(r.pdu)-4], d.pdu[2:], "record %d: encrypted on air", i)
		if cid, op, ok := l2cap(d.pdu); ok {
			switch {
			case cid == 0x0004 && op == 0x0B: // ATT Read Response
				readRsp++
				if rc, rop, ok := l2cap(r.pdu); ok {
					require.False(t, rc == 0x0004 && rop == 0x0B, "record %d: the raw copy shows no Read Response", i)
				}
			case cid == 0x0006 && (op == 0x06 || op == 0x07): // SMP Encryption Information, Central Identification
				keyDist++
			}
		}
	}
	t.Logf("%d records, %d decrypted, %d ATT Read Responses and %d SMP key distribution PDUs in clear", len(raw), decrypted, readRsp, keyDist)
	require.Greater(t, decrypted, 10)
	require.GreaterOrEqual(t, readRsp, 2, "the battery level read after each pairing")
	require.GreaterOrEqual(t, keyDist, 2, "the LTK, EDIV and Rand distributed after encryption")
}

// requireTool skips when a tool is missing, unless BLESIM_REQUIRE_TOOLS=1
// (make test sets it): then the test fails.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("BLESIM_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is not installed and BLESIM_REQUIRE_TOOLS=1 (%s)", name, install)
	}
	t.Skipf("%s is not installed (%s)", name, install)
	return ""
}

// tshark runs tshark with args and returns what it printed on stdout
// (stderr has only its remarks, such as running as root).
func tshark(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "tshark %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

// TestTsharkDissectsARun: Wireshark's dissectors read both pcaps of a
// scenario run without errors, and in the decrypted copy they decode ATT
// and SMP after encryption started.
func TestTsharkDissectsARun(t *testing.T) {
	bin := requireTool(t, "tshark", "apt-get install tshark")
	dir := lostBondRun(t)
	for _, name := range []string{"air.pcap", "air-decrypted.pcap"} {
		path := filepath.Join(dir, name)
		summary := tshark(t, bin, "-r", path)
		require.NotContains(t, summary, "Malformed", name)
		require.Greater(t, strings.Count(summary, "\n"), 1000, name)
		experts := tshark(t, bin, "-r", path, "-q", "-z", "expert,error")
		require.NotContains(t, experts, "Malformed", name)
		require.NotRegexp(t, `(?m)^\s*Errors \(`, experts, "%s: expert infos of severity error:\n%s", name, experts)
	}
	// ATT and SMP inside packets that were encrypted on air.
	count := func(filter string) int {
		out := tshark(t, bin, "-r", filepath.Join(dir, "air-decrypted.pcap"), "-Y", filter, "-T", "fields", "-e", "frame.number")
		return strings.Count(out, "\n")
	}
	att := count("btle_rf.flags.decrypted == 1 && btatt.opcode == 0x0b")
	smp := count("btle_rf.flags.decrypted == 1 && btsmp.opcode == 0x06")
	encReq := count("btle_rf.flags.decrypted == 0 && btle.control_opcode == 0x03")
	t.Logf("decrypted copy: %d ATT Read Responses and %d SMP Encryption Information decrypted; %d LL_ENC_REQ in clear", att, smp, encReq)
	require.GreaterOrEqual(t, att, 2, "ATT Read Response dissected in decrypted packets")
	require.GreaterOrEqual(t, smp, 2, "SMP Encryption Information dissected in decrypted packets")
	require.GreaterOrEqual(t, encReq, 4, "LL_ENC_REQ (clear) before encryption starts")
	raw := tshark(t, bin, "-r", filepath.Join(dir, "air.pcap"), "-Y", "btatt.opcode == 0x0b || btsmp.opcode == 0x06", "-T", "fields", "-e", "frame.number")
	require.Empty(t, strings.TrimSpace(raw), "the raw pcap shows no encrypted ATT/SMP in clear")
}
