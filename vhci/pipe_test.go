package vhci

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	pktReset         = []byte{0x01, 0x03, 0x0c, 0x00}
	pktResetComplete = []byte{0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00}
	pktACL           = []byte{0x02, 0x40, 0x20, 0x07, 0x00, 0x03, 0x00, 0x04, 0x00, 0x02, 0x17, 0x00}
)

func TestPipeRoundTrip(t *testing.T) {
	ctrl, host := Pipe()
	assert.Equal(t, "pipe controller", ctrl.Name())
	assert.Equal(t, "pipe host", host.Name())

	buf := append([]byte(nil), pktReset...)
	require.NoError(t, host.WritePacket(buf))
	buf[0] = 0xee // the pipe copied it
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

	assert.Error(t, ctrl.WritePacket(nil))
}

func TestPipeCloseDrainsThenEOF(t *testing.T) {
	ctrl, host := Pipe()
	require.NoError(t, host.WritePacket(pktReset))
	require.NoError(t, host.Close())
	require.NoError(t, host.Close(), "Close twice is fine")

	got, err := ctrl.ReadPacket()
	require.NoError(t, err, "packets queued before Close are still delivered")
	assert.Equal(t, pktReset, got)
	_, err = ctrl.ReadPacket()
	assert.Equal(t, io.EOF, err)

	assert.ErrorIs(t, ctrl.WritePacket(pktResetComplete), io.ErrClosedPipe)
	assert.ErrorIs(t, host.WritePacket(pktReset), ErrClosed)
	_, err = host.ReadPacket()
	assert.Equal(t, io.EOF, err)
}

func TestPipeCloseUnblocksReaders(t *testing.T) {
	for _, closeOwn := range []bool{true, false} {
		ctrl, host := Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := ctrl.ReadPacket()
			done <- err
		}()
		time.Sleep(10 * time.Millisecond)
		if closeOwn {
			require.NoError(t, ctrl.Close())
		} else {
			require.NoError(t, host.Close())
		}
		select {
		case err := <-done:
			assert.Equal(t, io.EOF, err)
		case <-time.After(2 * time.Second):
			t.Fatalf("ReadPacket still blocked after Close (own=%v)", closeOwn)
		}
	}
}

// Many writers and one reader per end; run with -race.
func TestPipeConcurrent(t *testing.T) {
	ctrl, host := Pipe()
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				assert.NoError(t, host.WritePacket([]byte{0x01, byte(w), byte(i), 0x00}))
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				assert.NoError(t, ctrl.WritePacket(pktResetComplete))
			}
		}()
	}
	next := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		p, err := ctrl.ReadPacket()
		require.NoError(t, err)
		// Per-writer order is kept.
		require.Equal(t, next[p[1]], int(p[2]))
		next[p[1]]++
	}
	for n := 0; n < writers*each; n++ {
		p, err := host.ReadPacket()
		require.NoError(t, err)
		require.Equal(t, pktResetComplete, p)
	}
	wg.Wait()
}
