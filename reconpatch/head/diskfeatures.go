package head

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// diskIOBytes bounds the buffer of one read or write of a DiskFeatures: a
// batch of rows is encoded, and a run of consecutive rows read, in pieces
// of at most this many bytes, so the store's own memory does not grow with
// the batch.
const diskIOBytes = 1 << 20

// DiskFeatures holds patch features in a temporary file instead of memory:
// rows of Dim values, little-endian float32 or (half) IEEE binary16, written
// once by Append and read back by Rows with ReadAt (pread), so the rows
// occupy the operating system's page cache, which it may drop, rather than
// the process's memory. The float32 rows read back are bit for bit the ones
// appended; half rows are rounded as Float16Features rounds them.
//
// The file is created in a cache folder and removed by Close. Where the
// system allows it (Unix), it is unlinked as soon as it is created, so that
// it disappears even if the process is killed; elsewhere Close removes it.
// A DiskFeatures is used by one goroutine at a time.
type DiskFeatures struct {
	d       int
	half    bool
	file    *os.File
	path    string
	removed bool // unlinked (or removed by Close)
	n       int  // rows written
	buf     []byte
	hbuf    []uint16
}

// NewDiskFeatures creates an empty store of rows of d values in a new
// temporary file in dir (os.TempDir() when dir is ""), float32 or, with
// half, float16.
func NewDiskFeatures(dir string, d int, half bool) (*DiskFeatures, error) {
	if d < 1 {
		return nil, fmt.Errorf("head: NewDiskFeatures: width %d < 1", d)
	}
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "rp-features-*.bin")
	if err != nil {
		return nil, fmt.Errorf("head: creating the feature cache file: %w", err)
	}
	s := &DiskFeatures{d: d, half: half, file: f, path: f.Name()}
	s.removed = os.Remove(s.path) == nil // the open descriptor keeps the data
	return s, nil
}

// elem is the size of one stored value in bytes.
func (s *DiskFeatures) elem() int {
	if s.half {
		return 2
	}
	return 4
}

// Append adds rows (a multiple of Dim values, such as one image's P×D
// features) at the end of the file. It fails, adding no row, if the
// values are not whole rows, if (half) a value is NaN or overflows the
// half range, or if the write fails (a full disk).
func (s *DiskFeatures) Append(rows []float32) error {
	if s.file == nil {
		return errors.New("head: DiskFeatures.Append: the store is closed")
	}
	if len(rows)%s.d != 0 {
		return fmt.Errorf("head: DiskFeatures.Append: %d values are not rows of %d", len(rows), s.d)
	}
	es := s.elem()
	off := int64(s.n) * int64(s.d) * int64(es)
	step := max(1, diskIOBytes/es)
	for lo := 0; lo < len(rows); lo += step {
		part := rows[lo:min(lo+step, len(rows))]
		b := s.grow(len(part) * es)
		if s.half {
			h := s.halfBuf(len(part))
			if i := toHalf(h, part); i >= 0 {
				return fmt.Errorf("head: DiskFeatures.Append: value %v (row %d of the batch) is not a finite half", part[i], (lo+i)/s.d)
			}
			for i, v := range h {
				binary.LittleEndian.PutUint16(b[2*i:], v)
			}
		} else {
			for i, v := range part {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
			}
		}
		// WriteAt at the end of the rows written so far: a failed
		// append leaves n as it was and the next one overwrites it.
		if _, err := s.file.WriteAt(b, off+int64(lo*es)); err != nil {
			return fmt.Errorf("head: writing the feature cache %s: %w", s.path, err)
		}
	}
	s.n += len(rows) / s.d
	return nil
}

// Len is the number of rows.
func (s *DiskFeatures) Len() int { return s.n }

// Dim is the width of a row.
func (s *DiskFeatures) Dim() int { return s.d }

// Half reports whether the rows are stored as float16.
func (s *DiskFeatures) Half() bool { return s.half }

// Bytes is the size of the stored rows in the file.
func (s *DiskFeatures) Bytes() int64 { return int64(s.n) * int64(s.d) * int64(s.elem()) }

// Path is the name the file was created with (already removed where the
// system allows an open file to be).
func (s *DiskFeatures) Path() string { return s.path }

// Rows reads the rows idx into dst. Consecutive indices are read together,
// so that reading rows lo, lo+1, …, hi−1 in order streams the file.
func (s *DiskFeatures) Rows(idx []int, dst []float32) error {
	if s.file == nil {
		return errors.New("head: DiskFeatures.Rows: the store is closed")
	}
	if err := checkRows("DiskFeatures", s.n, s.d, idx, dst); err != nil {
		return err
	}
	es := s.elem()
	rowBytes := s.d * es
	perRead := max(1, diskIOBytes/rowBytes) // rows per ReadAt
	for r := 0; r < len(idx); {
		// The run idx[r:e] of consecutive rows, at most perRead long.
		e := r + 1
		for e < len(idx) && e-r < perRead && idx[e] == idx[e-1]+1 {
			e++
		}
		b := s.grow((e - r) * rowBytes)
		if _, err := s.file.ReadAt(b, int64(idx[r])*int64(rowBytes)); err != nil {
			return fmt.Errorf("head: reading the feature cache %s (rows %d…%d): %w", s.path, idx[r], idx[e-1], err)
		}
		out := dst[r*s.d : e*s.d]
		if s.half {
			tab := halfTable()
			for i := range out {
				out[i] = tab[binary.LittleEndian.Uint16(b[2*i:])]
			}
		} else {
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		r = e
	}
	return nil
}

// Close closes and removes the file. Rows and Append fail after it; a
// second Close does nothing.
func (s *DiskFeatures) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file, s.buf, s.hbuf = nil, nil, nil
	if !s.removed {
		s.removed = true
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("head: closing the feature cache %s: %w", s.path, err)
	}
	return nil
}

// grow returns the byte buffer resized to n bytes.
func (s *DiskFeatures) grow(n int) []byte {
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	return s.buf[:n]
}

// halfBuf returns the half buffer resized to n values.
func (s *DiskFeatures) halfBuf(n int) []uint16 {
	if cap(s.hbuf) < n {
		s.hbuf = make([]uint16, n)
	}
	return s.hbuf[:n]
}
