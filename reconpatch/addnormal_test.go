package reconpatch

import (
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/dataset"
)

func TestParseAddMode(t *testing.T) {
	for _, mode := range []AddMode{AddCoreset, AddAppend} {
		got, err := ParseAddMode(mode.String())
		if err != nil || got != mode {
			t.Errorf("ParseAddMode(%q) = %v, %v", mode.String(), got, err)
		}
	}
	if _, err := ParseAddMode("merge"); err == nil {
		t.Error("ParseAddMode(merge): no error")
	}
	var m Model
	if _, err := m.AddNormal(context.Background(), []string{"x.png"}, AddMode(9), nil); err == nil {
		t.Error("AddNormal with an unknown mode: no error")
	}
}

// TestAddNormal trains a PatchCore model on a small synthetic set and adds
// the test set's good images to its bank in both modes: the bank grows by
// the coreset rule, keeps its precision, survives Save and LoadModel, and
// at ratio 1 the added images themselves score (about) zero.
func TestAddNormal(t *testing.T) {
	ds := synthSet(t, "brushed_metal")
	ctx := context.Background()
	m, err := Fit(ctx, ds, smallOptions(MethodPatchCore), nil)
	if err != nil {
		t.Fatal(err)
	}
	var good []string
	for _, s := range ds.Test {
		if s.Label == dataset.Good {
			good = append(good, s.Path)
		}
	}
	if len(good) == 0 {
		t.Fatal("no good test images")
	}
	before, err := m.Predict(ctx, good, nil)
	if err != nil {
		t.Fatal(err)
	}
	b0, patches := m.Bank.Len(), len(good)*m.Grid.Len()
	stats := m.Stats

	for _, mode := range []AddMode{AddAppend, AddCoreset} {
		for _, ratio := range []float64{0.05, 1} {
			c := *m // the bank is immutable: AddNormal replaces it
			c.Options.CoresetRatio = ratio
			added, err := c.AddNormal(ctx, good, mode, nil)
			if err != nil {
				t.Fatalf("%v, ratio %v: %v", mode, ratio, err)
			}
			want := c.Options.coreset(nil).CoresetSize(patches)
			if added != want || c.Bank.Len() != b0+want {
				t.Errorf("%v, ratio %v: added %d, bank %d → %d; want %d more", mode, ratio, added, b0, c.Bank.Len(), want)
			}
			if m.Bank.Len() != b0 {
				t.Fatalf("%v: the original model's bank changed", mode)
			}
			if c.Stats != stats {
				t.Errorf("%v: stats changed", mode)
			}
			if ratio != 1 {
				continue
			}
			after, err := c.Predict(ctx, good, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range after {
				if !(after[i].Score < 1e-2*before[i].Score) {
					t.Errorf("%v: %s scores %v after adding it, %v before", mode, good[i], after[i].Score, before[i].Score)
				}
			}
		}
	}

	// A float16 bank stays float16, and the model saves and loads.
	c := *m
	if c.Bank, err = NewMemoryBank(m.Bank.Float32(), b0, m.Bank.Dim(), Float16); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNormal(ctx, good[:1], AddCoreset, nil); err != nil {
		t.Fatal(err)
	}
	if c.Bank.Precision() != Float16 {
		t.Errorf("bank precision %v after adding, want float16", c.Bank.Precision())
	}
	path := filepath.Join(t.TempDir(), "m.rpm")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bank.Len() != c.Bank.Len() || back.Bank.Precision() != Float16 {
		t.Errorf("reloaded bank %d rows %v, want %d float16", back.Bank.Len(), back.Bank.Precision(), c.Bank.Len())
	}
	if _, err := back.AddNormal(ctx, good, AddAppend, nil); !errors.Is(err, errNoBackbone) {
		t.Errorf("AddNormal without a backbone: %v", err)
	}

	// An ensemble adds to every member; a failure leaves it unchanged.
	m1, m2 := *m, *m
	e := &Model{Options: m.Options, InputH: m.InputH, InputW: m.InputW, Stats: m.Stats, members: []*Model{&m1, &m2}}
	added, err := e.AddNormal(ctx, good[:1], AddAppend, nil)
	want := m.Options.coreset(nil).CoresetSize(m.Grid.Len())
	if err != nil || added != 2*want || m1.Bank.Len() != b0+want || m2.Bank.Len() != b0+want {
		t.Errorf("ensemble: added %d (%v), members' banks %d and %d; want %d each more than %d", added, err, m1.Bank.Len(), m2.Bank.Len(), want, b0)
	}
	if err := e.Save(filepath.Join(t.TempDir(), "e.rpm")); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.png")
	n1 := m1.Bank.Len()
	if _, err := e.AddNormal(ctx, []string{good[0], missing}, AddCoreset, nil); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("adding a missing file: %v, want an error naming it", err)
	}
	if m1.Bank.Len() != n1 {
		t.Error("a failed AddNormal changed an ensemble member")
	}

	// An image of another size after preprocessing is refused, by name.
	c = *m
	c.Options.Crop = 0
	wide := filepath.Join(t.TempDir(), "wide.png")
	f, err := os.Create(wide)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewRGBA(image.Rect(0, 0, 300, 100))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNormal(ctx, []string{wide}, AddAppend, nil); err == nil || !strings.Contains(err.Error(), "wide.png") {
		t.Errorf("adding a 300×100 image to a 128×128 model: %v, want an error naming it", err)
	}
}
