// Package eval measures a SPADE model the way the paper does (Park et
// al., CVPR 2019, §4): label fidelity by segmenting its outputs with a
// segmentation network trained on real data and computing mIoU and pixel
// accuracy against the input label maps, style fidelity by comparing
// outputs with the style references they were rendered from, and
// diversity as the mean pairwise distance between outputs for one label
// map under random style codes.
//
// The "real" data is the procedural landscape generator (train/landscape):
// its label maps and photos match pixel for pixel and its style
// parameters are known, so every figure for the model comes next to the
// same figure for the generator's own photos of the same scenes, the
// ceiling a perfect model would reach.
//
//   - metrics.go: confusion matrices, per-class IoU, mIoU, pixel accuracy;
//   - segnet.go, segtrain.go: the segmentation network (a small U-Net,
//     136k weights, with a hand-written forward and backward pass checked
//     against finite differences; BenchmarkSegFwdBwd* time it against the
//     same net as a gorgonia graph: 1.5–7× faster with OpenBLAS, about 2×
//     with gonum, on a shared 2-core machine) and its training with
//     class-weighted cross-entropy and Adam;
//   - colour.go: CIE Lab colour statistics, image distances, the style
//     fidelity count;
//   - eval.go: the evaluation itself (Run) and its report.
//
// Seeds: the segmenter trains on layout seeds SegTrainSeedBase + k, the
// evaluation draws its held-out scenes from EvalSeedBase + i (styles,
// references and diversity styles from further disjoint offsets); the
// generator model's trainer draws hashed 63-bit seeds. Commands:
//
//	spadepaint eval [--model M] [--seg S] [--n 200] [--size 256] [--json] [--samples sheet.png]
//	spadepaint eval seg [--seg S] [--n 200]        # the segmenter alone on real photos
//	spadepaint eval train-seg --seed 1 --steps 3000 # make seg-model
package eval
