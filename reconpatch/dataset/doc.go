// Package dataset lists the images of an anomaly-detection data set: which
// files train the model, which test it, their labels, defect types and
// ground-truth masks. It only lists and pairs files; decoding and
// preprocessing are package imageio's (imageio.Load, imageio.LoadMask).
//
// Layouts (see Layout), detected by Detect or chosen with OpenLayout:
//
//	MVTec AD  <root>/train/good/*              training images (good)
//	          <root>/validation/good/*         optional held-out good images
//	          <root>/test/good/*               good test images
//	          <root>/test/<type>/<stem>.<ext>  defect test images
//	          <root>/ground_truth/<type>/<stem>_mask.png
//	BTAD      <root>/train/ok/*, <root>/test/ok/*, <root>/test/ko/*
//	          <root>/ground_truth/ko/<stem>.png (or .bmp)
//	Folder    <root>/**/*                      normal training images only
//
// Images are the files ending in .png, .jpg, .jpeg, .bmp, .tif or .tiff, in
// any case. Hidden files and folders (a name starting with ".") are
// ignored. Listing is deterministic: files and types in name order.
//
// Problems that leave the data set usable are returned as Warnings, never
// printed: a defect image without a mask (listed with an empty MaskPath:
// image metrics only, see Sample.HasPixelTruth), a mask without an image, a
// second mask for one image, files that are not images. Problems that do
// not are errors naming the folder: no recognisable layout, an empty or
// missing training folder, an empty validation/good folder.
//
// Split and HoldOut set aside good training images for thresholds and score
// normalisation (spec section 12: validation/good when present, otherwise a
// seeded 10 % of train/good).
package dataset
