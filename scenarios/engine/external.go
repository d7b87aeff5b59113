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
	x := &External{Ctrl: ctrl, Transport: t, Done: make(chan struct{})}
	log := w.log.With(zap.String("ctrl", name))
	ctrl.SetHostSink(func(h4 []byte) {
		sn.write(vhci.ControllerToHost, h4)
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
				ctrl.FromHost(pkt)
			})
		}
	}()
	return x, nil
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
