package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/reconpatch/rp/weights"
)

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rp convert IN OUT.safetensors")
		fmt.Fprintln(stderr, "\nConverts a torch checkpoint (.pth, zip or legacy serialisation), a TF.js model.json (or its")
		fmt.Fprintln(stderr, "folder) or a safetensors file to a float32 safetensors file with the same tensor names.")
		fmt.Fprintln(stderr, "\nExample:\n  rp convert wide_resnet50_2-95faca4d.pth wrn50.safetensors")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errUsage
	}
	in, out := fs.Arg(0), fs.Arg(1)
	sd, err := weights.Load(in)
	if err != nil {
		return err
	}
	meta := map[string]string{"source": filepath.Base(in), "source_format": sd.Format.String()}
	if err := weights.SaveSafetensors(out, sd, meta, weights.F32); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s): %d tensors, %d values → %s\n", in, sd.Format, sd.Len(), sd.NumValues(), out)
	return nil
}
