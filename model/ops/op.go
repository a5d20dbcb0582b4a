package ops

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"runtime"
	"sync"
	"unsafe"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernel is what differs from one op to the next: its arithmetic and its
// shapes. The op type below wraps a kernel into a gorgonia.Op, so that the
// dozen forward and backward ops here share one implementation of
// gorgonia's interface instead of a dozen copies of it.
type kernel interface {
	// name describes the op with all its parameters. It is the op's String
	// and what its hash is made from, so two nodes with the same name and
	// the same children are merged by gorgonia into one.
	name() string
	// dims gives the number of dimensions of each input and of the output.
	dims() (in []int, out int)
	// shape checks the input shapes and returns the output shape. It is
	// used when the node is made and again at every run.
	shape(in []tensor.Shape) (tensor.Shape, error)
	// compute writes every element of out (which holds garbage from the
	// previous run) from the inputs, which are contiguous and row-major.
	compute(out []float32, outShape tensor.Shape, in [][]float32, inShapes []tensor.Shape)
}

// differentiable is a kernel that gorgonia.Grad can differentiate through.
type differentiable interface {
	diffWRT() []bool
	symDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error)
}

// op adapts a kernel to gorgonia.Op, gorgonia.SDOp and
// gorgonia.UsePreallocDoer.
type op struct {
	k kernel
	// buf is the output of the previous run, written over in the next one.
	// gorgonia cannot reuse it for us: TapeMachine.Reset, needed before
	// every RunAll, forgets all registers, so every run would otherwise
	// allocate (and zero, and later collect) a fresh output.
	buf []float32
}

var (
	_ gorgonia.Op              = (*op)(nil)
	_ gorgonia.SDOp            = (*op)(nil)
	_ gorgonia.UsePreallocDoer = (*op)(nil)
)

// apply makes a node of k applied to the children.
func apply(k kernel, children ...*gorgonia.Node) (*gorgonia.Node, error) {
	for i, c := range children {
		if c == nil {
			return nil, fmt.Errorf("%s: input %d is nil", k.name(), i)
		}
	}
	n, err := gorgonia.ApplyOp(&op{k: k}, children...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.name(), err)
	}
	return n, nil
}

func (o *op) Arity() int { in, _ := o.k.dims(); return len(in) }

// Type fixes the element type to float32, so a float64 input fails when
// the node is made rather than when the graph runs.
func (o *op) Type() hm.Type {
	in, out := o.k.dims()
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, gorgonia.TensorType{Dims: d, Of: gorgonia.Float32})
	}
	ts = append(ts, gorgonia.TensorType{Dims: out, Of: gorgonia.Float32})
	return hm.NewFnType(ts...)
}

func (o *op) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	shapes := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok || len(s) == 0 {
			return nil, fmt.Errorf("%s: input %d has no known shape (make inputs with gorgonia.WithShape)", o.k.name(), i)
		}
		shapes[i] = s
	}
	return o.k.shape(shapes)
}

func (o *op) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, outShape, err := o.inputs(vals)
	if err != nil {
		return nil, err
	}
	size := outShape.TotalSize()
	if cap(o.buf) < size || OverlapsAny(o.buf[:size], in) {
		o.buf = make([]float32, size)
	}
	out := o.buf[:size]
	o.k.compute(out, outShape, in, shapes)
	return tensor.New(tensor.WithShape(outShape...), tensor.WithBacking(out)), nil
}

// UsePreallocDo writes into a register gorgonia allocated. It refuses
// (and the TapeMachine then falls back to Do) a tensor of another shape,
// a view, or one that shares memory with an input.
func (o *op) UsePreallocDo(prealloc gorgonia.Value, vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, shapes, outShape, err := o.inputs(vals)
	if err != nil {
		return nil, err
	}
	d, ok := prealloc.(*tensor.Dense)
	if !ok || d.Dtype() != tensor.Float32 || d.IsMaterializable() || !d.Shape().Eq(outShape) {
		return nil, fmt.Errorf("%s: preallocated value does not fit", o.k.name())
	}
	out, ok := d.Data().([]float32)
	if !ok || len(out) != outShape.TotalSize() || OverlapsAny(out, in) {
		return nil, fmt.Errorf("%s: preallocated value does not fit", o.k.name())
	}
	o.k.compute(out, outShape, in, shapes)
	return d, nil
}

// inputs unpacks and checks the run-time inputs.
func (o *op) inputs(vals []gorgonia.Value) (in [][]float32, shapes []tensor.Shape, out tensor.Shape, err error) {
	if len(vals) != o.Arity() {
		return nil, nil, nil, fmt.Errorf("%s: got %d inputs, want %d", o.k.name(), len(vals), o.Arity())
	}
	in = make([][]float32, len(vals))
	shapes = make([]tensor.Shape, len(vals))
	for i, v := range vals {
		if in[i], shapes[i], err = float32s(v); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: input %d: %w", o.k.name(), i, err)
		}
	}
	if out, err = o.k.shape(shapes); err != nil {
		return nil, nil, nil, err
	}
	return in, shapes, out, nil
}

// float32s returns the elements of a float32 tensor in row-major order,
// copying only when the tensor is a strided view or transposed.
func float32s(v gorgonia.Value) ([]float32, tensor.Shape, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, nil, fmt.Errorf("want a tensor, got %T", v)
	}
	if t.Dtype() != tensor.Float32 {
		return nil, nil, fmt.Errorf("want float32, got %v", t.Dtype())
	}
	if d, ok := t.(*tensor.Dense); ok && d.RequiresIterator() {
		t = d.Materialize()
	}
	data, ok := t.Data().([]float32)
	if !ok || len(data) != t.Shape().TotalSize() {
		return nil, nil, fmt.Errorf("tensor of shape %v has no contiguous float32 data", t.Shape())
	}
	return data, t.Shape(), nil
}

// overlapsAny reports whether out shares memory with any of in. A user
// may Let an input be a tensor that was an op's output in the previous
// run; writing the new output over it would corrupt the input.
func OverlapsAny(out []float32, in [][]float32) bool {
	if len(out) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(out)))
	hi := lo + uintptr(len(out))*4
	for _, s := range in {
		if len(s) == 0 {
			continue
		}
		a := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
		if a < hi && lo < a+uintptr(len(s))*4 {
			return true
		}
	}
	return false
}

func (o *op) ReturnsPtr() bool     { return false }
func (o *op) CallsExtern() bool    { return false }
func (o *op) OverwritesInput() int { return -1 }
func (o *op) String() string       { return o.k.name() }
func (o *op) WriteHash(h hash.Hash) {
	io.WriteString(h, o.k.name())
}

func (o *op) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// DiffWRT says no input is differentiable for backward kernels, which
// gorgonia then treats as constants instead of failing the differentiation.
func (o *op) DiffWRT(inputs int) []bool {
	if d, ok := o.k.(differentiable); ok {
		return d.diffWRT()
	}
	return make([]bool, inputs)
}

func (o *op) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, ok := o.k.(differentiable)
	if !ok {
		return nil, fmt.Errorf("%s is not differentiable", o.k.name())
	}
	if len(inputs) != o.Arity() {
		return nil, fmt.Errorf("%s: got %d inputs, want %d", o.k.name(), len(inputs), o.Arity())
	}
	return d.symDiff(inputs, output, grad)
}

// Shape checks shared by the kernels.

func want4D(name string, s tensor.Shape) error {
	if len(s) != 4 {
		return fmt.Errorf("%s: want an NCHW tensor, got shape %v", name, s)
	}
	for _, d := range s {
		if d <= 0 {
			return fmt.Errorf("%s: empty shape %v", name, s)
		}
	}
	return nil
}

func wantSame(name string, in []tensor.Shape) error {
	for i := 1; i < len(in); i++ {
		if !in[i].Eq(in[0]) {
			return fmt.Errorf("%s: input %d has shape %v, input 0 has %v", name, i, in[i], in[0])
		}
	}
	return nil
}

// minParallel is the element count below which an op stays on the calling
// goroutine: starting and joining goroutines costs about as much as one
// pass over this many floats.
const minParallel = 1 << 15

// ParallelFor calls body on [0, n) split into one contiguous range per
// GOMAXPROCS, concurrently, unless the work (in elements touched) is too
// small to pay for the goroutines. Ranges are coarse on purpose: this
// machine has few cores and shares them.
func ParallelFor(n, work int, body func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 || work < minParallel {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 1; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, n/w)
	wg.Wait()
}

// parallelElems is parallelFor over the elements of a flat array.
func parallelElems(n int, body func(lo, hi int)) { ParallelFor(n, n, body) }
