// Package backbones builds the frozen ImageNet CNNs that rp extracts patch
// features from, out of the inference layers of package nn, and fills them
// with pretrained weights read by package weights, by name.
//
// Architectures:
//
//   - torchvision ResNets (BasicBlock and Bottleneck, with groups and
//     width_per_group): resnet18, resnet50, wide_resnet50_2,
//     wide_resnet101_2, resnext101_32x8d — ResNet, ResNetConfig;
//   - torchvision DenseNets (dense layers and transitions): densenet201 —
//     DenseNet, DenseNetConfig;
//   - Keras applications' ResNet50 from a TensorFlow.js layers model:
//     keras_resnet50 — Keras, built by walking the model.json layer graph,
//     so any Keras model made of the supported layer classes loads.
//
// Load builds a backbone from its name and a weight file. Batch
// normalisations are folded into the convolutions before them at load time;
// the residual addition and the ReLU that end a block are fused into the
// block's last convolution. A state dict that does not fit the architecture
// is rejected with one error listing every missing, unexpected and
// mis-shaped tensor (a *weights.MismatchError).
//
// Taps. Forward takes an N×3×H×W float32 batch, already normalised as the
// backbone's Normalization says, and the names of the intermediate outputs
// wanted; it returns those outputs, each N×C×H'×W' (logits N×classes), and
// runs the network only as far as the last tap requires (PatchCore's layer2
// and layer3 never run layer4). Tap names are torchvision's module names
// ("layer2", "features.denseblock3") and "logits"; the Keras model answers to
// its block names ("res3d", "res4f"), to any of its layer names whose
// output survives fusion, and to the torchvision stage names ("layer2" is
// the last block of stage 3, res3d).
//
// Backbones are immutable once built; Forward may run from several
// goroutines at once.
package backbones
