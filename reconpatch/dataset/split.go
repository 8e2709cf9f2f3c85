package dataset

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// DefaultHoldOut is the fraction of train/good held out for thresholds and
// score normalisation when there is no validation/good folder (spec section
// 12).
const DefaultHoldOut = 0.1

// HoldOut splits samples into a kept part (for the memory bank) and a
// held-out part of round(fraction·n) samples chosen at random by seed — at
// least one when fraction > 0 and n ≥ 2, and never all of them. Both parts
// keep the input order. The same samples, fraction and seed give the same
// split on every platform and Go version (the generator is SplitMix64 and
// the shuffle is written here, not taken from math/rand).
//
// fraction must be in [0, 1).
func HoldOut(samples []Sample, fraction float64, seed uint64) (keep, held []Sample, err error) {
	if !(fraction >= 0 && fraction < 1) {
		return nil, nil, fmt.Errorf("dataset: hold-out fraction %g is not in [0, 1)", fraction)
	}
	n := len(samples)
	k := int(math.Round(fraction * float64(n)))
	if fraction > 0 && n >= 2 {
		k = max(k, 1)
	}
	k = min(k, max(n-1, 0))
	if k == 0 {
		return slices.Clone(samples), nil, nil
	}
	// A partial Fisher–Yates shuffle draws k distinct indices.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	r := splitMix64(seed)
	for i := range k {
		j := i + int(r.below(uint64(n-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	pick := make([]bool, n)
	for _, i := range idx[:k] {
		pick[i] = true
	}
	keep = make([]Sample, 0, n-k)
	held = make([]Sample, 0, k)
	for i, s := range samples {
		if pick[i] {
			held = append(held, s)
		} else {
			keep = append(keep, s)
		}
	}
	return keep, held, nil
}

// Split returns the training images for the memory bank and the held-out
// good images for thresholds and normalisation: Train and Validation when
// the data set has a validation/good folder, otherwise
// HoldOut(Train, fraction, seed).
func (d *Dataset) Split(fraction float64, seed uint64) (bank, holdout []Sample, err error) {
	if len(d.Validation) > 0 {
		return slices.Clone(d.Train), slices.Clone(d.Validation), nil
	}
	return HoldOut(d.Train, fraction, seed)
}

// splitMix64 is Steele, Lea & Flood's SplitMix64 generator.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// below returns a uniform value in [0, n), n > 0, by Lemire's multiply and
// reject method.
func (s *splitMix64) below(n uint64) uint64 {
	hi, lo := bits.Mul64(s.next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(s.next(), n)
		}
	}
	return hi
}
