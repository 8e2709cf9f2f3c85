// Package synth generates synthetic industrial inspection data sets: seeded
// procedural surfaces with realistic variation and realistic defects, each
// defect with its exact pixel mask, in the MVTec AD layout that package
// dataset reads. It backs `rp demo` and `rp synth`.
//
// # Categories
//
// Categories lists the built-in categories and their defect types:
//
//	brushed_metal  grey   scratch, hole, stain
//	woven_fabric   RGB    hole, stain, cut
//	printed_grid   RGB    missing_print, scratch, stain
//	wood           RGB    scratch, crack, hole
//
// Normal images of a category vary like photographs of one product: the
// surface's position and angle, its texture (streaks, thread jitter, ring
// pattern), print misregistration, exposure, lighting gradients,
// vignetting and sensor noise all change from image to image, while the
// product itself stays the same. Defects cover 0.2 % to 3 % of the image;
// the change a defect makes is confined to its mask (up to anti-aliased
// edges), which marks every pixel whose defect weight reaches 25 %.
//
// # Layout
//
// Generate writes, for each category,
//
//	<dir>/<category>/train/good/000.png
//	<dir>/<category>/test/good/000.png
//	<dir>/<category>/test/<defect>/000.png
//	<dir>/<category>/ground_truth/<defect>/000_mask.png
//
// Images are 8-bit grey or RGB PNGs, masks 8-bit grey PNGs of 0 and 255.
//
// # Determinism
//
// Each image is drawn from its own seed, ImageSeed(seed, category, split,
// index), through independent random streams for the surface, the
// lighting, the sensor noise and the defect, so that Render of a defect
// image and of the same seed without the defect differ only in the
// defect. The same Config gives byte-identical files whatever the number
// of workers; across CPU architectures a rare pixel may differ by one
// level (floating-point contraction and math library differences).
package synth
