package imageio

import (
	"fmt"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/tensor"
)

// Normalization maps 8-bit pixels to a backbone's input values. It is
// backbones.Normalization, so the value a backbone reports is the value
// passed here: network channel c is (v/Divisor − Mean[c]) / Std[c], v the
// byte of RGB channel c, or of channel 2 − c when BGR is set. The arithmetic
// is float32 step by step, as torchvision's ToTensor (a division by 255) and
// Normalize and NumPy's float32 "caffe" preprocessing do, so the results
// are theirs bit for bit. Here a zero Divisor or Std counts as 1.
type Normalization = backbones.Normalization

// ImageNet is torchvision's ImageNet normalisation (RGB/255, mean 0.485,
// 0.456, 0.406, std 0.229, 0.224, 0.225), what the torchvision backbones
// (WideResNet, ResNet, ResNeXt, DenseNet) expect; it is
// backbones.ImageNetNormalization.
var ImageNet = backbones.ImageNetNormalization

// KerasCaffe is Keras' "caffe" preprocessing, used by the Keras ResNet-50:
// channels in BGR order, 0..255 scale, the mean (103.939, 116.779, 123.68)
// subtracted, no division; it is backbones.CaffeNormalization.
var KerasCaffe = backbones.CaffeNormalization

// table returns the value of every byte value for each network channel
// (computed by Normalization.Apply itself on a ramp, so the two cannot
// disagree), and the RGB channel each network channel reads.
func table(n Normalization) (lut [3][256]float32, src [3]int) {
	if n.Divisor == 0 {
		n.Divisor = 1
	}
	for c := range n.Std {
		if n.Std[c] == 0 {
			n.Std[c] = 1
		}
	}
	var ramp [256 * 3]uint8
	for v := range 256 {
		ramp[3*v], ramp[3*v+1], ramp[3*v+2] = uint8(v), uint8(v), uint8(v)
	}
	var out [3 * 256]float32
	n.Apply(out[:], ramp[:], 1, 256)
	for c := range 3 {
		copy(lut[c][:], out[c*256:])
		src[c] = c
		if n.BGR {
			src[c] = 2 - c
		}
	}
	return lut, src
}

// fill writes img as 3×H×W planes into dst.
func fill(dst []float32, img RGB, lut *[3][256]float32, src [3]int) {
	hw := img.W * img.H
	pix := img.Pix[:hw*3]
	for c := 0; c < 3; c++ {
		plane := dst[c*hw:][:hw]
		t := &lut[c]
		for i, j := 0, src[c]; i < hw; i, j = i+1, j+3 {
			plane[i] = t[pix[j]]
		}
	}
}

// ToTensor returns img as a 3×H×W float32 tensor normalised by norm.
func ToTensor(img RGB, norm Normalization) *tensor.Tensor {
	lut, src := table(norm)
	data := make([]float32, 3*img.W*img.H)
	fill(data, img, &lut, src)
	return tensor.FromSlice(data, 3, img.H, img.W)
}

// Batch stacks images of one size into an N×3×H×W float32 tensor normalised
// by norm. It fails on an empty list or images of different sizes.
func Batch(imgs []RGB, norm Normalization) (*tensor.Tensor, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("imageio: Batch of no images")
	}
	w, h := imgs[0].W, imgs[0].H
	for i, m := range imgs {
		if m.W != w || m.H != h {
			return nil, fmt.Errorf("imageio: Batch: image %d is %d×%d, image 0 is %d×%d", i, m.W, m.H, w, h)
		}
	}
	lut, src := table(norm)
	n := 3 * w * h
	data := make([]float32, len(imgs)*n)
	for i, m := range imgs {
		fill(data[i*n:][:n], m, &lut, src)
	}
	return tensor.FromSlice(data, len(imgs), 3, h, w), nil
}
