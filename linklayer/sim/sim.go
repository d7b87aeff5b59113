// Package sim is blesim's virtual time: a single-threaded discrete-event
// scheduler with integer-microsecond time and a seeded random source.
//
// The goroutine that calls one of the Run methods owns all simulation state
// (controllers, hosts, the medium). Other goroutines hand work to it with
// Post, which is the only method safe for concurrent use. Events at the same
// instant run in the order they were scheduled, so a run with the same seed
// and inputs is reproducible.
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Time is a point in virtual time, in microseconds since the start of the
// simulation.
type Time int64

// Duration is a span of virtual time in microseconds.
type Duration int64

// Common durations.
const (
	Microsecond Duration = 1
	Millisecond Duration = 1000
	Second      Duration = 1000 * Millisecond
)

// Add returns t+d.
func (t Time) Add(d Duration) Time { return t + Time(d) }

// Sub returns t-u.
func (t Time) Sub(u Time) Duration { return Duration(t - u) }

// String formats the time as seconds with microsecond precision: "12.000625s".
func (t Time) String() string {
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	return fmt.Sprintf("%s%d.%06ds", sign, int64(t)/1e6, int64(t)%1e6)
}

// Std converts to a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) * time.Microsecond }

// String formats like time.Duration.
func (d Duration) String() string { return d.Std().String() }

// FromStd converts a time.Duration, truncating to microseconds.
func FromStd(d time.Duration) Duration { return Duration(d / time.Microsecond) }

// Timer is a scheduled event. Stop cancels it if it has not run.
type Timer struct {
	s     *Scheduler
	at    Time
	seq   uint64
	fn    func()
	index int // position in the heap, -1 when not queued
}

// Stop cancels the timer. It reports whether the timer was pending. Only
// call it from the simulation goroutine. Stopping a nil Timer is a no-op.
func (t *Timer) Stop() bool {
	if t == nil || t.index < 0 {
		return false
	}
	t.s.q.remove(t.index)
	return true
}

// NewTimer returns an idle timer that runs fn each time it fires. Arm it
// with Reset. Hot paths (the medium, advertisers, connection events) reuse
// one Timer instead of allocating one per event.
func (s *Scheduler) NewTimer(fn func()) *Timer { return &Timer{s: s, fn: fn, index: -1} }

// Reset (re)arms the timer to fire at time at (now, if at is in the past),
// cancelling a pending firing. Same-instant ordering follows the Reset
// call, as for At.
func (t *Timer) Reset(at Time) {
	s := t.s
	if t.index >= 0 {
		s.q.remove(t.index)
	}
	if at < s.now {
		at = s.now
	}
	s.seq++
	t.at, t.seq = at, s.seq
	s.q.push(t)
}

// ResetAfter re-arms the timer to fire d from now.
func (t *Timer) ResetAfter(d Duration) { t.Reset(t.s.now.Add(d)) }

// Pending reports whether the timer is still queued.
func (t *Timer) Pending() bool { return t != nil && t.index >= 0 }

// When returns the time the timer fires (or fired).
func (t *Timer) When() Time { return t.at }

// queue is a binary min-heap of timers ordered by (at, seq). It is
// hand-written rather than container/heap to avoid interface calls on the
// hottest path of the simulation.
type queue []*Timer

func (q queue) less(i, j int) bool {
	a, b := q[i], q[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (q queue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q queue) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		j = i
	}
}

func (q queue) down(i int) bool {
	i0, n := i, len(q)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && q.less(r, l) {
			j = r
		}
		if !q.less(j, i) {
			break
		}
		q.swap(i, j)
		i = j
	}
	return i > i0
}

func (q *queue) push(t *Timer) {
	t.index = len(*q)
	*q = append(*q, t)
	q.up(t.index)
}

func (q *queue) pop() *Timer {
	old := *q
	n := len(old) - 1
	old.swap(0, n)
	t := old[n]
	old[n] = nil
	*q = old[:n]
	q.down(0)
	t.index = -1
	return t
}

func (q *queue) remove(i int) {
	old := *q
	n := len(old) - 1
	t := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*q = old[:n]
	if i != n && !q.down(i) {
		q.up(i)
	}
	t.index = -1
}

// Scheduler runs events in virtual-time order.
type Scheduler struct {
	now  Time
	seq  uint64
	ran  uint64 // events run
	q    queue
	rand *rand.Rand

	mu      sync.Mutex
	inbox   []func()
	inboxed atomic.Bool // inbox is non-empty: lets the hot loop skip the lock
	wakeup  chan struct{}
}

// New returns a scheduler at time zero whose random source is seeded with
// seed.
func New(seed uint64) *Scheduler {
	return &Scheduler{
		rand:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wakeup: make(chan struct{}, 1),
	}
}

// Now returns the current virtual time.
func (s *Scheduler) Now() Time { return s.now }

// Rand returns the simulation's seeded random source. Use it only on the
// simulation goroutine.
func (s *Scheduler) Rand() *rand.Rand { return s.rand }

// At schedules fn at time t (or now, if t is in the past).
func (s *Scheduler) At(t Time, fn func()) *Timer {
	if t < s.now {
		t = s.now
	}
	s.seq++
	tm := &Timer{s: s, at: t, seq: s.seq, fn: fn}
	s.q.push(tm)
	return tm
}

// After schedules fn d microseconds from now.
func (s *Scheduler) After(d Duration, fn func()) *Timer { return s.At(s.now.Add(d), fn) }

// Events returns how many events have run (for benchmarks).
func (s *Scheduler) Events() uint64 { return s.ran }

// Pending returns the number of queued events.
func (s *Scheduler) Pending() int { return len(s.q) }

// Post hands fn to the simulation goroutine; it runs at the current virtual
// time as soon as the scheduler looks at its inbox. Safe for concurrent use.
func (s *Scheduler) Post(fn func()) {
	s.mu.Lock()
	s.inbox = append(s.inbox, fn)
	s.inboxed.Store(true)
	s.mu.Unlock()
	select {
	case s.wakeup <- struct{}{}:
	default:
	}
}

func (s *Scheduler) drainInbox() bool {
	if !s.inboxed.Load() {
		return false
	}
	s.mu.Lock()
	in := s.inbox
	s.inbox = nil
	s.inboxed.Store(false)
	s.mu.Unlock()
	for _, fn := range in {
		s.At(s.now, fn)
	}
	return len(in) > 0
}

// step runs the next event if it is due at or before limit.
func (s *Scheduler) step(limit Time) bool {
	if len(s.q) == 0 || s.q[0].at > limit {
		return false
	}
	t := s.q.pop()
	s.now = t.at
	s.ran++
	if t.fn != nil {
		t.fn()
	}
	return true
}

// RunUntil runs every event due at or before t as fast as the CPU allows,
// then sets the clock to t.
func (s *Scheduler) RunUntil(t Time) {
	for {
		s.drainInbox()
		if !s.step(t) {
			break
		}
	}
	if s.now < t {
		s.now = t
	}
}

// RunFor runs for d of virtual time.
func (s *Scheduler) RunFor(d Duration) { s.RunUntil(s.now.Add(d)) }

// RunWhile runs events as fast as possible while cond returns true and
// events remain, but not past limit. It reports whether cond became false.
func (s *Scheduler) RunWhile(limit Time, cond func() bool) bool {
	for cond() {
		s.drainInbox()
		if !s.step(limit) {
			if s.now < limit {
				s.now = limit
			}
			return !cond()
		}
	}
	return true
}

// WallClock is the wall-clock time source used to pace a scheduler to real
// time. It is injected so tests can use a fake.
type WallClock interface {
	// Elapsed returns the wall time since the clock was started.
	Elapsed() time.Duration
	// Wait blocks until d has passed, wake is signalled or ctx is done.
	Wait(ctx context.Context, d time.Duration, wake <-chan struct{})
}

// RunRealtime runs the simulation paced to clock, so one virtual second
// takes one wall second, until ctx is done. Events posted with Post run
// at the virtual time that corresponds to their arrival. Use it when a real
// host is attached (the kernel has 2 s command timeouts).
func (s *Scheduler) RunRealtime(ctx context.Context, clock WallClock) {
	base := s.now - Time(FromStd(clock.Elapsed()))
	for ctx.Err() == nil {
		target := base + Time(FromStd(clock.Elapsed()))
		s.RunUntil(target)
		wait := time.Hour
		if len(s.q) > 0 {
			wait = s.q[0].at.Sub(base + Time(FromStd(clock.Elapsed()))).Std()
		}
		if wait > 0 {
			clock.Wait(ctx, wait, s.wakeup)
		}
	}
}

// RealClock is the process's monotonic wall clock. It is the only place in
// linklayer that reads real time.
type RealClock struct{ start time.Time }

// NewRealClock starts a wall clock now.
func NewRealClock() *RealClock { return &RealClock{start: time.Now()} }

// Elapsed implements WallClock.
func (c *RealClock) Elapsed() time.Duration { return time.Since(c.start) }

// Wait implements WallClock.
func (c *RealClock) Wait(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-ctx.Done():
	}
}
