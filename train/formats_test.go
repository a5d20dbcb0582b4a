package train

import (
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fixtures: tiny data sets of each layout written on the fly.

func mkdir(t *testing.T, parts ...string) string {
	t.Helper()
	d := filepath.Join(parts...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// fixturePair writes a photo and its 8-bit label map (values from ids)
// of size w×h; the photo is JPEG when jpg.
func fixturePair(t *testing.T, imgPath, labelPath string, w, h int, ids []uint8, jpg bool) {
	t.Helper()
	lab := image.NewGray(image.Rect(0, 0, w, h))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := ids[(x*len(ids))/w]
			lab.SetGray(x, y, color.Gray{v})
			img.SetNRGBA(x, y, color.NRGBA{v, uint8(x * 4), uint8(y * 4), 255})
		}
	}
	writePNG(t, labelPath, lab)
	if jpg {
		f, err := os.Create(imgPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := jpeg.Encode(f, img, nil); err != nil {
			t.Fatal(err)
		}
		return
	}
	writePNG(t, imgPath, img)
}

func writeInstances16(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint16(26000)
			if x >= w/2 {
				v = 26001
			}
			img.SetGray16(x, y, color.Gray16{v})
		}
	}
	writePNG(t, path, img)
}

func fixtureFolder(t *testing.T, classes string) string {
	dir := t.TempDir()
	im, lb := mkdir(t, dir, "images"), mkdir(t, dir, "labels")
	fixturePair(t, filepath.Join(im, "a.jpg"), filepath.Join(lb, "a.png"), 40, 30, []uint8{0, 2, 255}, true)
	fixturePair(t, filepath.Join(im, "b.png"), filepath.Join(lb, "b.png"), 40, 30, []uint8{1, 3}, false)
	if classes != "" {
		if err := os.WriteFile(filepath.Join(dir, "classes.txt"), []byte(classes), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fixtureADE(t *testing.T) string {
	dir := t.TempDir()
	root := filepath.Join(dir, "ADEChallengeData2016")
	im, lb := mkdir(t, root, "images", "training"), mkdir(t, root, "annotations", "training")
	mkdir(t, root, "images", "validation")
	fixturePair(t, filepath.Join(im, "ADE_train_00000001.jpg"), filepath.Join(lb, "ADE_train_00000001.png"), 48, 32, []uint8{0, 1, 150}, true)
	fixturePair(t, filepath.Join(im, "ADE_train_00000002.jpg"), filepath.Join(lb, "ADE_train_00000002.png"), 32, 48, []uint8{5}, true)
	return dir
}

func fixtureCOCO(t *testing.T) string {
	dir := t.TempDir()
	im, lb, in := mkdir(t, dir, "train_img"), mkdir(t, dir, "train_label"), mkdir(t, dir, "train_inst")
	for _, n := range []string{"000000000009", "000000000025"} {
		fixturePair(t, filepath.Join(im, n+".jpg"), filepath.Join(lb, n+".png"), 40, 40, []uint8{0, 181, 255}, true)
		fixturePair(t, filepath.Join(t.TempDir(), "x.png"), filepath.Join(in, n+".png"), 40, 40, []uint8{7, 8}, false)
	}
	return dir
}

func fixtureCityscapes(t *testing.T) string {
	dir := t.TempDir()
	im := mkdir(t, dir, "leftImg8bit", "train", "aachen")
	gt := mkdir(t, dir, "gtFine", "train", "aachen")
	for _, n := range []string{"aachen_000000_000019", "aachen_000001_000019"} {
		fixturePair(t, filepath.Join(im, n+"_leftImg8bit.png"), filepath.Join(gt, n+"_gtFine_labelIds.png"), 64, 32, []uint8{7, 26, 33}, false)
		writeInstances16(t, filepath.Join(gt, n+"_gtFine_instanceIds.png"), 64, 32)
		fixturePair(t, filepath.Join(t.TempDir(), "x.png"), filepath.Join(gt, n+"_gtFine_color.png"), 64, 32, []uint8{1}, false)
	}
	return dir
}

func TestFormats(t *testing.T) {
	cases := []struct {
		name     string
		dir      string
		opt      OpenOptions
		format   string
		n        int
		labelNC  int
		dontCare bool
		instance bool
		aspect   float64
		pre      Preprocess
		// first row of example 0's labels, at x = 0 and x = w−1
		first, last uint8
	}{
		{"folder counted", fixtureFolder(t, ""), OpenOptions{}, FormatFolder, 2, 4, true, false, 1, ResizeAndCrop, 0, 4},
		{"folder classes.txt", fixtureFolder(t, "sky #0000ff\ngrass\n2 tree #00ff00\n3 rock\n255 unlabelled\n"), OpenOptions{}, FormatFolder, 2, 4, true, false, 1, ResizeAndCrop, 0, 4},
		{"ade20k", fixtureADE(t), OpenOptions{}, FormatADE20K, 2, 150, true, false, 1, ResizeAndCrop, 150, 149},
		{"ade20k raw ids", fixtureADE(t), OpenOptions{ADERawIDs: true}, FormatADE20K, 2, 150, true, false, 1, ResizeAndCrop, 0, 150},
		{"coco", fixtureCOCO(t), OpenOptions{}, FormatCOCO, 2, 182, true, true, 1, ResizeAndCrop, 0, 182},
		{"cityscapes", fixtureCityscapes(t), OpenOptions{}, FormatCityscapes, 2, 35, false, true, 2, Fixed, 7, 33},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Detect(tc.dir)
			if err != nil || f != tc.format {
				t.Fatalf("Detect = %q, %v; want %q", f, err, tc.format)
			}
			src, err := Open(tc.dir, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			info := src.Info()
			if src.Len() != tc.n || info.Format != tc.format || info.LabelNC != tc.labelNC || info.DontCare != tc.dontCare ||
				info.Instance != tc.instance || info.AspectRatio != tc.aspect || info.Preprocess != tc.pre {
				t.Errorf("len %d, info %+v", src.Len(), info)
			}
			if _, err := CheckFiles(src, true); err != nil {
				t.Error(err)
			}
			ex, err := src.Example(0)
			if err != nil {
				t.Fatal(err)
			}
			l := ex.Labels
			if l.Class[0] != tc.first || l.Class[l.W-1] != tc.last {
				t.Errorf("labels start %d, end %d; want %d, %d", l.Class[0], l.Class[l.W-1], tc.first, tc.last)
			}
			if tc.instance && (l.Instance == nil || l.Instance[0] == l.Instance[l.W-1]) {
				t.Errorf("instance map missing or flat: %v", l.Instance != nil)
			}
			// The whole pipeline: a run's first batch at the model's size.
			c := ConfigForData(tinyConfig(0, true), info)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			ld := &loader{src: src, info: info, c: c, aug: Augment{LoadScale: DefaultLoadScale}, batch: 2, accum: 1, ord: newOrder(1, src.Len()), workers: 2}
			b, err := ld.load(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			mb := b.micro[0]
			if mb.labels.N != 2 || mb.labels.W != c.Width || mb.labels.H != c.Height() || len(mb.image) != 2*3*c.Width*c.Height() {
				t.Errorf("batch %d×%d×%d", mb.labels.N, mb.labels.W, mb.labels.H)
			}
		})
	}
	if f, err := Detect(t.TempDir()); err == nil {
		t.Errorf("an empty folder detected as %q", f)
	}
	if _, err := Open("synthetic", OpenOptions{}); err == nil || !strings.Contains(err.Error(), "synthetic") {
		t.Errorf("synthetic without a registered generator: %v", err)
	}
}

// TestBadData: every problem is an error naming the file; --skip-bad
// drops unpaired files instead.
func TestBadData(t *testing.T) {
	t.Run("unpaired", func(t *testing.T) {
		dir := fixtureFolder(t, "")
		fixturePair(t, filepath.Join(dir, "images", "lonely.png"), filepath.Join(t.TempDir(), "x.png"), 8, 8, []uint8{0}, false)
		fixturePair(t, filepath.Join(t.TempDir(), "x.png"), filepath.Join(dir, "labels", "orphan.png"), 8, 8, []uint8{0}, false)
		_, err := Open(dir, OpenOptions{})
		if err == nil || !strings.Contains(err.Error(), "lonely.png has no label map") || !strings.Contains(err.Error(), "orphan.png has no image") {
			t.Errorf("got %v", err)
		}
		src, err := Open(dir, OpenOptions{SkipBad: true})
		if err != nil || src.Len() != 2 {
			t.Errorf("with skip-bad: %v", err)
		}
	})
	t.Run("class out of range", func(t *testing.T) {
		dir := fixtureFolder(t, "a\nb\nc\n255 unknown\n")
		src, err := Open(dir, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Example(1) // b.png holds 3
		if err == nil || !strings.Contains(err.Error(), "b.png: value 3 at x=20 y=0") {
			t.Errorf("got %v", err)
		}
		// Found before training by the full check.
		if _, err := CheckFiles(src, true); err == nil || !strings.Contains(err.Error(), "b.png: value 3 at x=20 y=0") {
			t.Errorf("full check: %v", err)
		}
		if _, err := CheckFiles(src, false); err != nil {
			t.Errorf("header check: %v", err)
		}
	})
	t.Run("size mismatch and corrupt", func(t *testing.T) {
		dir := fixtureFolder(t, "")
		fixturePair(t, filepath.Join(dir, "images", "c.png"), filepath.Join(t.TempDir(), "x.png"), 10, 10, []uint8{0}, false)
		fixturePair(t, filepath.Join(t.TempDir(), "x.png"), filepath.Join(dir, "labels", "c.png"), 12, 10, []uint8{0}, false)
		if err := os.WriteFile(filepath.Join(dir, "images", "d.jpg"), []byte("not a jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
		fixturePair(t, filepath.Join(t.TempDir(), "x.png"), filepath.Join(dir, "labels", "d.png"), 12, 10, []uint8{0}, false)
		src, err := Open(dir, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = CheckFiles(src, false)
		if err == nil || !strings.Contains(err.Error(), "c.png is 10×10 but its label map") || !strings.Contains(err.Error(), "d.jpg") {
			t.Errorf("got %v", err)
		}
		// --skip-bad: both are dropped, the two good examples stay.
		src, err = Open(dir, OpenOptions{SkipBad: true})
		if err != nil {
			t.Fatal(err)
		}
		dropped, err := CheckFiles(src, false)
		if err != nil || len(dropped) != 2 || src.Len() != 2 {
			t.Errorf("skip-bad: dropped %q, %v; %d left", dropped, err, src.Len())
		}
	})
}

// TestAugmentAligned: the random crop and flip cut the photo and the
// labels alike. Each class is a flat colour; away from the class edges
// (where the bicubic filter blends) every pixel has its label's colour.
func TestAugmentAligned(t *testing.T) {
	src := newMemSource(3, 90, 70, 9)
	info := src.Info()
	rng := rand.New(rand.NewPCG(1, 1))
	flips := 0
	for i := 0; i < 12; i++ {
		ex, _ := src.Example(i % 3)
		cr := cropFor(info, Augment{LoadScale: DefaultLoadScale}, 64, 48, rng)
		if cr.flip {
			flips++
		}
		l, img, err := cr.apply(ex, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		for y := 3; y < 45; y++ {
			for x := 3; x < 61; x++ {
				id := l.Class[y*64+x]
				uniform := true
				for dy := -3; dy <= 3; dy++ {
					for dx := -3; dx <= 3; dx++ {
						uniform = uniform && l.Class[(y+dy)*64+x+dx] == id
					}
				}
				if !uniform {
					continue
				}
				want := info.Classes[id].Color
				for ch := 0; ch < 3; ch++ {
					got := (img[ch*64*48+y*64+x] + 1) * 127.5
					if d := got - float32(want[ch]); d < -12 || d > 20 {
						t.Fatalf("crop %+v: pixel (%d,%d) of class %d has channel %d = %.0f, want about %d", cr, x, y, id, ch, got, want[ch])
					}
				}
			}
		}
	}
	if flips == 0 || flips == 12 {
		t.Errorf("%d flips in 12 draws", flips)
	}
}

// TestLoaderDeterministic: the batch of a step depends on the seed and
// the step only, whatever the workers' scheduling.
func TestLoaderDeterministic(t *testing.T) {
	src := newMemSource(5, 40, 40, 11)
	c := ConfigForData(tinyConfig(0, true), src.Info())
	c.Width = 32
	mk := func(workers int) *loader {
		return &loader{src: src, info: src.Info(), c: c, aug: Augment{LoadScale: DefaultLoadScale}, seed: 4, batch: 2, accum: 2, ord: newOrder(4, 5), workers: workers}
	}
	ctx := context.Background()
	var steps [][]float32
	ch := mk(3).start(ctx, 0, 4, 2)
	for r := range ch {
		if r.err != nil {
			t.Fatal(r.err)
		}
		var all []float32
		for _, mb := range r.b.micro {
			all = append(all, mb.image...)
		}
		steps = append(steps, all)
	}
	if len(steps) != 4 {
		t.Fatalf("%d steps loaded", len(steps))
	}
	b, err := mk(1).load(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	again := append(append([]float32(nil), b.micro[0].image...), b.micro[1].image...)
	if string(f32bytes(again)) != string(f32bytes(steps[3])) {
		t.Error("step 3 loaded alone differs from step 3 loaded in sequence")
	}
	if string(f32bytes(steps[2])) == string(f32bytes(steps[3])) {
		t.Error("steps 2 and 3 drew the same batch")
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}
