package landscape

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"spadepaint/assets"
	"spadepaint/model"
	"spadepaint/train"
)

func TestPaletteMatchesAssets(t *testing.T) {
	p, err := assets.Palette(assets.Landscape)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Classes) != int(NumClasses) {
		t.Fatalf("palette has %d classes, the generator %d", len(p.Classes), NumClasses)
	}
	for _, c := range p.Classes {
		if ClassNames[c.ID] != c.Name {
			t.Errorf("class %d: palette says %q, generator %q", c.ID, c.Name, ClassNames[c.ID])
		}
	}
}

func TestDeterministic(t *testing.T) {
	st := RandomStyle(newRand(5))
	for _, seed := range []int64{1, 2, 3, 40, -7} {
		l1, p1 := Generate(seed, 96, 80, st)
		// Concurrent calls share scratch buffers through a pool; they must
		// not disturb each other.
		var wg sync.WaitGroup
		res := make([][2][]byte, 4)
		for k := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, p := Generate(seed, 96, 80, st)
				res[k] = [2][]byte{l.Pix, p.Pix}
			}()
		}
		wg.Wait()
		for k := range res {
			if !bytes.Equal(res[k][0], l1.Pix) || !bytes.Equal(res[k][1], p1.Pix) {
				t.Fatalf("seed %d: run %d differs from the first", seed, k)
			}
		}
	}
	a, _ := Generate(1, 64, 64, st)
	b, _ := Generate(2, 64, 64, st)
	if bytes.Equal(a.Pix, b.Pix) {
		t.Error("seeds 1 and 2 give the same label map")
	}
}

// groundOnly are classes that lie on the ground plane and so never above
// the horizon.
var groundOnly = map[uint8]bool{Grass: true, Flower: true, Sand: true, Dirt: true, Sea: true, River: true, WaterOther: true}

func TestLabelsConsistent(t *testing.T) {
	const n, size = 60, 96
	var seen [NumClasses]int
	st := DefaultStyle()
	for seed := int64(0); seed < n; seed++ {
		labels, photo := Generate(seed, size, size, st)
		s := newScene(seed, size, size)
		if len(labels.Palette) != int(NumClasses) {
			t.Fatalf("label palette has %d colours", len(labels.Palette))
		}
		present := map[uint8]bool{}
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				c := labels.Pix[y*labels.Stride+x]
				if c >= NumClasses {
					t.Fatalf("seed %d: class %d at (%d,%d)", seed, c, x, y)
				}
				present[c] = true
				above := float32(y)+0.5 < s.yh
				if (c == Sky || c == Clouds) && !above {
					t.Fatalf("seed %d: %s at (%d,%d) below the horizon (row %.1f)", seed, ClassNames[c], x, y, s.yh)
				}
				if groundOnly[c] && above {
					t.Fatalf("seed %d: %s at (%d,%d) above the horizon (row %.1f)", seed, ClassNames[c], x, y, s.yh)
				}
				if photo.Pix[photo.PixOffset(x, y)+3] != 0xff {
					t.Fatalf("seed %d: photo pixel (%d,%d) not opaque", seed, x, y)
				}
			}
		}
		for c := range present {
			seen[c]++
		}
	}
	for c, k := range seen {
		if k == 0 {
			t.Errorf("class %s never appears in %d scenes", ClassNames[c], n)
		}
	}
	t.Logf("scenes per class: %v", seen)
}

// TestClassesRendered checks every class is drawn by its own renderer: in
// a clear summer noon the class means are what the class looks like.
func TestClassesRendered(t *testing.T) {
	st := Style{TimeOfDay: 0.35, Season: 0.33, Weather: 0, Sun: 0.7, Grade: Grade{Saturation: 1, Contrast: 1}}
	var sum [NumClasses][3]float64
	var cnt [NumClasses]float64
	for seed := int64(0); seed < 40; seed++ {
		labels, photo := Generate(seed, 96, 96, st)
		for i, c := range labels.Pix {
			o := 4 * i
			sum[c][0] += float64(photo.Pix[o])
			sum[c][1] += float64(photo.Pix[o+1])
			sum[c][2] += float64(photo.Pix[o+2])
			cnt[c]++
		}
	}
	mean := func(c uint8) [3]float64 {
		m := sum[c]
		for k := range m {
			m[k] /= max(cnt[c], 1)
		}
		return m
	}
	luma := func(m [3]float64) float64 { return 0.3*m[0] + 0.59*m[1] + 0.11*m[2] }
	sky, grass, snow, tree, sea := mean(Sky), mean(Grass), mean(Snow), mean(Tree), mean(Sea)
	if !(sky[2] > sky[0]+20) {
		t.Errorf("noon sky is not blue: %v", sky)
	}
	if !(grass[1] > grass[2]+10 && grass[1] >= grass[0]) {
		t.Errorf("summer grass is not green: %v", grass)
	}
	if !(luma(snow) > luma(grass)+40) {
		t.Errorf("snow %v is not much brighter than grass %v", snow, grass)
	}
	if !(luma(tree) < luma(sky)-40) {
		t.Errorf("trees %v are not darker than the sky %v", tree, sky)
	}
	if !(sea[2] > sea[0]) {
		t.Errorf("the sea is not blue: %v", sea)
	}
	for c := range cnt {
		if cnt[c] == 0 {
			t.Errorf("class %s never drawn", ClassNames[c])
		}
	}
}

func TestStyleChangesPhotoNotLabels(t *testing.T) {
	rng := newRand(3)
	styles := []Style{DefaultStyle()}
	for range 7 {
		styles = append(styles, RandomStyle(rng))
	}
	for _, p := range Presets() {
		styles = append(styles, p.Style)
	}
	for _, seed := range []int64{4, 9} {
		l0, _ := Generate(seed, 96, 96, styles[0])
		photos := make([]*image.NRGBA, len(styles))
		for k, st := range styles {
			l, p := Generate(seed, 96, 96, st)
			if !bytes.Equal(l.Pix, l0.Pix) {
				t.Fatalf("seed %d: style %d changes the label map", seed, k)
			}
			photos[k] = p
		}
		// Every pair of styles differs visibly: mean absolute difference
		// of at least 4 levels over the picture.
		for a := range photos {
			for b := a + 1; b < len(photos); b++ {
				if d := meanAbsDiff(photos[a], photos[b]); d < 4 {
					t.Errorf("seed %d: styles %d and %d differ by only %.1f levels", seed, a, b, d)
				}
			}
		}
	}
}

func meanAbsDiff(a, b *image.NRGBA) float64 {
	var s float64
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		s += float64(max(d, -d))
	}
	return s / float64(len(a.Pix)*3/4)
}

func TestStyleVector(t *testing.T) {
	st := RandomStyle(newRand(8))
	v := st.Vector()
	if len(v) != len(VectorNames) {
		t.Fatalf("vector has %d entries, names %d", len(v), len(VectorNames))
	}
	if got := StyleFromVector(v); got != st {
		t.Errorf("round trip: %+v, want %+v", got, st)
	}
	// Random styles cover the whole space.
	rng := newRand(1)
	lo, hi := make([]float64, len(v)), make([]float64, len(v))
	for k := range lo {
		lo[k], hi[k] = 1e9, -1e9
	}
	for range 400 {
		for k, x := range RandomStyle(rng).Vector() {
			lo[k], hi[k] = min(lo[k], x), max(hi[k], x)
		}
	}
	for k, n := range VectorNames[:4] {
		if hi[k]-lo[k] < 0.8*map[bool]float64{true: 2, false: 1}[n == "sun"] {
			t.Errorf("%s spans only %.2f..%.2f", n, lo[k], hi[k])
		}
	}
}

func TestOddSizes(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {8, 8}, {160, 90}, {64, 200}} {
		l, p := Generate(11, sz[0], sz[1], DefaultStyle())
		if l.Bounds().Dx() != sz[0] || l.Bounds().Dy() != sz[1] || p.Bounds() != l.Bounds() {
			t.Errorf("%v: got %v and %v", sz, l.Bounds(), p.Bounds())
		}
	}
}

func TestExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const n, size, seed = 5, 48, 77
	var calls int
	if err := Export(context.Background(), dir, ExportOptions{N: n, Size: size, Seed: seed, Workers: 2, Progress: func(int) { calls++ }}); err != nil {
		t.Fatal(err)
	}
	if calls != n {
		t.Errorf("progress called %d times", calls)
	}
	for i := range n {
		name := []string{"00000", "00001", "00002", "00003", "00004"}[i]
		wantL, wantP, _ := Example(seed, i, size, size)
		lp := filepath.Join(dir, "labels", name+".png")
		raw, err := os.ReadFile(lp)
		if err != nil {
			t.Fatal(err)
		}
		// IHDR: bit depth 8, colour type 3 (paletted).
		if raw[24] != 8 || raw[25] != 3 {
			t.Errorf("%s: bit depth %d colour type %d, want an 8-bit paletted PNG", lp, raw[24], raw[25])
		}
		l, err := model.ReadLabels(lp)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.Class, wantL.Pix) {
			t.Errorf("%s: label ids differ from the generator's", lp)
		}
		img, err := model.DecodeImageFile(filepath.Join(dir, "images", name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != wantP.Bounds() {
			t.Fatalf("photo is %v", img.Bounds())
		}
		nr := image.NewNRGBA(img.Bounds())
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				nr.Set(x, y, img.At(x, y))
			}
		}
		if d := meanAbsDiff(nr, wantP); d > 8 {
			t.Errorf("photo %s differs from the generator's by %.1f levels (JPEG)", name, d)
		}
	}
	f, err := os.Open(filepath.Join(dir, "classes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := assets.ParsePalette(f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := assets.Palette(assets.Landscape)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("classes.txt parses to %+v, want %+v", got, want)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "styles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != n+1 || !strings.HasPrefix(lines[0], "name,seed,time_of_day") {
		t.Errorf("styles.csv: %q", lines)
	}

	// The trainer reads the folder.
	src, err := train.Open(dir, train.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != n || src.Info().LabelNC != int(NumClasses) {
		t.Errorf("trainer sees %d examples of %d classes", src.Len(), src.Info().LabelNC)
	}
	ex, err := src.Example(0)
	if err != nil {
		t.Fatal(err)
	}
	wantL, _, _ := Example(seed, 0, size, size)
	if !bytes.Equal(ex.Labels.Class, wantL.Pix) {
		t.Error("trainer's example 0 labels differ")
	}

	if err := Export(context.Background(), dir, ExportOptions{N: 1, Format: "gif"}); err == nil {
		t.Error("gif accepted")
	}
}

func TestEncodeLabelsPNG(t *testing.T) {
	l, _ := Generate(3, 32, 24, DefaultStyle())
	var b bytes.Buffer
	if err := EncodeLabels(&b, l); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := img.(*image.Paletted)
	if !ok || !bytes.Equal(p.Pix, l.Pix) {
		t.Fatalf("decoded %T, ids equal %v", img, ok && bytes.Equal(p.Pix, l.Pix))
	}
}

func TestSource(t *testing.T) {
	src, err := NewSource(40, 9, 12)
	if err != nil {
		t.Fatal(err)
	}
	info := src.Info()
	if src.Len() != 12 || info.LabelNC != 16 || info.DontCare || info.Preprocess != train.Fixed || len(info.Classes) != 16 {
		t.Fatalf("info %+v len %d", info, src.Len())
	}
	ex, err := src.Example(3)
	if err != nil {
		t.Fatal(err)
	}
	l, p, _ := Example(9, 3, 40, 40)
	if !bytes.Equal(ex.Labels.Class, l.Pix) || ex.Labels.W != 40 || ex.Labels.H != 40 {
		t.Error("source example 3 labels differ from Example")
	}
	if !bytes.Equal(ex.Image.(*image.NRGBA).Pix, p.Pix) {
		t.Error("source example 3 photo differs from Example")
	}
	if _, err := src.Example(12); err == nil {
		t.Error("example 12 of 12 served")
	}
	// Registered for --data synthetic.
	reg, err := train.Open(SourceName, train.OpenOptions{Size: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Len() != DefaultLen || reg.Info().Format != SourceName {
		t.Errorf("registered source: %d examples, format %q", reg.Len(), reg.Info().Format)
	}
}

// meanRGB is a photo's mean colour.
func meanRGB(img *image.NRGBA) [3]float64 {
	var m [3]float64
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range m {
			m[c] += float64(img.Pix[i+c])
		}
	}
	for c := range m {
		m[c] /= float64(len(img.Pix) / 4)
	}
	return m
}

func TestStylePartner(t *testing.T) {
	const n, size = 24, 48
	src, err := NewSource(size, 4, n)
	if err != nil {
		t.Fatal(err)
	}
	var photos, partners [n][3]float64
	for i := 0; i < n; i++ {
		ex, err := src.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		p, err := src.StylePartner(i)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := src.StylePartner(i)
		pn, ok := p.(*image.NRGBA)
		if !ok || p.Bounds() != ex.Image.Bounds() {
			t.Fatalf("partner %d: %T %v, want an NRGBA of %v", i, p, p.Bounds(), ex.Image.Bounds())
		}
		if !bytes.Equal(pn.Pix, again.(*image.NRGBA).Pix) {
			t.Errorf("partner %d differs between calls", i)
		}
		if bytes.Equal(pn.Pix, ex.Image.(*image.NRGBA).Pix) {
			t.Errorf("partner %d is the example's own photo", i)
		}
		photos[i], partners[i] = meanRGB(ex.Image.(*image.NRGBA)), meanRGB(pn)
	}
	// Another scene in the same style: its mean colour is nearer its
	// example's than other examples' (different styles) far more often
	// than chance (same-style photos of different scenes still differ by
	// what is in them: sea or snow fields move the mean).
	dist := func(a, b [3]float64) float64 {
		return math.Abs(a[0]-b[0]) + math.Abs(a[1]-b[1]) + math.Abs(a[2]-b[2])
	}
	wins, pairs := 0, 0
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				pairs++
				if dist(partners[i], photos[i]) < dist(partners[i], photos[j]) {
					wins++
				}
			}
		}
	}
	if frac := float64(wins) / float64(pairs); frac < 0.65 {
		t.Errorf("a partner is nearer its own example's colours in %.0f%% of pairs, want ≥ 65%% (76%% measured; 47%% with the next example's style)", 100*frac)
	} else {
		t.Logf("a partner is nearer its own example's colours in %.1f%% of pairs", 100*frac)
	}
	if _, err := src.StylePartner(n); err == nil {
		t.Errorf("partner %d of %d served", n, n)
	}
}
