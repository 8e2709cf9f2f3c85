package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reconpatch/rp/internal/progress"
	"github.com/reconpatch/rp/reconpatch/synth"
)

func runSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output folder (required); one MVTec-style data set per category is written below it")
	seed := fs.Uint64("seed", 0, "random seed: the same seed writes the same files")
	size := fs.Int("size", 256, "image side in pixels (64…2048)")
	cats := fs.String("categories", "", "comma-separated categories (default: all; see the list below)")
	train := fs.Int("train", 60, "normal training images per category")
	testGood := fs.Int("test-good", 20, "normal test images per category")
	perDefect := fs.Int("test-defect", 10, "test images per defect type")
	overwrite := fs.Bool("overwrite", false, "replace the selected categories' folders if the output folder is not empty")
	quiet := fs.Bool("q", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rp synth -o DIR [flags]\n\nWrites a synthetic industrial inspection data set with pixel masks (MVTec AD layout).\n\nExample:\n  rp synth -o /tmp/synth -categories brushed_metal,printed_grid -seed 1\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nCategories:")
		for _, c := range synth.Categories() {
			var ds []string
			for _, d := range c.Defects {
				ds = append(ds, d.Name)
			}
			fmt.Fprintf(stderr, "  %-14s %s (defects: %s)\n", c.Name, c.Description, strings.Join(ds, ", "))
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg := synth.Config{
		Seed: *seed, Size: *size, Train: *train, TestGood: *testGood, TestPerDefect: *perDefect,
		Overwrite: *overwrite,
	}
	if *cats != "" {
		cfg.Categories = strings.Split(*cats, ",")
	}
	var bar *progress.Bar
	sum, err := synth.Generate(*out, cfg, func(done, total int) {
		if bar == nil {
			bar = progress.New(os.Stderr, "synth", total, "images", progress.Options{Quiet: *quiet})
		}
		bar.Set(done)
	})
	if bar != nil {
		bar.Finish("")
	}
	if err != nil {
		return err
	}
	for _, c := range sum.Categories {
		fmt.Fprintf(stdout, "%s\t%d train, %d test good\n", c.Dir, c.Train, c.TestGood)
	}
	return nil
}
