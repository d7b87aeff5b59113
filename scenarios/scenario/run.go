package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/report"
	"blesim/scenarios/world"
	"blesim/vhci/hci"
)

// Options configure Run.
type Options struct {
	// Log receives the simulation's logs; nil discards them.
	Log *zap.Logger
	// OutDir, when set, receives a btsnoop file per controller
	// (NAME.btsnoop) and the air as air.pcap.
	OutDir string
	// StateDir holds bond files; empty keeps bonds in memory.
	StateDir string
}

// observation is one event a built-in host reported, with its time.
type observation struct {
	At     sim.Time
	Device string
	Event  profiles.Event
}

// runner plays one scenario.
type runner struct {
	s       *Scenario
	ew      *engine.World
	log     *zap.Logger
	obs     []observation
	steps   []StepResult
	started map[string]bool // centrals whose host has started
	waiters []func(dev string, e profiles.Event) bool
	over    bool
	rec     *report.Recorder // the air and findings, for report.html
}

// writeReport writes the message sequence chart of the run, with a note
// for every expectation that did not hold, as OUT/report.html.
func writeReport(rec *report.Recorder, res *Result, dir string) (string, error) {
	for _, e := range res.Failed() {
		rec.AddNote(sim.Time(e.At.US), e.Device, fmt.Sprintf("expectation %d (%s) failed: expected %s; observed %s", e.Index, e.Kind, e.Expected, e.Observed))
	}
	path := filepath.Join(dir, "report.html")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := report.WriteHTML(f, rec.Timeline()); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// Run plays s in virtual time and checks its expectations. The error is
// for a run that could not happen (trace files, a device that cannot be
// built); failed expectations are in the Result.
func Run(s *Scenario, opts Options) (*Result, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	targets := map[string]string{}
	for _, st := range s.Steps {
		if st.Action == ActConnect {
			targets[st.Device] = st.Peer
		}
	}
	eo := engine.Options{Log: opts.Log, StateDir: opts.StateDir,
		CentralConfig: func(spec world.Device) profiles.CentralConfig {
			return profiles.CentralConfig{Target: targets[spec.Name]}
		}}
	if opts.OutDir != "" {
		eo.SnoopDir = opts.OutDir
		eo.PcapFile = filepath.Join(opts.OutDir, "air.pcap")
	}
	ew, err := engine.Build(s.World, eo)
	if err != nil {
		return nil, err
	}
	r := &runner{s: s, ew: ew, log: opts.Log, started: map[string]bool{}}
	if opts.OutDir != "" {
		title := s.Name
		if s.Description != "" {
			title += ": " + s.Description
		}
		r.rec = report.Record(ew, title)
	}
	for _, d := range ew.Devices {
		d.OnEvent = func(d *engine.Device, e profiles.Event) { r.observe(d.Spec.Name, e) }
	}
	ew.Sched.At(0, func() {
		// Centrals start at their first connect step, so that they do not
		// connect before the scenario says so.
		for _, d := range ew.Devices {
			if d.Central == nil {
				d.Host.Start()
			}
		}
		r.schedule(0, 0)
	})
	limit := sim.Time(sim.FromStd(MaxDuration))
	if s.Duration > 0 {
		limit = sim.Time(sim.FromStd(s.Duration))
	}
	ew.Sched.RunWhile(limit, func() bool { return !r.over })
	end := ew.Sched.Now()
	res := r.result(end)
	res.Files = ew.SnoopFiles()
	if eo.PcapFile != "" {
		res.Files = append(res.Files, eo.PcapFile)
	}
	if r.rec != nil {
		path, err := writeReport(r.rec, res, opts.OutDir)
		if err != nil {
			return res, err
		}
		res.Files = append(res.Files, path)
	}
	if err := ew.Close(); err != nil {
		return res, err
	}
	return res, nil
}

// observe records e and lets the waiting steps see it.
func (r *runner) observe(dev string, e profiles.Event) {
	r.obs = append(r.obs, observation{At: r.ew.Sched.Now(), Device: dev, Event: e})
	if f, ok := e.(profiles.Finding); ok {
		r.log.Info("finding", zap.String("device", dev), zap.String("finding", f.String()))
		if r.rec != nil {
			r.rec.AddFinding(r.ew.Sched.Now(), dev, f.String())
		}
	}
	keep := r.waiters[:0]
	for _, w := range r.waiters {
		if !w(dev, e) {
			keep = append(keep, w)
		}
	}
	r.waiters = keep
}

// schedule starts step i at its time: At, or Delay after prev (the time
// the previous step completed). Past the last step, the run ends Settle
// later (or at Duration).
func (r *runner) schedule(i int, prev sim.Time) {
	if i >= len(r.s.Steps) {
		if r.s.Duration == 0 {
			// Settle after the last step, and at least until the latest
			// within of the expectations, so each is fully observed.
			end := prev.Add(sim.FromStd(Settle))
			for _, e := range r.s.Expect {
				end = max(end, sim.Time(sim.FromStd(e.Within)))
			}
			r.ew.Sched.At(end, func() { r.over = true })
		}
		return
	}
	st := r.s.Steps[i]
	t := prev.Add(sim.FromStd(st.Delay))
	if st.HasAt {
		t = max(sim.Time(sim.FromStd(st.At)), r.ew.Sched.Now())
	}
	r.ew.Sched.At(t, func() { r.exec(i) })
}

// exec runs step i; finish records it and schedules the next one.
func (r *runner) exec(i int) {
	st := r.s.Steps[i]
	sr := StepResult{Index: i, Line: st.Line, Action: st.Action, Device: st.Device, Start: stamp(r.ew.Sched.Now())}
	done := false
	var timeout *sim.Timer
	finish := func(err error) {
		if done {
			return
		}
		done = true
		timeout.Stop()
		sr.End = stamp(r.ew.Sched.Now())
		if err != nil {
			sr.Error = err.Error()
			r.log.Info("step did not complete", zap.Int("step", i), zap.String("action", st.Action), zap.Error(err))
		}
		r.steps = append(r.steps, sr)
		r.schedule(i+1, r.ew.Sched.Now())
	}
	timeout = r.ew.Sched.After(sim.FromStd(StepTimeout+st.Wait), func() {
		finish(fmt.Errorf("%s did not complete within %s", st.Action, StepTimeout))
	})
	r.log.Info("step", zap.Int("step", i), zap.String("action", st.Action), zap.String("device", st.Device))
	if err := r.act(st, finish); err != nil {
		finish(err)
	}
}

// wait calls finish with the result of match once it returns done for an
// event of device dev.
func (r *runner) wait(dev string, match func(e profiles.Event) (done bool, err error), finish func(error)) {
	r.waiters = append(r.waiters, func(d string, e profiles.Event) bool {
		if d != dev {
			return false
		}
		ok, err := match(e)
		if ok {
			finish(err)
		}
		return ok
	})
}

// act starts st's action; it calls finish when the action is complete
// (or returns an error when it cannot start).
func (r *runner) act(st Step, finish func(error)) error {
	d := r.ew.Device(st.Device)
	switch st.Action {
	case ActWait:
		r.ew.Sched.After(sim.FromStd(st.Wait), func() { finish(nil) })
		return nil
	case ActPacketLoss:
		r.ew.Medium.SetLossRate(st.Loss)
		finish(nil)
		return nil
	case ActMove:
		d.Ctrl.SetPosition(radio.Position{X: st.Position[0], Y: st.Position[1]})
		finish(nil)
		return nil
	case ActForgetKeys:
		kf, ok := d.Host.(engine.KeyForgetter)
		if !ok {
			return fmt.Errorf("%s (%s) keeps no bonds", d.Spec.Name, d.Spec.Profile)
		}
		_, err := kf.ForgetKeys()
		finish(err)
		return nil
	}
	c := d.Central
	switch st.Action {
	case ActConnect:
		if c.Conn != nil {
			return fmt.Errorf("%s is already connected", st.Device)
		}
		r.wait(st.Device, func(e profiles.Event) (bool, error) {
			switch e := e.(type) {
			case profiles.Connected:
				return true, nil
			case profiles.Error:
				if e.Step == "connect" || e.Step == "create connection" || e.Step == "bring-up" {
					return true, e
				}
			}
			return false, nil
		}, finish)
		if !r.started[st.Device] {
			r.started[st.Device] = true
			c.Start() // brings the controller up, then scans and connects
		} else {
			c.Scan()
		}
		return nil
	case ActDeleteBond:
		if st.Peer == "" {
			_, err := c.ForgetKeys()
			finish(err)
			return nil
		}
		a := r.ew.Device(st.Peer).Spec.Address
		errR := c.DeleteBond(smp.Address{Type: hci.AddrRandom, Addr: a})
		errP := c.DeleteBond(smp.Address{Type: hci.AddrPublic, Addr: a})
		if errR != nil && errP != nil {
			return fmt.Errorf("%s has no bond with %s: %v", st.Device, st.Peer, errR)
		}
		finish(nil)
		return nil
	}
	if c.Conn == nil {
		if st.Action == ActDisconnect {
			finish(nil) // already gone
			return nil
		}
		return fmt.Errorf("%s is not connected", st.Device)
	}
	switch st.Action {
	case ActDisconnect:
		r.wait(st.Device, func(e profiles.Event) (bool, error) {
			_, ok := e.(profiles.Disconnected)
			return ok, nil
		}, finish)
		c.Disconnect()
	case ActPair:
		opts := st.Pair
		c.SMP.PairThen(c.Conn.Handle, &opts, finish)
	case ActRead, ActWrite, ActSubscribe:
		u, err := att.ParseUUID(st.UUID.Bytes())
		if err != nil {
			return err
		}
		r.withCharacteristic(c, u, func(cl *gatt.Client, ch *gatt.RemoteCharacteristic) {
			r.gattOp(st, cl, ch, u, finish)
		}, finish)
	}
	return nil
}

// withCharacteristic waits until the central has discovered the
// characteristic u on its current connection, then calls fn.
func (r *runner) withCharacteristic(c *profiles.Central, u att.UUID, fn func(*gatt.Client, *gatt.RemoteCharacteristic), finish func(error)) {
	cl := c.Client
	var poll func()
	poll = func() {
		if c.Client != cl || cl == nil {
			finish(errors.New("the connection went away"))
			return
		}
		if ch := cl.Characteristic(u); ch != nil {
			fn(cl, ch)
			return
		}
		r.ew.Sched.After(10*sim.Millisecond, poll)
	}
	poll()
}

// gattOp runs a read, write or subscription and records its outcome as
// the central's events.
func (r *runner) gattOp(st Step, cl *gatt.Client, ch *gatt.RemoteCharacteristic, u att.UUID, finish func(error)) {
	dev := st.Device
	fail := func(err error) {
		if err != nil {
			r.observe(dev, profiles.Error{Step: st.Action + " " + u.String(), Err: err})
		}
		finish(err)
	}
	switch st.Action {
	case ActRead:
		cl.Read(ch.ValueHandle, func(v []byte, err error) {
			if err == nil {
				r.observe(dev, profiles.Read{UUID: u, Handle: ch.ValueHandle, Value: v})
			}
			fail(err)
		})
	case ActWrite:
		cl.Write(ch.ValueHandle, st.Value, fail)
	case ActSubscribe:
		cl.Subscribe(ch, func(v []byte, ind bool) {
			r.observe(dev, profiles.Notification{UUID: u, Handle: ch.ValueHandle, Value: v, Indication: ind})
		}, func(err error) {
			if err == nil {
				r.observe(dev, profiles.Subscribed{UUID: u, CCCD: 1})
			}
			fail(err)
		})
	}
}
