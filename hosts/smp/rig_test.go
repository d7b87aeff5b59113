package smp_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/internal/fakectl"
	"blesim/hosts/internal/testrig"
	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// rig is a central and a peripheral host on fake controllers, each with a
// Security Manager (nil when its Config is nil: that side is then a raw
// SMP peer driven by the test).
type rig struct {
	*testrig.Pair
	C, P       *smp.Manager
	CEv, PEv   []smp.Event
	raw        [][]byte // SMP PDUs received by a raw side
	rawOn      *l2cap.Conn
	t          testing.TB
	connectedN int
}

var (
	centralAddr = smp.Address{Type: hci.AddrPublic, Addr: hci.BDAddr{0xC1, 0, 0, 0, 0, 0xC0}}
	periphAddr  = smp.Address{Type: hci.AddrPublic, Addr: hci.BDAddr{0xB1, 0, 0, 0, 0, 0xB0}}
)

func quietLog(t testing.TB) *zap.Logger {
	if testing.Verbose() {
		return zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))
	}
	return zap.NewNop()
}

func newRig(t testing.TB, ccfg, pcfg *smp.Config) *rig {
	t.Helper()
	log := quietLog(t)
	r := &rig{Pair: testrig.New(t, log, fakectl.Options{ACLLen: 27, ACLNum: 4}), t: t}
	var err error
	if ccfg != nil {
		r.C, err = smp.New(log.Named("central-smp"), r.Central, r.CMux, *ccfg)
		require.NoError(t, err)
		r.C.OnEvent = func(e smp.Event) { r.CEv = append(r.CEv, e) }
	}
	if pcfg != nil {
		r.P, err = smp.New(log.Named("periph-smp"), r.Periph, r.PMux, *pcfg)
		require.NoError(t, err)
		r.P.OnEvent = func(e smp.Event) { r.PEv = append(r.PEv, e) }
	}
	r.OnConnect = func(c *l2cap.Conn) {
		if (c.Role == 0 && ccfg == nil) || (c.Role == 1 && pcfg == nil) {
			r.rawOn = c
			c.SetHandler(l2cap.CIDSMP, func(b []byte) { r.raw = append(r.raw, append([]byte(nil), b...)) })
		}
	}
	return r
}

func (r *rig) connect() {
	r.t.Helper()
	r.CConn, r.PConn = nil, nil
	r.Connect(r.t)
	r.connectedN++
}

// sendRaw sends an SMP PDU from the raw side.
func (r *rig) sendRaw(b []byte) {
	r.t.Helper()
	require.NoError(r.t, r.rawOn.Send(l2cap.CIDSMP, b))
}

func (r *rig) run(d sim.Duration) { r.Run(d) }

func events[T smp.Event](evs []smp.Event) []T {
	var out []T
	for _, e := range evs {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func last[T smp.Event](t testing.TB, evs []smp.Event) T {
	t.Helper()
	all := events[T](evs)
	require.NotEmpty(t, all, "no %T event in %v", *new(T), evs)
	return all[len(all)-1]
}

func findings(evs []smp.Event, code smp.FindingCode) []smp.Finding {
	var out []smp.Finding
	for _, f := range events[smp.Finding](evs) {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
