// loader.h: run-time loading of the CUDA driver library (see loader.c).
#ifndef CU_LOADER_H
#define CU_LOADER_H

#include <stddef.h>

// cudl_load dlopens path and points every driver function the package uses
// at its symbol there. It returns 0 on success; otherwise it writes the
// reason (dlerror) into errbuf and leaves the functions unloaded.
int cudl_load(const char *path, char *errbuf, size_t errlen);

// cudl_missing_count is how many of the package's driver functions the
// loaded library lacks (they return CUDA_ERROR_NOT_SUPPORTED);
// cudl_missing_name(i) names the i-th of them.
int cudl_missing_count(void);
const char *cudl_missing_name(int i);

// cudl_error_string describes a CUresult with the driver's own words, or
// returns NULL when the driver is not loaded or does not know the code.
const char *cudl_error_string(int res);

#endif
