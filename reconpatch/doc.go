// Package reconpatch is the core of the ReConPatch method (and of PatchCore,
// which it extends): locally aware patch features from a backbone's feature
// maps, the memory bank with its greedy coreset, nearest-neighbour patch
// scores, image scores, anomaly maps, and the modified-z-score ensemble.
// The section numbers below refer to docs/reconpatch-spec.md.
//
// The stages, with their shapes:
//
//   - Aggregate (section 4): backbone taps, layer name → N×C×H×W, become
//     patch features N×P×D on the grid H₀×W₀ of the first tapped layer
//     (P = H₀·W₀, row-major over y, x). FeatureConfig chooses the layers,
//     the patch size and the aggregation: official PatchCore (4a, the
//     default) or anomalib's concatenation (4b).
//   - Embed applies the representation layer f (any nn.Layer, such as an
//     nn.Linear holding a trained weight and bias; nil is PatchCore's
//     identity) to every patch feature: N×P×D → N×P×D'.
//   - SelectCoreset (section 8) picks the memory-bank rows out of all
//     training patches n×D' by PatchCore's approximate greedy coreset (or
//     the exact greedy one), and NewMemoryBank stores them, optionally as
//     float16.
//   - Fit caches the training patch features (and ReConPatch's
//     embeddings) in memory or, beyond Options.MemLimit, in temporary files
//     (head.DiskFeatures); SelectCoresetFrom and BuildMemoryBankFrom read
//     such caches in chunks, keeping only the n×128 projected rows in
//     memory, and give what SelectCoreset and BuildMemoryBank give.
//   - Scorer (section 9) finds each test patch's nearest bank row (exact,
//     on simd.NearestRows): patch scores N×P, image scores N (the maximum,
//     or PatchCore's re-weighted maximum).
//   - AnomalyMap turns one image's H₀×W₀ patch scores into a map at the
//     crop size: bilinear upsampling, then scipy's Gaussian filter.
//   - ZScoreNormalizer and Ensemble (sections 9.5 and 12) normalise each
//     model's scores and maps by the median and median absolute deviation
//     of held-out good images and average them across models.
//
// Every random choice comes from a seed. Data errors (a missing tap, an
// empty bank, a degenerate statistic) are returned as errors; slices of the
// wrong length for the shapes passed alongside them are programmer errors
// and panic.
package reconpatch
