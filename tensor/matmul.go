package tensor

import (
	"fmt"
	"sync"

	"github.com/reconpatch/rp/simd"
)

// MatMul returns the matrix product of a and b, computed by simd.Sgemm.
//
// Both operands need at least two dimensions. The last two are the matrices,
// m×k for a and k×n for b; any leading dimensions are batch dimensions, which
// broadcast as NumPy's matmul does, so a [B m k] times a [k n] multiplies every
// matrix of a by b, and [B m k] times [1 k n] does the same.
// Shape: [batch… m k] × [batch… k n] → [batch… m n].
//
// Matrices whose last two dimensions are row-major or a plain transpose of
// row-major data (as Transpose(-2, -1) of a contiguous tensor gives) go to
// Sgemm as they are, with the transpose flag set as needed; other layouts are
// copied first. It panics if the inner dimensions differ or the batch
// dimensions do not broadcast.
func MatMul(a, b *Tensor) *Tensor {
	ra, rb := a.Dims(), b.Dims()
	if ra < 2 || rb < 2 {
		panic(fmt.Sprintf("tensor: MatMul: shapes %v and %v: need at least 2 dimensions", a.shape, b.shape))
	}
	m, k := a.shape[ra-2], a.shape[ra-1]
	kb, n := b.shape[rb-2], b.shape[rb-1]
	if k != kb {
		panic(fmt.Sprintf("tensor: MatMul: shapes %v and %v: inner dimensions %d and %d differ", a.shape, b.shape, k, kb))
	}
	batch, ok := broadcastShape(a.shape[:ra-2], b.shape[:rb-2])
	if !ok {
		panic(fmt.Sprintf("tensor: MatMul: shapes %v and %v: batch dimensions do not broadcast", a.shape, b.shape))
	}
	out := New(append(clone(batch), m, n)...)
	if out.Size() == 0 || k == 0 {
		return out
	}
	opA, opB := newGemmOperand(a), newGemmOperand(b)
	a, b = opA.t, opB.t
	aBatch, _ := broadcastStrides(a.shape[:ra-2], a.strides[:ra-2], batch)
	bBatch, _ := broadcastStrides(b.shape[:rb-2], b.strides[:rb-2], batch)

	// When b is the same matrix for the whole batch and a's matrices are
	// rows of one strided matrix, the batch is a single product of
	// (batch·m)×k by k×n.
	if !opA.trans && isBroadcast(batch, bBatch) {
		stacked := append(clone(batch), m, k)
		stackedStrides := append(clone(aBatch), a.strides[ra-2:]...)
		rows := numel(batch) * m
		if st, ok := reshapeStrides(stacked, stackedStrides, []int{rows, k}); ok {
			if trans, ld, ok := gemmLayout(rows, k, st[0], st[1]); ok && !trans {
				simd.Sgemm(false, opB.trans, rows, n, k, 1, a.data[a.offset:], ld, b.data[b.offset:], opB.ld, 0, out.data, n)
				return out
			}
		}
	}

	// One product per batch element. Offsets of a, b and out per product:
	var jobs [][3]int
	outBatch := out.strides[:len(batch)]
	newRowWalker(batch, aBatch, bBatch, outBatch).walk([]int{a.offset, b.offset, 0}, func(offs, steps []int, cnt int) {
		for i := range cnt {
			jobs = append(jobs, [3]int{offs[0] + i*steps[0], offs[1] + i*steps[1], offs[2] + i*steps[2]})
		}
	})
	run := func(jobs [][3]int) {
		for _, j := range jobs {
			simd.Sgemm(opA.trans, opB.trans, m, n, k, 1, a.data[j[0]:], opA.ld, b.data[j[1]:], opB.ld, 0, out.data[j[2]:], n)
		}
	}
	// Sgemm runs a large product on all its workers; small ones run on one,
	// so spread a batch of small products over the workers instead.
	workers := min(simd.Threads(), len(jobs))
	if workers <= 1 || 2*float64(m)*float64(n)*float64(k) >= simd.MinParallelFlops {
		run(jobs)
		return out
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(jobs)/workers, (w+1)*len(jobs)/workers
		wg.Go(func() { run(jobs[lo:hi]) })
	}
	wg.Wait()
	return out
}

// gemmOperand is a tensor whose last two dimensions Sgemm can read: each
// matrix starts at its offset, is stored row-major with leading dimension ld,
// and is the transpose of the stored matrix if trans.
type gemmOperand struct {
	t     *Tensor
	trans bool
	ld    int
}

func newGemmOperand(t *Tensor) gemmOperand {
	r := t.Dims()
	rows, cols := t.shape[r-2], t.shape[r-1]
	if trans, ld, ok := gemmLayout(rows, cols, t.strides[r-2], t.strides[r-1]); ok {
		return gemmOperand{t: t, trans: trans, ld: ld}
	}
	t = t.Clone()
	return gemmOperand{t: t, ld: max(cols, 1)}
}

// gemmLayout says how Sgemm can read a rows×cols matrix with row stride rs
// and column stride cs: row-major with leading dimension ld, or (trans) as the
// transpose of a cols×rows row-major matrix with leading dimension ld. Size-1
// dimensions may have any stride.
func gemmLayout(rows, cols, rs, cs int) (trans bool, ld int, ok bool) {
	if cols == 1 || cs == 1 {
		switch {
		case rows == 1:
			return false, max(cols, 1), true
		case rs >= max(cols, 1):
			return false, rs, true
		}
	}
	if rows == 1 || rs == 1 {
		switch {
		case cols == 1:
			return true, max(rows, 1), true
		case cs >= max(rows, 1):
			return true, cs, true
		}
	}
	return false, 0, false
}

// isBroadcast reports whether strides (over shape) repeat one element: every
// dimension longer than 1 has stride 0.
func isBroadcast(shape, strides []int) bool {
	for d, s := range strides {
		if s != 0 && shape[d] > 1 {
			return false
		}
	}
	return true
}
