package model

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"spadepaint/model/nd"
	"spadepaint/model/npy"
)

// parityCase mirrors config.json written by testdata/parity/gen.py, the
// PyTorch reference (checked there against the official NVlabs code).
type parityCase struct {
	NGF             int     `json:"ngf"`
	LabelNC         int     `json:"label_nc"`
	ContainDontCare bool    `json:"contain_dontcare"`
	Instance        bool    `json:"instance"`
	SemanticNC      int     `json:"semantic_nc"`
	Crop            int     `json:"crop"`
	AspectRatio     float64 `json:"aspect_ratio"`
	Upsampling      string  `json:"upsampling"`
	Norm            string  `json:"norm"`
	NHidden         int     `json:"nhidden"`
	UseVAE          bool    `json:"use_vae"`
	ZDim            int     `json:"z_dim"`
	Batch           int     `json:"batch"`
	Height          int     `json:"height"`
	Width           int     `json:"width"`
}

const parityTol = 1e-4

func readNpy(t *testing.T, path string) *nd.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func assertClose(t *testing.T, what string, got []float32, want *nd.Array) {
	t.Helper()
	if len(got) != len(want.F32) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want.F32))
	}
	if d := maxAbsDiff(got, want.F32); d > parityTol {
		t.Errorf("%s: max abs diff %.3g > %g", what, d, parityTol)
	} else {
		t.Logf("%s: max abs diff %.3g", what, d)
	}
}

// TestGeneratorParity imports the reference .pth files (zip and legacy)
// and compares eval-mode outputs and encoder μ/logvar with PyTorch's.
func TestGeneratorParity(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/parity/*/config.json")
	n := 0
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		if _, err := os.Stat(filepath.Join(dir, "netG.pth")); err != nil {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if testing.Short() && filepath.Base(dir) == "c256_batch_vae" {
				t.Skip("256² parity in -short")
			}
			var pc parityCase
			b, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &pc); err != nil {
				t.Fatal(err)
			}
			up, err := ParseUpsampling(pc.Upsampling)
			if err != nil {
				t.Fatal(err)
			}
			ePath := ""
			if pc.UseVAE {
				ePath = filepath.Join(dir, "netE.pth")
			}
			m, err := ImportPTH(filepath.Join(dir, "netG.pth"), ePath, ImportOptions{
				Upsampling: up, AspectRatio: pc.AspectRatio, Instance: pc.Instance, DontCare: pc.ContainDontCare,
				Width: pc.Width,
			})
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			if c.NGF != pc.NGF || c.SemanticNC() != pc.SemanticNC || c.NHidden != pc.NHidden || c.Norm.String() != pc.Norm ||
				c.Width != pc.Width || c.Height() != pc.Height || c.UseVAE != pc.UseVAE || c.Upsampling != up {
				t.Fatalf("inferred config %+v does not match %+v", c, pc)
			}
			labels, err := LabelsFromArray(readNpy(t, filepath.Join(dir, "labels.npy")))
			if err != nil {
				t.Fatal(err)
			}
			if pc.Instance {
				inst, err := ReadInstances(filepath.Join(dir, "instance.npy"), labels)
				if err != nil {
					t.Fatal(err)
				}
				labels.Instance = inst
			}
			ctx := context.Background()
			if !pc.UseVAE {
				img, err := m.Generate(ctx, labels, nil)
				if err != nil {
					t.Fatal(err)
				}
				assertClose(t, "G(labels)", img.Pix, readNpy(t, filepath.Join(dir, "out.npy")))
				return
			}
			z := readNpy(t, filepath.Join(dir, "z.npy"))
			img, err := m.Generate(ctx, labels, z.F32)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "G(labels, z)", img.Pix, readNpy(t, filepath.Join(dir, "out_z.npy")))
			sa := readNpy(t, filepath.Join(dir, "style.npy"))
			style := &Image{N: sa.Shape[0], H: sa.Shape[2], W: sa.Shape[3], Pix: sa.F32}
			mu, logvar, err := m.Encode(ctx, style)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "μ", mu, readNpy(t, filepath.Join(dir, "mu.npy")))
			assertClose(t, "logvar", logvar, readNpy(t, filepath.Join(dir, "logvar.npy")))
			img, err = m.Generate(ctx, labels, mu)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "G(labels, μ)", img.Pix, readNpy(t, filepath.Join(dir, "out_mu.npy")))

			// The project's own format round-trips bit-exactly.
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			m2, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Config != m.Config {
				t.Errorf("config after round trip %+v, want %+v", m2.Config, m.Config)
			}
			for _, set := range [][2]Params{{m.G, m2.G}, {m.E, m2.E}} {
				for k, a := range set[0] {
					if fmt.Sprint(a.Data()) != fmt.Sprint(set[1][k].Data()) {
						t.Errorf("%s changed in the round trip", k)
					}
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no parity fixtures found")
	}
}
