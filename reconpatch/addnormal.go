package reconpatch

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AddMode is how AddNormal merges the embeddings of new normal images into
// a model's memory bank.
type AddMode uint8

const (
	// AddCoreset (the default) runs the greedy coreset over the union of
	// the current bank rows and every new patch embedding, keeping
	// min(B + c, B + N) rows, where B is the current bank size, N the
	// number of new patches and c = CoresetSize(N) at the model's coreset
	// ratio: the bank grows by exactly c rows, as with AddAppend, but
	// which rows survive is decided over old and new rows together (an
	// old row that a new one covers may give way to a new one elsewhere).
	// At ratio 1 every row is kept, old rows first, in order.
	AddCoreset AddMode = iota
	// AddAppend selects a coreset of the new embeddings alone (at the
	// model's coreset ratio and seed, as training does) and appends those
	// rows to the bank, leaving the old rows untouched.
	AddAppend
)

// String names the mode as the command line does.
func (a AddMode) String() string {
	switch a {
	case AddCoreset:
		return "coreset"
	case AddAppend:
		return "append"
	}
	return fmt.Sprintf("AddMode(%d)", uint8(a))
}

// ParseAddMode accepts the names of the add modes.
func ParseAddMode(s string) (AddMode, error) {
	switch s {
	case "coreset":
		return AddCoreset, nil
	case "append":
		return AddAppend, nil
	}
	return 0, fmt.Errorf("reconpatch: unknown add mode %q (want coreset or append)", s)
}

// AddNormal adds the patch embeddings of more normal images to the model's
// memory bank without retraining the head: it extracts the images' patch
// features with the model's backbone (which must be loaded: Fit leaves it
// loaded, after LoadModel call UseBackbone), embeds them with f
// (ReConPatch; PatchCore keeps them as they are), merges them into the
// bank as mode says (see AddCoreset and AddAppend), and rebuilds the
// scorer. The bank keeps its precision. For an ensemble it does so for
// every member. It returns by how many rows the bank grew (summed over
// an ensemble's members).
//
// The held-out statistics and default thresholds (Stats) stay as they
// are: they describe the scores of the held-out images against the bank
// that was trained, and a bigger bank can only lower scores, so the
// recorded thresholds remain conservative. Retrain (or rescore held-out
// images) to refresh them.
//
// Images must give the model's input size after preprocessing; errors
// name the file. On error (or when ctx is cancelled) the model is left
// unchanged, an ensemble's members included.
func (m *Model) AddNormal(ctx context.Context, paths []string, mode AddMode, rep Reporter) (added int, err error) {
	rep = reporterOrNop(rep)
	if mode != AddCoreset && mode != AddAppend {
		return 0, fmt.Errorf("reconpatch: unknown add mode %v", mode)
	}
	if len(paths) == 0 {
		return 0, errors.New("reconpatch: no images to add")
	}
	targets := m.members
	if len(targets) == 0 {
		targets = []*Model{m}
	}
	for i, t := range targets {
		if t.backbone == nil {
			if len(m.members) > 0 {
				return 0, fmt.Errorf("reconpatch: ensemble member %d: %w", i+1, errNoBackbone)
			}
			return 0, errNoBackbone
		}
	}
	banks := make([]*MemoryBank, len(targets))
	scorers := make([]*Scorer, len(targets))
	for i, t := range targets {
		if len(m.members) > 0 {
			rep.Logf("ensemble member %d/%d: %s on %s", i+1, len(targets), t.Options.Method, t.Options.Backbone)
		}
		b, err := t.mergedBank(ctx, paths, mode, rep)
		if err != nil {
			if len(m.members) > 0 {
				return 0, fmt.Errorf("reconpatch: ensemble member %d (%s): %w", i+1, t.Options.Backbone, err)
			}
			return 0, err
		}
		if scorers[i], err = NewScorer(b, t.Options.Score); err != nil {
			return 0, err
		}
		banks[i] = b
	}
	for i, t := range targets {
		added += banks[i].Len() - t.Bank.Len()
		t.Bank, t.scorer = banks[i], scorers[i]
	}
	return added, nil
}

// mergedBank is AddNormal's new memory bank for a single model.
func (m *Model) mergedBank(ctx context.Context, paths []string, mode AddMode, rep Reporter) (*MemoryBank, error) {
	start := time.Now()
	feats, n, err := m.extract(ctx, paths, rep, "features")
	if err != nil {
		return nil, err
	}
	rows, d := n*m.Grid.Len(), m.EmbedDim()
	emb := Embed(m.head, feats.Reshape(rows, m.FeatureDim)).Data()
	if d != m.Bank.Dim() {
		return nil, fmt.Errorf("reconpatch: new embeddings of %d do not match the bank's rows of %d", d, m.Bank.Dim())
	}
	rep.Logf("features: %d images → %d patches of %d in %v", n, rows, d, time.Since(start).Round(time.Millisecond))

	cc := m.Options.coreset(nil)
	cc.Context = ctx
	grow := cc.CoresetSize(rows)
	old := m.Bank.Len()
	var x []float32 // candidate rows
	var total int   // their number
	switch mode {
	case AddAppend:
		x, total = emb, rows
	case AddCoreset:
		x = make([]float32, 0, (old+rows)*d)
		x = append(append(x, m.Bank.Float32()...), emb...)
		total = old + rows
		cc.Size = old + grow
	}
	keep := cc.CoresetSize(total)
	var sel []float32
	if keep == total {
		// Ratio 1 (or nothing to drop): every candidate row, in order.
		sel = x
	} else {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start = time.Now()
		rep.Begin("coreset", keep, "rows")
		cc.Progress = func(done, _ int) { rep.Update(done) }
		idx, err := SelectCoreset(x, total, d, cc)
		if err != nil {
			rep.End("failed")
			return nil, err
		}
		rep.End(fmt.Sprintf("%d of %d rows in %v", len(idx), total, time.Since(start).Round(time.Millisecond)))
		sel = make([]float32, len(idx)*d)
		for r, i := range idx {
			copy(sel[r*d:][:d], x[i*d:][:d])
		}
	}
	if mode == AddAppend {
		sel = append(append(make([]float32, 0, old*d+len(sel)), m.Bank.Float32()...), sel...)
	}
	return NewMemoryBank(sel, len(sel)/d, d, m.Bank.Precision())
}
