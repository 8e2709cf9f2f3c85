// Package loss is the ReConPatch training objective (sections 6.1–6.5 of
// the specification): soft pseudo-labels from the EMA network's embeddings
// and the relaxed contrastive loss on the online network's embeddings.
//
// For a batch of N patch features with online embeddings z = g(f(p)) [N D]
// (differentiable) and EMA embeddings z̄ = ḡ(f̄(p)) [N D] (constants):
//
//   - pairwise similarity w^pair_ij = exp(−‖z̄_i − z̄_j‖²/σ)
//     (PairwiseSimilarity);
//   - contextual similarity w^ctx from the k nearest neighbours in z̄ with
//     the reciprocal half-neighbourhood query expansion, symmetrised
//     (ContextualSimilarity), computed sparsely in O(N·k²) after the
//     distance matrix;
//   - soft labels w = α·w^pair + (1 − α)·w^ctx (SoftLabels), no gradient;
//   - relaxed contrastive loss, with d_ij = ‖z_i − z_j‖ and
//     δ_ij = d_ij/((1/N)·Σ_n d_in) (the row mean, j = i included, not
//     detached):
//     L = (1/N)·Σ_i Σ_j [w_ij·δ_ij² + (1 − w_ij)·max(m − δ_ij, 0)²]
//     (RelaxedContrastive, with the hand-derived gradient of section 6.5;
//     RelaxedContrastiveComposed builds the same loss from generic autograd
//     operations, as a reference).
//
// Options carries σ, k, α, m and the choice to L2-normalise z̄ first: with
// σ = 1 on raw z̄ the pairwise term collapses as the EMA embeddings shrink
// (section 14), so Stats reports the median squared distance of each batch,
// and AdaptiveSigma scales σ by it.
package loss
