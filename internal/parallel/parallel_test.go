package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rendezvous fails the test unless all n workers of a job are running at
// once: each waits (with a deadline) until every one has arrived.
func rendezvous(t *testing.T, n int) func(w int) {
	var arrived atomic.Int32
	return func(w int) {
		arrived.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for arrived.Load() < int32(n) {
			if time.Now().After(deadline) {
				t.Errorf("worker %d of %d: only %d arrived; workers do not run concurrently", w, n, arrived.Load())
				return
			}
			runtime.Gosched()
		}
	}
}

func TestRunConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		pause   time.Duration // between jobs: longer than Spin puts the workers to sleep
	}{
		{"awake/2", 2, 0},
		{"awake/5", 5, 0},
		{"asleep/3", 3, 3 * Spin},
		{"shrinking", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for rep := range 50 {
				n := tc.workers
				if tc.name == "shrinking" {
					n = 1 + (rep*7)%6 // vary the job size: idle workers must skip jobs
				}
				seen := make([]atomic.Int32, n)
				meet := rendezvous(t, n)
				Run(n, func(w int) {
					seen[w].Add(1)
					meet(w)
				})
				for w := range seen {
					if got := seen[w].Load(); got != 1 {
						t.Fatalf("job %d: worker %d ran %d times", rep, w, got)
					}
				}
				time.Sleep(tc.pause)
			}
		})
	}
}

func TestForEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 2}, {1, 4}, {7, 1}, {100, 2}, {1000, 3}, {3, 8}} {
		hits := make([]atomic.Int32, tc.n)
		For(tc.n, tc.workers, func(i int) { hits[i].Add(1) })
		for i := range hits {
			if got := hits[i].Load(); got != 1 {
				t.Fatalf("For(%d, %d): index %d ran %d times", tc.n, tc.workers, i, got)
			}
		}
	}
}

// A job started from inside a job, or by a second caller while the pool is
// busy, runs on fresh goroutines, with the same guarantees.
func TestNestedAndConcurrentCallers(t *testing.T) {
	var total atomic.Int64
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				Run(2, func(int) {
					meet := rendezvous(t, 3)
					Run(3, func(w int) {
						meet(w)
						total.Add(int64(c + 1))
					})
				})
			}
		}()
	}
	wg.Wait()
	// 4 callers × 20 jobs × 2 outer workers × 3 inner workers, weighted c+1.
	if want := int64(20 * 2 * 3 * (1 + 2 + 3 + 4)); total.Load() != want {
		t.Fatalf("total %d, want %d", total.Load(), want)
	}
}

func BenchmarkRun2(b *testing.B) {
	var sink atomic.Int64
	for b.Loop() {
		Run(2, func(w int) { sink.Add(int64(w)) })
	}
}

func BenchmarkRunFresh2(b *testing.B) {
	var sink atomic.Int64
	for b.Loop() {
		runFresh(2, func(w int) { sink.Add(int64(w)) })
	}
}

// A wake-up can arrive late: the caller may be slow to wake a worker that
// has already run the job and gone back to sleep, and a worker may be slow
// to wake a caller that has already seen its job finish and moved on to the
// next one. Neither may make a worker run a job twice or a caller return
// before its job is done (each once made a GEMM worker wait forever at a
// barrier of a job that had already ended).
func TestLateWakeUps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		published func()        // see testHookPublished
		finished  func()        // see testHookFinished
		slowEven  time.Duration // the caller's own share in even jobs, the worker's in odd ones
	}{
		{"late worker wake-up", func() { time.Sleep(4 * Spin) }, nil, 0},
		// An even job's caller sees it finish while its worker still
		// sleeps in the hook; the odd job's caller is asleep by the
		// time the worker wakes it, and its worker's share not done.
		{"late caller wake-up", nil, func() { time.Sleep(20 * Spin) }, 5 * Spin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range []struct {
				hook *atomic.Pointer[func()]
				f    func()
			}{{&testHookPublished, tc.published}, {&testHookFinished, tc.finished}} {
				if h.f != nil {
					h.hook.Store(&h.f)
					defer h.hook.Store(nil)
				}
			}
			const jobs = 20
			var ran [jobs][2]atomic.Int32
			for j := range jobs {
				Run(2, func(w int) {
					if w == j%2 {
						time.Sleep(tc.slowEven)
					}
					ran[j][w].Add(1)
				})
				for w := range 2 {
					if got := ran[j][w].Load(); got != 1 {
						t.Fatalf("job %d returned with worker %d having run %d times", j, w, got)
					}
				}
			}
			time.Sleep(10 * Spin) // let any stray re-run happen
			for j := range jobs {
				for w := range 2 {
					if got := ran[j][w].Load(); got != 1 {
						t.Fatalf("job %d: worker %d ran %d times", j, w, got)
					}
				}
			}
		})
	}
}
