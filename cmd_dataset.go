package main

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"spadepaint/train/landscape" // also registers --data synthetic with the trainer
)

// runDataset makes data sets: `dataset synth` writes generated landscapes in
// the trainer's plain folder format; `dataset presets` writes the app's
// generated style preset photos (assets/styles/gen-*.jpg).
func runDataset(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(os.Stderr, "usage: spadepaint dataset synth --n 1000 --size 256 --seed 1 --out DIR [--format jpg|png] [--quality 95] [--workers N]")
		fmt.Fprintln(os.Stderr, "       spadepaint dataset presets --out DIR [--size 256] [--scene 11] [--quality 90]")
		if len(args) == 0 {
			return fmt.Errorf("missing subcommand (synth, presets)")
		}
		return nil
	}
	switch args[0] {
	case "synth":
		return runDatasetSynth(args[1:], stdout)
	case "presets":
		return runDatasetPresets(args[1:], stdout)
	default:
		return fmt.Errorf("unknown dataset subcommand %q (want synth or presets)", args[0])
	}
}

func runDatasetSynth(args []string, stdout io.Writer) error {
	fs := newFlags("dataset synth")
	n := fs.Int("n", 1000, "number of label/photo pairs")
	size := fs.Int("size", 256, "width and height in pixels")
	seed := fs.Int64("seed", 1, "data set seed (the same seed writes the same files)")
	out := fs.String("out", "", "output folder: images/, labels/, classes.txt, styles.csv")
	format := fs.String("format", "jpg", "photo format: jpg or png")
	quality := fs.Int("quality", 95, "JPEG quality")
	workers := fs.Int("workers", 0, "generating goroutines (default: all cores)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	last := start
	err := landscape.Export(ctx, *out, landscape.ExportOptions{
		N: *n, Size: *size, Seed: *seed, Format: *format, Quality: *quality, Workers: *workers,
		Progress: func(done int) {
			if now := time.Now(); now.Sub(last) > time.Second || done == *n {
				last = now
				fmt.Fprintf(os.Stderr, "\r%d/%d pairs", done, *n)
				if done == *n {
					fmt.Fprintln(os.Stderr)
				}
			}
		},
	})
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "wrote %d pairs of %d×%d to %s in %.1fs (%.0f pairs/s)\n", *n, *size, *size, *out, el.Seconds(), float64(*n)/el.Seconds())
	return nil
}

// runDatasetPresets renders one scene in each of landscape.Presets' looks:
// the app's style presets. One scene for all of them, so that the
// thumbnails differ by style alone, as the encoder should see them.
func runDatasetPresets(args []string, stdout io.Writer) error {
	fs := newFlags("dataset presets")
	size := fs.Int("size", 256, "width and height in pixels")
	scene := fs.Int64("scene", 11, "scene seed (the label map all presets share)")
	out := fs.String("out", "", "output folder (gen-<look>.jpg)")
	quality := fs.Int("quality", 90, "JPEG quality")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *size < 16 || *size > 4096 {
		return fmt.Errorf("--size %d: want 16..4096", *size)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, p := range landscape.Presets() {
		_, photo := landscape.Generate(*scene, *size, *size, p.Style)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, photo, &jpeg.Options{Quality: *quality}); err != nil {
			return fmt.Errorf("preset %s: %w", p.Name, err)
		}
		path := filepath.Join(*out, "gen-"+p.Name+".jpg")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("preset %s: %w", p.Name, err)
		}
		fmt.Fprintln(stdout, path)
	}
	return nil
}
