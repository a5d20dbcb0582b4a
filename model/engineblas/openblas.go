//go:build openblas

package engineblas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
*/
import "C"

// Threads returns how many threads OpenBLAS uses per call.
func Threads() int { return int(C.openblas_get_num_threads()) }

// SetThreads sets how many threads OpenBLAS uses per call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// Core names the kernels OpenBLAS runs ("Haswell", "SkylakeX", …): the
// one it detected, or the one OPENBLAS_CORETYPE forces.
func Core() string { return C.GoString(C.openblas_get_corename()) }
