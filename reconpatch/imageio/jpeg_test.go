package imageio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// jpegSegments returns the offset of each marker's 0xFF in b, up to and
// including the first SOS, keyed by marker code (the last one wins).
func jpegSegments(t *testing.T, b []byte) map[byte]int {
	t.Helper()
	at := map[byte]int{}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatal("lost JPEG marker sync")
		}
		m := b[i+1]
		at[m] = i
		if m == mSOS {
			return at
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	t.Fatal("no SOS in JPEG")
	return nil
}

// entropyStart is the offset of the first scan's entropy-coded data.
func entropyStart(t *testing.T, b []byte) int {
	sos := jpegSegments(t, b)[mSOS]
	return sos + 2 + (int(b[sos+2])<<8 | int(b[sos+3]))
}

func TestDecodeJPEGErrors(t *testing.T) {
	restart := readFixture(t, "rgb420_restart.jpg")
	progressive := readFixture(t, "rgb_progressive.jpg")
	baseline := readFixture(t, "rgb420.jpg")
	edit := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}

	badRST := edit(restart, func(b []byte) {
		i := entropyStart(t, b) + bytes.Index(b[entropyStart(t, b):], []byte{0xFF, mRST0})
		b[i+1] = mRST0 + 3
	})
	// All-ones bits: no Huffman code is all ones (T.81 C), so the first
	// lookup past 16 bits fails.
	badCode := edit(baseline, func(b []byte) {
		s := entropyStart(t, b)
		for i := s; i+1 < s+40; i += 2 {
			b[i], b[i+1] = 0xFF, 0x00
		}
	})
	noTable := edit(baseline, func(b []byte) {
		sos := jpegSegments(t, b)[mSOS]
		b[sos+6] = 0x33 // component 1 uses DC and AC table 3: never defined
	})
	arithmetic := edit(baseline, func(b []byte) { b[jpegSegments(t, b)[mSOF0]+1] = 0xC9 })
	precision12 := edit(baseline, func(b []byte) { b[jpegSegments(t, b)[mSOF0]+4] = 12 })
	badSampling := edit(baseline, func(b []byte) { b[jpegSegments(t, b)[mSOF0]+11] = 0x51 })
	noEOI := baseline[:len(baseline)-2]

	tests := []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"bad restart marker", badRST, ErrCorrupt, "bad RST marker"},
		{"bad Huffman code", badCode, ErrCorrupt, "bad Huffman code"},
		{"undefined Huffman table", noTable, ErrCorrupt, "undefined Huffman table"},
		{"sampling factor 5", badSampling, ErrCorrupt, "subsampling"},
		{"progressive half", progressive[:len(progressive)/2], ErrTruncated, ""},
		{"progressive first scan only", progressive[:entropyStart(t, progressive)+10], ErrTruncated, ""},
		{"restart half", restart[:len(restart)/2], ErrTruncated, ""},
		{"no EOI", noEOI, ErrTruncated, ""},
		{"arithmetic coding", arithmetic, ErrUnsupported, ""},
		{"12-bit", precision12, ErrUnsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(tt.data), "x.jpg", 0)
			if err == nil {
				t.Fatalf("Decode succeeded (%d×%d), want %v", img.W, img.H, tt.want)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q, want %v saying %q", err, tt.want, tt.msg)
			}
			t.Log(err)
		})
	}
}

// Every JPEG fixture but the CMYK one is decoded here, not by image/jpeg.
func TestDecodeJPEGNoFallback(t *testing.T) {
	for _, c := range casesOf(t, "decode") {
		if !strings.HasSuffix(c.Src, ".jpg") || c.PILMode == "CMYK" {
			continue
		}
		if _, err := decodeJPEGExact(readFixture(t, c.Src)); err != nil {
			t.Errorf("%s: %v", c.Src, err)
		}
	}
}
