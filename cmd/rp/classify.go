package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/reconpatch/rp/backbones"
)

func runClassify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rp classify -backbone NAME [-weights FILE] IMAGE...")
		fmt.Fprintln(stderr, "\nPrints the top-5 ImageNet classes of each image with their probabilities.")
		fmt.Fprintln(stderr, "\nExample:\n  rp classify ../shared/images/eagle.jpg          # keras_resnet50: bald eagle first")
		fmt.Fprintf(stderr, "\nbackbones: %s\n\nflags:\n", strings.Join(backbones.Names(), ", "))
		fs.PrintDefaults()
	}
	name := fs.String("backbone", backbones.KerasResNet50, "backbone name")
	wpath := fs.String("weights", "", "weight file: torchvision .pth or .safetensors; TF.js model.json for keras_resnet50 (default: the installed copy)")
	top := fs.Int("top", 5, "classes to print per image")
	imf := addImageFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || *top < 1 {
		fs.Usage()
		return errUsage
	}
	b, err := backbones.Load(*name, *wpath)
	if err != nil {
		return err
	}
	for _, path := range fs.Args() { // one at a time: images need not share a size
		x, err := loadImages([]string{path}, imf, b.Normalization())
		if err != nil {
			return err
		}
		preds, err := backbones.Classify(b, x, *top)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
		for i, p := range preds[0] {
			fmt.Fprintf(stdout, "  %d. %-30s %4d  %.4f\n", i+1, p.Name, p.Class, p.Prob)
		}
	}
	return nil
}
