package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Label says whether a sample is defect-free.
type Label uint8

const (
	Good   Label = iota // defect-free
	Defect              // anomalous: any defect type
)

func (l Label) String() string {
	switch l {
	case Good:
		return "good"
	case Defect:
		return "defect"
	}
	return fmt.Sprintf("Label(%d)", l)
}

// Sample is one image of a data set.
type Sample struct {
	Path  string // image file (root joined with its relative path)
	Label Label
	// Type is the folder the image was listed from: "good" (MVTec AD and
	// plain folders), "ok" or "ko" (BTAD), or the defect type ("crack").
	Type string
	// MaskPath is the ground-truth mask of a defect image; "" for good
	// images (all normal) and for defect images whose mask is missing. The
	// file is not read here: a mask that turns out empty (all zero, like 4
	// of magnetic-tile's "uneven" masks) is still a known mask, see package
	// metrics for what the pixel metrics make of it.
	MaskPath string
}

// HasPixelTruth reports whether the sample's ground truth is known pixel by
// pixel: a good image (all normal) or a defect image with a mask. Samples
// without it count for image metrics only.
func (s Sample) HasPixelTruth() bool { return s.Label == Good || s.MaskPath != "" }

// Layout is a folder layout.
type Layout uint8

const (
	// MVTec is the MVTec AD layout: train/good, test/<type>,
	// ground_truth/<type>/<stem>_mask.png, optional validation/good.
	MVTec Layout = iota + 1
	// BTAD is the BTAD layout: train/ok, test/ok and test/ko,
	// ground_truth/ko/<stem>.png (or .bmp).
	BTAD
	// Folder is a plain folder of normal training images, searched
	// recursively; it has no test set.
	Folder
)

func (l Layout) String() string {
	switch l {
	case MVTec:
		return "mvtec"
	case BTAD:
		return "btad"
	case Folder:
		return "folder"
	}
	return fmt.Sprintf("Layout(%d)", l)
}

// Warning is a problem that does not stop a data set from being used: a
// defect image without a mask, a mask without an image, a skipped file.
type Warning struct {
	Path string
	Msg  string
}

func (w Warning) String() string { return w.Path + ": " + w.Msg }

// Dataset is the list of samples of one data set (one category).
type Dataset struct {
	Root       string
	Layout     Layout
	Train      []Sample // train/good, train/ok, or every image of a plain folder
	Validation []Sample // validation/good (MVTec layout), when present
	Test       []Sample // test/<type>/*, types in name order; empty for Folder
	Warnings   []Warning
	// MaskThreshold is the grey level from which a ground-truth mask pixel
	// counts as defective (0 means 128). Masks with soft edges (values
	// between 0 and 255) score differently at 1 (any non-zero pixel) and
	// 255 (only fully marked pixels); Open leaves it 0.
	MaskThreshold uint8
}

// Errors returned (wrapped, with the folder) by Detect and Open.
var (
	ErrNoLayout = errors.New("no train/good or train/ok folder")
	ErrNoImages = errors.New("no images")
)

// Extensions are the image file extensions listed (compared without case).
var Extensions = []string{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

// IsImage reports whether name has one of Extensions, in any case.
func IsImage(name string) bool { return extRank(name) >= 0 }

// extRank is the index of name's extension in Extensions, or −1.
func extRank(name string) int {
	ext := strings.ToLower(filepath.Ext(name))
	return slices.Index(Extensions, ext)
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// isDir reports whether path is a directory (following symbolic links).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Detect returns the layout of root: MVTec when it has train/good, BTAD
// when it has train/ok, Folder when it has neither a train, test nor
// ground_truth folder but holds images (at any depth). Otherwise the error
// wraps ErrNoLayout and names root.
func Detect(root string) (Layout, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return 0, fmt.Errorf("dataset: %w", err)
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("dataset: %s is not a folder", root)
	}
	switch {
	case isDir(filepath.Join(root, "train", "good")):
		return MVTec, nil
	case isDir(filepath.Join(root, "train", "ok")):
		return BTAD, nil
	}
	for _, d := range []string{"train", "test", "ground_truth"} {
		if isDir(filepath.Join(root, d)) {
			return 0, fmt.Errorf("dataset: %w in %s (it has a %s folder, so it is no plain image folder)", ErrNoLayout, root, d)
		}
	}
	found := errors.New("found")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && IsImage(d.Name()) {
			return found
		}
		return nil
	})
	switch {
	case err == found:
		return Folder, nil
	case err != nil:
		return 0, fmt.Errorf("dataset: %w", err)
	}
	return 0, fmt.Errorf("dataset: %w in %s, and no images in it", ErrNoLayout, root)
}

// Open detects the layout of root and lists its samples.
func Open(root string) (*Dataset, error) {
	l, err := Detect(root)
	if err != nil {
		return nil, err
	}
	return OpenLayout(root, l)
}

// OpenLayout lists the samples of root in the given layout.
//
// Images are the files with one of Extensions; hidden files and folders
// (name starting with ".") are ignored; other files and unexpected folders
// are skipped with a warning. Samples are in name order (test types too),
// so the result is deterministic. An empty (or missing) training folder is
// an error naming it, as is a validation/good folder without images. A
// defect image whose mask is missing is listed with an empty MaskPath and a
// warning; a mask without an image is a warning.
func OpenLayout(root string, l Layout) (*Dataset, error) {
	d := &Dataset{Root: root, Layout: l}
	var err error
	switch l {
	case MVTec:
		err = d.openSplit("good", "_mask")
		if err == nil {
			err = d.openValidation()
		}
	case BTAD:
		err = d.openSplit("ok", "")
	case Folder:
		d.Train, err = d.walk(root)
		if err == nil && len(d.Train) == 0 {
			err = fmt.Errorf("dataset: %w in %s", ErrNoImages, root)
		}
	default:
		err = fmt.Errorf("dataset: unknown layout %v", l)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dataset) warn(path, format string, args ...any) {
	d.Warnings = append(d.Warnings, Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// list returns the images directly in dir (sorted by name), warning about
// other files and folders. A missing dir is an error.
func (d *Dataset) list(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if hidden(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if e.IsDir() || (e.Type()&fs.ModeSymlink != 0 && isDir(path)) {
			d.warn(path, "skipped: unexpected folder")
			continue
		}
		if !IsImage(name) {
			d.warn(path, "skipped: not an image (extension not one of %s)", strings.Join(Extensions, " "))
			continue
		}
		out = append(out, path)
	}
	return out, nil
}

// subdirs returns the names of the non-hidden folders in dir, sorted.
func (d *Dataset) subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if hidden(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if e.IsDir() || (e.Type()&fs.ModeSymlink != 0 && isDir(path)) {
			out = append(out, name)
		} else {
			d.warn(path, "skipped: file outside a type folder")
		}
	}
	return out, nil
}

func (d *Dataset) openTrain(dir string) ([]Sample, error) {
	paths, err := d.list(dir)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("dataset: %w in %s", ErrNoImages, dir)
	}
	out := make([]Sample, len(paths))
	for i, p := range paths {
		out[i] = Sample{Path: p, Label: Good, Type: filepath.Base(dir)}
	}
	return out, nil
}

// openSplit lists train/<good>, test/<type> and pairs the masks of
// ground_truth/<type>: the mask of image <stem>.<ext> is
// <stem><suffix>.<any image extension>.
func (d *Dataset) openSplit(good, suffix string) error {
	var err error
	if d.Train, err = d.openTrain(filepath.Join(d.Root, "train", good)); err != nil {
		return err
	}
	testDir := filepath.Join(d.Root, "test")
	gtDir := filepath.Join(d.Root, "ground_truth")
	if !isDir(testDir) {
		d.warn(testDir, "no test folder: training only")
		return nil
	}
	types, err := d.subdirs(testDir)
	if err != nil {
		return err
	}
	for _, typ := range types {
		dir := filepath.Join(testDir, typ)
		paths, err := d.list(dir)
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			d.warn(dir, "no images")
		}
		if typ == good {
			for _, p := range paths {
				d.Test = append(d.Test, Sample{Path: p, Label: Good, Type: typ})
			}
			continue
		}
		masks, err := d.masks(filepath.Join(gtDir, typ), suffix)
		if err != nil {
			return err
		}
		for _, p := range paths {
			name := filepath.Base(p)
			stem := strings.TrimSuffix(name, filepath.Ext(name))
			m, ok := masks[stem]
			if ok {
				m.used = true
				masks[stem] = m
			} else {
				d.warn(p, "no mask (looked for %s.* in %s): image metrics only", stem+suffix, filepath.Join(gtDir, typ))
			}
			d.Test = append(d.Test, Sample{Path: p, Label: Defect, Type: typ, MaskPath: m.path})
		}
		for _, stem := range sortedKeys(masks) {
			if m := masks[stem]; !m.used {
				d.warn(m.path, "mask without an image in %s", dir)
			}
		}
	}
	// Mask folders of types that have no test folder.
	if isDir(gtDir) {
		gtTypes, err := d.subdirs(gtDir)
		if err != nil {
			return err
		}
		for _, typ := range gtTypes {
			if typ != good && !slices.Contains(types, typ) {
				d.warn(filepath.Join(gtDir, typ), "masks without a test folder %s", filepath.Join(testDir, typ))
			}
		}
	}
	return nil
}

type mask struct {
	path string
	used bool
}

// masks maps an image stem to its mask <stem><suffix>.<ext> in dir (which
// may be missing: no masks then). Of two masks for one image the one whose
// extension comes first in Extensions is kept, the other reported.
func (d *Dataset) masks(dir, suffix string) (map[string]mask, error) {
	out := map[string]mask{}
	if !isDir(dir) {
		return out, nil
	}
	paths, err := d.list(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		name := filepath.Base(p)
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		img, ok := strings.CutSuffix(stem, suffix)
		if !ok || img == "" {
			d.warn(p, "skipped: mask name does not end in %q", suffix)
			continue
		}
		if prev, dup := out[img]; dup {
			keep, drop := prev.path, p
			if extRank(p) < extRank(prev.path) {
				keep, drop = p, prev.path
			}
			d.warn(drop, "second mask for one image: %s is used", filepath.Base(keep))
			out[img] = mask{path: keep}
			continue
		}
		out[img] = mask{path: p}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *Dataset) openValidation() error {
	dir := filepath.Join(d.Root, "validation", "good")
	if !isDir(dir) {
		return nil
	}
	v, err := d.openTrain(dir)
	if err != nil {
		return err
	}
	d.Validation = v
	return nil
}

// walk lists the images under dir at any depth, in lexical order per
// folder, skipping hidden files and folders. Symbolic links to folders are
// not followed.
func (d *Dataset) walk(dir string) ([]Sample, error) {
	var out []Sample
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		if hidden(e.Name()) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if !IsImage(e.Name()) {
			d.warn(path, "skipped: not an image (extension not one of %s)", strings.Join(Extensions, " "))
			return nil
		}
		out = append(out, Sample{Path: path, Label: Good, Type: "good"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return out, nil
}

// Counts returns the number of samples of each Type.
func Counts(samples []Sample) map[string]int {
	c := map[string]int{}
	for _, s := range samples {
		c[s.Type]++
	}
	return c
}
