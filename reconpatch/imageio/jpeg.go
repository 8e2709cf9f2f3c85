package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
)

// A JPEG decoder that reproduces libjpeg-turbo's output, as PIL sees it,
// bit for bit. Go's image/jpeg uses another IDCT (a fast one after the MPEG
// reference) whose rounding differs from libjpeg's default "islow" IDCT by
// one grey level on about 2 % of samples; a frozen backbone turns that into
// feature differences of a few per cent, enough to move a detector's AUROC
// by half a point (docs/RESULTS.md). So baseline, extended sequential and
// progressive Huffman-coded 8-bit JPEGs with one (grey) or three (YCbCr or
// RGB) components are decoded here:
//
//   - entropy decoding as jdhuff.c and jdphuff.c: DC predictors wrap as C
//     ints, each coefficient is stored as a 16-bit JCOEF, and a run past
//     the 64th coefficient lands on the last one (jpeg_natural_order's
//     guard entries); a progressive file's quantisation tables are latched
//     at each component's first scan;
//   - dequantisation and the IDCT of jidctint.c (Loeffler–Ligtenberg–
//     Moschytz, 13-bit constants, two passes, range limiting through
//     sample_range_limit);
//   - the colour space chosen as jdapimin.c chooses it (JFIF means YCbCr,
//     then the Adobe transform flag, then the component identifiers), and
//     the upsampling and colour conversion of ycbcr.go.
//
// Not reproduced: libjpeg's block smoothing, which it applies only to a
// progressive file whose scans leave low-frequency coefficients unrefined
// (an encoder that stops early); such a file decodes here unsmoothed. A
// file that ends without its EOI is refused as truncated.
//
// Everything else — lossless, hierarchical and arithmetic-coded files,
// 12-bit samples, CMYK/YCCK and unusual sampling layouts — goes to Go's
// image/jpeg, which decodes CMYK files within the ±1 of its IDCT and
// refuses the rest.

// errJPEGFallback reports a file this decoder leaves to image/jpeg.
var errJPEGFallback = errors.New("jpeg: left to image/jpeg")

// decodeJPEG is the "jpeg" entry of formats: the libjpeg-exact decoder,
// or image/jpeg for the files it does not take.
func decodeJPEG(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	img, err := decodeJPEGExact(data)
	if errors.Is(err, errJPEGFallback) {
		return jpeg.Decode(bytes.NewReader(data))
	}
	return img, err
}

// JPEG markers (ITU T.81 table B.1).
const (
	mSOF0 = 0xC0 // baseline sequential, Huffman
	mSOF1 = 0xC1 // extended sequential, Huffman
	mSOF2 = 0xC2 // progressive, Huffman
	mDHT  = 0xC4
	mRST0 = 0xD0
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
)

type jpegComponent struct {
	id     uint8
	h, v   int // sampling factors
	tq     int // quantisation table
	bw, bh int // blocks across and down the padded plane (whole MCUs)
	pix    []uint8
	coefs  []int16   // progressive: every block's coefficients, natural order
	quant  [64]int32 // the quantisation table latched at its first scan
	pred   int32     // DC predictor, a C int in libjpeg
	scans  int       // scans that carried this component
}

type jpegDecoder struct {
	data          []byte
	pos           int
	width, height int
	comps         []jpegComponent
	hmax, vmax    int
	mcusX, mcusY  int
	quant         [4][64]int32 // natural order, as ISLOW_MULT_TYPE (short)
	haveQuant     [4]bool
	huff          [2][4]*huffTable // [class: 0 DC, 1 AC][slot]
	restart       int
	sawJFIF       bool
	sawAdobe      bool
	adobeXform    byte
	progressive   bool
	bits          bitReader
}

func jpegCorrupt(format string, a ...any) error {
	return jpeg.FormatError(fmt.Sprintf(format, a...))
}

// decodeJPEGExact decodes data as libjpeg-turbo does, or returns
// errJPEGFallback for a file outside this decoder's scope.
func decodeJPEGExact(data []byte) (image.Image, error) {
	d := &jpegDecoder{data: data}
	if len(data) < 2 || data[0] != 0xFF || data[1] != mSOI {
		return nil, jpegCorrupt("missing SOI marker")
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			return nil, err
		}
		switch {
		case m == mEOI:
			return d.image()
		case m == mSOI, m >= mRST0 && m < mRST0+8, m == 0x01:
			continue // no segment follows (TEM, stray RST, a second SOI)
		}
		seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch {
		case m == mSOF0 || m == mSOF1 || m == mSOF2:
			if d.comps != nil {
				return nil, jpegCorrupt("more than one SOF marker")
			}
			d.progressive = m == mSOF2
			if err := d.readSOF(seg); err != nil {
				return nil, err
			}
		case m >= 0xC3 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
			return nil, errJPEGFallback // lossless, hierarchical, arithmetic
		case m == mDHT:
			if err := d.readDHT(seg); err != nil {
				return nil, err
			}
		case m == mDQT:
			if err := d.readDQT(seg); err != nil {
				return nil, err
			}
		case m == mDRI:
			if len(seg) != 2 {
				return nil, jpegCorrupt("DRI segment of %d bytes", len(seg))
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == mDNL:
			return nil, errJPEGFallback
		case m == mAPP0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				d.sawJFIF = true
			}
		case m == mAPPE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.sawAdobe, d.adobeXform = true, seg[11]
			}
		case m == mSOS:
			if d.comps == nil {
				return nil, jpegCorrupt("SOS before SOF")
			}
			if err := d.readScan(seg); err != nil {
				return nil, err
			}
		}
	}
}

// nextMarker skips to the next marker and returns its code. Bytes that are
// not part of a marker are skipped, as libjpeg's next_marker does (with a
// warning there).
func (d *jpegDecoder) nextMarker() (byte, error) {
	for {
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++ // a marker may be preceded by fill bytes
		}
		if d.pos >= len(d.data) {
			return 0, io.ErrUnexpectedEOF
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// segment returns the payload of the marker segment at d.pos.
func (d *jpegDecoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, io.ErrUnexpectedEOF
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 {
		return nil, jpegCorrupt("marker segment length %d", n)
	}
	if d.pos+n > len(d.data) {
		return nil, io.ErrUnexpectedEOF
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

func (d *jpegDecoder) readSOF(seg []byte) error {
	if len(seg) < 6 {
		return jpegCorrupt("SOF segment of %d bytes", len(seg))
	}
	precision, nc := seg[0], int(seg[5])
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	if len(seg) != 6+3*nc {
		return jpegCorrupt("SOF segment of %d bytes for %d components", len(seg), nc)
	}
	if precision != 8 || (nc != 1 && nc != 3) || d.height == 0 {
		return errJPEGFallback // 12-bit, CMYK, DNL-sized: image/jpeg decides
	}
	if d.width == 0 {
		return jpegCorrupt("zero width")
	}
	d.comps = make([]jpegComponent, nc)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		p := seg[6+3*i:]
		c.id, c.h, c.v, c.tq = p[0], int(p[1]>>4), int(p[1]&15), int(p[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return jpegCorrupt("component %d: sampling factors %d×%d", c.id, c.h, c.v)
		}
		if c.tq > 3 {
			return jpegCorrupt("component %d: quantisation table %d", c.id, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return jpegCorrupt("repeated component identifier %d", c.id)
			}
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if nc == 1 {
		// A single component is never interleaved: its MCU is one block
		// whatever its sampling factors say.
		d.comps[0].h, d.comps[0].v, d.hmax, d.vmax = 1, 1, 1, 1
	}
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.pix = make([]uint8, c.bw*8*c.bh*8)
		if d.progressive {
			c.coefs = make([]int16, c.bw*c.bh*64)
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (d *jpegDecoder) readDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, int(seg[0]&15)
		if pq > 1 || tq > 3 {
			return jpegCorrupt("DQT precision %d, table %d", pq, tq)
		}
		n := 64 << pq
		if len(seg) < 1+n {
			return jpegCorrupt("short DQT segment")
		}
		for k := 0; k < 64; k++ {
			v := uint16(seg[1+k])
			if pq == 1 {
				v = binary.BigEndian.Uint16(seg[1+2*k:])
			}
			// Stored in zigzag order; libjpeg keeps a UINT16 and the islow
			// IDCT multiplies by it as a short.
			d.quant[tq][unzig[k]] = int32(int16(v))
		}
		d.haveQuant[tq] = true
		seg = seg[1+n:]
	}
	return nil
}

func (d *jpegDecoder) readDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return jpegCorrupt("short DHT segment")
		}
		tc, th := int(seg[0]>>4), int(seg[0]&15)
		if tc > 1 || th > 3 {
			return jpegCorrupt("DHT class %d, table %d", tc, th)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total > 256 || len(seg) < 17+total {
			return jpegCorrupt("DHT table of %d codes", total)
		}
		t, err := newHuffTable(&counts, seg[17:17+total])
		if err != nil {
			return err
		}
		d.huff[tc][th] = t
		seg = seg[17+total:]
	}
	return nil
}

// scanComponent is one component of a scan with its Huffman tables.
type scanComponent struct {
	c      *jpegComponent
	dc, ac *huffTable
}

// idct dequantises coef by the component's latched table and writes block
// (bx, by) of its plane.
func (c *jpegComponent) idct(coef *[64]int32, bx, by int) {
	stride := c.bw * 8
	idctIslow(coef, &c.quant, c.pix[by*8*stride+bx*8:], stride)
}

func (d *jpegDecoder) readScan(seg []byte) error {
	if len(seg) < 1 {
		return jpegCorrupt("empty SOS segment")
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return jpegCorrupt("SOS segment of %d bytes for %d components", len(seg), ns)
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	ah, al := uint(seg[3+2*ns]>>4), uint(seg[3+2*ns]&15)
	switch {
	case !d.progressive && (ss != 0 || se != 63 || ah != 0 || al != 0):
		return jpegCorrupt("sequential scan with spectral selection %d..%d, approximation %d/%d", ss, se, ah, al)
	case d.progressive && (ss > se || se > 63 || ss == 0 && se != 0 || ss > 0 && ns != 1 || ah > 13 || al > 13):
		return jpegCorrupt("progressive scan with spectral selection %d..%d, approximation %d/%d, %d components",
			ss, se, ah, al, ns)
	}
	// A progressive DC scan needs no AC table, an AC scan no DC table,
	// and a DC refinement none.
	needDC := !d.progressive || ss == 0 && ah == 0
	needAC := !d.progressive || ss > 0
	sc := make([]scanComponent, ns)
	blocks := 0
	for i := range sc {
		id, tables := seg[1+2*i], seg[2+2*i]
		var c *jpegComponent
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return jpegCorrupt("scan names unknown component %d", id)
		}
		for j := 0; j < i; j++ {
			if sc[j].c == c {
				return jpegCorrupt("scan names component %d twice", id)
			}
		}
		dc, ac := d.huff[0][tables>>4&3], d.huff[1][tables&3]
		if needDC && (tables>>4 > 3 || dc == nil) || needAC && (tables&15 > 3 || ac == nil) {
			return jpegCorrupt("component %d: undefined Huffman table", id)
		}
		if !d.haveQuant[c.tq] {
			return jpegCorrupt("component %d: undefined quantisation table %d", id, c.tq)
		}
		if c.scans == 0 {
			// libjpeg latches a component's table at its first scan.
			c.quant = d.quant[c.tq]
		}
		sc[i] = scanComponent{c: c, dc: dc, ac: ac}
		blocks += c.h * c.v
		c.pred = 0
		c.scans++
	}
	if ns > 1 && blocks > 10 {
		return jpegCorrupt("%d blocks per MCU", blocks)
	}

	d.bits = bitReader{data: d.data, pos: d.pos}
	var coef [64]int32
	decode := func(s *scanComponent, bx, by int) error {
		c := s.c
		if d.progressive {
			blk := c.coefs[(by*c.bw+bx)*64:][:64]
			switch {
			case ss == 0 && ah == 0:
				return d.bits.dcFirst(s, blk, al)
			case ss == 0:
				return d.bits.dcRefine(blk, al)
			case ah == 0:
				return d.bits.acFirst(s, blk, ss, se, al)
			default:
				return d.bits.acRefine(s, blk, ss, se, al)
			}
		}
		if err := d.bits.decodeBlock(s, &coef); err != nil {
			return err
		}
		c.idct(&coef, bx, by)
		return nil
	}
	var nMCU, perRow int
	if ns == 1 {
		// A non-interleaved scan covers the component's own blocks, not
		// the whole MCU grid (T.81 A.2.2).
		c := sc[0].c
		perRow = ceilDiv(ceilDiv(d.width*c.h, d.hmax), 8)
		nMCU = perRow * ceilDiv(ceilDiv(d.height*c.v, d.vmax), 8)
	} else {
		perRow, nMCU = d.mcusX, d.mcusX*d.mcusY
	}
	for m := 0; m < nMCU; m++ {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			if err := d.bits.restart((m/d.restart - 1) & 7); err != nil {
				return err
			}
			for i := range sc {
				sc[i].c.pred = 0
			}
		}
		mx, my := m%perRow, m/perRow
		if ns == 1 {
			if err := decode(&sc[0], mx, my); err != nil {
				return err
			}
			continue
		}
		for i := range sc {
			c := sc[i].c
			for v := 0; v < c.v; v++ {
				for h := 0; h < c.h; h++ {
					if err := decode(&sc[i], mx*c.h+h, my*c.v+v); err != nil {
						return err
					}
				}
			}
		}
	}
	d.pos = d.bits.pos
	return nil
}

// image returns the decoded picture once EOI is reached.
func (d *jpegDecoder) image() (image.Image, error) {
	if d.comps == nil {
		return nil, jpegCorrupt("missing SOF marker")
	}
	for i := range d.comps {
		c := &d.comps[i]
		if c.scans == 0 {
			return nil, jpegCorrupt("no scan for component %d", c.id)
		}
		if d.progressive {
			var coef [64]int32
			for by := 0; by < c.bh; by++ {
				for bx := 0; bx < c.bw; bx++ {
					for k, v := range c.coefs[(by*c.bw+bx)*64:][:64] {
						coef[k] = int32(v)
					}
					c.idct(&coef, bx, by)
				}
			}
		}
	}
	rect := image.Rect(0, 0, d.width, d.height)
	if len(d.comps) == 1 {
		c := d.comps[0]
		return &image.Gray{Pix: c.pix, Stride: c.bw * 8, Rect: rect}, nil
	}
	y, cb, cr := d.comps[0], d.comps[1], d.comps[2]
	if d.isRGB() {
		if y.h != d.hmax || y.v != d.vmax || cb.h != y.h || cb.v != y.v || cr.h != y.h || cr.v != y.v {
			return nil, errJPEGFallback
		}
		out := image.NewRGBA(rect)
		for row := 0; row < d.height; row++ {
			o := out.Pix[row*out.Stride:]
			off := row * y.bw * 8
			for x := 0; x < d.width; x++ {
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = y.pix[off+x], cb.pix[off+x], cr.pix[off+x], 255
			}
		}
		return out, nil
	}
	if y.h != d.hmax || y.v != d.vmax || cb.h != cr.h || cb.v != cr.v || y.h%cb.h != 0 || y.v%cb.v != 0 {
		return nil, errJPEGFallback
	}
	for _, s := range subsamplings {
		if s.hf == y.h/cb.h && s.vf == y.v/cb.v {
			return &image.YCbCr{Y: y.pix, Cb: cb.pix, Cr: cr.pix, YStride: y.bw * 8, CStride: cb.bw * 8,
				SubsampleRatio: s.ratio, Rect: rect}, nil
		}
	}
	return nil, errJPEGFallback
}

// isRGB reports whether a three-component file holds RGB rather than YCbCr,
// by libjpeg's rules (default_decompress_parms in jdapimin.c).
func (d *jpegDecoder) isRGB() bool {
	switch {
	case d.sawJFIF:
		return false
	case d.sawAdobe:
		return d.adobeXform == 0
	}
	return d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}

// unzig maps a coefficient's zigzag index to its natural (row-major)
// index; the 16 entries past 63 are libjpeg's guard for corrupt runs.
var unzig = [80]int{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
	63, 63, 63, 63, 63, 63, 63, 63,
}
