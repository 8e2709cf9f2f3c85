package synth

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/dataset"
)

// small is a quick configuration for the file tests.
func small(cats ...string) Config {
	return Config{Seed: 7, Size: 96, Categories: cats, Train: 3, TestGood: 2, TestPerDefect: 2}
}

// files returns the relative paths and contents of every file under root.
func files(t testing.TB, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		workersA   int
		workersB   int
		wantEqual  bool
		otherSeedB uint64
	}{
		{"same seed, 1 vs 3 workers", small(), 1, 3, true, 0},
		{"same seed, default workers", small("printed_grid"), 0, 0, true, 0},
		{"different seed", small("wood"), 0, 0, false, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.cfg, tt.cfg
			a.Workers, b.Workers = tt.workersA, tt.workersB
			if tt.otherSeedB != 0 {
				b.Seed = tt.otherSeedB
			}
			da, db := t.TempDir(), t.TempDir()
			if _, err := Generate(da, a, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := Generate(db, b, nil); err != nil {
				t.Fatal(err)
			}
			fa, fb := files(t, da), files(t, db)
			if len(fa) != len(fb) {
				t.Fatalf("%d files vs %d", len(fa), len(fb))
			}
			same := 0
			for name, ba := range fa {
				bb, ok := fb[name]
				if !ok {
					t.Fatalf("%s missing from the second run", name)
				}
				if bytes.Equal(ba, bb) {
					same++
				} else if tt.wantEqual {
					t.Errorf("%s differs between runs", name)
				}
			}
			if !tt.wantEqual && same > 0 {
				// Masks of different seeds may coincide only by accident.
				t.Errorf("%d of %d files identical across seeds", same, len(fa))
			}
		})
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		cats []string
	}{
		{"all categories", small(), categoryNames()},
		{"two categories, odd counts", Config{Seed: 1, Size: 64, Categories: []string{"woven_fabric", "brushed_metal"}, Train: 1, TestGood: 1, TestPerDefect: 3}, []string{"woven_fabric", "brushed_metal"}},
		{"1000 images need 4 digits", Config{Seed: 2, Size: 64, Categories: []string{"wood"}, Train: 1001, TestGood: 1, TestPerDefect: 1}, []string{"wood"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Train > 100 && testing.Short() {
				t.Skip("large")
			}
			dir := t.TempDir()
			sum, err := Generate(dir, tt.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := files(t, dir)
			cfg := tt.cfg
			want := map[string]bool{}
			nImages, nMasks := 0, 0
			var names []string
			for _, cs := range sum.Categories {
				names = append(names, cs.Name)
			}
			if !slices.Equal(names, tt.cats) {
				t.Fatalf("summary categories %v, want %v", names, tt.cats)
			}
			for ci, name := range tt.cats {
				cat := lookup(name)
				stem := func(i, n int) string { return fmt.Sprintf("%0*d", max(3, len(fmt.Sprint(n-1))), i) }
				for i := 0; i < cfg.Train; i++ {
					want[name+"/train/good/"+stem(i, cfg.Train)+".png"] = true
				}
				for i := 0; i < cfg.TestGood; i++ {
					want[name+"/test/good/"+stem(i, cfg.TestGood)+".png"] = true
				}
				nImages += cfg.Train + cfg.TestGood
				cs := sum.Categories[ci]
				if cs.Train != cfg.Train || cs.TestGood != cfg.TestGood || len(cs.Defects) != len(cat.defects) {
					t.Errorf("summary %+v", cs)
				}
				for di, d := range cat.defects {
					if cs.Defects[di] != (DefectCount{d.name, cfg.TestPerDefect}) {
						t.Errorf("summary defect %d: %+v", di, cs.Defects[di])
					}
					for i := 0; i < cfg.TestPerDefect; i++ {
						s := stem(i, cfg.TestPerDefect)
						want[name+"/test/"+d.name+"/"+s+".png"] = true
						want[name+"/ground_truth/"+d.name+"/"+s+"_mask.png"] = true
					}
					nImages += cfg.TestPerDefect
					nMasks += cfg.TestPerDefect
				}
			}
			if sum.Images != nImages || sum.Masks != nMasks {
				t.Errorf("summary: %d images %d masks, want %d and %d", sum.Images, sum.Masks, nImages, nMasks)
			}
			var total int64
			for name, b := range got {
				total += int64(len(b))
				if !want[name] {
					t.Errorf("unexpected file %s", name)
				}
			}
			for name := range want {
				if got[name] == nil {
					t.Errorf("missing file %s", name)
				}
			}
			if total != sum.Bytes {
				t.Errorf("summary: %d bytes, files hold %d", sum.Bytes, total)
			}
			for name, b := range got {
				img := decode(t, b)
				if img.Bounds() != image.Rect(0, 0, cfg.Size, cfg.Size) {
					t.Errorf("%s: bounds %v", name, img.Bounds())
				}
				isMask := strings.Contains(name, "/ground_truth/")
				cat := lookup(strings.Split(name, "/")[0])
				_, grey := img.(*image.Gray)
				switch {
				case isMask && !grey:
					t.Errorf("%s: mask is %T", name, img)
				case isMask:
					on := 0
					for _, v := range img.(*image.Gray).Pix {
						switch v {
						case 255:
							on++
						case 0:
						default:
							t.Fatalf("%s: mask value %d", name, v)
						}
					}
					if on == 0 {
						t.Errorf("%s: empty mask", name)
					}
				case grey != (cat.ch == 1):
					t.Errorf("%s: %T for a %d-channel category", name, img, cat.ch)
				}
			}
			// Package dataset reads every category root without warnings.
			for _, name := range tt.cats {
				ds, err := dataset.Open(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if ds.Layout != dataset.MVTec || len(ds.Warnings) > 0 {
					t.Errorf("%s: layout %v, warnings %v", name, ds.Layout, ds.Warnings)
				}
				if len(ds.Train) != cfg.Train || len(ds.Test) != cfg.TestGood+cfg.TestPerDefect*len(lookup(name).defects) {
					t.Errorf("%s: %d train, %d test samples", name, len(ds.Train), len(ds.Test))
				}
				for _, s := range ds.Test {
					if (s.Label == dataset.Good) != (s.MaskPath == "") {
						t.Errorf("%s: %s label %v mask %q", name, s.Path, s.Label, s.MaskPath)
					}
				}
			}
		})
	}
}

// TestFilesMatchRender checks the documented seed contract: a file is
// Render of ImageSeed.
func TestFilesMatchRender(t *testing.T) {
	dir := t.TempDir()
	cfg := small("printed_grid")
	if _, err := Generate(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ defect, split, file, mask string }{
		{"", "train/good", "train/good/002.png", ""},
		{"good", "test/good", "test/good/001.png", ""},
		{"missing_print", "test/missing_print", "test/missing_print/001.png", "ground_truth/missing_print/001_mask.png"},
	} {
		idx := 2
		if strings.Contains(tc.file, "001") {
			idx = 1
		}
		img, mask, err := Render("printed_grid", tc.defect, ImageSeed(cfg.Seed, "printed_grid", tc.split, idx), cfg.Size)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "printed_grid", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if !sameImage(decode(t, b), img) {
			t.Errorf("%s differs from Render", tc.file)
		}
		if (mask == nil) != (tc.mask == "") {
			t.Fatalf("%s: mask %v", tc.file, mask != nil)
		}
		if mask != nil {
			b, err := os.ReadFile(filepath.Join(dir, "printed_grid", tc.mask))
			if err != nil {
				t.Fatal(err)
			}
			if !sameImage(decode(t, b), mask) {
				t.Errorf("%s differs from Render", tc.mask)
			}
		}
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// levels returns an image's samples (1 or 3 per pixel) as float64.
func levels(img image.Image) (v []float64, ch int) {
	switch m := img.(type) {
	case *image.Gray:
		for _, p := range m.Pix {
			v = append(v, float64(p))
		}
		return v, 1
	case *image.RGBA:
		for i, p := range m.Pix {
			if i%4 != 3 {
				v = append(v, float64(p))
			}
		}
		return v, 3
	}
	panic(fmt.Sprintf("%T", img))
}

// dilate grows a 0/255 mask by r pixels (square neighbourhood).
func dilate(m *image.Gray, r int) []bool {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m.Pix[y*m.Stride+x] == 0 {
				continue
			}
			for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
				for xx := max(0, x-r); xx <= min(w-1, x+r); xx++ {
					out[yy*w+xx] = true
				}
			}
		}
	}
	return out
}

// TestDefectMasks renders images with and without their defect and checks
// that the change is where the mask says, that it is visible, and that the
// defect's area is in range.
func TestDefectMasks(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for _, size := range []int{256, 160} {
		for _, cat := range registry {
			for _, d := range cat.defects {
				t.Run(fmt.Sprintf("%s/%s/%d", cat.name, d.name, size), func(t *testing.T) {
					var minInside, minMean = 1.0, math.Inf(1)
					for i := 0; i < seeds; i++ {
						seed := ImageSeed(3, cat.name, "test/"+d.name, i)
						clean, none, err := Render(cat.name, "", seed, size)
						if err != nil || none != nil {
							t.Fatal(err, none)
						}
						bad, mask, err := Render(cat.name, d.name, seed, size)
						if err != nil {
							t.Fatal(err)
						}
						a, ch := levels(clean)
						b, _ := levels(bad)
						near := dilate(mask, 1)
						var in, all, inAbs float64
						area := 0
						for p := 0; p < size*size; p++ {
							if mask.Pix[p] != 0 {
								area++
							}
							for k := 0; k < ch; k++ {
								dv := a[p*ch+k] - b[p*ch+k]
								all += dv * dv
								if near[p] {
									in += dv * dv
								}
								if mask.Pix[p] != 0 {
									inAbs += math.Abs(dv)
								}
							}
						}
						frac := float64(area) / float64(size*size)
						if frac < minDefectArea || frac > maxDefectArea {
							t.Errorf("seed %d: defect area %.4f outside [%.3f, %.3f]", i, frac, minDefectArea, maxDefectArea)
						}
						if all == 0 {
							t.Fatalf("seed %d: the defect changes nothing", i)
						}
						inside := in / all
						mean := inAbs / float64(area*ch)
						minInside, minMean = min(minInside, inside), min(minMean, mean)
						if inside < 0.95 {
							t.Errorf("seed %d: %.1f%% of the change inside the dilated mask", i, 100*inside)
						}
						if mean < 6 {
							t.Errorf("seed %d: mean change inside the mask %.1f levels: invisible", i, mean)
						}
					}
					t.Logf("worst: %.2f%% of the change inside the mask, mean change %.1f levels", 100*minInside, minMean)
				})
			}
		}
	}
}

// TestGoodImagesVary checks that normal images are not copies of each
// other, and differ by more than their noise.
func TestGoodImagesVary(t *testing.T) {
	for _, cat := range registry {
		t.Run(cat.name, func(t *testing.T) {
			var imgs [][]float64
			for i := 0; i < 4; i++ {
				img, _, err := Render(cat.name, "", ImageSeed(5, cat.name, "train/good", i), 128)
				if err != nil {
					t.Fatal(err)
				}
				v, _ := levels(img)
				imgs = append(imgs, v)
			}
			for i := range imgs {
				for j := i + 1; j < len(imgs); j++ {
					var s float64
					for k := range imgs[i] {
						s += math.Abs(imgs[i][k] - imgs[j][k])
					}
					if mean := s / float64(len(imgs[i])); mean < 5 {
						t.Errorf("images %d and %d differ by %.2f levels on average", i, j, mean)
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dir    string
		cfg    Config
		is     error
		substr string
	}{
		{"unknown category", "", Config{Categories: []string{"brushed_metal", "glass"}}, ErrUnknownCategory, `"glass" (valid: brushed_metal, woven_fabric, printed_grid, wood)`},
		{"duplicate category", "", Config{Categories: []string{"wood", "wood"}}, ErrInvalidConfig, "twice"},
		{"size too small", "", Config{Size: 32}, ErrInvalidConfig, "size 32"},
		{"size too large", "", Config{Size: 100000}, ErrInvalidConfig, "size 100000"},
		{"negative count", "", Config{TestGood: -1}, ErrInvalidConfig, "TestGood=-1"},
		{"negative workers", "", Config{Workers: -2}, ErrInvalidConfig, "Workers"},
		{"not empty", full, Config{}, ErrNotEmpty, full},
		{"output is a file", file, Config{}, nil, file},
		{"no output folder", "-", Config{}, ErrInvalidConfig, "no output folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			switch dir {
			case "":
				dir = t.TempDir()
			case "-":
				dir = ""
			}
			_, err := Generate(dir, tt.cfg, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.substr) || !strings.HasPrefix(err.Error(), "synth: ") {
				t.Errorf("error %q lacks %q", err, tt.substr)
			}
		})
	}
	renders := []struct {
		cat, defect string
		size        int
		is          error
	}{
		{"glass", "", 256, ErrUnknownCategory},
		{"wood", "missing_print", 256, ErrUnknownDefect},
		{"wood", "", 8, ErrInvalidConfig},
	}
	for _, r := range renders {
		if _, _, err := Render(r.cat, r.defect, 1, r.size); !errors.Is(err, r.is) {
			t.Errorf("Render(%q, %q, %d): %v, want %v", r.cat, r.defect, r.size, err, r.is)
		}
	}
}

func TestOverwrite(t *testing.T) {
	dir := t.TempDir()
	cfg := small("wood")
	cfg.Train = 5
	if _, err := Generate(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Train = 2
	if _, err := Generate(dir, cfg, nil); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second run without Overwrite: %v", err)
	}
	cfg.Overwrite = true
	if _, err := Generate(dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	if string(got["notes.txt"]) != "mine" {
		t.Error("Overwrite removed a file outside the category folders")
	}
	if got["wood/train/good/004.png"] != nil || got["wood/train/good/001.png"] == nil {
		t.Error("Overwrite left stale images or wrote too few")
	}
	for name := range got {
		if strings.Contains(name, ".tmp") {
			t.Errorf("temporary file %s left behind", name)
		}
	}
}

func TestProgress(t *testing.T) {
	var calls []int
	total := -1
	sum, err := Generate(t.TempDir(), small("brushed_metal"), func(done, n int) {
		calls = append(calls, done)
		if total >= 0 && n != total {
			t.Errorf("total changed from %d to %d", total, n)
		}
		total = n
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != sum.Images || len(calls) != total {
		t.Fatalf("%d calls, total %d, %d images", len(calls), total, sum.Images)
	}
	for i, d := range calls {
		if d != i+1 {
			t.Fatalf("call %d reported %d done", i, d)
		}
	}
}

func TestCategories(t *testing.T) {
	cats := Categories()
	if len(cats) < 3 {
		t.Fatalf("%d categories", len(cats))
	}
	for _, c := range cats {
		if c.Description == "" || len(c.Defects) < 2 {
			t.Errorf("%+v", c)
		}
		for _, d := range c.Defects {
			if d.Description == "" || d.Name == "good" || strings.ContainsAny(d.Name, "/ ") {
				t.Errorf("%s: defect %+v", c.Name, d)
			}
		}
	}
	cats[0].Defects[0].Name = "changed"
	if Categories()[0].Defects[0].Name == "changed" {
		t.Error("Categories returns shared slices")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, cat := range []string{"brushed_metal", "woven_fabric", "printed_grid", "wood"} {
		for _, size := range []int{256} {
			b.Run(fmt.Sprintf("%s/%d", cat, size), func(b *testing.B) {
				dir := b.TempDir()
				cfg := Config{Seed: 1, Size: size, Categories: []string{cat}, Overwrite: true}
				var images int
				for b.Loop() {
					sum, err := Generate(dir, cfg, nil)
					if err != nil {
						b.Fatal(err)
					}
					images = sum.Images
				}
				b.ReportMetric(float64(images*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
