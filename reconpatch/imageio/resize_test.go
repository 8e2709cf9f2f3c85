package imageio

import (
	"fmt"
	"testing"
)

// Resize reproduces PIL's fixed-point arithmetic, so it must agree with PIL
// exactly, not merely within a level.
func TestResizeMatchesPIL(t *testing.T) {
	for _, kind := range []string{"resize", "nearest"} {
		var total diffStats
		for _, c := range casesOf(t, kind) {
			t.Run(fmt.Sprintf("%s/%s/%dx%d", kind, c.Src, c.W, c.H), func(t *testing.T) {
				src := mustDecode(t, c.Src)
				var got RGB
				if kind == "resize" {
					got = Resize(src, c.W, c.H)
				} else {
					got = ResizeNearest(src, c.W, c.H)
				}
				d := compare(t, got, mustDecode(t, c.Want))
				total.n += d.n
				total.differ += d.differ
				total.max = max(total.max, d.max)
				if d.differ != 0 {
					t.Errorf("%d×%d → %d×%d: %d of %d values differ from PIL (max %d)",
						src.W, src.H, c.W, c.H, d.differ, d.n, d.max)
				}
			})
		}
		t.Logf("%s: %d values, exact %.4f%%, max diff %d", kind, total.n, 100*total.exactRate(), total.max)
	}
}

func TestResizeGrayFastPath(t *testing.T) {
	// A grey image is resampled on one channel; an RGB image whose channels
	// are nearly equal goes the three-channel way. Both must agree where
	// the channels agree.
	g := mustDecode(t, "resize_src_l.png")
	if !g.isGray() {
		t.Fatal("resize_src_l.png should decode to equal channels")
	}
	c := RGB{W: g.W, H: g.H, Pix: append([]uint8(nil), g.Pix...)}
	c.Pix[len(c.Pix)-1] ^= 1 // last pixel's blue: no longer grey
	for _, sz := range [][2]int{{28, 21}, {101, 77}, {1, 1}} {
		a, b := Resize(g, sz[0], sz[1]), Resize(c, sz[0], sz[1])
		for i := 0; i < len(a.Pix); i += 3 {
			if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] {
				t.Fatalf("%v: pixel %d: grey path %v, RGB path %v", sz, i/3, a.Pix[i:i+3], b.Pix[i:i+3])
			}
		}
	}
}

func TestResizeIdentityCopies(t *testing.T) {
	src := mustDecode(t, "rgb.png")
	out := Resize(src, src.W, src.H)
	out.Pix[0]++
	if out.Pix[0] == src.Pix[0] {
		t.Fatal("Resize to the same size must return a copy")
	}
}

func TestCoeffsSumToOne(t *testing.T) {
	// Every output sample's fixed-point weights sum to 1 within rounding,
	// and stay inside the input.
	for _, tc := range [][2]int{{630, 403}, {400, 256}, {64, 28}, {48, 77}, {1, 5}, {5, 1}, {3, 300}} {
		c := computeCoeffs(tc[0], tc[1])
		for i := 0; i < tc[1]; i++ {
			var s int32
			for _, k := range c.k[i*c.kw:][:c.kw] {
				s += k
			}
			if d := s - 1<<precisionBits; d < -int32(c.kw) || d > int32(c.kw) {
				t.Fatalf("%v: sample %d: weights sum to %d", tc, i, s)
			}
			if c.lo[i] < 0 || c.lo[i]+c.kw > tc[0] {
				t.Fatalf("%v: sample %d reads [%d, %d)", tc, i, c.lo[i], c.lo[i]+c.kw)
			}
		}
	}
}

func TestResizePanics(t *testing.T) {
	for _, tc := range []struct{ w, h int }{{0, 5}, {5, 0}, {-1, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Resize to %d×%d did not panic", tc.w, tc.h)
				}
			}()
			Resize(NewRGB(4, 4), tc.w, tc.h)
		}()
	}
}

func TestResizedSize(t *testing.T) {
	tests := []struct{ w, h, size, nw, nh int }{
		{630, 400, 256, 403, 256}, // 256·630/400 = 403.2
		{400, 630, 256, 256, 403},
		{256, 256, 256, 256, 256},
		{900, 900, 366, 366, 366},
		{240, 289, 256, 256, 308}, // magnetic-tile train/good/exp0_num_743: 308.27
		{219, 274, 256, 256, 320}, // 320.29
		{300, 190, 256, 404, 256}, // 404.2
		{3, 2, 256, 384, 256},
		{1000, 1, 10, 10000, 10},
		{7, 7, 1, 1, 1},
		{100, 99, 99, 100, 99}, // already there
		{100, 33, 1, 3, 1},     // 100/33 = 3.03
	}
	for _, tt := range tests {
		if nw, nh := ResizedSize(tt.w, tt.h, tt.size); nw != tt.nw || nh != tt.nh {
			t.Errorf("ResizedSize(%d, %d, %d) = %d×%d, want %d×%d", tt.w, tt.h, tt.size, nw, nh, tt.nw, tt.nh)
		}
	}
}

func TestCropOffsets(t *testing.T) {
	tests := []struct{ w, h, cw, ch, left, top int }{
		{256, 256, 224, 224, 16, 16},
		{366, 366, 320, 320, 23, 23},
		{549, 549, 480, 480, 34, 34}, // 34.5 → 34 (half to even)
		{403, 256, 224, 224, 90, 16}, // 89.5 → 90 (half to even)
		{33, 25, 20, 20, 6, 2},       // 6.5 → 6, 2.5 → 2
		{35, 27, 20, 20, 8, 4},       // 7.5 → 8, 3.5 → 4
		{20, 10, 20, 10, 0, 0},
		{10, 10, 14, 13, -2, -1}, // padding: (14−10)//2, (13−10)//2
		{10, 10, 15, 10, -2, 0},
	}
	for _, tt := range tests {
		if l, tp := CropOffsets(tt.w, tt.h, tt.cw, tt.ch); l != tt.left || tp != tt.top {
			t.Errorf("CropOffsets(%d, %d, %d, %d) = (%d, %d), want (%d, %d)", tt.w, tt.h, tt.cw, tt.ch, l, tp, tt.left, tt.top)
		}
	}
}

func TestCenterCropPads(t *testing.T) {
	src := NewRGB(2, 1)
	copy(src.Pix, []uint8{1, 2, 3, 4, 5, 6})
	got := CenterCrop(src, 5, 2)
	want := []uint8{
		0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, // left pad (5−2)//2 = 1, top pad 0
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	if fmt.Sprint(got.Pix) != fmt.Sprint(want) {
		t.Fatalf("CenterCrop pad:\n got %v\nwant %v", got.Pix, want)
	}
}
