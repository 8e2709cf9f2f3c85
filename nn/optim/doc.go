// Package optim holds the optimisers, learning-rate schedules and the
// exponential moving average that train the parameters of package autograd.
//
// Each optimiser updates, in Step, every parameter that has a gradient
// (parameters whose Grad is nil are skipped, as in PyTorch) and follows
// PyTorch 1.13's update rule for the same hyper-parameters, so that a
// trajectory can be compared with torch's step by step:
//
//   - SGD: momentum, dampening, Nesterov, L2 weight decay (torch.optim.SGD);
//   - Adam: L2 weight decay added to the gradient (torch.optim.Adam);
//   - AdamW: decoupled weight decay (torch.optim.AdamW);
//   - AdamP: Adam with the projection of Heo et al. (ICLR 2021) that removes
//     the radial component of the update of scale-invariant weights, and
//     decoupled weight decay reduced by wd_ratio when the projection
//     applies — the rule of clovaai/AdamP, section 7 of the ReConPatch
//     specification.
//
// State is float32 (one or two tensors per parameter, as torch keeps). The
// moments and the parameter update are computed in float64 per element and
// rounded once; the square root and the division of the Adam direction run
// in float32 (the divider is the bottleneck of these loops), which stays
// within 1e-6 of a float64 trajectory over the 30-step fixtures.
//
// Cosine is PyTorch's CosineAnnealingLR, stepped once per epoch or once per
// iteration (T_max in the same unit). EMA keeps θ̄ ← γ·θ̄ + (1 − γ)·θ, the
// similarity network f̄, ḡ of ReConPatch.
//
// A typical step:
//
//	opt := optim.NewAdamP(params, optim.DefaultAdamPConfig(1e-5))
//	sched := optim.NewCosine(opt, epochs, 0)
//	for epoch := range epochs {
//		for batch := range batches {
//			tp := autograd.NewTape()
//			tp.Backward(loss(tp, batch))
//			opt.Step()
//			opt.ZeroGrad()
//			ema.Update()
//		}
//		sched.Step()
//	}
package optim
