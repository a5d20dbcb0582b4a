// Package ops holds the hand-written gorgonia operations that the SPADE
// generator and discriminator need, for float32 NCHW tensors.
//
// They exist because the matching gorgonia v0.9.18 built-ins are wrong or
// too slow for this model, as measured in this project:
//
//   - Sum and Mean over several axes at once give wrong results, so a
//     hand-built batch or instance norm (means over (N, H, W) or (H, W))
//     is wrong;
//   - AveragePool2D divides every window sum by the input width instead of
//     the window size, and its gradient is wrong too;
//   - GroupNorm (which with one group per channel would be instance norm)
//     is wrong above 16×16;
//   - Upsample2D is right but about 100× slower than a plain loop;
//   - BatchNorm always applies a learned scale and bias, while SPADE needs
//     the parameter-free normalisation.
//
// LeakyRelu, a broadcast bias add and xhat·(1 + gamma) + beta built from
// Add and HadamardProd are right (values and gradients) but several times
// slower and allocate full-size temporaries at every run, so fused
// versions are here as well (see builtin_test.go and bench_test.go).
//
// Every op here computes in plain Go loops (float64 accumulation for
// statistics and reductions), matches the PyTorch function named in its
// doc comment, and splits its work across goroutines by (n, c) plane,
// channel or element range, one chunk per GOMAXPROCS, so small inputs stay
// on the calling goroutine.
//
// # Using the ops in a graph
//
// Each constructor (InstanceNorm, BatchNormTrain, UpsampleNearest, ...)
// returns a *gorgonia.Node. Its shape is inferred when the node is made,
// so its inputs must have known shapes: create inputs with
// gorgonia.WithShape. The ops implement gorgonia.SDOp (symbolic
// differentiation), so train with gorgonia.Grad (or Backpropagate) and a
// TapeMachine; they do not implement ADOp, so the LispMachine cannot
// differentiate through them.
//
// Training and inference need different graphs (or at least different
// nodes): BatchNormTrain normalises with the batch's statistics and fills
// its BatchStats at every run, BatchNormEval uses fixed running
// statistics, which the trainer keeps with BatchStats.UpdateRunning.
//
// Each op keeps its output buffer and writes into it again on the next
// run of the machine (the TapeMachine's Reset drops all registers, so
// gorgonia itself would allocate fresh tensors every run). A value read
// from a node after RunAll is therefore only valid until the next run:
// copy it (tensor.Clone) if it must survive. For the same reason a graph
// that uses these ops must not be run by two machines at the same time.
package ops
