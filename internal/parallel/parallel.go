// Package parallel runs the engine's data-parallel loops on a few persistent
// worker goroutines.
//
// A forward pass at batch 1 is a chain of a hundred products of a few
// milliseconds each. Starting fresh goroutines for each one costs the wake-up
// of an idle core every time (hundreds of microseconds on a VM), which was as
// much as the second core gained. The pool's workers instead poll for the
// next job for a short while after each one (yielding their processor to any
// other runnable goroutine while they do) and only then sleep, so a chain of
// jobs finds them awake.
//
// One job runs on the pool at a time; a call made while the pool is busy (a
// nested loop, or a second caller) runs its workers on fresh goroutines
// instead, exactly as before the pool existed. Either way every worker index
// of a job runs on its own goroutine, concurrently with the others, so
// workers may wait for each other (the GEMM's barriers rely on it).
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Spin is how long an idle worker, or a caller waiting for its job to
// finish, polls before it sleeps.
const Spin = 200 * time.Microsecond

// Run calls f(0), …, f(workers−1) concurrently, each on its own goroutine
// (f(0) on the caller's), and returns when all have returned.
func Run(workers int, f func(w int)) {
	if workers <= 1 {
		if workers == 1 {
			f(0)
		}
		return
	}
	if !pool.mu.TryLock() {
		runFresh(workers, f)
		return
	}
	defer pool.mu.Unlock()
	pool.run(workers, f)
}

// For calls f(i) for every i in [0, n) on up to workers goroutines (the
// caller's included), handing out one index at a time, so indices should be
// coarse: an image, a channel plane, a block of rows.
func For(n, workers int, f func(i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	Run(workers, func(int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(i)
		}
	})
}

// runFresh is Run on new goroutines.
func runFresh(workers int, f func(w int)) {
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			f(w)
		}()
	}
	f(0)
	wg.Wait()
}

// Test hooks: testHookPublished runs between publishing a job and waking
// the workers, testHookFinished between a job's last worker finishing and
// its waking the caller. Tests use them to widen those windows.
var testHookPublished, testHookFinished atomic.Pointer[func()]

func runHook(h *atomic.Pointer[func()]) {
	if f := h.Load(); f != nil {
		(*f)()
	}
}

// pool is the process's workers. mu is held by the caller whose job runs.
var pool workerPool

type workerPool struct {
	mu      sync.Mutex
	workers []*worker
	cur     atomic.Pointer[job] // the latest job; a new pointer for each
	waiter  sleeper             // the caller, once it sleeps waiting for its job
}

// job is one call of Run on the pool.
type job struct {
	f       func(w int)
	n       int          // worker indices
	pending atomic.Int32 // pool workers still running it
}

// worker is one persistent goroutine; it runs worker index id+1 of every
// job with more than id+1 indices.
type worker struct {
	id int
	sleeper
}

// sleeper lets a goroutine sleep until woken without losing a wake-up that
// races with falling asleep.
type sleeper struct {
	asleep atomic.Bool
	wake   chan struct{}
}

// sleepUnless marks the goroutine asleep and blocks until wakeUp, unless
// ready, checked after marking, is already true. A wake-up is not a promise
// that ready holds: callers check again.
func (s *sleeper) sleepUnless(ready func() bool) {
	s.asleep.Store(true)
	if ready() && s.asleep.CompareAndSwap(true, false) {
		return // nobody will send
	}
	<-s.wake
}

// wakeUp wakes the goroutine if it sleeps (or is about to).
func (s *sleeper) wakeUp() {
	if s.asleep.CompareAndSwap(true, false) {
		s.wake <- struct{}{}
	}
}

func (p *workerPool) run(workers int, f func(w int)) {
	if p.waiter.wake == nil {
		p.waiter.wake = make(chan struct{}, 1)
	}
	for len(p.workers) < workers-1 {
		w := &worker{id: len(p.workers), sleeper: sleeper{wake: make(chan struct{}, 1)}}
		p.workers = append(p.workers, w)
		go p.loop(w, p.cur.Load())
	}
	j := &job{f: f, n: workers}
	j.pending.Store(int32(workers - 1))
	p.cur.Store(j)
	runHook(&testHookPublished)
	for _, w := range p.workers[:workers-1] {
		w.wakeUp()
	}
	f(0)
	done := func() bool { return j.pending.Load() == 0 }
	// A wake-up may be late: meant for the previous job's caller, which saw
	// its job finish while spinning. Sleep again until this job is done.
	for !SpinUntil(done, Spin) {
		p.waiter.sleepUnless(done)
	}
}

// loop is a worker's life: wait for a job other than seen, run its share.
func (p *workerPool) loop(w *worker, seen *job) {
	for {
		newer := func() bool { return p.cur.Load() != seen }
		// A wake-up may be late: meant for a job this worker already ran
		// while spinning. Sleep again until there is a newer one.
		for !SpinUntil(newer, Spin) {
			w.sleepUnless(newer)
		}
		j := p.cur.Load()
		seen = j
		if w.id+1 >= j.n {
			continue // not needed this time
		}
		j.f(w.id + 1)
		if j.pending.Add(-1) == 0 {
			runHook(&testHookFinished)
			p.waiter.wakeUp()
		}
	}
}

// SpinUntil polls done for up to d, yielding the processor every few polls
// (so that the goroutine being waited for can run even with more runnable
// goroutines than processors), and reports whether done returned true.
func SpinUntil(done func() bool, d time.Duration) bool {
	var start time.Time
	for i := 1; ; i++ {
		if done() {
			return true
		}
		if i%64 == 0 {
			// Let a runnable goroutine have this P (more workers than
			// Ps: the one being waited for may be queued here).
			runtime.Gosched()
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > d {
				return false
			}
		}
	}
}
