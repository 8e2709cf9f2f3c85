package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree creates empty files (and, for names ending in "/", folders) under a
// new temporary root.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// rel renders samples as "type label rel/path [mask rel/path]".
func rel(root string, samples []Sample) []string {
	var out []string
	for _, s := range samples {
		r, _ := filepath.Rel(root, s.Path)
		line := s.Type + " " + s.Label.String() + " " + filepath.ToSlash(r)
		if s.MaskPath != "" {
			m, _ := filepath.Rel(root, s.MaskPath)
			line += " " + filepath.ToSlash(m)
		}
		out = append(out, line)
	}
	return out
}

func warnings(root string, ws []Warning) []string {
	var out []string
	for _, w := range ws {
		r, _ := filepath.Rel(root, w.Path)
		out = append(out, filepath.ToSlash(r)+": "+w.Msg)
	}
	return out
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name       string
		files      []string
		layout     Layout
		train      []string
		validation []string
		test       []string
		warnings   []string // substrings, one per warning, in order
	}{
		{
			name: "mvtec",
			files: []string{
				"train/good/b.PNG", "train/good/a.png", "train/good/.hidden.png", "train/good/notes.txt",
				"train/good/.DS_Store",
				"test/good/x.jpg",
				"test/crack/c1.png", "test/crack/c2.JPG", "test/crack/c3.bmp", "test/crack/c4.TIFF",
				"ground_truth/crack/c1_mask.png", "ground_truth/crack/c2_mask.bmp", "ground_truth/crack/c2_mask.png",
				"ground_truth/crack/orphan_mask.png", "ground_truth/crack/c4_mask.tif", "ground_truth/crack/c3.png",
				"test/a_hole/h.jpeg", "ground_truth/a_hole/h_mask.png",
				"ground_truth/scratch/s_mask.png",
			},
			layout: MVTec,
			train:  []string{"good good train/good/a.png", "good good train/good/b.PNG"},
			test: []string{
				"a_hole defect test/a_hole/h.jpeg ground_truth/a_hole/h_mask.png",
				"crack defect test/crack/c1.png ground_truth/crack/c1_mask.png",
				"crack defect test/crack/c2.JPG ground_truth/crack/c2_mask.png",
				"crack defect test/crack/c3.bmp",
				"crack defect test/crack/c4.TIFF ground_truth/crack/c4_mask.tif",
				"good good test/good/x.jpg",
			},
			warnings: []string{
				"train/good/notes.txt: skipped: not an image",
				"ground_truth/crack/c2_mask.bmp: second mask for one image: c2_mask.png is used",
				`ground_truth/crack/c3.png: skipped: mask name does not end in "_mask"`,
				"test/crack/c3.bmp: no mask (looked for c3_mask.*",
				"ground_truth/crack/orphan_mask.png: mask without an image",
				"ground_truth/scratch: masks without a test folder",
			},
		},
		{
			name: "mvtec with validation, no test",
			files: []string{
				"train/good/1.png", "train/good/2.png", "validation/good/3.png",
			},
			layout:     MVTec,
			train:      []string{"good good train/good/1.png", "good good train/good/2.png"},
			validation: []string{"good good validation/good/3.png"},
			warnings:   []string{"test: no test folder"},
		},
		{
			name: "mvtec odd entries",
			files: []string{
				"train/good/1.jpg", "train/good/sub/2.jpg", "test/readme.txt", "test/good/", "test/.cache/x.png",
				"test/dent/d.png", "ground_truth/dent/d_mask.png", "ground_truth/dent/.x_mask.png",
			},
			layout: MVTec,
			train:  []string{"good good train/good/1.jpg"},
			test:   []string{"dent defect test/dent/d.png ground_truth/dent/d_mask.png"},
			warnings: []string{
				"train/good/sub: skipped: unexpected folder",
				"test/readme.txt: skipped: file outside a type folder",
				"test/good: no images",
			},
		},
		{
			name: "btad",
			files: []string{
				"train/ok/0001.bmp", "test/ok/0002.bmp", "test/ko/0003.bmp", "test/ko/0004.BMP", "test/ko/0005.png",
				"ground_truth/ko/0003.png", "ground_truth/ko/0004.bmp", "ground_truth/ko/0006.png",
			},
			layout: BTAD,
			train:  []string{"ok good train/ok/0001.bmp"},
			test: []string{
				"ko defect test/ko/0003.bmp ground_truth/ko/0003.png",
				"ko defect test/ko/0004.BMP ground_truth/ko/0004.bmp",
				"ko defect test/ko/0005.png",
				"ok good test/ok/0002.bmp",
			},
			warnings: []string{
				"test/ko/0005.png: no mask (looked for 0005.*",
				"ground_truth/ko/0006.png: mask without an image",
			},
		},
		{
			name: "folder",
			files: []string{
				"b/c/deep.tif", "a.jpeg", "Z.JPG", ".git/objects/y.png", ".thumb.png", "readme.md", "empty/",
			},
			layout:   Folder,
			train:    []string{"good good Z.JPG", "good good a.jpeg", "good good b/c/deep.tif"},
			warnings: []string{"readme.md: skipped: not an image"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files...)
			d, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			if d.Layout != tc.layout || d.Root != root {
				t.Errorf("layout %v root %s, want %v", d.Layout, d.Root, tc.layout)
			}
			check := func(what string, got, want []string) {
				t.Helper()
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n got %q\nwant %q", what, got, want)
				}
			}
			check("train", rel(root, d.Train), tc.train)
			check("validation", rel(root, d.Validation), tc.validation)
			check("test", rel(root, d.Test), tc.test)
			ws := warnings(root, d.Warnings)
			if len(ws) != len(tc.warnings) {
				t.Fatalf("warnings:\n got %q\nwant %q", ws, tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.HasPrefix(ws[i], w) {
					t.Errorf("warning %d: %q, want %q…", i, ws[i], w)
				}
			}
			for _, s := range d.Test {
				if want := s.Label == Good || s.MaskPath != ""; s.HasPixelTruth() != want {
					t.Errorf("%s: HasPixelTruth %v", s.Path, s.HasPixelTruth())
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		sub   string // the root is this sub-folder (may not exist)
		is    error
		want  string // the error names this folder, relative to the root's parent
	}{
		{"empty root", []string{"r/"}, "r", ErrNoLayout, "no train/good or train/ok folder in {r}, and no images"},
		{"only non-images", []string{"r/a.txt", "r/.b.png"}, "r", ErrNoLayout, "in {r}, and no images"},
		{"unknown train folder", []string{"r/train/normal/a.png"}, "r", ErrNoLayout, "no train/good or train/ok folder in {r} (it has a train folder"},
		{"test without train", []string{"r/test/good/a.png"}, "r", ErrNoLayout, "in {r} (it has a test folder"},
		{"empty train/good", []string{"r/train/good/.DS_Store", "r/train/good/x.txt", "r/test/good/a.png"}, "r", ErrNoImages, "no images in {r}/train/good"},
		{"empty train/ok", []string{"r/train/ok/"}, "r", ErrNoImages, "no images in {r}/train/ok"},
		{"empty validation", []string{"r/train/good/a.png", "r/validation/good/"}, "r", ErrNoImages, "no images in {r}/validation/good"},
		{"missing root", nil, "nope", os.ErrNotExist, "{r}"},
		{"file root", []string{"f.png"}, "f.png", nil, "{r} is not a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := tree(t, tc.files...)
			root := filepath.Join(base, tc.sub)
			_, err := Open(root)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			want := strings.ReplaceAll(tc.want, "{r}", root)
			if want = filepath.FromSlash(want); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
	if _, err := OpenLayout(tree(t, "a.png"), MVTec); err == nil || !strings.Contains(err.Error(), filepath.Join("train", "good")) {
		t.Errorf("MVTec layout forced on a plain folder: %v", err)
	}
	if _, err := OpenLayout(tree(t, "a.png"), Layout(9)); err == nil {
		t.Error("unknown layout accepted")
	}
}

func TestIsImage(t *testing.T) {
	for name, want := range map[string]bool{
		"a.png": true, "a.PNG": true, "a.Jpg": true, "a.jpeg": true, "a.bmp": true, "a.tif": true, "a.TIFF": true,
		"a.gif": false, "a.png.txt": false, "png": false, "a.": false, "a.webp": false, "dir.png/x": false,
	} {
		if IsImage(name) != want {
			t.Errorf("IsImage(%q) = %v", name, !want)
		}
	}
}

func samplesN(n int) []Sample {
	s := make([]Sample, n)
	for i := range s {
		s[i] = Sample{Path: filepath.Join("train", "good", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".png")}
	}
	return s
}

func TestHoldOut(t *testing.T) {
	tests := []struct {
		n        int
		fraction float64
		held     int
	}{
		{714, 0.1, 71}, {10, 0.1, 1}, {5, 0.1, 1}, {2, 0.1, 1}, {1, 0.1, 0}, {0, 0.1, 0},
		{100, 0, 0}, {10, 0.95, 9}, {20, 0.25, 5},
	}
	for _, tc := range tests {
		s := samplesN(tc.n)
		keep, held, err := HoldOut(s, tc.fraction, 42)
		if err != nil {
			t.Fatal(err)
		}
		if len(held) != tc.held || len(keep)+len(held) != tc.n {
			t.Errorf("n %d fraction %v: kept %d, held %d, want held %d", tc.n, tc.fraction, len(keep), len(held), tc.held)
		}
		// Both parts keep the input order and together are the input.
		all := append(slices.Clone(keep), held...)
		slices.SortFunc(all, func(a, b Sample) int { return strings.Compare(a.Path, b.Path) })
		want := slices.Clone(s)
		slices.SortFunc(want, func(a, b Sample) int { return strings.Compare(a.Path, b.Path) })
		if !slices.Equal(all, want) {
			t.Errorf("n %d: parts are not a partition", tc.n)
		}
		for _, part := range [][]Sample{keep, held} {
			if !slices.IsSortedFunc(part, func(a, b Sample) int {
				return slices.IndexFunc(s, func(x Sample) bool { return x == a }) - slices.IndexFunc(s, func(x Sample) bool { return x == b })
			}) {
				t.Errorf("n %d: input order lost", tc.n)
			}
		}
	}

	s := samplesN(714)
	_, h1, _ := HoldOut(s, 0.1, 7)
	_, h2, _ := HoldOut(s, 0.1, 7)
	_, h3, _ := HoldOut(s, 0.1, 8)
	if !slices.Equal(h1, h2) {
		t.Error("same seed, different split")
	}
	if slices.Equal(h1, h3) {
		t.Error("different seeds, same split")
	}
	// The split is fixed by this package's own generator: pin it.
	_, h, _ := HoldOut(samplesN(30), 0.1, 1)
	if got := rel(".", h); !slices.Equal(got, []string{" good train/good/q.png", " good train/good/w.png", " good train/good/dx.png"}) {
		t.Errorf("seed 1 holds out %q", got)
	}
	for _, f := range []float64{-0.1, 1, 2} {
		if _, _, err := HoldOut(s, f, 1); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
}

func TestSplit(t *testing.T) {
	d, err := Open(tree(t, "train/good/1.png", "train/good/2.png", "train/good/3.png", "validation/good/v.png"))
	if err != nil {
		t.Fatal(err)
	}
	bank, hold, err := d.Split(DefaultHoldOut, 1)
	if err != nil || len(bank) != 3 || len(hold) != 1 || filepath.Base(hold[0].Path) != "v.png" {
		t.Errorf("with validation/good: bank %d hold %v, %v", len(bank), hold, err)
	}
	d.Validation = nil
	bank, hold, err = d.Split(DefaultHoldOut, 1)
	if err != nil || len(bank) != 2 || len(hold) != 1 {
		t.Errorf("without: bank %d hold %d, %v", len(bank), len(hold), err)
	}
}

// The magnetic-tile copy in ../shared/datasets (see its README.md).
func TestMagneticTile(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "datasets", "magnetic-tile")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no magnetic-tile data set: %v", err)
	}
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Layout != MVTec {
		t.Errorf("layout %v", d.Layout)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %v", d.Warnings)
	}
	if len(d.Train) != 714 || len(d.Validation) != 0 {
		t.Errorf("%d train, %d validation images", len(d.Train), len(d.Validation))
	}
	want := map[string]int{"good": 238, "blowhole": 115, "break": 85, "crack": 57, "fray": 32, "uneven": 103}
	got := Counts(d.Test)
	if len(got) != len(want) {
		t.Errorf("test types %v", got)
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("test/%s: %d images, want %d", typ, got[typ], n)
		}
	}
	masks := map[string]bool{}
	for _, s := range d.Test {
		if (s.Type == "good") != (s.Label == Good) {
			t.Errorf("%s labelled %v", s.Path, s.Label)
		}
		if s.Label == Defect {
			stem := strings.TrimSuffix(filepath.Base(s.Path), filepath.Ext(s.Path))
			if filepath.Base(s.MaskPath) != stem+"_mask.png" || filepath.Base(filepath.Dir(s.MaskPath)) != s.Type {
				t.Errorf("%s: mask %q", s.Path, s.MaskPath)
			}
			if masks[s.MaskPath] {
				t.Errorf("mask %s used twice", s.MaskPath)
			}
			masks[s.MaskPath] = true
		} else if s.MaskPath != "" {
			t.Errorf("good image %s has mask %s", s.Path, s.MaskPath)
		}
	}
	if len(masks) != 392 {
		t.Errorf("%d masks, want 392", len(masks))
	}
	bank, hold, err := d.Split(DefaultHoldOut, 0)
	if err != nil || len(bank) != 643 || len(hold) != 71 {
		t.Errorf("split: %d + %d, %v", len(bank), len(hold), err)
	}
}
