package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"blesim/hosts/meshnode"
	"blesim/hosts/profiles"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/kernel/dbus"
	"blesim/scenarios/report"
	"blesim/scenarios/world"
	"blesim/vhci"
)

// Options configure Run.
type Options struct {
	// Log receives the simulation's logs; nil discards them.
	Log *zap.Logger
	// OutDir, when set, receives a btsnoop file per controller
	// (NAME.btsnoop), the air as air.pcap and its decrypted teaching copy
	// as air-decrypted.pcap.
	OutDir string
	// StateDir holds bond files; empty keeps bonds in memory.
	StateDir string
	// VHCIPath is the vhci device for host: kernel devices (default
	// /dev/vhci) and Bus the D-Bus system bus socket (default: the
	// system bus).
	VHCIPath string
	Bus      string
	// Started, when set, is called with the world once it is built,
	// before the first event, and a function that returns how many steps
	// have completed out of how many (call it on the simulation
	// goroutine, e.g. through ew.Sched.Post): blesim run's progress line.
	Started func(ew *engine.World, steps func() (done, total int))
}

// observation is one event a built-in host reported, with its time.
type observation struct {
	At     sim.Time
	Device string
	Event  profiles.Event
}

// runner plays one scenario.
type runner struct {
	s        *Scenario
	ew       *engine.World
	log      *zap.Logger
	obs      []observation
	steps    []StepResult
	centrals map[string]central
	kernels  map[string]*kernelCentral // host: kernel centrals, attached by Run
	closers  []func()                  // undo attachKernel
	// t0 is when the first step was scheduled: 0, or once the kernel
	// centrals are up. Step at: and expectation within: count from it.
	t0      sim.Time
	cancel  func() // ends a real-time run
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
		eo.DecryptedPcapFile = filepath.Join(opts.OutDir, "air-decrypted.pcap")
	}
	ew, err := engine.Build(s.World, eo)
	if err != nil {
		return nil, err
	}
	r := &runner{s: s, ew: ew, log: opts.Log, centrals: map[string]central{}, kernels: map[string]*kernelCentral{}}
	if opts.Started != nil {
		opts.Started(ew, func() (int, int) { return len(r.steps), len(s.Steps) })
	}
	if opts.OutDir != "" {
		title := s.Name
		if s.Description != "" {
			title += ": " + s.Description
		}
		r.rec = report.Record(ew, title)
	}
	for _, d := range ew.Devices {
		d.OnEvent = func(d *engine.Device, e profiles.Event) { r.observe(d.Spec.Name, e) }
		d.OnMeshEvent = func(d *engine.Device, e meshnode.Event) { r.observe(d.Spec.Name, meshObs{Mesh: e}) }
	}
	limit := sim.Time(sim.FromStd(MaxDuration))
	if s.Duration > 0 {
		limit = sim.Time(sim.FromStd(s.Duration))
	}
	if err := r.play(opts, limit); err != nil {
		ew.Close()
		return nil, err
	}
	end := ew.Sched.Now()
	res := r.result(end)
	res.Files = ew.SnoopFiles()
	if eo.PcapFile != "" {
		res.Files = append(res.Files, eo.PcapFile, eo.DecryptedPcapFile)
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

// play runs the scheduler until the scenario is over: in virtual time,
// or paced to the wall clock when the kernel plays a central (its
// commands time out after 2 s of real time).
func (r *runner) play(opts Options, limit sim.Time) error {
	var kernels []*engine.Device
	for _, d := range r.ew.Devices {
		if d.Kernel() {
			kernels = append(kernels, d)
		}
	}
	startBuiltins := func() {
		// Centrals start at their first connect step, so that they do not
		// connect before the scenario says so.
		for _, d := range r.ew.Devices {
			if d.Central == nil && d.Host != nil {
				d.Host.Start()
			}
		}
	}
	if len(kernels) == 0 {
		r.ew.Sched.At(0, func() {
			startBuiltins()
			r.schedule(0, 0)
		})
		r.ew.Sched.RunWhile(limit, func() bool { return !r.over })
		return nil
	}
	if opts.VHCIPath == "" {
		opts.VHCIPath = vhci.DefaultVHCIPath
	}
	if opts.Bus == "" {
		opts.Bus = dbus.SystemBusPath()
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit.Sub(0).Std()+kernelSetupTimeout)
	defer cancel()
	r.cancel = cancel
	var setupErr error
	fail := func(err error) {
		if setupErr == nil {
			setupErr = err
		}
		r.stop()
	}
	pending := len(kernels)
	r.ew.Sched.At(0, func() {
		startBuiltins()
		for _, d := range kernels {
			err := r.attachKernel(d, opts.VHCIPath, opts.Bus, func(err error) {
				if err != nil {
					fail(err)
					return
				}
				if pending--; pending == 0 {
					r.t0 = r.ew.Sched.Now()
					r.log.Info("kernel centrals ready: the steps start", zap.Duration("after", r.t0.Sub(0).Std()))
					r.schedule(0, r.t0)
				}
			})
			if err != nil {
				fail(err)
				return
			}
		}
	})
	r.ew.Sched.RunRealtime(ctx, sim.NewRealClock())
	for _, k := range r.kernels {
		if k.bz != nil {
			k.bonded, k.bondErr = k.bz.Bonded()
		}
	}
	for _, c := range r.closers {
		c()
	}
	return setupErr
}

// stop ends the run.
func (r *runner) stop() {
	r.over = true
	if r.cancel != nil {
		r.cancel()
	}
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
				end = max(end, r.t0.Add(sim.FromStd(e.Within)))
			}
			r.ew.Sched.At(end, r.stop)
		}
		return
	}
	st := r.s.Steps[i]
	t := prev.Add(sim.FromStd(st.Delay))
	if st.HasAt {
		t = max(r.t0.Add(sim.FromStd(st.At)), r.ew.Sched.Now())
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
	if st.Host != "" && st.Host != r.runHost() {
		sr.Skipped = true
		finish(nil)
		return
	}
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
	if err := r.offline(st); err != nil {
		return err
	}
	if handled, err := r.powerAct(st, finish); handled {
		return err
	}
	if handled, err := r.meshAct(st, finish); handled {
		return err
	}
	if handled, err := r.lockAct(st, finish); handled { // lock_steps.go
		return err
	}
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
	c, err := r.central(d)
	if err != nil {
		return err
	}
	switch st.Action {
	case ActConnect:
		if c.connected() {
			return fmt.Errorf("%s is already connected", st.Device)
		}
		return c.connect(r.ew.Device(st.Peer), finish)
	case ActDeleteBond:
		var peer *engine.Device
		if st.Peer != "" {
			peer = r.ew.Device(st.Peer)
		}
		return c.deleteBond(peer, finish)
	}
	if !c.connected() {
		if st.Action == ActDisconnect {
			finish(nil) // already gone
			return nil
		}
		return fmt.Errorf("%s is not connected", st.Device)
	}
	switch st.Action {
	case ActDisconnect:
		return c.disconnect(finish)
	case ActPair:
		return c.pair(st.Pair, finish)
	case ActRead, ActWrite, ActSubscribe:
		return c.gatt(st, finish)
	}
	return fmt.Errorf("%s: no such action", st.Action)
}
