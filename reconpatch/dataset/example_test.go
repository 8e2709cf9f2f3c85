package dataset_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/reconpatch/rp/reconpatch/dataset"
)

func Example() {
	root, err := os.MkdirTemp("", "mvtec")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	for _, f := range []string{
		"train/good/000.png", "train/good/001.png", "test/good/000.png",
		"test/crack/000.png", "test/crack/001.png", "ground_truth/crack/000_mask.png",
	} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			log.Fatal(err)
		}
	}

	d, err := dataset.Open(root)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Layout, len(d.Train), "training images")
	for _, s := range d.Test {
		r, _ := filepath.Rel(root, s.Path)
		fmt.Println(filepath.ToSlash(r), s.Label, s.HasPixelTruth())
	}
	fmt.Println(len(d.Warnings), "warning")
	// Output:
	// mvtec 2 training images
	// test/crack/000.png defect true
	// test/crack/001.png defect false
	// test/good/000.png good true
	// 1 warning
}

func ExampleHoldOut() {
	train := make([]dataset.Sample, 20)
	for i := range train {
		train[i] = dataset.Sample{Path: fmt.Sprintf("train/good/%03d.png", i), Type: "good"}
	}
	bank, held, err := dataset.HoldOut(train, dataset.DefaultHoldOut, 42)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(bank), len(held))
	// Output:
	// 18 2
}
