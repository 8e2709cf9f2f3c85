package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/imageio"
)

// loadBurst is the number of concurrent requests of a load test burst.
const loadBurst = 200

// TestServeLoad sends bursts of 200 concurrent requests over loopback to a
// real server: every request must succeed, and after a warm-up burst the
// heap must not grow by more than a generous bound over two more bursts.
// It logs the latency percentiles and the throughput (make loadtest runs it
// verbosely). The stand-in model runs with -short; the tiny trained model
// (a resnet18 with random weights) is skipped with -short.
func TestServeLoad(t *testing.T) {
	t.Run("stand-in", func(t *testing.T) {
		fp := &fakePredict{}
		loadTest(t, fakeModel(), fp.predict, [][]byte{testPNG(t, 32, 32, 51), testPNG(t, 32, 32, 204)})
	})
	t.Run("model", func(t *testing.T) {
		if testing.Short() {
			t.Skip("trains a model; skipped with -short")
		}
		const size = 64
		data, wpath := r18Set(t, size)
		path := filepath.Join(t.TempDir(), "m.rpm")
		var out, errb bytes.Buffer
		if code := run(r18TrainArgs(data, wpath, path, size, "0.1"), &out, &errb); code != 0 {
			t.Fatalf("train exited %d: %s", code, errb.String())
		}
		m, err := reconpatch.LoadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.UseBackbone(wpath); err != nil {
			t.Fatal(err)
		}
		var bodies [][]byte
		for _, rel := range []string{"good/000.png", "good/001.png"} {
			b, err := os.ReadFile(filepath.Join(data, "test", rel))
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, b)
		}
		loadTest(t, m, func(ctx context.Context, imgs []imageio.RGB) ([]reconpatch.Prediction, error) {
			return m.PredictImages(ctx, imgs, nil)
		}, bodies)
	})
}

// loadTest serves m with predict and sends a warm-up burst and two measured
// bursts of loadBurst concurrent requests, the bodies in turn, every other
// one asking for the map and the heatmap.
func loadTest(t *testing.T, m *reconpatch.Model, predict predictFunc, bodies [][]byte) {
	cfg := testServeConfig()
	cfg.Queue = loadBurst // no 503: every request waits for its turn
	s, base, _, stop := startTestServer(t, cfg, m, predict)
	tr := &http.Transport{MaxIdleConnsPerHost: loadBurst, MaxConnsPerHost: loadBurst}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}

	burst := func() (lat []time.Duration, elapsed time.Duration) {
		lat = make([]time.Duration, loadBurst)
		errs := make(chan error, loadBurst)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range loadBurst {
			wg.Go(func() {
				url := base + "/v1/predict"
				if i%2 == 1 {
					url += "?map=1&heatmap=1"
				}
				t0 := time.Now()
				resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(bodies[i%len(bodies)]))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				var got predictReply
				err = json.NewDecoder(resp.Body).Decode(&got)
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK || (i%2 == 1) != (got.Heatmap != "") {
					errs <- fmt.Errorf("request %d: %d, %v", i, resp.StatusCode, err)
				}
			})
		}
		wg.Wait()
		elapsed = time.Since(start)
		close(errs)
		n := 0
		for err := range errs {
			if n++; n <= 5 {
				t.Error(err)
			}
		}
		if n > 0 {
			t.Fatalf("%d of %d requests failed", n, loadBurst)
		}
		return lat, elapsed
	}

	burst() // warm-up: connections, buffers, the backbone's scratch memory
	heap0, rss0 := memNow()
	goroutines0 := runtime.NumGoroutine()
	for b := range 2 {
		lat, elapsed := burst()
		slices.Sort(lat)
		t.Logf("burst %d: %d concurrent requests in %v: p50 %v, p99 %v, max %v, %.1f requests/s (batch %d, %d worker(s))",
			b+1, loadBurst, elapsed.Round(time.Millisecond), pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Millisecond),
			float64(loadBurst)/elapsed.Seconds(), s.batch, cfg.Workers)
	}
	heap1, rss1 := memNow()
	t.Logf("after the warm-up: live heap %.1f → %.1f MiB, RSS %s → %s, %d → %d goroutines",
		mib(heap0), mib(heap1), rssString(rss0), rssString(rss1), goroutines0, runtime.NumGoroutine())
	// Generous: the requests of one burst hold their bodies, images and
	// replies for a moment, but nothing may stay behind.
	const maxGrowth = 64 << 20
	if heap1 > heap0+maxGrowth {
		t.Errorf("the live heap grew by %.1f MiB over two bursts after the warm-up (bound %d MiB)", mib(heap1-heap0), maxGrowth>>20)
	}
	if rss0 > 0 && rss1 > rss0+2*maxGrowth {
		t.Errorf("RSS grew by %.1f MiB over two bursts after the warm-up (bound %d MiB)", mib(rss1-rss0), 2*maxGrowth>>20)
	}
	stop()
}

// pct is the p-th percentile of sorted latencies, rounded for the log.
func pct(sorted []time.Duration, p int) time.Duration {
	i := min(len(sorted)-1, (len(sorted)*p+99)/100-1)
	return sorted[max(i, 0)].Round(100 * time.Microsecond)
}

// memNow returns the live heap after a collection and the resident set
// size (0 where /proc/self/statm is not available).
func memNow() (heap, rss uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = ms.HeapAlloc
	if raw, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 1 {
			if pages, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				rss = pages * uint64(os.Getpagesize())
			}
		}
	}
	return heap, rss
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func rssString(b uint64) string {
	if b == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", mib(b))
}
