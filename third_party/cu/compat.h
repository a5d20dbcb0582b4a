// compat.h declares small C helpers that give the Go code one signature for
// driver calls whose C prototype changed between CUDA 11.x/12.x and 13.x, so
// the package compiles against any of those header sets.
#ifndef CU_COMPAT_H
#define CU_COMPAT_H

#include <cuda.h>

// cuc_ctxCreate creates a context: cuCtxCreate_v2 before CUDA 13, and
// cuCtxCreate_v4 with no extra create params from CUDA 13 on.
CUresult cuc_ctxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev);

// cuc_memAdvise and cuc_memPrefetchAsync take a device ordinal (or
// CU_DEVICE_CPU); from CUDA 13 on it is turned into a CUmemLocation.
CUresult cuc_memAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice device);
CUresult cuc_memPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream);

// cuc_graphAddDependencies and cuc_graphGetEdges pass no edge data (the
// CUDA 13 prototypes gained a CUgraphEdgeData* argument).
CUresult cuc_graphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies);
CUresult cuc_graphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges);

#endif
