package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEventsRunInTimeThenSequenceOrder(t *testing.T) {
	s := New(1)
	var got []int
	s.At(30, func() { got = append(got, 3) })
	s.At(10, func() { got = append(got, 1) })
	s.At(20, func() { got = append(got, 2) })
	s.At(10, func() { got = append(got, 11) }) // same instant: after the first 10
	s.RunUntil(100)
	require.Equal(t, []int{1, 11, 2, 3}, got)
	require.Equal(t, Time(100), s.Now())
}

func TestStopCancels(t *testing.T) {
	s := New(1)
	ran := map[int]bool{}
	var timers []*Timer
	for i := 0; i < 50; i++ {
		i := i
		timers = append(timers, s.At(Time(i*7%50), func() { ran[i] = true }))
	}
	for i := 0; i < 50; i += 3 {
		require.True(t, timers[i].Stop())
		require.False(t, timers[i].Stop(), "second Stop reports not pending")
	}
	s.RunUntil(1000)
	for i := 0; i < 50; i++ {
		require.Equal(t, i%3 != 0, ran[i], "timer %d", i)
	}
	var nilTimer *Timer
	require.False(t, nilTimer.Stop())
}

func TestHeapOrderRandomized(t *testing.T) {
	s := New(42)
	r := s.Rand()
	last := Time(-1)
	n := 0
	for i := 0; i < 2000; i++ {
		at := Time(r.IntN(10000))
		s.At(at, func() {
			require.GreaterOrEqual(t, s.Now(), last)
			last = s.Now()
			n++
		})
	}
	s.RunUntil(20000)
	require.Equal(t, 2000, n)
}

func TestEventsScheduledFromEventsAndPast(t *testing.T) {
	s := New(1)
	var got []Time
	s.At(10, func() {
		s.After(5, func() { got = append(got, s.Now()) })
		s.At(3, func() { got = append(got, s.Now()) }) // in the past: runs now
	})
	s.RunFor(100)
	require.Equal(t, []Time{10, 15}, got)
}

func TestSameSeedSameRandom(t *testing.T) {
	a, b := New(9), New(9)
	for i := 0; i < 10; i++ {
		require.Equal(t, a.Rand().Uint64(), b.Rand().Uint64())
	}
	require.NotEqual(t, New(1).Rand().Uint64(), New(2).Rand().Uint64())
}

func TestRunWhile(t *testing.T) {
	s := New(1)
	count := 0
	var tick func()
	tick = func() { count++; s.After(10, tick) }
	s.After(10, tick)
	require.True(t, s.RunWhile(1000, func() bool { return count < 5 }))
	require.Equal(t, Time(50), s.Now())
	require.False(t, s.RunWhile(80, func() bool { return count < 100 }))
	require.Equal(t, Time(80), s.Now())
}

// fakeClock is a WallClock whose time moves only when Wait is called.
type fakeClock struct{ now time.Duration }

func (c *fakeClock) Elapsed() time.Duration { return c.now }
func (c *fakeClock) Wait(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	select {
	case <-wake:
		return
	default:
	}
	c.now += d
}

func TestRealtimePacing(t *testing.T) {
	s := New(1)
	clk := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	var at []time.Duration
	s.At(Time(250*Millisecond), func() { at = append(at, clk.now) })
	s.At(Time(2*Second), func() { at = append(at, clk.now); cancel() })
	s.RunRealtime(ctx, clk)
	// Events run when the wall clock reaches their virtual time, not before.
	require.Equal(t, []time.Duration{250 * time.Millisecond, 2 * time.Second}, at)
}

func TestPostFromOtherGoroutine(t *testing.T) {
	s := New(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go s.Post(func() { close(done); cancel() })
	s.RunRealtime(ctx, NewRealClock())
	select {
	case <-done:
	default:
		t.Fatal("posted function did not run")
	}
}

func BenchmarkScheduler(b *testing.B) {
	s := New(1)
	r := s.Rand()
	for i := 0; i < 3000; i++ {
		s.At(Time(r.IntN(100000)), func() {})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.After(Duration(r.IntN(100000)), func() {})
		s.step(1 << 62)
	}
}

func TestReusableTimer(t *testing.T) {
	s := New(1)
	var fired []Time
	tm := s.NewTimer(func() { fired = append(fired, s.Now()) })
	require.False(t, tm.Pending())
	tm.Reset(10)
	tm.Reset(20) // re-arming replaces the pending firing
	s.RunUntil(15)
	require.Empty(t, fired)
	s.RunUntil(25)
	require.Equal(t, []Time{20}, fired)
	tm.ResetAfter(5)
	require.True(t, tm.Stop())
	tm.ResetAfter(7)
	s.RunUntil(100)
	require.Equal(t, []Time{20, 32}, fired)
	allocs := testing.AllocsPerRun(100, func() {
		tm.ResetAfter(1)
		s.RunFor(1)
	})
	require.Zero(t, allocs, "re-arming a timer must not allocate")
}
