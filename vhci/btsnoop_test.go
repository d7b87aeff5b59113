package vhci

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBtsnoopBytes(t *testing.T) {
	var buf bytes.Buffer
	b, err := NewBtsnoop(&buf)
	require.NoError(t, err)
	assert.Equal(t, []byte{
		'b', 't', 's', 'n', 'o', 'o', 'p', 0,
		0, 0, 0, 1, // version 1
		0, 0, 0x03, 0xea, // datalink 1002: HCI UART (H4)
	}, buf.Bytes())

	buf.Reset()
	require.NoError(t, b.WriteMicros(0, HostToController, pktReset))
	assert.Equal(t, []byte{
		0, 0, 0, 4, // original length
		0, 0, 0, 4, // included length
		0, 0, 0, 2, // flags: sent, command
		0, 0, 0, 0, // drops
		0x00, 0xdc, 0xdd, 0xb3, 0x0f, 0x2f, 0x80, 0x00, // Unix epoch in btsnoop time
		0x01, 0x03, 0x0c, 0x00,
	}, buf.Bytes())
}

func TestBtsnoopFlags(t *testing.T) {
	cases := []struct {
		dir   Direction
		pkt   []byte
		flags uint32
	}{
		{HostToController, pktReset, 2},
		{ControllerToHost, pktResetComplete, 3},
		{HostToController, pktACL, 0},
		{ControllerToHost, pktACL, 1},
		{ControllerToHost, []byte{0x05, 0x01, 0x00, 0x00, 0x00}, 1}, // ISO is data
	}
	for _, c := range cases {
		var buf bytes.Buffer
		b, err := NewBtsnoop(&buf)
		require.NoError(t, err)
		buf.Reset()
		require.NoError(t, b.Write(time.UnixMicro(1234567), c.dir, c.pkt))
		rec := buf.Bytes()
		assert.Equal(t, c.flags, binary.BigEndian.Uint32(rec[8:]), "%s % x", c.dir, c.pkt)
		assert.Equal(t, uint64(1234567+0x00dcddb30f2f8000), binary.BigEndian.Uint64(rec[16:]))
		assert.Equal(t, c.pkt, rec[24:])
	}
}

func TestBtsnoopDeterministic(t *testing.T) {
	run := func() []byte {
		var buf bytes.Buffer
		b, err := NewBtsnoop(&buf)
		require.NoError(t, err)
		epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, p := range [][]byte{pktReset, pktResetComplete, pktACL} {
			require.NoError(t, b.Write(epoch.Add(time.Duration(i)*1250*time.Microsecond), Direction(i%2), p))
		}
		return buf.Bytes()
	}
	assert.Equal(t, run(), run())
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestBtsnoopErrors(t *testing.T) {
	_, err := NewBtsnoop(&failWriter{})
	assert.ErrorContains(t, err, "disk full")

	b, err := NewBtsnoop(&failWriter{n: 1})
	require.NoError(t, err)
	assert.Error(t, b.WriteMicros(0, HostToController, nil))
	assert.Error(t, b.WriteMicros(0, Direction(7), pktReset))
	err = b.WriteMicros(0, HostToController, pktReset)
	assert.ErrorContains(t, err, "disk full")
	assert.Equal(t, err, b.WriteMicros(0, HostToController, pktReset), "the error sticks")
	assert.Equal(t, "controller->host", ControllerToHost.String())
}

// btmon (BlueZ) must read what we write: a Reset command and its Command
// Complete.
func TestBtsnoopBtmonReadsIt(t *testing.T) {
	btmon, err := exec.LookPath("btmon")
	if err != nil {
		t.Skip("btmon not installed (apt-get install bluez); skipping the btmon cross-check")
	}
	path := filepath.Join(t.TempDir(), "reset.btsnoop")
	f, err := os.Create(path)
	require.NoError(t, err)
	b, err := NewBtsnoop(f)
	require.NoError(t, err)
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, b.Write(epoch, HostToController, pktReset))
	require.NoError(t, b.Write(epoch.Add(300*time.Microsecond), ControllerToHost, pktResetComplete))
	require.NoError(t, b.Write(epoch.Add(500*time.Microsecond), HostToController, pktACL))
	require.NoError(t, f.Close())

	out, err := exec.Command(btmon, "-r", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := string(out)
	t.Logf("btmon -r:\n%s", text)
	assert.Contains(t, text, "< HCI Command: Reset")
	assert.Contains(t, text, "> HCI Event: Command Complete")
	assert.Contains(t, text, "Reset (0x03|0x0003)")
	assert.Contains(t, text, "Status: Success (0x00)")
	assert.Contains(t, text, "< ACL Data TX: Handle 64")
	assert.False(t, strings.Contains(text, "Unsupported"), "btmon could not parse the trace")
}
