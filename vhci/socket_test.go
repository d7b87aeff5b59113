package vhci

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/vhci/hci"
)

func TestParseSpec(t *testing.T) {
	good := []struct{ spec, network, addr string }{
		{"tcp:127.0.0.1:9000", "tcp", "127.0.0.1:9000"},
		{"tcp::0", "tcp", ":0"},
		{"tcp:[::1]:9000", "tcp", "[::1]:9000"},
		{"unix:/tmp/x.sock", "unix", "/tmp/x.sock"},
		{"unix:rel/x.sock", "unix", "rel/x.sock"},
	}
	for _, g := range good {
		n, a, err := parseSpec(g.spec)
		require.NoError(t, err, g.spec)
		assert.Equal(t, g.network, n)
		assert.Equal(t, g.addr, a)
	}
	for _, bad := range []string{"", "tcp", "tcp:", "tcp:9000", "udp:1.2.3.4:5", "unix:", "/tmp/x.sock", "TCP:1.2.3.4:5"} {
		_, _, err := parseSpec(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "want ", bad)
	}
	_, err := Listen("serial:/dev/ttyUSB0")
	assert.ErrorContains(t, err, "tcp:HOST:PORT")
}

// pair starts a server on spec and returns both ends of one connection.
func pair(t *testing.T, spec string) (srv *Server, ctrl, host Transport) {
	t.Helper()
	srv, err := Listen(spec)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	type res struct {
		tr  Transport
		err error
	}
	ch := make(chan res, 1)
	go func() {
		tr, err := srv.Accept()
		ch <- res{tr, err}
	}()
	host, err = Dial(srv.Addr())
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { r.tr.Close(); host.Close() })
	return srv, r.tr, host
}

func exchange(t *testing.T, ctrl, host Transport) {
	t.Helper()
	require.NoError(t, host.WritePacket(pktReset))
	require.NoError(t, host.WritePacket(pktACL))
	got, err := ctrl.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktReset, got)
	got, err = ctrl.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktACL, got)
	require.NoError(t, ctrl.WritePacket(pktResetComplete))
	got, err = host.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktResetComplete, got)
}

func TestTCPServer(t *testing.T) {
	srv, ctrl, host := pair(t, "tcp:127.0.0.1:0")
	assert.True(t, strings.HasPrefix(srv.Addr(), "tcp:127.0.0.1:"), srv.Addr())
	assert.NotEqual(t, "tcp:127.0.0.1:0", srv.Addr(), "Addr reports the real port")
	assert.True(t, strings.HasPrefix(ctrl.Name(), "tcp 127.0.0.1:"), ctrl.Name())
	exchange(t, ctrl, host)

	require.NoError(t, srv.Close())
	_, err := srv.Accept()
	assert.ErrorIs(t, err, ErrClosed)
}

func TestUnixServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h4.sock")
	srv, ctrl, host := pair(t, "unix:"+path)
	assert.Equal(t, "unix:"+path, srv.Addr())
	assert.Equal(t, "unix "+path, ctrl.Name())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	exchange(t, ctrl, host)

	// A second server on a live socket is refused.
	_, err = Listen("unix:" + path)
	assert.ErrorContains(t, err, "another process is listening")

	require.NoError(t, srv.Close())
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "Close removes the socket file")
}

func TestUnixServerStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	_, err = os.Stat(path)
	require.NoError(t, err, "the stale socket file is left behind")

	srv, err := Listen("unix:" + path)
	require.NoError(t, err, "a stale socket is replaced")
	srv.Close()
}

func TestUnixServerRefusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notasocket")
	require.NoError(t, os.WriteFile(path, []byte("keep me"), 0o644))
	_, err := Listen("unix:" + path)
	assert.ErrorContains(t, err, "not a socket")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(b))
}

func TestStreamCloseUnblocksRead(t *testing.T) {
	_, ctrl, _ := pair(t, "tcp:127.0.0.1:0")
	done := make(chan error, 1)
	go func() {
		_, err := ctrl.ReadPacket()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, ctrl.Close())
	select {
	case err := <-done:
		assert.Equal(t, io.EOF, err)
	case <-time.After(3 * time.Second):
		t.Fatal("ReadPacket still blocked after Close")
	}
	assert.ErrorIs(t, ctrl.WritePacket(pktResetComplete), ErrClosed)
	require.NoError(t, ctrl.Close(), "Close twice is fine")
}

func TestStreamCloseFlushes(t *testing.T) {
	_, ctrl, host := pair(t, "tcp:127.0.0.1:0")
	const n = 100
	for i := 0; i < n; i++ {
		require.NoError(t, ctrl.WritePacket(pktResetComplete))
	}
	require.NoError(t, ctrl.Close())
	for i := 0; i < n; i++ {
		got, err := host.ReadPacket()
		require.NoError(t, err, "packet %d", i)
		require.Equal(t, pktResetComplete, got)
	}
	_, err := host.ReadPacket()
	assert.Equal(t, io.EOF, err, "the peer sees a clean end")
}

func TestStreamPeerStalledQueueFull(t *testing.T) {
	a, b := net.Pipe() // synchronous: writes block until b reads, and nobody does
	defer b.Close()
	s := newStream(a, "test", 2, time.Hour)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = s.WritePacket(pktResetComplete)
	}
	require.ErrorIs(t, err, ErrPeerStalled)
	assert.ErrorContains(t, err, "write queue of 2 packets is full")
	assert.ErrorIs(t, s.WritePacket(pktResetComplete), ErrPeerStalled, "the cause sticks")
	_, rerr := s.ReadPacket()
	assert.ErrorIs(t, rerr, ErrPeerStalled)
	require.NoError(t, s.Close())
}

func TestStreamPeerStalledWriteTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	s := newStream(a, "test", 16, 50*time.Millisecond)
	require.NoError(t, s.WritePacket(pktResetComplete))
	require.Eventually(t, func() bool {
		return s.WritePacket(pktResetComplete) != nil
	}, 3*time.Second, 10*time.Millisecond)
	err := s.WritePacket(pktResetComplete)
	assert.ErrorIs(t, err, ErrPeerStalled)
	assert.ErrorContains(t, err, "one write blocked")
	require.NoError(t, s.Close())
}

func TestStreamFramingError(t *testing.T) {
	a, b := net.Pipe()
	s := newStream(a, "test", 4, time.Second)
	defer s.Close()
	go b.Write([]byte{0x07, 0x01, 0x02})
	_, err := s.ReadPacket()
	assert.ErrorIs(t, err, hci.ErrType)
	assert.ErrorContains(t, err, "dropping the connection")
	_, err2 := s.ReadPacket()
	assert.ErrorIs(t, err2, hci.ErrType, "later reads report the same cause")
	assert.ErrorIs(t, s.WritePacket(pktResetComplete), hci.ErrType)
}

func TestStreamPeerCloses(t *testing.T) {
	a, b := net.Pipe()
	s := newStream(a, "test", 4, time.Second)
	defer s.Close()
	go func() {
		b.Write(pktReset)
		b.Write(pktResetComplete[:3]) // cut short
		b.Close()
	}()
	got, err := s.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktReset, got)
	_, err = s.ReadPacket()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.ErrorContains(t, err, "middle of a packet")

	a2, b2 := net.Pipe()
	s2 := newStream(a2, "test", 4, time.Second)
	defer s2.Close()
	b2.Close()
	_, err = s2.ReadPacket()
	assert.Equal(t, io.EOF, err)
}

func TestStreamRejectsMalformed(t *testing.T) {
	_, ctrl, _ := pair(t, "tcp:127.0.0.1:0")
	err := ctrl.WritePacket([]byte{0x04, 0x0e, 0x05, 0x01})
	assert.ErrorIs(t, err, hci.ErrLength)
	assert.ErrorIs(t, ctrl.WritePacket(nil), hci.ErrShort)
	assert.ErrorIs(t, ctrl.WritePacket([]byte{0xff, 0x00}), hci.ErrType)
}
