package render

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/reconpatch/rp/internal/atomicfile"
)

// WritePNG encodes img as PNG at path, atomically: it writes a temporary
// file in path's folder and renames it over path, so that readers never see
// a partial file. The file gets mode 0644.
func WritePNG(path string, img image.Image) error {
	return WritePNGText(path, img, nil)
}

// WritePNGText is WritePNG with tEXt chunks holding text (keywords of 1 to
// 79 printable Latin-1 characters, no NUL in values), written in keyword
// order before the image data.
func WritePNGText(path string, img image.Image, text map[string]string) error {
	data, err := EncodePNGText(img, text)
	if err != nil {
		return fmt.Errorf("render: %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// EncodePNGText returns img encoded as PNG with text chunks (see
// WritePNGText).
func EncodePNGText(img image.Image, text map[string]string) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	if len(text) == 0 {
		return b.Bytes(), nil
	}
	return addText(b.Bytes(), text)
}

// WriteMap16 writes a map encoded by Map16 (or Map16Scale) as a 16-bit PNG
// with its scale under MapScaleKey; ReadMapScale reads it back.
func WriteMap16(path string, img *image.Gray16, scale float32) error {
	return WritePNGText(path, img, map16Text(scale))
}

// EncodeMap16 is WriteMap16 into memory: the PNG bytes.
func EncodeMap16(img *image.Gray16, scale float32) ([]byte, error) {
	return EncodePNGText(img, map16Text(scale))
}

func map16Text(scale float32) map[string]string {
	return map[string]string{
		MapScaleKey: strconv.FormatFloat(float64(scale), 'g', -1, 32),
		"Software":  "rp (ReConPatch anomaly map; score = pixel / " + MapScaleKey + ")",
	}
}

// ReadMapScale returns the scale WriteMap16 stored in the PNG file at path.
func ReadMapScale(path string) (float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("render: %w", err)
	}
	defer f.Close()
	text, err := ReadPNGText(f)
	if err != nil {
		return 0, fmt.Errorf("render: %s: %w", path, err)
	}
	s, ok := text[MapScaleKey]
	if !ok {
		return 0, fmt.Errorf("render: %s: no %s text chunk (not written by WriteMap16)", path, MapScaleKey)
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, fmt.Errorf("render: %s: %s: %w", path, MapScaleKey, err)
	}
	return float32(v), nil
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// ReadPNGText returns the tEXt chunks of a PNG stream before its image data.
func ReadPNGText(r io.Reader) (map[string]string, error) {
	head := make([]byte, len(pngMagic))
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, pngMagic) {
		return nil, errors.New("not a PNG file")
	}
	text := map[string]string{}
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("truncated PNG: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:])
		if typ == "IDAT" || typ == "IEND" {
			return text, nil
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("PNG %s chunk of %d bytes", typ, n)
		}
		body := make([]byte, n+4) // and the CRC
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("truncated PNG: %w", err)
		}
		if typ == "tEXt" {
			if k, v, ok := bytes.Cut(body[:n], []byte{0}); ok {
				text[string(k)] = string(v)
			}
		}
	}
}

// addText inserts tEXt chunks after the IHDR chunk of an encoded PNG.
func addText(data []byte, text map[string]string) ([]byte, error) {
	const ihdrEnd = 8 + 8 + 13 + 4 // magic, length+type, IHDR body, CRC
	if len(data) < ihdrEnd || string(data[12:16]) != "IHDR" {
		return nil, errors.New("unexpected PNG encoding")
	}
	var chunks bytes.Buffer
	keys := make([]string, 0, len(text))
	for k := range text {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := text[k]
		if len(k) < 1 || len(k) > 79 || strings.ContainsAny(k, "\x00") || strings.Contains(v, "\x00") {
			return nil, fmt.Errorf("bad PNG text keyword or value %q", k)
		}
		body := append(append([]byte("tEXt"+k), 0), v...)
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(body)-4))
		chunks.Write(n[:])
		chunks.Write(body)
		binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(body))
		chunks.Write(n[:])
	}
	out := make([]byte, 0, len(data)+chunks.Len())
	out = append(out, data[:ihdrEnd]...)
	out = append(out, chunks.Bytes()...)
	return append(out, data[ihdrEnd:]...), nil
}
