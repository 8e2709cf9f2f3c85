// Package imageio turns image files into the normalised float32 tensors a
// backbone eats, reproducing the Python reference pipeline
//
//	PIL.Image.open(path).convert("RGB")
//	torchvision.transforms.Resize(resize)       // PIL bilinear, antialiased
//	torchvision.transforms.CenterCrop(crop)
//	ToTensor() + Normalize(mean, std)           // or Keras "caffe" preprocessing
//
// pixel for pixel (torchvision 0.14, Pillow 9.4), so models trained or
// scored here see what a PyTorch run of the same method sees.
//
// # Decoding
//
// Decode and DecodeFile read PNG, JPEG, BMP, TIFF and GIF (the first frame of
// a multi-frame file) and return an RGB image: 8 bits per channel,
// interleaved. The conversion follows PIL's convert("RGB"):
//
//   - grey and bilevel images replicate the grey level; 1, 2 and 4-bit grey is
//     scaled to 0..255 (×255, ×0x55, ×0x11);
//   - alpha is dropped, not composited: an RGBA or LA pixel keeps its stored
//     colour whatever its alpha. Premultiplied (TIFF "associated alpha")
//     pixels are un-premultiplied first as PIL's RGBa unpacker does:
//     c·255/a, clipped, and 0 where a = 0;
//   - paletted images look their index up in the palette, ignoring
//     transparency (a PNG tRNS entry keeps its colour);
//   - 16-bit greyscale (PNG, TIFF) is clipped, not scaled: PIL opens it as
//     mode I or I;16 and converts a value v to min(v, 255). So a 16-bit grey
//     image using the full 0..65535 range comes out nearly white — in PIL too.
//     All other 16-bit images (RGB, RGBA, grey+alpha) keep the high byte,
//     v >> 8, as PIL's ;16B unpackers do;
//   - CMYK JPEGs (Adobe, inverted) become RGB by PIL's rule
//     nk = 255 − K, c' = nk − round(c·nk/255);
//   - JPEGs are decoded as libjpeg-turbo decodes them inside PIL, bit for
//     bit: baseline, extended and progressive Huffman-coded 8-bit files
//     with one (grey) or three (YCbCr or RGB) components go through rp's
//     own decoder (jpeg.go), whose entropy decoding, dequantisation and
//     islow IDCT are libjpeg's, and YCbCr is converted with libjpeg's
//     tables and its "fancy" (triangle) chroma upsampling for 4:2:2, 4:2:0
//     and 4:4:0. This matters: Go's image/jpeg rounds its IDCT differently
//     (±1 on about 2 % of samples), and a frozen backbone turns that into
//     feature differences of a few per cent. CMYK/YCCK and other rare
//     layouts are left to image/jpeg and keep its ±1.
//
// Errors are *Error values naming the file and the format; they wrap one of
// ErrNotImage, ErrTruncated, ErrCorrupt, ErrUnsupported, ErrZeroSize,
// ErrTooLarge and ErrMaskSize for errors.Is. Before any pixel data is
// decoded the header is read (image.DecodeConfig) and images of more than
// DefaultMaxPixels pixels (100 megapixels, or the caller's limit) are
// refused, so a file declaring 20000×20000 cannot exhaust memory. Load and
// LoadMask also refuse an image that preprocessing would blow up beyond the
// limit (a thin strip whose shorter side Resize scales up; see
// Preprocess.CheckSize). A 1×1 image is valid: it is resized like any
// other.
//
// Not reproduced: GIF's transparent palette entry (Go's decoder blanks it to
// black, PIL keeps its colour); a GIF whose first frame is smaller than the
// logical screen is placed on a black canvas (PIL fills with the
// background). Neither side applies EXIF orientation. Go's decoders lack
// JPEG-in-TIFF, 16-bit and RLE BMP, arithmetic-coded and 12-bit JPEG: those
// files fail with ErrUnsupported.
//
// # Geometry
//
// Resize is PIL's Image.resize(size, BILINEAR): a triangle filter whose
// support grows with the downscaling factor (so downscaling averages, it
// does not alias), applied separably — horizontal pass, rounding to 8 bits,
// vertical pass — with PIL's 22-bit fixed-point coefficients. It matches PIL
// exactly. The filter tables are computed once per (input, output) size
// pair and cached; a grey image (R = G = B everywhere, like every
// magnetic-tile image) is resampled on one channel. ResizeNearest is PIL's
// NEAREST. ResizeShorter and ResizedSize implement torchvision's
// Resize(int): the shorter side becomes size, the longer
// int(size·long/short). CenterCrop is torchvision's CenterCrop: offset
// int(round((h − th)/2)) with Python's round-half-to-even, and zero padding
// when the crop is larger than the image.
//
// # Tensors
//
// ToTensor and Batch lay images out as 3×H×W and N×3×H×W float32 tensors,
// each value (v/Divisor − Mean[c]) / Std[c], channels optionally swapped to
// BGR. Normalization is backbones.Normalization, so a backbone's
// Normalization() goes straight in; ImageNet and KerasCaffe are its presets.
// The values equal torchvision's ToTensor + Normalize bit for bit.
//
// # Masks
//
// LoadMask reads a ground-truth mask in any format or mode, marks a pixel
// positive when any of its channels is at least the threshold (128 by default:
// the magnetic-tile masks are antialiased, with every grey level in 0..255),
// and resizes it with nearest neighbour and the same torchvision size rule and
// crop as the image. LoadMaskFor also checks that the mask has its image's
// size (from the image's header) and refuses it, wrapping ErrMaskSize,
// otherwise: a mask of another size would not line up with the image.
package imageio
