package vhci

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeKernel returns a non-blocking fd for the controller side and an
// *os.File for the kernel side of a SOCK_SEQPACKET pair, which keeps
// packet boundaries the way /dev/vhci does (one packet per read/write).
func fakeKernel(t *testing.T) (ctrlFD int, kernel *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	kernel = os.NewFile(uintptr(fds[1]), "fake-kernel")
	t.Cleanup(func() { kernel.Close() })
	return fds[0], kernel
}

// serveHandshake plays hci_vhci: read the create request, answer with index idx.
func serveHandshake(t *testing.T, k *os.File, reply []byte) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := k.Read(buf)
		if err != nil {
			got <- nil
			return
		}
		got <- buf[:n]
		if reply != nil {
			k.Write(reply)
		}
	}()
	return got
}

func TestVHCIAttach(t *testing.T) {
	fd, k := fakeKernel(t)
	req := serveHandshake(t, k, []byte{0xff, 0x00, 0x03, 0x00})
	v, err := attachFD(fd, "/dev/vhci", time.Second)
	require.NoError(t, err)
	defer v.Close()
	assert.Equal(t, []byte{0xff, 0x00}, <-req, "asks for a primary controller")
	assert.Equal(t, uint16(3), v.Index())
	assert.Equal(t, "vhci hci3", v.Name())

	// Kernel -> controller: one packet per read.
	_, err = k.Write(pktReset)
	require.NoError(t, err)
	_, err = k.Write(pktACL)
	require.NoError(t, err)
	got, err := v.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktReset, got)
	got, err = v.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, pktACL, got)

	// Controller -> kernel: one packet per write.
	require.NoError(t, v.WritePacket(pktResetComplete))
	buf := make([]byte, 64)
	n, err := k.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, pktResetComplete, buf[:n])

	// Unknown packet types are handed over as they are.
	_, err = k.Write([]byte{0xfe, 0x01, 0x02})
	require.NoError(t, err)
	got, err = v.ReadPacket()
	require.NoError(t, err)
	assert.Equal(t, []byte{0xfe, 0x01, 0x02}, got)

	assert.Error(t, v.WritePacket(nil))
}

func TestVHCIIndexLittleEndian(t *testing.T) {
	fd, k := fakeKernel(t)
	serveHandshake(t, k, []byte{0xff, 0x00, 0x01, 0x02})
	v, err := attachFD(fd, "/dev/vhci", time.Second)
	require.NoError(t, err)
	defer v.Close()
	assert.Equal(t, uint16(0x0201), v.Index())
	assert.Equal(t, "vhci hci513", v.Name())
}

func TestVHCICloseUnblocksRead(t *testing.T) {
	fd, k := fakeKernel(t)
	serveHandshake(t, k, []byte{0xff, 0x00, 0x00, 0x00})
	v, err := attachFD(fd, "/dev/vhci", time.Second)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := v.ReadPacket()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, v.Close())
	select {
	case err := <-done:
		assert.Equal(t, io.EOF, err)
	case <-time.After(2 * time.Second):
		t.Fatal("ReadPacket still blocked after Close")
	}
	assert.ErrorIs(t, v.WritePacket(pktResetComplete), ErrClosed)
	assert.NoError(t, v.Close(), "Close twice is fine")
}

func TestVHCIKernelGone(t *testing.T) {
	fd, k := fakeKernel(t)
	serveHandshake(t, k, []byte{0xff, 0x00, 0x00, 0x00})
	v, err := attachFD(fd, "/dev/vhci", time.Second)
	require.NoError(t, err)
	defer v.Close()
	time.Sleep(10 * time.Millisecond)
	k.Close()
	_, err = v.ReadPacket()
	assert.Equal(t, io.EOF, err)
}

func TestVHCIHandshakeTimeout(t *testing.T) {
	fd, k := fakeKernel(t)
	serveHandshake(t, k, nil) // reads the request, never answers
	start := time.Now()
	_, err := attachFD(fd, "/dev/vhci", 100*time.Millisecond)
	require.Error(t, err)
	assert.Less(t, time.Since(start), time.Second)
	assert.ErrorContains(t, err, "no reply to the create-controller packet within 100ms")
	assert.ErrorContains(t, err, "/dev/vhci")
}

func TestVHCIHandshakeBadReply(t *testing.T) {
	for _, reply := range [][]byte{
		{0xff, 0x01, 0x00, 0x00}, // another device type
		{0x04, 0x0e, 0x00},       // an event
		{0xff, 0x00, 0x00},       // too short
	} {
		fd, k := fakeKernel(t)
		serveHandshake(t, k, reply)
		_, err := attachFD(fd, "/dev/vhci", time.Second)
		assert.ErrorContains(t, err, "unexpected reply", "% x", reply)
	}
}

// The handshake works on any io.ReadWriter with deadlines, e.g. net.Pipe.
func TestVHCIHandshakeNetPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		buf := make([]byte, 2)
		if _, err := io.ReadFull(b, buf); err == nil {
			b.Write([]byte{0xff, 0x00, 0x07, 0x00})
		}
	}()
	idx, err := vhciHandshake(a, time.Second)
	require.NoError(t, err)
	assert.Equal(t, uint16(7), idx)

	c, d := net.Pipe()
	defer c.Close()
	defer d.Close()
	go io.ReadFull(d, make([]byte, 2))
	_, err = vhciHandshake(c, 50*time.Millisecond)
	assert.ErrorContains(t, err, "no reply")
}

func TestOpenVHCIErrors(t *testing.T) {
	_, err := OpenVHCI("/nonexistent/vhci")
	require.Error(t, err)
	assert.ErrorIs(t, err, unix.ENOENT)
	assert.ErrorContains(t, err, "open /nonexistent/vhci: no such file")
	assert.ErrorContains(t, err, "modprobe hci_vhci")
	assert.ErrorContains(t, err, "blesim vm")

	assert.ErrorContains(t, openError("/dev/vhci", unix.EACCES), "permission denied")
	assert.ErrorContains(t, openError("/dev/vhci", unix.EBUSY), "open /dev/vhci")

	if _, err := os.Stat(DefaultVHCIPath); err != nil {
		t.Logf("no %s here: the real device is exercised only by the VM harness", DefaultVHCIPath)
	}
}
