package loadgen

import (
	"context"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWakerNeverWakesEarly(t *testing.T) {
	w := newWaker(context.Background())
	defer w.close()
	for i := range 20 {
		due := time.Now().Add(time.Duration(i%4) * 300 * time.Microsecond)
		if err := w.sleepUntil(context.Background(), due); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(due) {
			t.Fatalf("sleep %d returned %v before its due time", i, due.Sub(now))
		}
	}
}

func TestWakerStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newWaker(ctx)
	defer w.close()
	done := make(chan error, 1)
	go func() { done <- w.sleepUntil(ctx, time.Now().Add(time.Hour)) }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("sleepUntil = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sleepUntil did not return within 10 s of the cancel")
	}
	// A sleep after the cancel does not wait either.
	if err := w.sleepUntil(ctx, time.Now().Add(time.Hour)); err != context.Canceled {
		t.Fatalf("sleepUntil after cancel = %v", err)
	}
}

// TestWakerIsPrecise: on Linux the waker's sleeps to a 1 ms grid land within
// the machine's wake-up latency (45-110 µs at the median here), where
// time.Timer's land 0.1-1.0 ms late, about 0.55 ms at the median, because
// the runtime sleeps in whole milliseconds. The bound, 400 µs at the
// median, holds on a loaded machine and fails on time.Timer.
func TestWakerIsPrecise(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the timerfd is Linux's")
	}
	if testing.Short() || raceEnabled {
		t.Skip("a 0.3 s measurement; meaningless under -race")
	}
	w := newWaker(context.Background())
	defer w.close()
	if w.tfd == nil {
		t.Fatal("no timerfd: the waker fell back to time.Timer")
	}
	late := make([]time.Duration, 0, 300)
	t0 := time.Now()
	for i := 1; i <= cap(late); i++ {
		due := t0.Add(time.Duration(i) * time.Millisecond)
		if err := w.sleepUntil(context.Background(), due); err != nil {
			t.Fatal(err)
		}
		late = append(late, time.Since(due))
	}
	slices.Sort(late)
	p50, p90 := late[len(late)/2], late[len(late)*9/10]
	t.Logf("late p50 %v p90 %v max %v", p50, p90, late[len(late)-1])
	if p50 > 400*time.Microsecond {
		t.Errorf("sleeps to a 1 ms grid landed %v late at the median, want under 400µs", p50)
	}
}

// A tick is the tick pacer's grid: 1 ms unless given, within bounds, and
// refused with another pacer.
func TestTickConfig(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1/")
	e, err := New(Config{URL: u, Pacer: PacerTick})
	if err != nil || e.cfg.Tick != DefaultTick {
		t.Fatalf("tick pacer without a tick: %v, tick %v; want 1ms", err, e.cfg.Tick)
	}
	for _, c := range []Config{
		{URL: u, Pacer: PacerSleep, Tick: 5 * time.Millisecond},
		{URL: u, Pacer: PacerTick, Tick: 50 * time.Microsecond},
		{URL: u, Pacer: PacerTick, Tick: 2 * time.Second},
	} {
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), "tick") {
			t.Errorf("pacer %s tick %v: error %v, want one naming the tick", c.Pacer, c.Tick, err)
		}
	}
}

// When the timerfd fails, the waker goes on with the runtime's timer, and
// still never wakes early.
func TestWakerFallsBackToTimer(t *testing.T) {
	w := newWaker(context.Background())
	defer w.close()
	if w.tfd == nil {
		t.Skip("no timerfd here: the waker uses the timer already")
	}
	w.tfd.f.Close() // its next timerfd_settime fails (EBADF)
	due := time.Now().Add(2 * time.Millisecond)
	if err := w.sleepUntil(context.Background(), due); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(due) {
		t.Fatal("woke before its due time")
	}
	if w.tfd != nil || w.t == nil {
		t.Fatal("the waker did not fall back to its timer")
	}
}
