package nn

import (
	"testing"

	"github.com/reconpatch/rp/tensor"
)

type upsampleCfg struct {
	Size         [2]int
	Mode         string
	AlignCorners bool `json:"align_corners"`
}

func TestUpsampleTorch(t *testing.T) {
	fx := loadFixture(t, "upsample.bin")
	for _, c := range fx.Cases {
		var cfg upsampleCfg
		decodeCfg(t, c, &cfg)
		u := Upsample{Size: cfg.Size, AlignCorners: cfg.AlignCorners}
		switch cfg.Mode {
		case "nearest":
			u.Mode = UpsampleNearest
		case "bilinear":
			u.Mode = UpsampleBilinear
		default:
			t.Fatalf("%s: mode %q", c.Name, cfg.Mode)
		}
		if u.Mode.String() != cfg.Mode {
			t.Errorf("%v.String() = %q", u.Mode, u.Mode.String())
		}
		got := u.Forward(fx.get(t, c, "x"))
		checkClose(t, c.Name, got, fx.get(t, c, "y"))
		if u.Mode == UpsampleNearest {
			// A copy: exact.
			for i, v := range fx.get(t, c, "y").Data() {
				if got.Data()[i] != v {
					t.Errorf("%s: element %d = %v, want %v exactly", c.Name, i, got.Data()[i], v)
					break
				}
			}
		}
		if y32 := fx.opt(c, "y32"); y32 != nil && testing.Verbose() {
			rel, maxAbs := errStats(y32.Data(), to64(fx.get(t, c, "y").Data()))
			t.Logf("%s: torch's own float32 path: relative L2 error %.3g, max abs %.3g", c.Name, rel, maxAbs)
		}
	}
}

func TestUpsamplePanics(t *testing.T) {
	x := tensor.New(1, 1, 3, 3)
	mustPanic(t, "size", func() { Upsample{Size: [2]int{0, 4}}.Forward(x) }, "[1 1 3 3]", "0×4")
	mustPanic(t, "align nearest", func() { Upsample{Size: [2]int{4, 4}, AlignCorners: true}.Forward(x) }, "AlignCorners")
	mustPanic(t, "mode", func() { Upsample{Size: [2]int{4, 4}, Mode: 7}.Forward(x) }, "UpsampleMode(7)")
}
