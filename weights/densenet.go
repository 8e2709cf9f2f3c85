package weights

import "regexp"

// denseNetKey is torchvision's pattern for DenseNet checkpoints saved before
// its layers were renamed: "norm.1" became "norm1", "conv.2" became "conv2".
var denseNetKey = regexp.MustCompile(`^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$`)

// DenseNetKey maps an old torchvision DenseNet parameter name to the current
// one, exactly as torchvision's densenet loader does, for example
// "features.denseblock1.denselayer1.norm.1.weight" to
// "features.denseblock1.denselayer1.norm1.weight". Other names are returned
// unchanged.
func DenseNetKey(name string) string {
	m := denseNetKey.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	return m[1] + m[2]
}

// RemapDenseNet renames the tensors of a torchvision DenseNet checkpoint with
// DenseNetKey. It is a no-op on checkpoints that already use the new names.
// A DenseNet backbone loader applies it before checking names.
func RemapDenseNet(sd *StateDict) error { return sd.Rename(DenseNetKey) }
