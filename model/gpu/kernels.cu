// Kernels of the GPU inference backend (package spadepaint/model/gpu).
//
// Compiled to PTX for compute_70 (JIT-compiled by the driver for the GPU
// it runs on, sm_70 and newer):
//
//	nvcc -ptx -arch=compute_70 -O3 -o model/gpu/kernels.ptx model/gpu/kernels.cu
//
// Everything is FP32 (no tensor cores): the backend must equal the CPU
// engine within 1e-3. Feature maps are NCHW planes without padding, one
// batch item at a time. Scalar parameters are int and float; pointers are
// device pointers, 0 for "none" where a kernel says so.

extern "C" {

// ---------------------------------------------------------------------
// SGEMM, row-major: C[m][n] = alpha·Σ_k opA[m][k]·opB[k][n] + beta·C[m][n]
// with opA[m][k] = transA ? A[k·lda+m] : A[m·lda+k] and
// opB[k][n] = transB ? B[n·ldb+k] : B[k·ldb+n] (gonum blas32 semantics).
//
// Block tile 128×128, BK = 8, 256 threads, 8×8 outputs per thread: thread
// (tx, ty) = (tid%16, tid/16) owns rows {ty·4..ty·4+3, 64+ty·4..64+ty·4+3}
// and the same pattern of columns with tx, so its shared-memory reads are
// float4s. Tiles at the edges load zeros out of range and store under
// bounds checks.
//
// Split-K: blockIdx.z covers K range [z·kchunk, min(K, (z+1)·kchunk));
// with ws != 0 the raw sums go to ws[z][m][n] (M×N each) and
// sgemm_splitk_reduce applies alpha and beta.
// ---------------------------------------------------------------------

#define GBM 128
#define GBN 128
#define GBK 8
#define GPAD 4

__global__ void __launch_bounds__(256) sgemm_128x128(int transA, int transB, int M, int N, int K,
	float alpha, const float* __restrict__ A, int lda, const float* __restrict__ B, int ldb,
	float beta, float* C, int ldc, float* ws, int kchunk)
{
	__shared__ __align__(16) float As[GBK][GBM + GPAD];
	__shared__ __align__(16) float Bs[GBK][GBN + GPAD];
	const int tid = threadIdx.x;
	const int tx = tid & 15, ty = tid >> 4;
	const int m0 = blockIdx.y * GBM, n0 = blockIdx.x * GBN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);

	float acc[8][8];
#pragma unroll
	for (int i = 0; i < 8; i++)
#pragma unroll
		for (int j = 0; j < 8; j++)
			acc[i][j] = 0.f;

	for (int k0 = kbeg; k0 < kend; k0 += GBK) {
#pragma unroll
		for (int i = 0; i < 4; i++) {
			const int e = tid + i * 256; // 0..1023: one of the 128×8 values of each tile
			int kk, mm;
			if (transA) {
				mm = e & 127;
				kk = e >> 7;
			} else {
				kk = e & 7;
				mm = e >> 3;
			}
			int gm = m0 + mm, gk = k0 + kk;
			float v = 0.f;
			if (gm < M && gk < kend)
				v = transA ? A[(size_t)gk * lda + gm] : A[(size_t)gm * lda + gk];
			As[kk][mm] = v;

			int nn;
			if (transB) {
				kk = e & 7;
				nn = e >> 3;
			} else {
				nn = e & 127;
				kk = e >> 7;
			}
			int gn = n0 + nn;
			gk = k0 + kk;
			v = 0.f;
			if (gn < N && gk < kend)
				v = transB ? B[(size_t)gn * ldb + gk] : B[(size_t)gk * ldb + gn];
			Bs[kk][nn] = v;
		}
		__syncthreads();
#pragma unroll
		for (int kk = 0; kk < GBK; kk++) {
			float a[8], b[8];
			float4 t;
			t = *(const float4*)&As[kk][ty * 4];
			a[0] = t.x; a[1] = t.y; a[2] = t.z; a[3] = t.w;
			t = *(const float4*)&As[kk][64 + ty * 4];
			a[4] = t.x; a[5] = t.y; a[6] = t.z; a[7] = t.w;
			t = *(const float4*)&Bs[kk][tx * 4];
			b[0] = t.x; b[1] = t.y; b[2] = t.z; b[3] = t.w;
			t = *(const float4*)&Bs[kk][64 + tx * 4];
			b[4] = t.x; b[5] = t.y; b[6] = t.z; b[7] = t.w;
#pragma unroll
			for (int i = 0; i < 8; i++)
#pragma unroll
				for (int j = 0; j < 8; j++)
					acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
		__syncthreads();
	}

#pragma unroll
	for (int i = 0; i < 8; i++) {
		const int gm = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
		if (gm >= M)
			continue;
#pragma unroll
		for (int j = 0; j < 8; j++) {
			const int gn = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
			if (gn >= N)
				continue;
			if (ws) {
				ws[((size_t)blockIdx.z * M + gm) * N + gn] = acc[i][j];
			} else {
				float* c = &C[(size_t)gm * ldc + gn];
				float v = alpha * acc[i][j];
				if (beta != 0.f) // BLAS: C is not read when beta is 0
					v += beta * *c;
				*c = v;
			}
		}
	}
}

// sgemm_splitk_reduce: C[m][n] = alpha·Σ_z ws[z][m][n] + beta·C[m][n].
__global__ void sgemm_splitk_reduce(int M, int N, int splits, const float* __restrict__ ws,
	float alpha, float beta, float* C, int ldc)
{
	const size_t total = (size_t)M * N;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		float s = 0.f;
		for (int z = 0; z < splits; z++)
			s += ws[(size_t)z * total + i];
		const int m = (int)(i / N), n = (int)(i % N);
		float* c = &C[(size_t)m * ldc + n];
		float v = alpha * s;
		if (beta != 0.f)
			v += beta * *c;
		*c = v;
	}
}

// ---------------------------------------------------------------------
// Convolution helpers.
// ---------------------------------------------------------------------

// im2col: col[((c·kh + ky)·kw + kx)][oy·OW + ox] = x[c][oy·stride − pad + ky][ox·stride − pad + kx],
// zero outside the C×H×W input; rows match PyTorch's weight layout
// [out][C][kh][kw], so a conv is W[out][C·kh·kw] · col.
__global__ void im2col(const float* __restrict__ x, int C, int H, int W, int kh, int kw, int stride, int pad,
	int OH, int OW, float* __restrict__ col)
{
	const size_t total = (size_t)C * kh * kw * OH * OW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		size_t t = i;
		const int ox = (int)(t % OW); t /= OW;
		const int oy = (int)(t % OH); t /= OH;
		const int kx = (int)(t % kw); t /= kw;
		const int ky = (int)(t % kh);
		const int c = (int)(t / kh);
		const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
		float v = 0.f;
		if (iy >= 0 && iy < H && ix >= 0 && ix < W)
			v = x[((size_t)c * H + iy) * W + ix];
		col[i] = v;
	}
}

// gather3 is a 3×3 convolution (padding 1) of a one-hot label map, as a
// gather of weight entries by the code (class, or class·2 + edge) under
// each tap: out[o][y][x] = Σ_t tab[o][t][code(y+dy, x+dx)], code ncodes
// (the last, a zero entry) outside the map; the bias is folded into the
// centre tap's entries. tab is [nout][9][nc1] with nc1 = ncodes + 1. The
// sum order is the CPU engine's. relu != 0 clamps at 0.
// Grid: x over pixels, y over output channels.
__global__ void gather3(const int* __restrict__ codes, int H, int W, const float* __restrict__ tab, int nc1,
	int relu, float* __restrict__ out)
{
	const int p = blockIdx.x * blockDim.x + threadIdx.x;
	const int o = blockIdx.y;
	if (p >= H * W)
		return;
	const int y = p / W, x = p % W;
	const float* tb = tab + (size_t)o * 9 * nc1;
	float s[9];
#pragma unroll
	for (int t = 0; t < 9; t++) {
		const int sy = y + t / 3 - 1, sx = x + t % 3 - 1;
		int code = nc1 - 1;
		if (sy >= 0 && sy < H && sx >= 0 && sx < W)
			code = codes[sy * W + sx];
		s[t] = tb[t * nc1 + code];
	}
	float v = (s[0] + s[2] + s[4] + s[6] + s[8]) + (s[1] + s[3] + s[5] + s[7]);
	if (relu)
		v = fmaxf(v, 0.f);
	out[(size_t)o * H * W + p] = v;
}

// ---------------------------------------------------------------------
// Normalisation and element-wise kernels.
// ---------------------------------------------------------------------

// plane_stats: per channel (one block of 256 threads each) the mean and
// 1/sqrt(var + eps) over its HW values, biased variance, float64 sums as
// the CPU engine.
__global__ void __launch_bounds__(256) plane_stats(const float* __restrict__ x, int HW, float eps,
	float* __restrict__ mean, float* __restrict__ rstd)
{
	__shared__ double s1s[256], s2s[256];
	const int c = blockIdx.x;
	const float* p = x + (size_t)c * HW;
	double s1 = 0, s2 = 0;
	for (int i = threadIdx.x; i < HW; i += blockDim.x) {
		const double f = p[i];
		s1 += f;
		s2 += f * f;
	}
	s1s[threadIdx.x] = s1;
	s2s[threadIdx.x] = s2;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s) {
			s1s[threadIdx.x] += s1s[threadIdx.x + s];
			s2s[threadIdx.x] += s2s[threadIdx.x + s];
		}
		__syncthreads();
	}
	if (threadIdx.x == 0) {
		const double n = (double)HW;
		const double m = s1s[0] / n;
		const double v = fmax(s2s[0] / n - m * m, 0.0);
		mean[c] = (float)m;
		rstd[c] = (float)(1.0 / sqrt(v + (double)eps));
	}
}

// modulate: dst = [lrelu](norm(x)·A + B) over C×HW values, where ab holds
// A in its first C planes and B in the next C; norm is (x − mean)·rstd per
// channel, or the identity when mean is 0 (batch norm, folded into A, B).
__global__ void modulate(const float* __restrict__ x, const float* __restrict__ ab, int C, int HW,
	const float* __restrict__ mean, const float* __restrict__ rstd, int relu, float slope, float* __restrict__ dst)
{
	const size_t total = (size_t)C * HW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		float v = x[i];
		if (mean) {
			const int c = (int)(i / HW);
			v = (v - mean[c]) * rstd[c];
		}
		v = v * ab[i] + ab[total + i];
		if (relu && v < 0.f)
			v *= slope;
		dst[i] = v;
	}
}

// spade_fold turns the raw mlp_gamma/mlp_beta outputs in gb (γ in planes
// [0, C), β in [C, 2C), without bias) into the modulation in place:
// A = (1 + γ + bγ)·rstd, B = β + bβ − mean·A, with rstd = 1 and mean = 0
// when rstd is 0 (instance norm, whose statistics come per render).
__global__ void spade_fold(float* gb, int C, int HW, const float* __restrict__ bias,
	const float* __restrict__ mean, const float* __restrict__ rstd)
{
	const size_t total = (size_t)C * HW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		const int c = (int)(i / HW);
		float r = 1.f, m = 0.f;
		if (rstd) {
			r = rstd[c];
			m = mean[c];
		}
		const float a = (1.f + gb[i] + bias[c]) * r;
		gb[i] = a;
		gb[total + i] = gb[total + i] + bias[C + c] - m * a;
	}
}

// norm_apply: x = [lrelu]((x − mean)·rstd) in place, per channel (the
// encoder's instance norm without affine).
__global__ void norm_apply(float* x, int C, int HW, const float* __restrict__ mean, const float* __restrict__ rstd,
	int relu, float slope)
{
	const size_t total = (size_t)C * HW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		const int c = (int)(i / HW);
		float v = (x[i] - mean[c]) * rstd[c];
		if (relu && v < 0.f)
			v *= slope;
		x[i] = v;
	}
}

// upsample2: nearest ×2, dst [C][2H][2W] from src [C][H][W].
__global__ void upsample2(const float* __restrict__ src, int C, int H, int W, float* __restrict__ dst)
{
	const int OW = 2 * W, OH = 2 * H;
	const size_t total = (size_t)C * OH * OW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		const int x = (int)(i % OW);
		const size_t t = i / OW;
		const int y = (int)(t % OH);
		const size_t c = t / OH;
		dst[i] = src[(c * H + (y >> 1)) * W + (x >> 1)];
	}
}

// add_bias: x[c][p] += bias[c] over C×HW values.
__global__ void add_bias(float* x, int C, int HW, const float* __restrict__ bias)
{
	const size_t total = (size_t)C * HW;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
		x[i] += bias[i / HW];
}

// leaky: x = x < 0 ? slope·x : x, in place.
__global__ void leaky(float* x, int n, float slope)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
		const float v = x[i];
		if (v < 0.f)
			x[i] = v * slope;
	}
}

// tanh_inplace: x = tanh(x).
__global__ void tanh_inplace(float* x, int n)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
		x[i] = tanhf(x[i]);
}

} // extern "C"
