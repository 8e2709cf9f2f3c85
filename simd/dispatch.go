package simd

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Level is a kernel dispatch level.
type Level int

// The dispatch levels, from the portable one up.
const (
	Generic Level = iota // pure Go
	AVX2                 // AVX2 + FMA3
	AVX512               // AVX-512 F, BW, DQ, VL
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses the names that Level.String returns.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "generic", "go", "purego":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512":
		return AVX512, nil
	}
	return Generic, fmt.Errorf("simd: unknown level %q (want avx512, avx2 or generic)", s)
}

// BestLevel is the highest level this CPU and build support.
func BestLevel() Level { return bestLevel }

// Supported reports whether level l can run on this CPU and build.
func Supported(l Level) bool { return l >= Generic && l <= bestLevel }

var (
	bestLevel = detectLevel()
	current   atomic.Int32
)

func init() {
	l := bestLevel
	if s, ok := os.LookupEnv("RP_SIMD"); ok && s != "" {
		want, err := ParseLevel(s)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "rp: ignoring RP_SIMD: %v\n", err)
		case !Supported(want):
			fmt.Fprintf(os.Stderr, "rp: ignoring RP_SIMD=%s: this CPU or build supports at most %s\n", s, bestLevel)
		default:
			l = want
		}
	}
	current.Store(int32(l))
}

// CurrentLevel is the level the kernels dispatch to now.
func CurrentLevel() Level { return Level(current.Load()) }

// SetLevel makes the kernels dispatch to level l and returns the previous
// level. It is meant for tests and benchmarks that compare levels; it must not
// be called while kernels run on other goroutines. It fails if l is not
// supported on this CPU or build.
func SetLevel(l Level) (previous Level, err error) {
	if !Supported(l) {
		return CurrentLevel(), fmt.Errorf("simd: level %s is not supported here (best is %s)", l, bestLevel)
	}
	return Level(current.Swap(int32(l))), nil
}

// Levels lists the levels supported here, lowest first.
func Levels() []Level {
	var ls []Level
	for l := Generic; l <= bestLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}
