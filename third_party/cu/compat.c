// Driver calls whose prototype depends on the CUDA header version.
// See compat.h.
#include "compat.h"

#if CUDA_VERSION >= 13000
// cuc_location maps a device ordinal to a CUmemLocation; CU_DEVICE_CPU
// (-1) means host memory, as it did for the pre-13 device argument.
static CUmemLocation cuc_location(CUdevice device) {
	CUmemLocation loc;
	if (device == CU_DEVICE_CPU) {
		loc.type = CU_MEM_LOCATION_TYPE_HOST;
		loc.id = 0;
	} else {
		loc.type = CU_MEM_LOCATION_TYPE_DEVICE;
		loc.id = (int)device;
	}
	return loc;
}
#endif

CUresult cuc_ctxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev) {
#if CUDA_VERSION >= 13000
	return cuCtxCreate(pctx, NULL, flags, dev);
#else
	return cuCtxCreate(pctx, flags, dev);
#endif
}

CUresult cuc_memAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device) {
#if CUDA_VERSION >= 13000
	return cuMemAdvise(devPtr, count, advice, cuc_location(device));
#else
	return cuMemAdvise(devPtr, count, advice, device);
#endif
}

CUresult cuc_memPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream) {
#if CUDA_VERSION >= 13000
	return cuMemPrefetchAsync(devPtr, count, cuc_location(dstDevice), 0, hStream);
#else
	return cuMemPrefetchAsync(devPtr, count, dstDevice, hStream);
#endif
}

CUresult cuc_graphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies) {
#if CUDA_VERSION >= 13000
	return cuGraphAddDependencies(hGraph, from, to, NULL, numDependencies);
#else
	return cuGraphAddDependencies(hGraph, from, to, numDependencies);
#endif
}

CUresult cuc_graphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges) {
#if CUDA_VERSION >= 13000
	return cuGraphGetEdges(hGraph, from, to, NULL, numEdges);
#else
	return cuGraphGetEdges(hGraph, from, to, numEdges);
#endif
}
