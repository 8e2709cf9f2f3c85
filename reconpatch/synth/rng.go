package synth

// Randomness: every image draws from a few independent splitmix64 streams
// derived from its image seed, so that the defect-free rendering of an image
// and its defective versions share everything but the defect.

// fmix64 is splitmix64's finaliser, a bijective 64-bit mixer.
func fmix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// mix combines a hash state with a value.
func mix(h, v uint64) uint64 {
	return fmix64(h ^ fmix64(v+0x9e3779b97f4a7c15))
}

// hashString is 64-bit FNV-1a.
func hashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// Stream identifiers of one image's random streams.
const (
	streamScene  = 1 // the object: texture parameters, position, colours
	streamLight  = 2 // lighting and the sensor's noise level
	streamNoise  = 3 // per-pixel sensor noise
	streamDefect = 4 // the defect's shape and strength
)

// rng is splitmix64: tiny, fast and good enough for procedural images.
type rng struct{ s uint64 }

func newRNG(seed, stream uint64) *rng { return &rng{s: mix(seed, stream)} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return fmix64(r.s)
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float32 { return float32(r.next()>>40) / (1 << 24) }

// rangef returns a uniform value in [a, b).
func (r *rng) rangef(a, b float32) float32 { return a + (b-a)*r.float() }

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n int) int { return int((r.next() >> 33) % uint64(n)) }

// sign returns -1 or +1.
func (r *rng) sign() float32 {
	if r.next()>>63 == 0 {
		return -1
	}
	return 1
}

// gauss returns an approximately standard normal value: the scaled sum of
// four uniforms (Irwin–Hall), without transcendental functions so that it is
// the same on every architecture.
func (r *rng) gauss() float32 {
	u := r.next()
	s := float32(u&0xffff) + float32(u>>16&0xffff) + float32(u>>32&0xffff) + float32(u>>48)
	// Sum of four U(0, 65536): mean 131070, variance 4·65536²/12.
	return (s - 131070) * (1.7320508 / 65536)
}

// Value noise on a fixed 256×256 lattice of random values in [-1, 1],
// wrapping around; images differ by their offsets into it.
var lattice = func() []float32 {
	t := make([]float32, 256*256)
	r := &rng{s: 0x5eed0f5e7a7e11ce}
	for i := range t {
		t[i] = r.float()*2 - 1
	}
	return t
}()

func floorInt(x float32) int {
	i := int(x)
	if float32(i) > x {
		i--
	}
	return i
}

// vnoise is smooth value noise in [-1, 1] with unit lattice spacing.
func vnoise(x, y float32) float32 {
	ix, iy := floorInt(x), floorInt(y)
	tx, ty := x-float32(ix), y-float32(iy)
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	x0, x1 := ix&255, (ix+1)&255
	y0, y1 := (iy&255)<<8, ((iy+1)&255)<<8
	a, b := lattice[y0|x0], lattice[y0|x1]
	c, d := lattice[y1|x0], lattice[y1|x1]
	top := a + (b-a)*tx
	bot := c + (d-c)*tx
	return top + (bot-top)*ty
}

// fbm sums octaves of value noise (lacunarity 2, gain 0.5), normalised to
// about [-1, 1].
func fbm(x, y float32, octaves int) float32 {
	var sum, amp, norm float32 = 0, 1, 0
	for o := 0; o < octaves; o++ {
		sum += amp * vnoise(x+float32(o)*37.13, y+float32(o)*91.71)
		norm += amp
		amp *= 0.5
		x, y = x*2.03, y*2.03
	}
	return sum / norm
}

// noise1 is smooth periodic noise on a circle (angle in radians), from a few
// random harmonics: ragged outlines of holes and stains.
type noise1 struct {
	amp, phase [5]float32
}

func newNoise1(r *rng, roughness float32) noise1 {
	var n noise1
	a := roughness
	for k := range n.amp {
		n.amp[k] = a * r.rangef(0.3, 1)
		n.phase[k] = r.rangef(0, 2*pi)
		a *= 0.6
	}
	return n
}

func (n *noise1) at(theta float32) float32 {
	var s float32
	for k := range n.amp {
		s += n.amp[k] * sin32(float32(k+2)*theta+n.phase[k])
	}
	return s
}
