// Package weights reads pretrained weights from the files they are published
// in and turns them into named float32 tensors. It knows file formats, not
// architectures: a backbone loader asks for a StateDict, renames keys if its
// checkpoints need it (RemapDenseNet), and checks the names and shapes it
// expects with CheckNames, which reports every missing, unexpected and
// mis-shaped tensor in one error.
//
// Formats:
//
//   - PyTorch checkpoints written by torch.save (LoadTorch), in both the zip
//     serialisation and the legacy one that torchvision's older downloads
//     use. A pure-Go, allow-listed unpickler decodes them: no code in the
//     file runs, and only dicts of tensors (or a training checkpoint wrapping
//     one) load.
//   - safetensors (LoadSafetensors, SaveSafetensors, WriteSafetensors),
//     validated strictly on read and written deterministically and
//     atomically.
//   - TensorFlow.js layers models (LoadTFJS): the Keras layer graph of
//     model.json, with typed configurations for the layers a ResNet needs,
//     and the weights of its binary shards.
//
// Load sniffs the format. Every tensor comes back contiguous, as float32,
// in the order the file stores it; StateDict.DType tells the type it had in
// the file. Integer tensors, such as BatchNorm's num_batches_tracked, load
// as float32 too; IsNumBatchesTracked lets CheckNames ignore them.
//
// Malformed files give an error naming the file and the problem, never a
// panic: every size a file declares is checked against the bytes it
// actually has before anything is allocated.
//
// Downloaded weights live under DefaultDir; scripts/install-weights.sh
// (make weights) installs the Keras ResNet50 ImageNet model there, and
// FindKerasResNet50 finds it.
package weights
