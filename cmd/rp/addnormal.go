package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/dataset"
)

const addNormalUsage = `Usage: rp add-normal -model MODEL [-o OUT] [-mode coreset|append] IMAGE_OR_FOLDER...

Adds normal images to a trained model's memory bank without retraining the
head, and writes the model (to -o, or over MODEL, atomically). Folders are
searched recursively for images (%s), in name order.

Modes (the bank grows by the model's coreset ratio × the new patches in both):
  coreset  greedy coreset over the bank rows and all new patches together
  append   coreset of the new patches alone, appended to the bank

The held-out statistics and default thresholds are kept as they were.

Examples:
  rp add-normal -model tile.rpm new_good/
  rp add-normal -model tile.rpm -o tile2.rpm -mode append a.png b.png

Flags:
`

func runAddNormal(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("rp add-normal", flag.ContinueOnError)
	fset.SetOutput(stderr)
	modelPath := fset.String("model", "", "model file written by rp train (required)")
	out := fset.String("o", "", "model file to write (default: replace -model)")
	modeName := fset.String("mode", reconpatch.AddCoreset.String(), "coreset or append")
	weightsPath := fset.String("weights", "", "backbone weight file (default: the one the model was trained with)")
	quiet := fset.Bool("q", false, "no progress output")
	fset.Usage = func() {
		fmt.Fprintf(stderr, addNormalUsage, strings.Join(dataset.Extensions, " "))
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || fset.NArg() == 0 {
		fset.Usage()
		return errUsage
	}
	mode, err := reconpatch.ParseAddMode(*modeName)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = *modelPath
	}
	paths, err := imageFiles(fset.Args())
	if err != nil {
		return err
	}
	m, err := reconpatch.LoadModel(*modelPath)
	if err != nil {
		return err
	}
	if err := m.UseBackbone(*weightsPath); err != nil {
		return err
	}
	before := bankRows(m)
	rep := &barReporter{w: stderr, quiet: *quiet}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	added, err := m.AddNormal(ctx, paths, mode, rep)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: no model written")
		}
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d images added (%s), bank %d → %d rows (+%d) in %v\n",
		*out, len(paths), mode, before, bankRows(m), added, time.Since(start).Round(time.Millisecond))
	return nil
}

// bankRows is the number of memory-bank rows of a model, summed over an
// ensemble's members.
func bankRows(m *reconpatch.Model) int {
	if ms := m.Members(); len(ms) > 0 {
		n := 0
		for _, mem := range ms {
			n += mem.Bank.Len()
		}
		return n
	}
	return m.Bank.Len()
}

// imageFiles expands args into image files as rp predict does
// (collectInputs): a file is taken as it is, a folder is searched
// recursively for images (dataset.IsImage; hidden files and folders
// skipped) in path order. A file given twice is taken once. A missing
// argument or a folder without images is an error (the first one).
func imageFiles(args []string) ([]string, error) {
	var first error
	inputs := collectInputs(args, func(err error) {
		if first == nil {
			first = err
		}
	})
	if first != nil {
		return nil, first
	}
	if len(inputs) == 0 {
		return nil, errors.New("no images given")
	}
	out := make([]string, len(inputs))
	for i, in := range inputs {
		out[i] = in.path
	}
	return out, nil
}
