// Package train trains SPADE's generator, style encoder and multi-scale
// discriminator (Park et al., CVPR 2019) as the official NVlabs/SPADE
// trainer does, on the CPU, with runs that can be stopped and resumed
// exactly.
//
//   - graph.go: the two training graphs, built in model's Train mode. The
//     generator's: encoder → z = μ + ε·exp(½·logvar) → generator →
//     discriminator on [labels, fake] and [labels, real] → hinge loss
//     −mean D(fake) (averaged over the scales as the official GANLoss),
//     feature matching Σ L1(D_fake, D_real)·λ_feat/num_D and the KL
//     divergence −½·Σ(1 + logvar − μ² − e^logvar)·λ_kld; gradients for G
//     and E. The discriminator's: a fresh forward through the updated
//     generator, then mean relu(1 + D(fake)) + mean relu(1 − D(real));
//     gradients for D.
//   - adam.go: torch.optim.Adam, with its moments kept per key.
//   - trainer.go: the loop (one D step per G step, two-time-scale
//     learning rates, linear decay, gradient accumulation, one spectral
//     norm power iteration per training forward, batch-norm running
//     statistics), the run folder (config.json, log.jsonl, samples/,
//     checkpoints/, model.safetensors) and resumption.
//   - checkpoint.go: checkpoints as .safetensors, written atomically.
//   - data.go, formats.go: data sets (plain folders, ADE20K, COCO-Stuff,
//     Cityscapes, registered generated sources), the official
//     preprocessing (resize to the load size, random crop, flip) and
//     loading in goroutines ahead of the step.
//
// Every random choice (initial weights, data order, crops, flips, VAE
// noise) is a function of the seed and the step, so a checkpoint holds
// the whole state and a resumed run logs the same losses, bit for bit, as
// one that never stopped.
package train
