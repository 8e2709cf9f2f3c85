package synth

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/reconpatch/rp/internal/atomicfile"
)

// Defaults and limits of Config.
const (
	DefaultSize          = 256 // image side, pixels
	DefaultTrain         = 60  // train/good images per category
	DefaultTestGood      = 20  // test/good images per category
	DefaultTestPerDefect = 10  // test images per defect type
	MinSize              = 64
	MaxSize              = 2048
)

// Errors, wrapped by the errors Generate and Render return.
var (
	ErrUnknownCategory = errors.New("unknown category")
	ErrUnknownDefect   = errors.New("unknown defect type")
	ErrNotEmpty        = errors.New("output folder not empty")
	ErrInvalidConfig   = errors.New("invalid configuration")
)

// Category describes a built-in category.
type Category struct {
	Name        string
	Description string
	Grey        bool     // 8-bit grey images; false: RGB
	Defects     []Defect // its defect types, in output order
}

// Defect describes a defect type.
type Defect struct {
	Name        string // the test/<Name> and ground_truth/<Name> folder
	Description string
}

// Categories lists the built-in categories in their canonical order, the
// order Generate uses when Config.Categories is empty.
func Categories() []Category {
	out := make([]Category, len(registry))
	for i, c := range registry {
		out[i] = Category{Name: c.name, Description: c.desc, Grey: c.ch == 1}
		for _, d := range c.defects {
			out[i].Defects = append(out[i].Defects, Defect{Name: d.name, Description: d.desc})
		}
	}
	return out
}

// Config chooses what Generate writes. Zero values mean the defaults.
type Config struct {
	// Seed determines every image: the same seed and configuration give
	// byte-identical files (with the same Go version and architecture).
	Seed uint64
	// Size is the side of the square images in pixels, MinSize to MaxSize;
	// 0 means DefaultSize. Surfaces and defects scale with it.
	Size int
	// Categories to generate, by name (see Categories); empty means all.
	Categories []string
	// Train, TestGood and TestPerDefect are the image counts per category:
	// train/good, test/good, and test/<defect> for each defect type. 0
	// means the default; negative is an error.
	Train, TestGood, TestPerDefect int
	// Overwrite allows a non-empty output folder: the folders of the
	// generated categories are deleted and rewritten, anything else in it
	// is left alone. Without it Generate refuses a non-empty folder.
	Overwrite bool
	// Workers is the number of images rendered at once; 0 means
	// runtime.GOMAXPROCS(0). It does not change the output.
	Workers int
}

// Summary reports what Generate wrote.
type Summary struct {
	Dir        string
	Seed       uint64
	Size       int
	Categories []CategorySummary
	Images     int   // image files (good and defective)
	Masks      int   // mask files
	Bytes      int64 // total size of the files written
}

// CategorySummary is one category's share of a Summary.
type CategorySummary struct {
	Name     string
	Dir      string // <Summary.Dir>/<Name>, the data set's root
	Train    int
	TestGood int
	Defects  []DefectCount
}

// DefectCount is the number of test images of one defect type.
type DefectCount struct {
	Name  string
	Count int
}

// resolve fills the defaults in and validates cfg.
func (cfg *Config) resolve() ([]*category, error) {
	if cfg.Size == 0 {
		cfg.Size = DefaultSize
	}
	if err := checkSize(cfg.Size); err != nil {
		return nil, err
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{{"Train", &cfg.Train, DefaultTrain}, {"TestGood", &cfg.TestGood, DefaultTestGood}, {"TestPerDefect", &cfg.TestPerDefect, DefaultTestPerDefect}} {
		if *n.v < 0 {
			return nil, fmt.Errorf("synth: negative count %s=%d: %w", n.name, *n.v, ErrInvalidConfig)
		}
		if *n.v == 0 {
			*n.v = n.def
		}
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("synth: negative Workers=%d: %w", cfg.Workers, ErrInvalidConfig)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if len(cfg.Categories) == 0 {
		return slices.Clone(registry), nil
	}
	var cats []*category
	for _, name := range cfg.Categories {
		c := lookup(name)
		if c == nil {
			return nil, unknownCategory(name)
		}
		if slices.Contains(cats, c) {
			return nil, fmt.Errorf("synth: category %s listed twice: %w", name, ErrInvalidConfig)
		}
		cats = append(cats, c)
	}
	return cats, nil
}

// job is one image to write.
type job struct {
	cat      *category
	def      *defect // nil: good
	seed     uint64
	path     string
	maskPath string // "" for good images
}

// Generate writes a synthetic data set in the MVTec AD layout under dir,
// one root per category:
//
//	<dir>/<category>/train/good/000.png
//	<dir>/<category>/test/good/000.png
//	<dir>/<category>/test/<defect>/000.png
//	<dir>/<category>/ground_truth/<defect>/000_mask.png
//
// dir is created if needed and must be empty unless cfg.Overwrite is set.
// Images are rendered in parallel; progress, if not nil, is called from the
// calling goroutine after each image with the number done and the total.
// On error the files written so far are left in place.
func Generate(dir string, cfg Config, progress func(done, total int)) (Summary, error) {
	if dir == "" {
		return Summary{}, fmt.Errorf("synth: no output folder: %w", ErrInvalidConfig)
	}
	cats, err := cfg.resolve()
	if err != nil {
		return Summary{}, err
	}
	if err := prepare(dir, cats, cfg.Overwrite); err != nil {
		return Summary{}, err
	}
	sum := Summary{Dir: dir, Seed: cfg.Seed, Size: cfg.Size}
	var jobs []job
	add := func(c *category, d *defect, split, truth string, n int) error {
		folder := filepath.Join(dir, c.name, filepath.FromSlash(split))
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		if truth != "" {
			truth = filepath.Join(dir, c.name, "ground_truth", truth)
			if err := os.MkdirAll(truth, 0o755); err != nil {
				return fmt.Errorf("synth: %w", err)
			}
		}
		width := max(3, len(strconv.Itoa(n-1)))
		for i := 0; i < n; i++ {
			stem := fmt.Sprintf("%0*d", width, i)
			j := job{cat: c, def: d, seed: ImageSeed(cfg.Seed, c.name, split, i), path: filepath.Join(folder, stem+".png")}
			if truth != "" {
				j.maskPath = filepath.Join(truth, stem+"_mask.png")
			}
			jobs = append(jobs, j)
		}
		return nil
	}
	for _, c := range cats {
		cs := CategorySummary{Name: c.name, Dir: filepath.Join(dir, c.name), Train: cfg.Train, TestGood: cfg.TestGood}
		if err := add(c, nil, "train/good", "", cfg.Train); err != nil {
			return sum, err
		}
		if err := add(c, nil, "test/good", "", cfg.TestGood); err != nil {
			return sum, err
		}
		for _, d := range c.defects {
			if err := add(c, d, "test/"+d.name, d.name, cfg.TestPerDefect); err != nil {
				return sum, err
			}
			cs.Defects = append(cs.Defects, DefectCount{Name: d.name, Count: cfg.TestPerDefect})
		}
		sum.Categories = append(sum.Categories, cs)
	}

	type result struct {
		bytes int64
		mask  bool
		err   error
	}
	work := make(chan job)
	results := make(chan result)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < min(cfg.Workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pool{}}
			var buf bytes.Buffer
			for j := range work {
				if stop.Load() {
					results <- result{}
					continue
				}
				n, err := j.write(cfg.Size, enc, &buf)
				results <- result{bytes: n, mask: j.maskPath != "", err: err}
			}
		}()
	}
	go func() {
		for _, j := range jobs {
			work <- j
		}
		close(work)
		wg.Wait()
		close(results)
	}()
	var first error
	done := 0
	for r := range results {
		if r.err != nil && first == nil {
			first = r.err
			stop.Store(true)
		}
		if first != nil {
			continue
		}
		done++
		sum.Images++
		if r.mask {
			sum.Masks++
		}
		sum.Bytes += r.bytes
		if progress != nil {
			progress(done, len(jobs))
		}
	}
	return sum, first
}

// prepare checks and creates the output folder.
func prepare(dir string, cats []*category, overwrite bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("synth: create output folder: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("synth: output folder: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !overwrite {
		return fmt.Errorf("synth: output folder %s is not empty (%d entries; use an empty or new folder, or overwrite): %w", dir, len(entries), ErrNotEmpty)
	}
	for _, c := range cats {
		p := filepath.Join(dir, c.name)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("synth: overwrite %s: %w", p, err)
		}
	}
	return nil
}

// write renders the job's image (and mask) and writes the PNG files; it
// returns the bytes written.
func (j *job) write(size int, enc *png.Encoder, buf *bytes.Buffer) (int64, error) {
	c, m := render(j.cat, j.def, j.seed, size)
	buf.Reset()
	if err := enc.Encode(buf, c.toImage()); err != nil {
		return 0, fmt.Errorf("synth: encode %s: %w", j.path, err)
	}
	if err := writeFile(j.path, buf.Bytes()); err != nil {
		return 0, err
	}
	n := int64(buf.Len())
	if j.maskPath == "" {
		return n, nil
	}
	mask := &image.Gray{Pix: m, Stride: size, Rect: image.Rect(0, 0, size, size)}
	buf.Reset()
	if err := enc.Encode(buf, mask); err != nil {
		return 0, fmt.Errorf("synth: encode %s: %w", j.maskPath, err)
	}
	if err := writeFile(j.maskPath, buf.Bytes()); err != nil {
		return 0, err
	}
	return n + int64(buf.Len()), nil
}

// writeFile writes data to path atomically (see internal/atomicfile), so
// that no reader sees a partial PNG.
func writeFile(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// pool is a png.EncoderBufferPool for one goroutine.
type pool struct{ b *png.EncoderBuffer }

func (p *pool) Get() *png.EncoderBuffer  { b := p.b; p.b = nil; return b }
func (p *pool) Put(b *png.EncoderBuffer) { p.b = b }
