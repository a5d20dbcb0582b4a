// Package eval measures a SPADE model the way the paper does (Park et
// al., CVPR 2019, §4): label fidelity by segmenting its outputs with a
// segmentation network trained on real data and computing mIoU and pixel
// accuracy against the input label maps, style fidelity by comparing
// outputs with the style references they were rendered from, and
// diversity as the mean pairwise distance between outputs for one label
// map under random style codes.
//
// The "real" data is the procedural landscape generator: its label maps
// and photos match pixel for pixel, and its style parameters are known,
// so every figure for the model comes next to the same figure for the
// generator's own photos (the ceiling).
//
//   - metrics.go: confusion matrices, per-class IoU, mIoU, pixel accuracy;
//   - segnet.go, segtrain.go: the segmentation network (a small U-Net with a
//     hand-written forward and backward pass) and its training with Adam;
//   - colour.go: CIE Lab colour statistics and image distances;
//   - eval.go: the evaluation itself (Run) and its report.
package eval
