package imageio_test

import (
	"fmt"
	"log"

	"github.com/reconpatch/rp/reconpatch/imageio"
)

// Load an image the way PatchCore's data loader does (resize the shorter
// side to 256, centre-crop 224) and make the backbone's input tensor.
func Example() {
	p := imageio.Preprocess{Resize: 256, Crop: 224}
	img, err := imageio.Load("testdata/pipe_src.png", p) // 300×190
	if err != nil {
		log.Fatal(err)
	}
	x := imageio.ToTensor(img, imageio.ImageNet)
	fmt.Println(img.W, img.H, x.Shape())

	// The Keras ResNet-50 wants BGR, 0..255, mean subtracted.
	batch, err := imageio.Batch([]imageio.RGB{img, img}, imageio.KerasCaffe)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(batch.Shape())
	// Output:
	// 224 224 [3 224 224]
	// [2 3 224 224]
}

func ExampleResizedSize() {
	// torchvision's Resize(256): the shorter side becomes 256.
	fmt.Println(imageio.ResizedSize(630, 400, 256))
	left, top := imageio.CropOffsets(403, 256, 224, 224)
	fmt.Println(left, top)
	// Output:
	// 403 256
	// 90 16
}

func ExampleLoadMask() {
	p := imageio.Preprocess{Resize: 20, Crop: 16}
	m, err := imageio.LoadMask("testdata/mask_src.png", p) // 45×31, antialiased
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.W, m.H, m.Positives())
	// Output: 16 16 150
}
