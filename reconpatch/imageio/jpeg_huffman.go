package imageio

import "io"

// huffLookahead is how many bits the fast Huffman lookup indexes by.
const huffLookahead = 9

// huffTable is one decoding table built from a DHT segment.
type huffTable struct {
	// look[b], for the next huffLookahead bits b, is length<<8 | value of
	// the code they start with, or 0 if that code is longer.
	look    [1 << huffLookahead]uint16
	maxCode [18]int32 // largest code of each length, -1 if none; [17] is a sentinel
	valPtr  [17]int32 // index in vals of the first code of each length, minus that code
	vals    []uint8
}

// newHuffTable builds the canonical code of T.81 annex C from the number of
// codes of each length and their values, refusing a table whose codes do
// not fit their lengths (libjpeg's "Bad Huffman table").
func newHuffTable(counts *[17]int, vals []uint8) (*huffTable, error) {
	t := &huffTable{vals: append([]uint8(nil), vals...)}
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		t.valPtr[l] = int32(k) - code
		if counts[l] == 0 {
			t.maxCode[l] = -1
		} else {
			for i := 0; i < counts[l]; i++ {
				if code >= 1<<l {
					return nil, jpegCorrupt("bad Huffman table")
				}
				if l <= huffLookahead {
					shift := huffLookahead - l
					for b := code << shift; b < (code+1)<<shift; b++ {
						t.look[b] = uint16(l)<<8 | uint16(vals[k])
					}
				}
				code++
				k++
			}
			t.maxCode[l] = code - 1
		}
		if code >= 1<<l { // no code may be all ones (jdhuff.c)
			return nil, jpegCorrupt("bad Huffman table")
		}
		code <<= 1
	}
	t.maxCode[17] = 0x7FFFFFFF
	return t, nil
}

// bitReader reads the entropy-coded data of a scan, most significant bit
// first, undoing the 0xFF 0x00 stuffing. At a marker or the end of the data
// it feeds zero bits (as libjpeg does) and remembers that it did: a block
// that consumes any of them was cut short.
type bitReader struct {
	data   []byte
	pos    int    // next byte to read; at a marker's 0xFF once one is hit
	acc    uint64 // the low n bits are the next bits of the stream
	n      uint
	hit    bool // a marker or the end of the data was reached
	padded uint // zero bits fed after that
	eobrun int  // blocks left in a progressive end-of-band run
}

// fill tops the accumulator up to at least 57 bits.
func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		switch {
		case b.hit:
			b.padded += 8
		case b.pos >= len(b.data):
			b.hit = true
			b.padded += 8
		case b.data[b.pos] != 0xFF:
			c = b.data[b.pos]
			b.pos++
		default:
			// 0xFF: stuffed data (0xFF, any fill 0xFFs, 0x00) or a marker.
			p := b.pos + 1
			for p < len(b.data) && b.data[p] == 0xFF {
				p++
			}
			if p < len(b.data) && b.data[p] == 0 {
				c = 0xFF
				b.pos = p + 1
			} else {
				b.hit = true
				b.padded += 8
			}
		}
		b.acc = b.acc<<8 | uint64(c)
		b.n += 8
	}
}

// short reports whether the bits consumed so far ran past the real data.
func (b *bitReader) short() bool { return b.n < b.padded }

// bits reads the next k ≤ 16 bits; the accumulator must hold them.
func (b *bitReader) bits(k uint) int32 {
	b.n -= k
	return int32(b.acc>>b.n) & (1<<k - 1)
}

// decode reads one Huffman-coded value; the accumulator must hold 16 bits.
func (b *bitReader) decode(t *huffTable) (int32, error) {
	if e := t.look[(b.acc>>(b.n-huffLookahead))&(1<<huffLookahead-1)]; e != 0 {
		b.n -= uint(e >> 8)
		return int32(e & 0xFF), nil
	}
	code := int32(b.acc>>(b.n-huffLookahead)) & (1<<huffLookahead - 1)
	l := huffLookahead
	for {
		l++
		code = code<<1 | int32(b.acc>>(b.n-uint(l)))&1
		if l > 16 {
			return 0, jpegCorrupt("bad Huffman code")
		}
		if code <= t.maxCode[l] {
			b.n -= uint(l)
			return int32(t.vals[t.valPtr[l]+code]), nil
		}
	}
}

// extend turns the k-bit magnitude category value v into a signed
// coefficient (T.81 F.2.2.1).
func extend(v int32, k uint) int32 {
	if k == 0 {
		return 0
	}
	if v < 1<<(k-1) {
		v += -1<<k + 1
	}
	return v
}

// next reads one Huffman-coded value, refilling the accumulator first so
// that the code and up to 16 bits after it are at hand.
func (b *bitReader) next(t *huffTable) (int32, error) {
	if b.n < 32 {
		b.fill()
	}
	return b.decode(t)
}

// dc reads a DC difference and adds it to the component's predictor, which
// wraps as libjpeg's C int does.
func (b *bitReader) dc(s *scanComponent) error {
	t, err := b.next(s.dc)
	if err != nil {
		return err
	}
	if t > 16 {
		return jpegCorrupt("DC difference of %d bits", t)
	}
	s.c.pred = int32(uint32(s.c.pred) + uint32(extend(b.bits(uint(t)), uint(t))))
	return nil
}

// decodeBlock reads one 8×8 block of quantised coefficients into coef,
// natural order, as jdhuff.c's decode_mcu does: each coefficient is stored
// as a 16-bit JCOEF.
func (b *bitReader) decodeBlock(s *scanComponent, coef *[64]int32) error {
	*coef = [64]int32{}
	if err := b.dc(s); err != nil {
		return err
	}
	coef[0] = int32(int16(s.c.pred))
	for k := 1; k < 64; k++ {
		rs, err := b.next(s.ac)
		if err != nil {
			return err
		}
		r, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if r != 15 {
				break // end of block
			}
			k += 15
			continue
		}
		k += r
		coef[unzig[min(k, 79)]] = int32(int16(extend(b.bits(size), size)))
	}
	return b.check()
}

// restart discards the bits left before a restart marker, checks that the
// marker is RSTn and resumes after it.
func (b *bitReader) restart(n int) error {
	if !b.hit {
		// The rest of the interval's last byte is padding; skip to the marker.
		for {
			for b.pos < len(b.data) && b.data[b.pos] != 0xFF {
				b.pos++
			}
			p := b.pos + 1
			for p < len(b.data) && b.data[p] == 0xFF {
				p++
			}
			if p >= len(b.data) {
				return io.ErrUnexpectedEOF
			}
			if b.data[p] != 0 {
				break
			}
			b.pos = p + 1
		}
	}
	p := b.pos
	for p < len(b.data) && b.data[p] == 0xFF {
		p++
	}
	if p >= len(b.data) {
		return io.ErrUnexpectedEOF
	}
	if b.data[p] != mRST0+byte(n) {
		return jpegCorrupt("bad RST marker %#02x, want %#02x", b.data[p], mRST0+byte(n))
	}
	*b = bitReader{data: b.data, pos: p + 1}
	return nil
}

// The four kinds of progressive scan (T.81 G.1.2; jdphuff.c). blk is one
// block's coefficients in natural order, kept between scans as 16-bit
// JCOEFs; ss..se is the scan's spectral band, al its point transform.

// dcFirst decodes a block's DC coefficient, shifted left by al.
func (b *bitReader) dcFirst(s *scanComponent, blk []int16, al uint) error {
	if err := b.dc(s); err != nil {
		return err
	}
	blk[0] = int16(s.c.pred << al)
	return b.check()
}

// dcRefine adds bit al of the DC coefficient.
func (b *bitReader) dcRefine(blk []int16, al uint) error {
	if b.n < 32 {
		b.fill()
	}
	if b.bits(1) != 0 {
		blk[0] |= 1 << al
	}
	return b.check()
}

// acFirst decodes the first approximation of the AC band ss..se.
func (b *bitReader) acFirst(s *scanComponent, blk []int16, ss, se int, al uint) error {
	if b.eobrun > 0 {
		b.eobrun--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, err := b.next(s.ac)
		if err != nil {
			return err
		}
		r, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if r != 15 {
				b.eobrun = 1 << r
				if r > 0 {
					b.eobrun += int(b.bits(uint(r)))
				}
				b.eobrun--
				break
			}
			k += 15
			continue
		}
		k += r
		blk[unzig[min(k, 79)]] = int16(extend(b.bits(size), size) << al)
	}
	return b.check()
}

// acRefine adds bit al to the AC band ss..se: correction bits for
// coefficients already nonzero, ±1<<al for those that become nonzero.
func (b *bitReader) acRefine(s *scanComponent, blk []int16, ss, se int, al uint) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	correct := func(c *int16) {
		if b.n < 32 {
			b.fill()
		}
		if b.bits(1) != 0 && *c&p1 == 0 {
			if *c >= 0 {
				*c += p1
			} else {
				*c += m1
			}
		}
	}
	k := ss
	if b.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := b.next(s.ac)
			if err != nil {
				return err
			}
			r, size := int(rs>>4), rs&15
			var v int16
			if size != 0 {
				// The size of a newly nonzero coefficient is 1 (libjpeg
				// warns and goes on otherwise); the next bit is its sign.
				if b.bits(1) != 0 {
					v = p1
				} else {
					v = m1
				}
			} else if r != 15 {
				b.eobrun = 1 << r
				if r > 0 {
					b.eobrun += int(b.bits(uint(r)))
				}
				break
			}
			// Pass over r zero coefficients, correcting the nonzero ones
			// on the way, and stop at the next zero one.
			for ; k <= se; k++ {
				c := &blk[unzig[k]]
				if *c != 0 {
					correct(c)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if v != 0 {
				blk[unzig[min(k, 79)]] = v
			}
		}
	}
	if b.eobrun > 0 {
		for ; k <= se; k++ {
			if c := &blk[unzig[k]]; *c != 0 {
				correct(c)
			}
		}
		b.eobrun--
	}
	return b.check()
}

// check reports a block that consumed bits past the end of the data.
func (b *bitReader) check() error {
	if b.short() {
		return io.ErrUnexpectedEOF
	}
	return nil
}
