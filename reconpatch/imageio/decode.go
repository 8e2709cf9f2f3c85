package imageio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// DefaultMaxPixels is the largest image, in pixels (width × height), that
// the decoders accept when the caller gives no limit: 100 megapixels, e.g.
// 10000×10000. Decoding one takes 300 MB for the RGB result plus up to
// 8 bytes a pixel inside the Go decoder; larger files are refused from
// their header, before any pixel is decoded.
const DefaultMaxPixels = 100_000_000

// The kinds of decoding failure. Every error Decode returns is an *Error
// wrapping exactly one of these (DecodeFile may also return the
// *os.PathError of a file it cannot open).
var (
	// ErrNotImage: an empty file, or one that starts with no known
	// signature (PNG, JPEG, GIF, BMP, TIFF).
	ErrNotImage = errors.New("not an image")
	// ErrTruncated: the data ends before the image does.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt: the data is malformed.
	ErrCorrupt = errors.New("corrupt")
	// ErrUnsupported: a valid file using a feature the Go decoders lack
	// (e.g. a JPEG-compressed TIFF, a 16-bit or RLE BMP, an arithmetic-coded JPEG).
	ErrUnsupported = errors.New("unsupported")
	// ErrZeroSize: the header declares a width or height of 0.
	ErrZeroSize = errors.New("zero size")
	// ErrTooLarge: the header declares more pixels than the limit, or
	// preprocessing would make more (Preprocess.CheckSize).
	ErrTooLarge = errors.New("too large")
	// ErrMaskSize: a ground-truth mask's size differs from its image's
	// (LoadMaskFor).
	ErrMaskSize = errors.New("mask size differs from its image")
)

// Error is a failed decode: the file, its format and what went wrong.
type Error struct {
	Name   string // the file name or path, as the caller gave it
	Format string // "png", "jpeg", "gif", "bmp", "tiff"; "" if unrecognised
	Err    error  // wraps one of ErrNotImage, ErrTruncated, … and the decoder's own error
}

func (e *Error) Error() string {
	if e.Format == "" {
		return fmt.Sprintf("imageio: %s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("imageio: %s: %s: %v", e.Name, e.Format, e.Err)
}

// Unwrap returns the wrapped error, so errors.Is(err, ErrTruncated) works.
func (e *Error) Unwrap() error { return e.Err }

type format struct {
	name   string
	magic  []string // '?' matches any byte
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var formats = []format{
	{"png", []string{"\x89PNG\r\n\x1a\n"}, png.DecodeConfig, png.Decode},
	{"jpeg", []string{"\xff\xd8"}, jpeg.DecodeConfig, decodeJPEG},
	{"gif", []string{"GIF87a", "GIF89a"}, gif.DecodeConfig, gif.Decode},
	{"bmp", []string{"BM????\x00\x00\x00\x00"}, bmp.DecodeConfig, bmp.Decode},
	{"tiff", []string{"II*\x00", "MM\x00*"}, tiff.DecodeConfig, tiff.Decode},
}

func sniff(head []byte) *format {
	for i := range formats {
		for _, m := range formats[i].magic {
			if len(head) < len(m) {
				continue
			}
			ok := true
			for j := 0; j < len(m); j++ {
				if m[j] != '?' && m[j] != head[j] {
					ok = false
					break
				}
			}
			if ok {
				return &formats[i]
			}
		}
	}
	return nil
}

// DecodeFile reads the image file at path; see Decode.
func DecodeFile(path string, maxPixels int) (RGB, error) {
	f, err := os.Open(path)
	if err != nil {
		return RGB{}, err
	}
	defer f.Close()
	return Decode(f, path, maxPixels)
}

// DecodeConfigFile reads the width and height of the image file at path
// from its header, without decoding its pixels. Errors are as Decode's.
func DecodeConfigFile(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(32)
	ft, err := sniffOrFail(head, path)
	if err != nil {
		return 0, 0, err
	}
	cfg, err := ft.config(br)
	if err != nil {
		return 0, 0, &Error{Name: path, Format: ft.name, Err: classify(err)}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, &Error{Name: path, Format: ft.name, Err: fmt.Errorf("%w: %d×%d", ErrZeroSize, cfg.Width, cfg.Height)}
	}
	return cfg.Width, cfg.Height, nil
}

// sniffOrFail is the format of a file starting with head, or an *Error
// wrapping ErrNotImage naming it.
func sniffOrFail(head []byte, name string) (*format, error) {
	if len(head) == 0 {
		return nil, &Error{Name: name, Err: fmt.Errorf("%w: empty file", ErrNotImage)}
	}
	f := sniff(head)
	if f == nil {
		return nil, &Error{Name: name, Err: fmt.Errorf("%w: unknown format (starts % x)", ErrNotImage, head[:min(len(head), 8)])}
	}
	return f, nil
}

// Decode reads one image from r and converts it to RGB as PIL's
// convert("RGB") does (see the package documentation). name is used in
// errors only. maxPixels bounds width × height; 0 or less means
// DefaultMaxPixels. The header is checked against the limit before the
// pixel data is read; r is read once, front to back.
func Decode(r io.Reader, name string, maxPixels int) (RGB, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	br := bufio.NewReader(r)
	head, _ := br.Peek(32)
	f, err := sniffOrFail(head, name)
	if err != nil {
		return RGB{}, err
	}
	fail := func(err error) (RGB, error) { return RGB{}, &Error{Name: name, Format: f.name, Err: err} }

	// PNG's IHDR is read here too: Go's decoder rejects a zero dimension as
	// an ordinary format error, and 16-bit greyscale needs PIL's clipping
	// even when a tRNS chunk makes Go return NRGBA64.
	gray16 := false
	if f.name == "png" && len(head) >= 26 && string(head[12:16]) == "IHDR" {
		w, h := binary.BigEndian.Uint32(head[16:20]), binary.BigEndian.Uint32(head[20:24])
		if w == 0 || h == 0 {
			return fail(fmt.Errorf("%w: %d×%d", ErrZeroSize, w, h))
		}
		gray16 = head[24] == 16 && head[25] == 0
	}

	// Read the header, keeping every byte consumed so that the full decode
	// can replay it: r is read once and never seeked.
	var seen bytes.Buffer
	cfg, err := f.config(io.TeeReader(br, &seen))
	if err != nil {
		return fail(classify(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fail(fmt.Errorf("%w: %d×%d", ErrZeroSize, cfg.Width, cfg.Height))
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return fail(fmt.Errorf("%w: %d×%d = %d pixels, over the limit of %d",
			ErrTooLarge, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), maxPixels))
	}
	img, err := f.decode(io.MultiReader(&seen, br))
	if err != nil {
		return fail(classify(err))
	}
	b := img.Bounds()
	if b.Empty() {
		return fail(fmt.Errorf("%w: decoded image is %d×%d", ErrZeroSize, b.Dx(), b.Dy()))
	}
	if int64(b.Dx())*int64(b.Dy()) > int64(maxPixels) {
		return fail(fmt.Errorf("%w: decoded image is %d×%d", ErrTooLarge, b.Dx(), b.Dy()))
	}
	if f.name == "gif" && (b.Min != image.Point{} || b.Dx() != cfg.Width || b.Dy() != cfg.Height) {
		// A first frame smaller than the logical screen: place it on a
		// black canvas of the screen's size, as the header says.
		return placeOnCanvas(toRGB(img, false), b, cfg.Width, cfg.Height), nil
	}
	return toRGB(img, gray16), nil
}

// truncationMessages are the decoder errors that mean the data ran out
// although the decoders report them as format errors.
var truncationMessages = []string{
	"not enough pixel data", // png: the IDAT stream ended early
	"short Huffman data",    // jpeg: the entropy-coded segment ended early
	"missing SOS marker",    // jpeg: the file ended before the first scan
}

// classify wraps a decoder error in the matching sentinel.
func classify(err error) error {
	var kind error
	msg := err.Error()
	for _, m := range truncationMessages {
		if strings.Contains(msg, m) {
			return fmt.Errorf("%w: %w", ErrTruncated, err)
		}
	}
	switch err.(type) {
	case png.UnsupportedError, jpeg.UnsupportedError, tiff.UnsupportedError:
		kind = ErrUnsupported
	case png.FormatError, jpeg.FormatError, tiff.FormatError:
		kind = ErrCorrupt
	}
	switch {
	case kind != nil:
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		strings.Contains(msg, "unexpected EOF"), strings.HasSuffix(msg, ": EOF"):
		// gif wraps io errors with %v, so the message is all there is.
		kind = ErrTruncated
	case errors.Is(err, bmp.ErrUnsupported), strings.Contains(msg, "unsupported"):
		kind = ErrUnsupported
	default:
		kind = ErrCorrupt
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// placeOnCanvas puts a frame decoded at rect onto a black w×h canvas.
func placeOnCanvas(frame RGB, rect image.Rectangle, w, h int) RGB {
	out := NewRGB(w, h)
	for y := 0; y < frame.H; y++ {
		oy := rect.Min.Y + y
		if oy < 0 || oy >= h {
			continue
		}
		for x := 0; x < frame.W; x++ {
			ox := rect.Min.X + x
			if ox < 0 || ox >= w {
				continue
			}
			copy(out.Pix[(oy*w+ox)*3:][:3], frame.Pix[(y*frame.W+x)*3:][:3])
		}
	}
	return out
}
