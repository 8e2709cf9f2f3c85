package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"testing"
)

// The JPEGs left to image/jpeg (CMYK here) go through Go's IDCT, not
// libjpeg-turbo's islow IDCT, so a sample may be off by one (and a colour
// pixel by a little more after the colour conversion). Everything else
// decodes exactly as PIL does.
const jpegMaxDiff = 2

func TestDecodeMatchesPIL(t *testing.T) {
	for _, c := range casesOf(t, "decode") {
		t.Run(c.Src, func(t *testing.T) {
			got := mustDecode(t, c.Src)
			d := compare(t, got, mustDecode(t, c.Want))
			t.Logf("PIL mode %-5s exact %6.2f%%, max diff %d %s", c.PILMode, 100*d.exactRate(), d.max, c.Note)
			if c.Exact && d.differ != 0 {
				t.Errorf("%d of %d values differ from PIL (max %d)", d.differ, d.n, d.max)
			}
			if !c.Exact && d.max > jpegMaxDiff {
				t.Errorf("max diff %d from PIL, want ≤ %d", d.max, jpegMaxDiff)
			}
		})
	}
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(tag string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(tag)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(tag), data...)))
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR declaring w×h 8-bit RGB, and no data.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patchJPEGSize rewrites the dimensions in a JPEG's SOF0 header.
func patchJPEGSize(t *testing.T, b []byte, w, h uint16) []byte {
	b = append([]byte(nil), b...)
	for i := 2; i+9 < len(b); {
		if b[i] != 0xff {
			t.Fatal("lost JPEG marker sync")
		}
		m, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if m == 0xc0 || m == 0xc2 {
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
		i += 2 + n
	}
	t.Fatal("no SOF in JPEG")
	return nil
}

func TestDecodeErrors(t *testing.T) {
	png := readFixture(t, "rgb.png")
	jpg := readFixture(t, "rgb420.jpg")
	bmpb := readFixture(t, "rgb.bmp")
	gifb := readFixture(t, "p.gif")
	tif := readFixture(t, "rgb.tif")

	corrupt := append([]byte(nil), png...)
	corrupt[len(corrupt)-30] ^= 0xff // inside the IDAT: checksum mismatch
	bmpZero := append([]byte(nil), bmpb...)
	binary.LittleEndian.PutUint32(bmpZero[18:], 0)
	binary.LittleEndian.PutUint32(bmpZero[22:], 0)
	bmpHuge := append([]byte(nil), bmpb...)
	binary.LittleEndian.PutUint32(bmpHuge[18:], 20000)
	binary.LittleEndian.PutUint32(bmpHuge[22:], 20000)
	bmp16 := append([]byte(nil), bmpb...)
	binary.LittleEndian.PutUint16(bmp16[28:], 16)

	tests := []struct {
		name      string
		data      []byte
		maxPixels int
		want      error
		msg       string
	}{
		{"empty", nil, 0, ErrNotImage, "empty file"},
		{"text", []byte("name,score\nbottle,0.93\n"), 0, ErrNotImage, "unknown format"},
		{"one byte", []byte{0x89}, 0, ErrNotImage, ""},
		{"png signature only", png[:8], 0, ErrTruncated, ""},
		{"png header only", pngHeader(37, 23), 0, ErrTruncated, ""},
		{"png half", png[:len(png)/2], 0, ErrTruncated, ""},
		{"png corrupt", corrupt, 0, ErrCorrupt, ""},
		{"png zero width", pngHeader(0, 23), 0, ErrZeroSize, "0×23"},
		{"png zero height", pngHeader(5, 0), 0, ErrZeroSize, "5×0"},
		{"png 20000x20000 header", pngHeader(20000, 20000), 0, ErrTooLarge, "20000×20000"},
		{"png over a caller limit", png, 37*23 - 1, ErrTooLarge, "37×23"},
		{"png at a caller limit", png, 37 * 23, nil, ""},
		{"jpeg half", jpg[:len(jpg)/2], 0, ErrTruncated, ""},
		{"jpeg SOI only", jpg[:2], 0, ErrTruncated, ""},
		{"jpeg 20000x20000", patchJPEGSize(t, jpg, 20000, 20000), 0, ErrTooLarge, "20000×20000"},
		{"jpeg 65535x65535", patchJPEGSize(t, jpg, 65535, 65535), 0, ErrTooLarge, ""},
		{"bmp half", bmpb[:len(bmpb)/2], 0, ErrTruncated, ""},
		{"bmp zero", bmpZero, 0, ErrZeroSize, "0×0"},
		{"bmp 20000x20000", bmpHuge, 0, ErrTooLarge, ""},
		{"bmp 16-bit", bmp16, 0, ErrUnsupported, ""},
		{"gif half", gifb[:len(gifb)/2], 0, ErrTruncated, ""},
		{"tiff half", tif[:len(tif)/2], 0, ErrTruncated, ""},
		{"tiff header only", tif[:8], 0, ErrTruncated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "dir/" + strings.ReplaceAll(tt.name, " ", "_") + ".img"
			img, err := Decode(bytes.NewReader(tt.data), name, tt.maxPixels)
			if tt.want == nil {
				if err != nil || img.W == 0 {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode succeeded (%d×%d), want %v", img.W, img.H, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %q is not %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Name != name {
				t.Fatalf("error %q is not an *Error naming %s", err, name)
			}
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q should name %s and say %q", err, name, tt.msg)
			}
			t.Log(err)
		})
	}
}

func TestDecodeFileMissing(t *testing.T) {
	_, err := DecodeFile(testdata("no-such-file.png"), 0)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no-such-file.png") {
		t.Fatalf("DecodeFile of a missing file: %v", err)
	}
}

// A reader that hands out one byte at a time must decode the same: the
// header is replayed to the decoder, not re-read.
func TestDecodeShortReads(t *testing.T) {
	for _, name := range []string{"rgb.png", "rgb420.jpg", "rgb.tif", "p.gif", "rgb.bmp"} {
		b := readFixture(t, name)
		got, err := Decode(&oneByteReader{b}, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if d := compare(t, got, mustDecode(t, name)); d.differ != 0 {
			t.Errorf("%s: %d values differ when read a byte at a time", name, d.differ)
		}
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
