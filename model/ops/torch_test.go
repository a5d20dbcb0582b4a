package ops

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
)

// torchRef is testdata/torch_ref.json, written by gen_torch_ref.py.
type torchRef struct {
	Torch string `json:"torch"`
	Cases []struct {
		Name   string `json:"name"`
		Params struct {
			Eps    float32   `json:"eps"`
			Mean   []float32 `json:"mean"`
			Var    []float32 `json:"var"`
			Factor int       `json:"factor"`
			Kernel int       `json:"kernel"`
			Stride int       `json:"stride"`
			Pad    int       `json:"pad"`
			Alpha  float32   `json:"alpha"`
		} `json:"params"`
		Inputs      []refTensor `json:"inputs"`
		Out         refTensor   `json:"out"`
		R           []float32   `json:"r"`
		Grads       [][]float32 `json:"grads"`
		RunningMean []float32   `json:"running_mean"`
		RunningVar  []float32   `json:"running_var"`
	} `json:"cases"`
	Resize []struct {
		In       []int     `json:"in"`
		Out      []int     `json:"out"`
		Data     []float32 `json:"data"`
		Nearest  []float32 `json:"nearest"`
		Bilinear []float32 `json:"bilinear"`
	} `json:"resize"`
}

type refTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func loadTorchRef(t *testing.T) *torchRef {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref torchRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

// TestAgainstTorch checks each op's output, and its gradient of Σ y·r,
// against PyTorch's on small inputs.
func TestAgainstTorch(t *testing.T) {
	ref := loadTorchRef(t)
	for i, c := range ref.Cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.Name), func(t *testing.T) {
			p := c.Params
			var stats *BatchStats
			build := func(ins []*gorgonia.Node) (*gorgonia.Node, error) {
				x := ins[0]
				switch c.Name {
				case "instance_norm":
					return InstanceNorm(x, p.Eps)
				case "batch_norm_train":
					y, s, err := BatchNormTrain(x, p.Eps)
					stats = s
					return y, err
				case "batch_norm_eval":
					return BatchNormEval(x, p.Mean, p.Var, p.Eps)
				case "upsample_nearest":
					return UpsampleNearest(x, p.Factor)
				case "avg_pool":
					return AvgPool2D(x, p.Kernel, p.Stride, p.Pad)
				case "leaky_relu":
					return LeakyReLU(x, p.Alpha)
				case "add_bias":
					return AddBias(x, ins[1])
				case "modulate":
					return Modulate(x, ins[1], ins[2])
				}
				return nil, fmt.Errorf("unknown case %q", c.Name)
			}
			var shapes [][]int
			var ins [][]float32
			var wrt []int
			for i, in := range c.Inputs {
				shapes = append(shapes, in.Shape)
				ins = append(ins, in.Data)
				wrt = append(wrt, i)
			}
			lg := newLossGraph(t, shapes, wrt, build)
			if !lg.y.Shape().Eq(c.Out.Shape) {
				t.Fatalf("inferred shape %v, torch %v", lg.y.Shape(), c.Out.Shape)
			}
			y, grads := lg.run(t, ins, c.R)
			if err := closeTo(y, c.Out.Data, 1e-5, 1e-5); err != nil {
				t.Errorf("output: %v", err)
			}
			for i := range grads {
				if err := closeTo(grads[i], c.Grads[i], 1e-5, 1e-4); err != nil {
					t.Errorf("gradient %d: %v", i, err)
				}
			}
			if stats != nil {
				// PyTorch's running statistics started at 0 and 1.
				c0 := c.Inputs[0].Shape[1]
				rm, rv := make([]float32, c0), make([]float32, c0)
				for i := range rv {
					rv[i] = 1
				}
				if err := stats.UpdateRunning(rm, rv, 0.1); err != nil {
					t.Fatal(err)
				}
				if err := closeTo(rm, c.RunningMean, 1e-6, 1e-5); err != nil {
					t.Errorf("running mean: %v", err)
				}
				if err := closeTo(rv, c.RunningVar, 1e-6, 1e-5); err != nil {
					t.Errorf("running var: %v", err)
				}
			}
		})
	}
}

func TestResizeAgainstTorch(t *testing.T) {
	ref := loadTorchRef(t)
	for _, c := range ref.Resize {
		n, ch, h, w := c.In[0], c.In[1], c.In[2], c.In[3]
		name := fmt.Sprintf("%dx%d_to_%dx%d", h, w, c.Out[0], c.Out[1])
		t.Run(name, func(t *testing.T) {
			got := ResizeNearest(c.Data, n, ch, h, w, c.Out[0], c.Out[1])
			// Nearest copies values: any difference is a wrong pixel.
			if err := closeTo(got, c.Nearest, 0, 0); err != nil {
				t.Errorf("nearest: %v", err)
			}
			got = ResizeBilinear(c.Data, n, ch, h, w, c.Out[0], c.Out[1])
			if err := closeTo(got, c.Bilinear, 1e-6, 1e-6); err != nil {
				t.Errorf("bilinear: %v", err)
			}
		})
	}
}
