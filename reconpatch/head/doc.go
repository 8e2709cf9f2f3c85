// Package head holds the trainable heads of ReConPatch and their training
// loop (sections 5–7 and 12 of docs/reconpatch-spec.md).
//
// A Head is the representation layer f = Linear(D_in → D_f) and the
// projection layer g = Linear(D_f → D_g), both affine with bias and without
// activation (default 1024 → 512 → 256). After training only f is used:
// Embed maps patch features N×D_in to the memory-bank embeddings N×D_f on
// the SGEMM, without a tape (Head is also an nn.Layer, so reconpatch.Embed
// takes it). Tensors/FromTensors and StateDict/FromStateDict export and
// import the weights under the names f.weight [D_f D_in], f.bias [D_f],
// g.weight [D_g D_f] and g.bias [D_g], PyTorch's layout.
//
// Train fits a head to the cached patch features of the training images (a
// FeatureSource: Float32Features, Float16Features, or a file-backed source):
//
//	for each epoch (cosine annealing of the learning rate, stepped per epoch):
//	    for each mini-batch x [N D_in] (a shuffled full pass, or StepsPerEpoch random batches):
//	        z̄ = ḡ(f̄(x))                   EMA network, no gradient     [N D_g]
//	        w = α·w^pair + (1−α)·w^ctx    soft labels from z̄, no grad  [N N]
//	        z = g(f(x))                   online network               [N D_g]
//	        L = relaxed contrastive(z, w); backward; optimiser step (AdamP)
//	        θ̄ ← γ·θ̄ + (1−γ)·θ             EMA update after every step
//
// The pieces are packages autograd (tape, Linear), reconpatch/loss (soft
// labels, the fused relaxed contrastive loss) and nn/optim (AdamP, Adam,
// AdamW, SGD, Cosine, EMA). Trainer exposes single steps for custom loops.
// TrainConfig carries every hyper-parameter with the defaults of section 12,
// except NormalizeZbar, which defaults to true on the evidence of section 14
// (see its documentation).
//
// Two details go beyond the specification. The loss depends on the online
// embeddings only through their differences, so the exact gradients of both
// biases are zero; Trainer.Step uses that zero rather than the float32
// rounding noise of the computed sums, which Adam would normalise into steps
// of about the learning rate (the biases still decay). And a full pass splits
// the shuffled rows into ⌈Len/Batch⌉ batches of near-equal size rather than
// leaving a small remainder batch.
//
// Training is deterministic: every random choice (initialisation, batches)
// comes from TrainConfig.Seed, and the SGEMM and optimisers add in a fixed
// order whatever the number of workers, so the same seed and features on the
// same machine give the same weights bit for bit. Different machines may
// differ in the last bits (the SGEMM kernel, AVX-512, AVX2 or pure Go, sets
// the rounding). The GEMMs use simd.Threads() workers, all cores by default.
package head
