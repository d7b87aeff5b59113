package engine

import (
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"blesim/linklayer"
	"blesim/vhci"
)

// External is a controller driven by a host outside the process.
type External struct {
	Ctrl      *linklayer.Controller
	Transport vhci.Transport
	// Done is closed when the host has gone (read error or EOF).
	Done chan struct{}
	Err  error
}

// AttachExternal creates the next external controller (its address and
// position come from the world's controllers list) and connects it to t.
// A goroutine reads from t and posts packets into the simulation; writes
// happen on the simulation goroutine. Call it before or while the
// scheduler runs (it only uses Post once running).
func (w *World) AttachExternal(t vhci.Transport, name string) (*External, error) {
	spec := w.Spec.ControllerFor(w.nextExt)
	w.nextExt++
	ctrl, sn, err := w.newController(name, spec.Address, spec.Position, 0)
	if err != nil {
		return nil, err
	}
	return w.plug(ctrl, sn, t, w.log.With(zap.String("ctrl", name)), nil), nil
}

// plug connects ctrl to the host at the other end of t: what the
// controller sends is traced (sn), shown to onHCI when set, and written
// to t on the simulation goroutine; a goroutine reads t and posts each
// packet into the simulation (traced, shown to onHCI, then given to the
// controller). When t ends, the controller detaches and Done closes.
func (w *World) plug(ctrl *linklayer.Controller, sn *snoop, t vhci.Transport, log *zap.Logger, onHCI func(vhci.Direction, []byte)) *External {
	x := &External{Ctrl: ctrl, Transport: t, Done: make(chan struct{})}
	ctrl.SetHostSink(func(h4 []byte) {
		sn.write(vhci.ControllerToHost, h4)
		if onHCI != nil {
			onHCI(vhci.ControllerToHost, h4)
		}
		if err := t.WritePacket(h4); err != nil {
			log.Warn("write to host failed", zap.String("link", t.Name()), zap.Error(err))
		}
	})
	go func() {
		defer close(x.Done)
		for {
			pkt, err := t.ReadPacket()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, vhci.ErrClosed) {
					x.Err = fmt.Errorf("%s: %w", t.Name(), err)
				}
				w.Sched.Post(func() { ctrl.Detach() })
				return
			}
			w.Sched.Post(func() {
				sn.write(vhci.HostToController, pkt)
				if onHCI != nil {
					onHCI(vhci.HostToController, pkt)
				}
				ctrl.FromHost(pkt)
			})
		}
	}()
	return x
}

// FlushTraces writes buffered trace records to disk. Call it on the
// simulation goroutine.
func (w *World) FlushTraces() {
	if w.pcap != nil {
		if err := w.pcap.Flush(); err != nil {
			w.log.Warn("pcap flush failed", zap.Error(err))
		}
	}
	if w.dpcap != nil {
		if err := w.dpcap.Flush(); err != nil {
			w.log.Warn("decrypted pcap flush failed", zap.Error(err))
		}
	}
	for _, sn := range w.snoops {
		if err := sn.flush(); err != nil {
			w.log.Warn("trace flush failed", zap.String("file", sn.path), zap.Error(err))
		}
	}
}
