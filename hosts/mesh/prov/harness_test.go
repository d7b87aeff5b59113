package prov

import (
	"bytes"
	"crypto/ecdh"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/internal/vectors"
)

// seeded is a deterministic io.Reader.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// fixed reads prefix first, then a deterministic stream.
func fixed(prefix ...[]byte) io.Reader {
	return io.MultiReader(bytes.NewReader(bytes.Join(prefix, nil)), seeded(7))
}

// wire connects a device session and a provisioner session with a FIFO, so
// no PDU is delivered while its sender is still running (as on a real
// bearer). It records every PDU and close.
type wire struct {
	q          []func()
	dev        *DeviceSession
	prov       *ProvisionerSession
	log        []sent
	closes     []CloseReason
	closedBy   string
	devResult  *Result
	provResult *Result
	// mutate, when set, rewrites (or, returning nil, drops) each PDU in
	// transit.
	mutate func(w *wire, from string, pdu []byte) []byte
}

type sent struct {
	from string
	pdu  []byte
}

type end struct {
	w    *wire
	name string
}

func (e end) Send(pdu []byte) {
	p := append([]byte(nil), pdu...)
	if e.w.mutate != nil {
		if p = e.w.mutate(e.w, e.name, p); p == nil {
			return
		}
	}
	e.w.log = append(e.w.log, sent{e.name, p})
	e.w.q = append(e.w.q, func() {
		if e.name == "device" {
			e.w.prov.Receive(p)
		} else {
			e.w.dev.Receive(p)
		}
	})
}

func (e end) Close(r CloseReason) {
	if e.w.closedBy != "" {
		return
	}
	e.w.closes = append(e.w.closes, r)
	e.w.closedBy = e.name
	e.w.q = append(e.w.q, func() {
		e.w.dev.LinkClosed(r)
		e.w.prov.LinkClosed(r)
	})
}

func (w *wire) run() {
	for len(w.q) > 0 {
		f := w.q[0]
		w.q = w.q[1:]
		f()
	}
}

// pdus returns the PDUs of the log as hex strings.
func (w *wire) pdus() []string {
	var out []string
	for _, s := range w.log {
		out = append(out, s.from+" "+hx(s.pdu))
	}
	return out
}

// user carries OOB values between the two sides the way a person does,
// whatever order the hooks run in.
type user struct {
	shown  *OOBValue
	enter  func(OOBValue)
	typo   bool // enter a wrong value
	device OOBValue
}

func (u *user) show(v OOBValue) {
	u.shown = &v
	u.try()
}

func (u *user) ask(enter func(OOBValue)) {
	u.enter = enter
	u.try()
}

func (u *user) try() {
	if u.shown == nil || u.enter == nil {
		return
	}
	v := *u.shown
	if u.typo {
		v.Number++
		if v.Text != "" {
			v.Text = "ZZ"
		}
	}
	e := u.enter
	u.enter = nil
	e(v)
}

// setup is one device/provisioner pair with their configs.
type setup struct {
	t      *testing.T
	dcfg   DeviceConfig
	pcfg   ProvisionerConfig
	target Target
	u      user
}

func newSetup(t *testing.T) *setup {
	s := &setup{t: t}
	log := zaptest.NewLogger(t)
	s.dcfg = DeviceConfig{Rand: seeded(1), Log: log.Named("device")}
	s.pcfg = ProvisionerConfig{Rand: seeded(2), Log: log.Named("provisioner")}
	s.target = Target{Data: func(uint8) (Data, error) { return sampleData(t), nil }}
	return s
}

func sampleData(t testing.TB) Data {
	var v vectors.Provisioning
	vectors.Load(t, "mesh_provisioning.json", &v)
	d, err := ParseData(vectors.Hex(t, v.CMAC.ProvisioningData))
	require.NoError(t, err)
	return d
}

// withOOB wires every OOB hook through the user.
func (s *setup) withOOB() {
	s.dcfg.Output = func(_ OutputAction, v OOBValue) { s.u.show(v) }
	s.dcfg.Input = func(_ InputAction, _ uint8, enter func(OOBValue)) { s.u.ask(enter) }
	s.target.Prompt = func(_ OutputAction, _ uint8, enter func(OOBValue)) { s.u.ask(enter) }
	s.target.Show = func(_ InputAction, v OOBValue) { s.u.show(v) }
}

// run provisions once and returns the wire.
func (s *setup) run() *wire { return s.runWith(nil) }

// runWith provisions once with a PDU mutator.
func (s *setup) runWith(mutate func(w *wire, from string, pdu []byte) []byte) *wire {
	s.t.Helper()
	w := &wire{mutate: mutate}
	s.dcfg.Done = func(r Result) { w.devResult = &r }
	s.target.Done = func(r Result) { w.provResult = &r }
	d, err := NewDevice(s.dcfg)
	require.NoError(s.t, err)
	p, err := NewProvisioner(s.pcfg)
	require.NoError(s.t, err)
	w.dev = d.Open(end{w, "device"})
	w.prov = p.Open(end{w, "provisioner"}, s.target)
	w.run()
	return w
}

func mustKey(t testing.TB, hexKey string) *ecdh.PrivateKey {
	k, err := ecdh.P256().NewPrivateKey(vectors.Hex(t, hexKey))
	require.NoError(t, err)
	return k
}
