package landscape

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"spadepaint/assets"
	"spadepaint/canvas"
)

// ExampleSeed is the scene seed of example i of the data set drawn with
// seed: examples are independent of each other and of how many there are.
func ExampleSeed(seed int64, i int) int64 {
	h := uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(i)*0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	h ^= h >> 29
	return int64(h >> 1)
}

// ExampleStyle is the random style of example i of the data set seed.
func ExampleStyle(seed int64, i int) Style {
	return RandomStyle(newRand(ExampleSeed(seed, i) ^ 0x57e1e))
}

// Example draws example i of the data set seed at w×h: its scene, in its
// random style.
func Example(seed int64, i, w, h int) (labels *image.Paletted, photo *image.NRGBA, style Style) {
	style = ExampleStyle(seed, i)
	labels, photo = Generate(ExampleSeed(seed, i), w, h, style)
	return labels, photo, style
}

// ExportOptions say what Export writes.
type ExportOptions struct {
	N    int   // number of pairs
	Size int   // width and height (256 by default)
	Seed int64 // data set seed
	// Format of the photos: "jpg" (default) or "png".
	Format string
	// Quality of the JPEGs, 1..100 (95 by default).
	Quality int
	// Workers generating in parallel (all cores by default).
	Workers int
	// Progress, if set, is called after each pair with the number done
	// (from the workers' goroutines, one call at a time).
	Progress func(done int)
}

// Export writes a data set in the trainer's plain folder format:
// dir/images/NNNNN.jpg (or .png), dir/labels/NNNNN.png (8-bit paletted,
// pixel = class id), dir/classes.txt (the landscape palette) and
// dir/styles.csv (each example's scene seed and style parameters, for
// evaluations).
func Export(ctx context.Context, dir string, o ExportOptions) error {
	if o.N < 1 {
		return fmt.Errorf("want at least one example, got %d", o.N)
	}
	if o.Size == 0 {
		o.Size = 256
	}
	if o.Size < 8 || o.Size > 8192 {
		return fmt.Errorf("size %d: want 8 to 8192", o.Size)
	}
	ext := o.Format
	switch ext {
	case "", "jpg", "jpeg":
		ext = "jpg"
	case "png":
	default:
		return fmt.Errorf("photo format %q: want jpg or png", o.Format)
	}
	if o.Quality == 0 {
		o.Quality = 95
	}
	if o.Quality < 1 || o.Quality > 100 {
		return fmt.Errorf("JPEG quality %d: want 1 to 100", o.Quality)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, o.N)
	for _, d := range []string{dir, filepath.Join(dir, "images"), filepath.Join(dir, "labels")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, "classes.txt"), WriteClasses); err != nil {
		return err
	}
	digits := max(5, len(strconv.Itoa(o.N-1)))
	styles := make([]Style, o.N)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var done atomic.Int64
	var progressMu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.N {
					return
				}
				labels, photo, st := Example(o.Seed, i, o.Size, o.Size)
				styles[i] = st
				name := fmt.Sprintf("%0*d", digits, i)
				buf.Reset()
				var err error
				if ext == "png" {
					err = png.Encode(&buf, photo)
				} else {
					err = jpeg.Encode(&buf, photo, &jpeg.Options{Quality: o.Quality})
				}
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, "images", name+"."+ext), buf.Bytes(), 0o644)
				}
				if err == nil {
					buf.Reset()
					if err = EncodeLabels(&buf, labels); err == nil {
						err = os.WriteFile(filepath.Join(dir, "labels", name+".png"), buf.Bytes(), 0o644)
					}
				}
				if err != nil {
					cancel(fmt.Errorf("example %s: %w", name, err))
					return
				}
				n := int(done.Add(1))
				if o.Progress != nil {
					progressMu.Lock()
					o.Progress(n)
					progressMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "styles.csv"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		fmt.Fprint(bw, "name,seed")
		for _, n := range VectorNames {
			fmt.Fprint(bw, ",", n)
		}
		fmt.Fprintln(bw)
		for i, st := range styles {
			fmt.Fprintf(bw, "%0*d,%d", digits, i, ExampleSeed(o.Seed, i))
			for _, v := range st.Vector() {
				fmt.Fprint(bw, ",", strconv.FormatFloat(v, 'g', 6, 64))
			}
			fmt.Fprintln(bw)
		}
		return bw.Flush()
	})
}

// writeFile writes path through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// EncodeLabels writes a label map as an 8-bit paletted PNG (Go's encoder
// would pick 4 bits for 16 colours; the palette is padded to 256).
func EncodeLabels(w io.Writer, labels *image.Paletted) error {
	cols := make(color.Palette, 256)
	copy(cols, labels.Palette)
	for i := len(labels.Palette); i < len(cols); i++ {
		cols[i] = color.NRGBA{A: 0xff}
	}
	img := *labels
	img.Palette = cols
	return png.Encode(w, &img)
}

// groupNames are the group column's spellings in palette files.
var groupNames = map[canvas.Group]string{
	canvas.SkyWater:  "SkyWater",
	canvas.Landscape: "Landscape",
	canvas.Plants:    "Plants",
	canvas.Ground:    "Ground",
	canvas.Buildings: "Buildings",
	canvas.Other:     "Other",
}

// WriteClasses writes the landscape palette as a classes.txt:
// "id<TAB>name<TAB>#rrggbb<TAB>group" lines, as assets/palettes/landscape.txt.
func WriteClasses(w io.Writer) error {
	p, err := assets.Palette(assets.Landscape)
	if err != nil {
		return err
	}
	if p.DontCare >= 0 {
		return errors.New("the landscape palette has a don't-care class")
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# The landscape classes: id, name, colour, group.")
	for _, c := range p.Classes {
		fmt.Fprintf(bw, "%d\t%s\t#%02x%02x%02x\t%s\n", c.ID, c.Name, c.Color.R, c.Color.G, c.Color.B, groupNames[c.Group])
	}
	return bw.Flush()
}
