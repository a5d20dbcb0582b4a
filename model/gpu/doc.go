// Package gpu runs SPADE inference on an NVIDIA GPU through the CUDA
// driver API (gorgonia.org/cu), in builds tagged gpu.
//
// The whole generator forward stays on the device: convolutions as
// im2col + the package's own FP32 SGEMM kernel (no cuBLAS or cuDNN, whose
// libraries are tied to one CUDA version), and small kernels for the
// label-branch gathers, nearest upsampling, instance-norm statistics,
// SPADE modulation, leaky ReLU, bias and tanh (kernels.cu, compiled to
// PTX with `go generate` and embedded; the driver JIT-compiles it for the
// GPU at hand). Weights are uploaded once, buffers are reused, and every
// SPADE layer's modulation (A = (1+γ)·rstd, B = β − mean·A) stays on the
// device for the last label map, so a new style re-runs only the main
// path. Results equal the CPU engine's within float32 rounding.
//
// Open finds the driver and device 0; NewBackend uploads a model and
// returns a model.Backend for Model.SetBackend. Device.Sgemm runs a
// single GEMM on host slices (for training). Without the gpu tag the
// package is empty.
package gpu
