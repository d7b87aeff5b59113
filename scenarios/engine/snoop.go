package engine

import (
	"bufio"
	"errors"
	"os"

	"blesim/linklayer/sim"
	"blesim/vhci"
)

// snoop writes one controller's HCI traffic as btsnoop, stamped with
// virtual time from Epoch. A nil *snoop writes nothing.
type snoop struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	bs   *vhci.Btsnoop
	s    *sim.Scheduler
	err  error
	// closed is set by World.Close.
	closed bool
}

func newSnoop(path string, s *sim.Scheduler) (*snoop, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriter(f)
	bs, err := vhci.NewBtsnoop(bw)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &snoop{path: path, f: f, bw: bw, bs: bs, s: s}, nil
}

func (sn *snoop) write(dir vhci.Direction, h4 []byte) {
	if sn == nil || sn.err != nil {
		return
	}
	ts := Epoch.UnixMicro() + int64(sn.s.Now())
	sn.err = sn.bs.WriteMicros(ts, dir, h4)
}

// flush pushes buffered records to the file (serve calls it periodically
// so a trace can be read while running).
func (sn *snoop) flush() error {
	if sn == nil {
		return nil
	}
	return sn.bw.Flush()
}

func (sn *snoop) close() error {
	if sn == nil {
		return nil
	}
	return errors.Join(sn.err, sn.bw.Flush(), sn.f.Close())
}
