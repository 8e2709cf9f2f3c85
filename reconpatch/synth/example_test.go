package synth_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/reconpatch/rp/reconpatch/synth"
)

func Example() {
	dir, err := os.MkdirTemp("", "synth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	sum, err := synth.Generate(dir, synth.Config{
		Seed:          1,
		Size:          128,
		Categories:    []string{"printed_grid"},
		Train:         4,
		TestGood:      2,
		TestPerDefect: 1,
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range sum.Categories {
		fmt.Printf("%s: %d train, %d test good\n", c.Name, c.Train, c.TestGood)
		for _, d := range c.Defects {
			fmt.Printf("  %s: %d\n", d.Name, d.Count)
		}
	}
	masks, _ := filepath.Glob(filepath.Join(dir, "printed_grid", "ground_truth", "*", "*_mask.png"))
	fmt.Println(sum.Images, "images,", len(masks), "masks")
	// Output:
	// printed_grid: 4 train, 2 test good
	//   missing_print: 1
	//   scratch: 1
	//   stain: 1
	// 9 images, 3 masks
}

func ExampleCategories() {
	for _, c := range synth.Categories() {
		fmt.Print(c.Name, ":")
		for _, d := range c.Defects {
			fmt.Print(" ", d.Name)
		}
		fmt.Println()
	}
	// Output:
	// brushed_metal: scratch hole stain
	// woven_fabric: hole stain cut
	// printed_grid: missing_print scratch stain
	// wood: scratch crack hole
}
