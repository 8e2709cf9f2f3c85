package reconpatch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func reportMS(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/op")
}

// BenchmarkNearest is one 224 image (784 patches) against a 1 % bank of
// 5600 rows (560k training patches), 1024-d: 9.2 GFLOP.
func BenchmarkNearest(b *testing.B) {
	for _, s := range []struct{ q, m, d int }{{784, 5600, 1024}, {784, 5600, 512}, {784 * 8, 5600, 1024}} {
		b.Run(fmt.Sprintf("q=%d/bank=%d/d=%d", s.q, s.m, s.d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			bank, _ := NewMemoryBank(tensor.RandNormal(rng, 0, 1, s.m, s.d).Data(), s.m, s.d, Float32)
			sc, _ := NewScorer(bank, ScoreConfig{})
			q := tensor.RandNormal(rng, 0, 1, s.q, s.d).Data()
			idx, dist := make([]int, s.q), make([]float32, s.q)
			b.ResetTimer()
			for b.Loop() {
				sc.Nearest(q, s.q, idx, dist)
			}
			reportMS(b)
			b.ReportMetric(2*float64(s.q)*float64(s.m)*float64(s.d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkCoreset selects 1 % of 56000 patches (71 images of 784): random
// normal data (no structure for the pruning to use) and clustered data (as
// CNN features are); fullscan is the same without the pruning.
func BenchmarkCoreset(b *testing.B) {
	const n, d, ratio = 56000, 1024, 0.01
	rng := rand.New(rand.NewPCG(3, 4))
	var normal, clust []float32
	for _, c := range []struct {
		name  string
		data  func() []float32
		prune bool
	}{
		{"", func() []float32 {
			if normal == nil {
				normal = tensor.RandNormal(rng, 0, 1, n, d).Data()
			}
			return normal
		}, true},
		{"/clustered", func() []float32 {
			if clust == nil {
				clust = clustered(rng, n, d, 500, 1)
			}
			return clust
		}, true},
		{"/clustered/fullscan", func() []float32 { return clust }, false},
	} {
		b.Run(fmt.Sprintf("n=%d/d=%d/ratio=%g%s", n, d, ratio, c.name), func(b *testing.B) {
			x := c.data()
			if x == nil {
				x = clustered(rng, n, d, 500, 1)
				clust = x
			}
			cfg := DefaultCoresetConfig()
			b.ResetTimer()
			for b.Loop() {
				if _, err := selectCoreset(x, n, d, cfg, c.prune); err != nil {
					b.Fatal(err)
				}
			}
			reportMS(b)
		})
	}
}

// BenchmarkAggregate is WideResNet-50's layer2 and layer3 at 224 (one image)
// through the official PatchCore aggregation to 1024-d.
func BenchmarkAggregate(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, batch := range []int{1, 8} {
		taps := map[string]*tensor.Tensor{
			"layer2": tensor.RandUniform(rng, 0, 1, batch, 512, 28, 28),
			"layer3": tensor.RandUniform(rng, 0, 1, batch, 1024, 14, 14),
		}
		for _, agg := range []Aggregation{AggregatePatchCore, AggregateConcat} {
			b.Run(fmt.Sprintf("wrn50/224/batch=%d/%v", batch, agg), func(b *testing.B) {
				cfg := DefaultFeatureConfig()
				cfg.Aggregation = agg
				for b.Loop() {
					if _, _, err := Aggregate(cfg, taps); err != nil {
						b.Fatal(err)
					}
				}
				reportMS(b)
			})
		}
	}
}

// BenchmarkAnomalyMap is one 28×28 score grid to a 224×224 smoothed map.
func BenchmarkAnomalyMap(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := tensor.RandUniform(rng, 0, 1, 784).Data()
	b.Run("grid=28/size=224", func(b *testing.B) {
		cfg := DefaultMapConfig(224, 224)
		for b.Loop() {
			AnomalyMap(s, Grid{28, 28}, cfg)
		}
		reportMS(b)
	})
}
