// Package model holds the SPADE networks and everything needed to run
// them: configs, weights under the official checkpoint keys, checkpoint
// files, import of official PyTorch checkpoints, and inference.
//
// The networks follow Park, Liu, Wang and Zhu, "Semantic Image Synthesis
// with Spatially-Adaptive Normalization", CVPR 2019 (arXiv:1903.07291),
// and match the official NVlabs/SPADE code layer for layer so that its
// checkpoints load and render identically:
//
//   - spade.go: the SPADE layer, a parameter-free norm modulated by γ and β
//     that a small conv net computes from the label map (paper Eq. 1);
//   - resblock.go: the SPADE residual block with its learned shortcut;
//   - generator.go: the generator, from a style code z (with the VAE) or
//     the shrunk label map, up through 7 or 8 residual blocks;
//   - encoder.go: the VAE style encoder producing μ and log σ²;
//   - discriminator.go: the multi-scale PatchGAN discriminator.
//
// The graphs are built with gorgonia; the few operations gorgonia lacks or
// gets wrong (instance norm, nearest upsampling, average pooling…) live in
// model/ops with gradient checks.
package model
