package hcihost_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/hosts/internal/fakectl"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// encRig is a central and a peripheral host, connected.
type encRig struct {
	s        *sim.Scheduler
	cctl     *fakectl.Controller
	pctl     *fakectl.Controller
	c, p     *hcihost.Host
	cev, pev []hcihost.Event
	ch, ph   uint16
}

func newEncRig(t *testing.T) *encRig {
	s := sim.New(1)
	w := fakectl.NewWorld(s)
	r := &encRig{s: s}
	r.cctl = w.NewController(hci.BDAddr{1, 1, 1, 1, 1, 1}, fakectl.Options{})
	r.pctl = w.NewController(hci.BDAddr{2, 2, 2, 2, 2, 2}, fakectl.Options{})
	r.c = hcihost.New(zap.NewNop(), s, r.cctl.Send)
	r.p = hcihost.New(zap.NewNop(), s, r.pctl.Send)
	r.cctl.Attach(r.c.Receive)
	r.pctl.Attach(r.p.Receive)
	r.c.OnEvent(func(e hcihost.Event) { r.cev = append(r.cev, e) })
	r.p.OnEvent(func(e hcihost.Event) { r.pev = append(r.pev, e) })
	for _, h := range []*hcihost.Host{r.c, r.p} {
		h.Bringup(func(err error) { require.NoError(t, err) })
	}
	s.RunFor(sim.Second)
	r.ch, r.ph = w.Connect(r.cctl, r.pctl)
	s.RunFor(sim.Millisecond)
	r.cev, r.pev = nil, nil
	return r
}

func lastEv[T hcihost.Event](evs []hcihost.Event) (T, bool) {
	var z T
	for i := len(evs) - 1; i >= 0; i-- {
		if v, ok := evs[i].(T); ok {
			return v, true
		}
	}
	return z, false
}

// LE Enable Encryption → LTK Request at the peripheral → Reply →
// Encryption Change on both sides; again → Encryption Key Refresh
// Complete; a negative reply → Encryption Change 0x06 at the central; a
// wrong key → MIC failure disconnect.
func TestEncryptionCommands(t *testing.T) {
	ltk := [16]byte{0xf6, 0x8d, 0x68, 0x05, 0x78, 0x7c, 0x2c, 0x4f, 0xb2, 0x37, 0x15, 0x37, 0xb5, 0xa6, 0x89, 0x76}
	r := newEncRig(t)
	var status error = hci.StatusUnknownCommand
	r.c.StartEncryption(r.ch, 0x0720e828075f93eb, 0x02ee, ltk, func(_ []byte, err error) { status = err })
	r.s.RunFor(10 * sim.Millisecond)
	require.NoError(t, status)
	// The command as btmon shows it: handle, Rand, EDIV, LTK (plen 28).
	p := r.cctl.Params[hci.OpLEEnableEncryption]
	require.Len(t, p, 28)
	assert.Equal(t, []byte{byte(r.ch), byte(r.ch >> 8), 0xeb, 0x93, 0x5f, 0x07, 0x28, 0xe8, 0x20, 0x07, 0xee, 0x02}, p[:12])
	assert.Equal(t, ltk[:], p[12:])
	req, ok := lastEv[hcihost.LTKRequest](r.pev)
	require.True(t, ok)
	assert.Equal(t, hcihost.LTKRequest{Handle: r.ph, Rand: 0x0720e828075f93eb, EDIV: 0x02ee}, req)

	var replyErr error = hci.StatusUnknownCommand
	r.p.LTKReply(r.ph, ltk, func(_ []byte, err error) { replyErr = err })
	r.s.RunFor(10 * sim.Millisecond)
	require.NoError(t, replyErr)
	assert.Equal(t, append([]byte{byte(r.ph), byte(r.ph >> 8)}, ltk[:]...), r.pctl.Params[hci.OpLELongTermKeyRequestReply])
	for _, evs := range [][]hcihost.Event{r.cev, r.pev} {
		ec, ok := lastEv[hcihost.EncryptionChange](evs)
		require.True(t, ok)
		assert.Equal(t, hci.StatusSuccess, ec.Status)
		assert.Equal(t, uint8(1), ec.Enabled)
	}
	on, key := r.cctl.Encrypted(r.ch)
	assert.True(t, on)
	assert.Equal(t, ltk, key)

	// Again on the encrypted link: a key refresh.
	r.c.StartEncryption(r.ch, 0, 0, ltk, nil)
	r.s.RunFor(10 * sim.Millisecond)
	r.p.LTKReply(r.ph, ltk, nil)
	r.s.RunFor(10 * sim.Millisecond)
	kr, ok := lastEv[hcihost.EncryptionKeyRefreshComplete](r.cev)
	require.True(t, ok)
	assert.Equal(t, hci.StatusSuccess, kr.Status)
	_, ok = lastEv[hcihost.EncryptionKeyRefreshComplete](r.pev)
	assert.True(t, ok)

	// Negative reply: the central gets PIN or Key Missing.
	r2 := newEncRig(t)
	r2.c.StartEncryption(r2.ch, 1, 2, ltk, nil)
	r2.s.RunFor(10 * sim.Millisecond)
	var negErr error = hci.StatusUnknownCommand
	r2.p.LTKNegativeReply(r2.ph, func(_ []byte, err error) { negErr = err })
	r2.s.RunFor(10 * sim.Millisecond)
	require.NoError(t, negErr)
	ec, ok := lastEv[hcihost.EncryptionChange](r2.cev)
	require.True(t, ok)
	assert.Equal(t, hcihost.EncryptionChange{Status: hci.StatusPINOrKeyMissing, Handle: r2.ch, Enabled: 0}, ec)
	_, ok = lastEv[hcihost.EncryptionChange](r2.pev)
	assert.False(t, ok, "the peripheral's host gets no Encryption Change")

	// A different key: MIC failure, both disconnected with 0x3D.
	r3 := newEncRig(t)
	r3.c.StartEncryption(r3.ch, 0, 0, ltk, nil)
	r3.s.RunFor(10 * sim.Millisecond)
	r3.p.LTKReply(r3.ph, [16]byte{1}, nil)
	r3.s.RunFor(10 * sim.Millisecond)
	for _, evs := range [][]hcihost.Event{r3.cev, r3.pev} {
		dc, ok := lastEv[hcihost.DisconnectionComplete](evs)
		require.True(t, ok)
		assert.Equal(t, hci.StatusMICFailure, dc.Reason)
	}

	// Only the central starts encryption; unknown handles are refused.
	r4 := newEncRig(t)
	var e1, e2, e3 error
	r4.p.StartEncryption(r4.ph, 0, 0, ltk, func(_ []byte, err error) { e1 = err })
	r4.c.StartEncryption(0x0999, 0, 0, ltk, func(_ []byte, err error) { e2 = err })
	r4.p.LTKReply(r4.ph, ltk, func(_ []byte, err error) { e3 = err })
	r4.s.RunFor(10 * sim.Millisecond)
	assert.ErrorIs(t, e1, hci.StatusCommandDisallowed)
	assert.ErrorIs(t, e2, hci.StatusUnknownConnectionID)
	assert.ErrorIs(t, e3, hci.StatusCommandDisallowed, "no LTK Request pending")
}
