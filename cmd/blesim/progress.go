package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"blesim/scenarios/engine"
)

// progressEvery is how often (wall time) the progress line is refreshed.
var progressEvery = 2 * time.Second

// progressFlag is --progress: unset means "when stderr is a terminal".
type progressFlag struct {
	set, on bool
}

func (p *progressFlag) String() string   { return strconv.FormatBool(p.on) }
func (p *progressFlag) IsBoolFlag() bool { return true }
func (p *progressFlag) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", v)
	}
	p.set, p.on = true, b
	return nil
}

// enabled reports whether to show progress on w.
func (p *progressFlag) enabled(w io.Writer) bool {
	if p.set {
		return p.on
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress writes a status line of a running simulation to w every
// progressEvery of wall time: virtual time, steps done, and how fast the
// scheduler goes. The line is taken on the simulation goroutine (posted to
// the scheduler, which changes no other event's order, so the run's
// outputs stay byte-identical). The first line comes as the run starts.
// On a terminal it rewrites one line and clears it at the end; elsewhere it
// prints one line each time, and a last one at the end.
type progress struct {
	w      io.Writer
	tty    bool
	ew     *engine.World
	steps  func() (done, total int)
	quit   chan struct{}
	wg     sync.WaitGroup
	last   time.Time
	lastEv uint64
	shown  bool
}

// startProgress starts the ticker; stop ends it (on the simulation
// goroutine, after the run) and clears a terminal's line.
func startProgress(w io.Writer, tty bool, ew *engine.World, steps func() (int, int)) (stop func()) {
	p := &progress{w: w, tty: tty, ew: ew, steps: steps, quit: make(chan struct{}), last: time.Now()}
	ew.Sched.Post(p.line)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				ew.Sched.Post(p.line)
			}
		}
	}()
	return func() {
		close(p.quit)
		p.wg.Wait()
		switch {
		case p.tty && p.shown:
			fmt.Fprint(p.w, "\r\x1b[K")
		case !p.tty:
			p.line() // the run is over: this goroutine owns the world
		}
	}
}

// line writes the status line; it runs on the simulation goroutine.
func (p *progress) line() {
	now := time.Now()
	ev := p.ew.Sched.Events()
	rate := float64(ev-p.lastEv) / max(now.Sub(p.last).Seconds(), 1e-3)
	p.last, p.lastEv = now, ev
	done, total := p.steps()
	s := fmt.Sprintf("blesim: %s simulated, step %d/%d done", p.ew.Sched.Now(), done, total)
	if p.shown {
		s += fmt.Sprintf(", %s events/s", humanRate(rate))
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", s)
	} else {
		fmt.Fprintln(p.w, s)
	}
	p.shown = true
}

// humanRate formats a rate with k/M suffixes.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
