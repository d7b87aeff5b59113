package trace

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/vhci/hci"
)

func samplePackets(t *testing.T) []Packet {
	adv, err := pdu.AdvInd(hci.BDAddr{1, 2, 3, 4, 5, 0xC6}, true, []byte{2, 1, 6, 5, 9, 'b', 'l', 'e', 's'})
	require.NoError(t, err)
	empty := pdu.Empty()
	ctl, err := pdu.Control(pdu.BuildVersionInd(pdu.Version{VersNr: 0x0D, CompID: 0x05F1, SubVersNr: 0}))
	require.NoError(t, err)
	startRsp, err := pdu.Control(pdu.BuildStartEncRsp())
	require.NoError(t, err)
	read, err := pdu.Data(pdu.LLIDStart, []byte{3, 0, 4, 0, 0x0A, 0x03, 0x00}) // ATT Read Request
	require.NoError(t, err)
	return []Packet{
		{At: 1000, Air: radio.Packet{Channel: 37, AccessAddress: pdu.AdvertisingAccessAddress, PDU: adv}, RSSI: -40, HasRSSI: true},
		{At: 5000, Air: radio.Packet{Channel: 3, AccessAddress: 0x50654A2B, PDU: empty, CRCInit: 0x123456}},
		{At: 5500, Air: radio.Packet{Channel: 3, AccessAddress: 0x50654A2B, PDU: ctl, CRCInit: 0x123456}},
		// Decrypted copies: one the receiver could not check (a wrong
		// key), one it could.
		{At: 6000, Air: radio.Packet{Channel: 3, AccessAddress: 0x50654A2B, PDU: startRsp, CRCInit: 0x123456}, Decrypted: true, MICInvalid: true},
		{At: 6500, Air: radio.Packet{Channel: 3, AccessAddress: 0x50654A2B, PDU: read, CRCInit: 0x123456}, Decrypted: true},
	}
}

func TestPcapLayout(t *testing.T) {
	var buf bytes.Buffer
	p, err := NewPcap(&buf, time.Unix(1700000000, 0))
	require.NoError(t, err)
	for _, pk := range samplePackets(t) {
		require.NoError(t, p.Write(pk))
	}
	require.NoError(t, p.Close())
	b := buf.Bytes()
	require.Equal(t, []byte{0xd4, 0xc3, 0xb2, 0xa1}, b[:4])
	require.Equal(t, []byte{0x00, 0x01, 0, 0}, b[20:24], "link type 256")
	// First record: RF channel 0 for channel 37, the access address twice.
	rec := b[24+16:]
	require.Equal(t, byte(0), rec[0])
	require.Equal(t, []byte{0xd6, 0xbe, 0x89, 0x8e}, rec[10:14])
	// The CRC of the advertising PDU checks.
	adv := samplePackets(t)[0].Air.PDU
	require.True(t, pdu.CheckCRC(pdu.AdvertisingCRCInit, rec[14:14+len(adv)+3]))
	require.Equal(t, uint8(4), rfChannel(3), "data channel 3 is RF channel 4")
	require.Equal(t, uint8(13), rfChannel(11))
	require.Equal(t, uint8(12), rfChannel(38))
}

// TestTsharkDissects checks the file with Wireshark's dissector when
// tshark is installed (make test installs it, and sets
// BLESIM_REQUIRE_TOOLS=1 so that a missing tshark fails the test).
func TestTsharkDissects(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("BLESIM_REQUIRE_TOOLS") == "1" {
			t.Fatal("tshark is not installed and BLESIM_REQUIRE_TOOLS=1 (apt-get install tshark)")
		}
		t.Skip("tshark not installed (apt-get install tshark)")
	}
	path := filepath.Join(t.TempDir(), "air.pcap")
	f, err := os.Create(path)
	require.NoError(t, err)
	p, err := NewPcap(f, time.Unix(1700000000, 0))
	require.NoError(t, err)
	for _, pk := range samplePackets(t) {
		require.NoError(t, p.Write(pk))
	}
	require.NoError(t, p.Close())
	require.NoError(t, f.Close())
	out, err := exec.Command("tshark", "-r", path, "-V").CombinedOutput()
	require.NoError(t, err, string(out))
	s := string(out)
	require.Contains(t, s, "Bluetooth Low Energy Link Layer")
	require.Contains(t, s, "ADV_IND")
	require.Contains(t, s, "LL_VERSION_IND")
	require.NotContains(t, s, "Malformed")
	require.NotContains(t, s, "[Expert Info (Warning")
	require.True(t, strings.Count(s, "CRC: ") >= 5, s)
	require.Equal(t, 2, strings.Count(s, "Decrypted: True"), s)
	require.Equal(t, 2, strings.Count(s, "MIC Checked: True"), s)
	require.Equal(t, 1, strings.Count(s, "MIC Valid: True"), s)
	require.Contains(t, s, "LL_START_ENC_RSP")
	require.Contains(t, s, "Read Request (0x0a)", "ATT dissected in a decrypted packet")
}
