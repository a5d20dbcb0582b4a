package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"spadepaint/train/landscape" // also registers --data synthetic with the trainer
)

// runDataset makes data sets: `dataset synth` writes generated landscapes in
// the trainer's plain folder format.
func runDataset(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(os.Stderr, "usage: spadepaint dataset synth --n 1000 --size 256 --seed 1 --out DIR [--format jpg|png] [--quality 95] [--workers N]")
		if len(args) == 0 {
			return fmt.Errorf("missing subcommand (synth)")
		}
		return nil
	}
	switch args[0] {
	case "synth":
		return runDatasetSynth(args[1:], stdout)
	default:
		return fmt.Errorf("unknown dataset subcommand %q (want synth)", args[0])
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
