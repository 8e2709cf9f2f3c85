package reconpatch

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// logReporter keeps the Logf lines.
type logReporter struct {
	NopReporter
	lines []string
}

func (r *logReporter) Logf(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

// smallChunks makes the streamed stages read a few rows at a time, so that
// small tests cross many chunk boundaries.
func smallChunks(t *testing.T, bytes int) {
	t.Helper()
	old := streamBytes
	streamBytes = bytes
	t.Cleanup(func() { streamBytes = old })
}

// diskCopy returns a float32 disk store holding the n×d rows x.
func diskCopy(t *testing.T, x []float32, d int, half bool) *head.DiskFeatures {
	t.Helper()
	f, err := head.NewDiskFeatures(t.TempDir(), d, half)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Append(x); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStreamedStagesMatch checks that the streamed coreset and embedding
// give, from rows on disk read in small chunks, exactly what the in-memory
// functions give on all the rows at once.
func TestStreamedStagesMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	n, d := 1500, 40
	x := clustered(rng, n, d, 20, 0.6)
	cfgs := []CoresetConfig{
		{Ratio: 0.02, ProjectionDim: 16, Seed: 3},
		{Ratio: 0.02, ProjectionDim: -1, Seed: 3},
		{Method: CoresetGreedy, Size: 20, ProjectionDim: 8, Seed: 4},
	}
	var wants [][]int // in memory, in one chunk
	for _, cfg := range cfgs {
		want, err := SelectCoreset(x, n, d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wants = append(wants, want)
	}
	smallChunks(t, 37*4*40) // 37 rows of 40 per chunk: chunks that end mid-tile
	disk := diskCopy(t, x, d, false)
	for i, cfg := range cfgs {
		want := wants[i]
		got, err := SelectCoresetFrom(disk, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: streamed from disk %v, in memory %v", cfg, got, want)
		}
	}

	w := tensor.RandNormal(rng, 0, 0.2, 24, d)
	b := tensor.RandNormal(rng, 0, 0.2, 24)
	f, err := nn.NewLinear(w, b)
	if err != nil {
		t.Fatal(err)
	}
	want := Embed(f, tensor.FromSlice(x, n, d)).Data()
	emb, err := head.NewFloat32Features(24)
	if err != nil {
		t.Fatal(err)
	}
	if err := embedRows(context.Background(), f, disk, emb, NopReporter{}); err != nil {
		t.Fatal(err)
	}
	if emb.Len() != n || !bitsEqual(emb.Data(), want) {
		t.Error("the streamed embeddings differ from Embed's")
	}
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// cacheOptions are small settings of method m for fitBank on synthetic
// features.
func cacheOptions(m Method, cache FeatureCache) Options {
	o := DefaultOptions(m)
	o.CoresetRatio = 0.01
	o.Head.Epochs, o.Head.StepsPerEpoch, o.Head.Batch, o.Head.FDim, o.Head.GDim = 1, 2, 128, 64, 32
	o.FeatureCache = cache
	return o
}

// synthFeatures fills a new cache of o's kind with n rows of d synthetic
// patch features (clusters with noise, made 1024 rows at a time from seed
// so that only the cache grows with n).
func synthFeatures(t testing.TB, o Options, n, d int, seed uint64) (featureStore, cachePlan) {
	plan := o.planCaches(n, d, 0, NopReporter{})
	store, err := o.newStore(plan.featDisk, n, d)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := tensor.RandNormal(rng, 1, 1, 16, d).Data()
	buf := make([]float32, 1024*d)
	for lo := 0; lo < n; lo += 1024 {
		rows := buf[:min(1024, n-lo)*d]
		for i := range rows {
			rows[i] = centres[(lo+i/d)%16*d+i%d] + float32(0.3*rng.NormFloat64())
		}
		if err := store.Append(rows); err != nil {
			t.Fatal(err)
		}
	}
	return store, plan
}

// TestFitBankDiskMatchesMemory builds the bank (and trains the head) from
// the same features cached in memory and on disk: the same bank and head,
// bit for bit. Float16 caches give a bank of the same size.
func TestFitBankDiskMatchesMemory(t *testing.T) {
	smallChunks(t, 1000*4*96) // ten chunks
	const n, d = 9000, 96
	for _, method := range []Method{MethodPatchCore, MethodReConPatch} {
		t.Run(string(method), func(t *testing.T) {
			var models []*Model
			for _, tc := range []struct {
				cache FeatureCache
				half  bool
			}{{CacheMemory, false}, {CacheDisk, false}, {CacheDisk, true}} {
				o := cacheOptions(method, tc.cache)
				o.FeatureHalf = tc.half
				o.CacheDir = t.TempDir()
				store, plan := synthFeatures(t, o, n, d, 7)
				if _, disk := store.(*head.DiskFeatures); disk != (tc.cache == CacheDisk) {
					t.Fatalf("%s cache: store %T", tc.cache, store)
				}
				m := &Model{Options: o, FeatureDim: d}
				if err := m.fitBank(context.Background(), store, plan, NopReporter{}); err != nil {
					t.Fatal(err)
				}
				if left, _ := os.ReadDir(o.CacheDir); len(left) != 0 {
					t.Errorf("%s cache: files left in the cache folder: %v", tc.cache, left)
				}
				models = append(models, m)
			}
			mem, disk, half := models[0], models[1], models[2]
			if mem.Bank.Len() != n/100 || !bitsEqual(mem.Bank.Float32(), disk.Bank.Float32()) {
				t.Errorf("banks of %d and %d rows: the disk cache's differs", mem.Bank.Len(), disk.Bank.Len())
			}
			if !bitsEqual(mem.fWeight, disk.fWeight) || !bitsEqual(mem.fBias, disk.fBias) {
				t.Error("the head trained from the disk cache differs")
			}
			if half.Bank.Len() != mem.Bank.Len() || half.Bank.Dim() != mem.Bank.Dim() {
				t.Errorf("float16 cache: bank %d×%d, want %d×%d", half.Bank.Len(), half.Bank.Dim(), mem.Bank.Len(), mem.Bank.Dim())
			}
		})
	}
}

// TestFitDiskCacheSameModel trains on a small synthetic data set with the
// features cached in memory and on disk (float32): the model files are the
// same bytes, and no file is left in the cache folder.
func TestFitDiskCacheSameModel(t *testing.T) {
	ds := synthSet(t, "brushed_metal")
	for _, method := range []Method{MethodPatchCore, MethodReConPatch} {
		t.Run(string(method), func(t *testing.T) {
			var files [][]byte
			for _, cache := range []FeatureCache{CacheMemory, CacheDisk} {
				o := smallOptions(method)
				o.FeatureCache, o.CacheDir = cache, t.TempDir()
				rep := &logReporter{}
				m, err := Fit(context.Background(), ds, o, rep)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[FeatureCache]string{CacheMemory: "in memory", CacheDisk: "on disk in " + o.CacheDir}[cache]; !strings.Contains(strings.Join(rep.lines, "\n"), "feature cache: ") ||
					!strings.Contains(strings.Join(rep.lines, "\n"), want) {
					t.Errorf("%s: log %q does not say %q", cache, rep.lines, want)
				}
				if left, _ := os.ReadDir(o.CacheDir); len(left) != 0 {
					t.Errorf("%s: files left in the cache folder: %v", cache, left)
				}
				path := filepath.Join(t.TempDir(), "m.rpm")
				if err := m.Save(path); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				files = append(files, b)
			}
			if !bytes.Equal(files[0], files[1]) {
				t.Errorf("the model trained from the disk cache (%d bytes) differs from the in-memory one (%d bytes)", len(files[1]), len(files[0]))
			}
		})
	}
}

// TestFitStopsAndCleansUp cancels training while the features are cached
// on disk: Fit returns the context's error and leaves no file behind.
func TestFitStopsAndCleansUp(t *testing.T) {
	ds := synthSet(t, "brushed_metal")
	o := smallOptions(MethodReConPatch)
	o.FeatureCache, o.CacheDir = CacheDisk, t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	rep := &cancelReporter{stage: "training", cancel: cancel}
	if _, err := Fit(ctx, ds, o, rep); err == nil || ctx.Err() == nil {
		t.Fatalf("Fit after cancel: %v", err)
	}
	if left, _ := os.ReadDir(o.CacheDir); len(left) != 0 {
		t.Errorf("files left in the cache folder: %v", left)
	}
}

// cancelReporter cancels when a stage begins.
type cancelReporter struct {
	NopReporter
	stage  string
	cancel func()
}

func (r *cancelReporter) Begin(stage string, total int, unit string) {
	if stage == r.stage {
		r.cancel()
	}
}

func TestPlanCaches(t *testing.T) {
	const mib = 1 << 20
	// 10000 patches of 1024: 39 MiB of float32 features; ReConPatch's 512-d
	// embeddings 19.5 MiB; the coreset 5 MiB (528 bytes a row).
	for _, tc := range []struct {
		name           string
		method         Method
		cache          FeatureCache
		limit, inUse   int64
		half           bool
		featDisk, embD bool
	}{
		{"patchcore fits", MethodPatchCore, CacheAuto, 64 * mib, 16 * mib, false, false, false},
		{"patchcore over", MethodPatchCore, CacheAuto, 64 * mib, 24 * mib, false, true, false},
		{"patchcore half fits", MethodPatchCore, CacheAuto, 64 * mib, 24 * mib, true, false, false},
		{"reconpatch fits", MethodReConPatch, CacheAuto, 80 * mib, 10 * mib, false, false, false},
		{"reconpatch features over", MethodReConPatch, CacheAuto, 64 * mib, 10 * mib, false, true, false},
		{"reconpatch both over", MethodReConPatch, CacheAuto, 64 * mib, 50 * mib, false, true, true},
		{"default limit", MethodReConPatch, "", 0, 0, false, false, false},
		{"memory forced", MethodReConPatch, CacheMemory, 1, 0, false, false, false},
		{"disk forced", MethodReConPatch, CacheDisk, 0, 0, false, true, true},
		{"disk patchcore", MethodPatchCore, CacheDisk, 0, 0, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions(tc.method)
			o.FeatureCache, o.MemLimit, o.FeatureHalf = tc.cache, tc.limit, tc.half
			rep := &logReporter{}
			p := o.planCaches(10000, 1024, tc.inUse, rep)
			if p.featDisk != tc.featDisk || p.embDisk != tc.embD {
				t.Errorf("features on disk %v, embeddings on disk %v; want %v, %v\n%s", p.featDisk, p.embDisk, tc.featDisk, tc.embD, strings.Join(rep.lines, "\n"))
			}
		})
	}
}

func TestParseFeatureCache(t *testing.T) {
	for in, want := range map[string]FeatureCache{"": CacheAuto, "auto": CacheAuto, "Disk": CacheDisk, " memory": CacheMemory} {
		if got, err := ParseFeatureCache(in); err != nil || got != want {
			t.Errorf("ParseFeatureCache(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFeatureCache("ram"); err == nil || !strings.Contains(err.Error(), "auto, memory or disk") {
		t.Errorf("ram: %v", err)
	}
	o := DefaultOptions(MethodPatchCore)
	o.FeatureCache = "ssd"
	if err := o.Validate(); err == nil {
		t.Error("feature cache ssd accepted")
	}
	o.FeatureCache, o.MemLimit = CacheAuto, -1
	if err := o.Validate(); err == nil {
		t.Error("negative memory limit accepted")
	}
}

// TestPeakMemoryDoesNotDouble builds a model from n and from 2n patches
// of 1024 synthetic features (21 and 42 images of 28×28 patches) with the
// disk cache and measures the peak of the heap (sampled, with the garbage
// collector kept close to the live heap): doubling the data must not
// double it. What still grows is the coreset's working set, 528 bytes a
// patch, an eighth of a float32 feature; the in-memory cache, measured as a
// control, grows by the whole feature (4 KiB a patch).
func TestPeakMemoryDoesNotDouble(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB of features; skipped with -short")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	const n, d = 21 * 784, 1024
	peak := func(method Method, cache FeatureCache, rows int) int64 {
		o := cacheOptions(method, cache)
		o.CacheDir = t.TempDir()
		return peakHeap(func() {
			store, plan := synthFeatures(t, o, rows, d, 9)
			m := &Model{Options: o, FeatureDim: d}
			if err := m.fitBank(context.Background(), store, plan, NopReporter{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	const mib = 1 << 20
	for _, method := range []Method{MethodPatchCore, MethodReConPatch} {
		disk1, disk2 := peak(method, CacheDisk, n), peak(method, CacheDisk, 2*n)
		mem1, mem2 := peak(method, CacheMemory, n), peak(method, CacheMemory, 2*n)
		t.Logf("%s: peak heap, disk cache: %.1f MiB for %d patches, %.1f MiB for %d (×%.2f); memory cache: %.1f, %.1f MiB (×%.2f)",
			method, float64(disk1)/mib, n, float64(disk2)/mib, 2*n, float64(disk2)/float64(disk1), float64(mem1)/mib, float64(mem2)/mib, float64(mem2)/float64(mem1))
		if float64(disk2) >= 1.5*float64(disk1) {
			t.Errorf("%s, disk cache: peak heap %d bytes for %d patches, %d for twice as many: want less than 1.5×", method, disk1, n, disk2)
		}
		// Per added patch, the disk cache's peak grows by about the
		// coreset's 528 bytes (allow 1 KiB); the control by ≥ 4 KiB.
		if grow := float64(disk2-disk1) / n; grow > 1024 {
			t.Errorf("%s, disk cache: the peak grows by %.0f bytes a patch, want ≤ 1024", method, grow)
		}
		if grow := float64(mem2-mem1) / n; grow < 4*d {
			t.Errorf("%s, memory cache (control): the peak grows by %.0f bytes a patch, want ≥ %d: the measurement misses the cache", method, grow, 4*d)
		}
	}
}

// peakHeap runs fn and returns the largest heap (bytes of heap objects,
// live or not yet swept) sampled while it ran, above the heap before it.
func peakHeap(fn func()) int64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	base := read()
	done, out := make(chan struct{}), make(chan int64)
	go func() {
		var hi int64
		for {
			hi = max(hi, read())
			select {
			case <-done:
				out <- max(hi, read())
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	fn()
	close(done)
	return <-out - base
}
