package reconpatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/weights"
)

// An ensemble is a Model whose members are models of their own (typically
// on different backbones, spec section 12): each member scores the image,
// its image score and map are normalised by the modified z-score with the
// median and MAD of its held-out normal scores, and the normalised values
// are averaged. The ensemble's own statistics and thresholds are those of
// the averaged z-scores on the same held-out images.

// FitEnsemble fits one member per options (each on its own backbone, same
// data, same seed and so the same held-out images) and combines them. The
// members must share the image preprocessing, so that their maps line up,
// and each needs held-out images (HoldOut > 0 or validation/good).
func FitEnsemble(ctx context.Context, ds *dataset.Dataset, opts []Options, rep Reporter) (*Model, error) {
	rep = reporterOrNop(rep)
	if len(opts) < 2 {
		return nil, fmt.Errorf("reconpatch: an ensemble needs at least 2 members, got %d", len(opts))
	}
	for i, o := range opts[1:] {
		if o.Resize != opts[0].Resize || o.Crop != opts[0].Crop || o.Stretch != opts[0].Stretch {
			return nil, fmt.Errorf("reconpatch: ensemble member %d preprocesses images differently from member 0 (resize/crop/stretch must match)", i+1)
		}
		if o.Seed != opts[0].Seed || o.HoldOut != opts[0].HoldOut {
			return nil, fmt.Errorf("reconpatch: ensemble member %d has another seed or hold-out fraction than member 0: they must share the held-out images", i+1)
		}
	}
	e := &Model{Options: opts[0]}
	for i, o := range opts {
		rep.Logf("ensemble member %d/%d: %s on %s", i+1, len(opts), o.Method, o.Backbone)
		m, err := Fit(ctx, ds, o, rep)
		if err != nil {
			return nil, fmt.Errorf("reconpatch: ensemble member %d (%s): %w", i+1, o.Backbone, err)
		}
		if m.Stats.HeldOut == 0 || !(m.Stats.ImageMAD > 0) || !(m.Stats.PixelMAD > 0) {
			return nil, fmt.Errorf("reconpatch: ensemble member %d (%s) has no usable held-out statistics (held out %d images, image MAD %g, pixel MAD %g)",
				i+1, o.Backbone, m.Stats.HeldOut, m.Stats.ImageMAD, m.Stats.PixelMAD)
		}
		if i > 0 && (m.InputH != e.InputH || m.InputW != e.InputW) {
			return nil, fmt.Errorf("reconpatch: ensemble member %d takes %d×%d images, member 0 %d×%d", i+1, m.InputW, m.InputH, e.InputW, e.InputH)
		}
		e.InputH, e.InputW = m.InputH, m.InputW
		e.members = append(e.members, m)
	}
	_, held, err := ds.Split(opts[0].HoldOut, opts[0].Seed)
	if err != nil {
		return nil, err
	}
	if err := e.fitStats(ctx, samplePaths(held), rep); err != nil {
		return nil, err
	}
	return e, nil
}

// Members returns the members of an ensemble, or nil for a single model.
func (m *Model) Members() []*Model { return m.members }

// predictEnsemble is predict for an ensemble: the mean of the members'
// modified z-scores. Each member loads the images itself (they may differ
// in how they are loaded only in name: the preprocessing is shared).
func (m *Model) predictEnsemble(ctx context.Context, n int, load func(lo, hi int) ([]imageio.RGB, []string, error), rep Reporter) ([]Prediction, error) {
	var out []Prediction
	for k, mem := range m.members {
		preds, err := mem.predict(ctx, n, load, rep)
		if err != nil {
			return nil, err
		}
		img := ZScoreNormalizer{Median: mem.Stats.ImageMedian, MAD: mem.Stats.ImageMAD}
		pix := ZScoreNormalizer{Median: mem.Stats.PixelMedian, MAD: mem.Stats.PixelMAD}
		if k == 0 {
			out = make([]Prediction, len(preds))
			for i, p := range preds {
				out[i] = Prediction{Path: p.Path, Map: make([]float32, len(p.Map))}
			}
		}
		w := 1 / float32(len(m.members))
		for i, p := range preds {
			out[i].Score += w * img.Normalize(p.Score)
			pix.NormalizeSlice(p.Map, p.Map)
			for j, v := range p.Map {
				out[i].Map[j] += w * v
			}
		}
	}
	return out, nil
}

// ensembleHeader is the JSON header of an ensemble file: one header per
// member, whose tensors are stored under "member<i>/".
type ensembleHeader struct {
	Kind    string        `json:"kind"`
	Version int           `json:"version"`
	Options Options       `json:"options"`
	InputH  int           `json:"input_h"`
	InputW  int           `json:"input_w"`
	Stats   Stats         `json:"stats"`
	Members []modelHeader `json:"members"`
}

// ensembleKind marks ensemble model files.
const ensembleKind = "rp-ensemble"

func memberPrefix(i int) string { return fmt.Sprintf("member%d/", i) }

// encodeEnsemble is encode for an ensemble: every member's tensors under
// its prefix.
func (m *Model) encodeEnsemble() (*weights.StateDict, map[string]string, error) {
	h := ensembleHeader{Kind: ensembleKind, Version: FormatVersion, Options: m.Options, InputH: m.InputH, InputW: m.InputW, Stats: m.Stats}
	sd := weights.NewStateDict()
	for i, mem := range m.members {
		h.Members = append(h.Members, mem.header())
		mem.addTensors(sd, memberPrefix(i))
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("reconpatch: encoding the ensemble header: %w", err)
	}
	return sd, fileMetadata(js), nil
}

// loadEnsemble builds an ensemble from a file's header and tensors.
func loadEnsemble(path, raw string, sd *weights.StateDict) (*Model, error) {
	var h ensembleHeader
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, fmt.Errorf("reconpatch: %s: ensemble header: %w", path, err)
	}
	if err := checkVersion(path, h.Version); err != nil {
		return nil, err
	}
	if len(h.Members) < 2 {
		return nil, fmt.Errorf("reconpatch: %s: an ensemble of %d members", path, len(h.Members))
	}
	e := &Model{Options: h.Options, InputH: h.InputH, InputW: h.InputW, Stats: h.Stats}
	for i, mh := range h.Members {
		mem, err := fromHeader(path, mh, sd, memberPrefix(i))
		if err != nil {
			return nil, err
		}
		if mem.InputH != e.InputH || mem.InputW != e.InputW {
			return nil, fmt.Errorf("reconpatch: %s: ensemble member %d takes %d×%d images, the ensemble %d×%d", path, i+1, mem.InputW, mem.InputH, e.InputW, e.InputH)
		}
		e.members = append(e.members, mem)
	}
	return e, nil
}

// useEnsembleBackbones loads each member's backbone; weightsPaths is empty
// (each member's recorded path) or a comma-separated list, one per member.
func (m *Model) useEnsembleBackbones(weightsPaths string) error {
	paths := make([]string, len(m.members))
	if weightsPaths != "" {
		ps := strings.Split(weightsPaths, ",")
		if len(ps) != len(m.members) {
			return fmt.Errorf("reconpatch: %d weight paths for an ensemble of %d members (give one per member, comma-separated, empty for the recorded one)", len(ps), len(m.members))
		}
		copy(paths, ps)
	}
	for i, mem := range m.members {
		if err := mem.UseBackbone(paths[i]); err != nil {
			return fmt.Errorf("reconpatch: ensemble member %d: %w", i+1, err)
		}
	}
	return nil
}
