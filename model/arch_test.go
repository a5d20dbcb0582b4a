package model

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"spadepaint/model/nd"
)

// TestSpecsMatchOfficialKeys compares our parameter lists with the keys
// and shapes the official NVlabs/SPADE code writes (testdata copied from
// the project's shared reference).
func TestSpecsMatchOfficialKeys(t *testing.T) {
	f, err := os.Open("testdata/official-spade-state-dict-keys.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[string]string{} // config/net → key → shape
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Split(line, "\t")
		id := fs[0] + "/" + fs[1]
		if want[id] == nil {
			want[id] = map[string]string{}
		}
		want[id][fs[2]] = fs[3]
	}
	base := Config{LabelNC: 8, NGF: 4, NHidden: 128, ZDim: 256, UseVAE: true, AspectRatio: 1, EncoderLayers: 6}
	c256 := base
	c256.Width, c256.Norm = 256, BatchNorm
	c64 := base
	c64.Width, c64.Norm = 64, InstanceNorm
	cases := []struct {
		id    string
		specs []Spec
	}{
		{"tiny_c256/netG", GeneratorSpecs(c256)},
		{"tiny_c256/netE", EncoderSpecs(c256)},
		{"tiny_c64_inst/netG", GeneratorSpecs(c64)},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			w := want[tc.id]
			if len(w) == 0 {
				t.Fatalf("no reference keys for %s", tc.id)
			}
			if len(tc.specs) != len(w) {
				t.Errorf("have %d keys, official %d", len(tc.specs), len(w))
			}
			for _, s := range tc.specs {
				shape, ok := w[s.Key]
				if !ok {
					t.Errorf("key %s not in the official state_dict", s.Key)
					continue
				}
				if got := nd.ShapeString(s.Shape); got != shape {
					t.Errorf("%s: shape %s, official %s", s.Key, got, shape)
				}
			}
		})
	}
}
