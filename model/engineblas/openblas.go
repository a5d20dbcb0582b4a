//go:build openblas

package engineblas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
*/
import "C"

// Threads returns how many threads OpenBLAS uses per call.
func Threads() int { return int(C.openblas_get_num_threads()) }

// SetThreads sets how many threads OpenBLAS uses per call.
func SetThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
