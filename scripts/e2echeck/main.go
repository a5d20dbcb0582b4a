// Command e2echeck makes the end-to-end test's assertions on screenshots
// and saved files:
//
//	e2echeck changed A.png B.png X0 Y0 X1 Y1   # fails unless the region differs
//	e2echeck labels L.png N                     # fails unless L is paletted with ids < N
package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"strconv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "e2echeck:", err)
		os.Exit(1)
	}
}

func load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: changed A B X0 Y0 X1 Y1 | labels FILE N")
	}
	switch args[0] {
	case "changed":
		if len(args) != 7 {
			return fmt.Errorf("changed takes A B X0 Y0 X1 Y1")
		}
		a, err := load(args[1])
		if err != nil {
			return err
		}
		b, err := load(args[2])
		if err != nil {
			return err
		}
		var r [4]int
		for i := range r {
			if r[i], err = strconv.Atoi(args[3+i]); err != nil {
				return err
			}
		}
		rect := image.Rect(r[0], r[1], r[2], r[3])
		diff, total := 0, 0
		for y := rect.Min.Y; y < rect.Max.Y; y++ {
			for x := rect.Min.X; x < rect.Max.X; x++ {
				r1, g1, b1, _ := a.At(x, y).RGBA()
				r2, g2, b2, _ := b.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					diff++
				}
				total++
			}
		}
		frac := float64(diff) / float64(max(total, 1))
		fmt.Printf("%s → %s: %.1f%% of %v changed\n", args[1], args[2], 100*frac, rect)
		if frac < 0.01 {
			return fmt.Errorf("region %v did not change (%.2f%%)", rect, 100*frac)
		}
	case "labels":
		if len(args) != 3 {
			return fmt.Errorf("labels takes FILE N")
		}
		img, err := load(args[1])
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		p, ok := img.(*image.Paletted)
		if !ok {
			return fmt.Errorf("%s is %T, want a paletted label map", args[1], img)
		}
		seen := map[uint8]int{}
		for _, v := range p.Pix {
			if int(v) >= n {
				return fmt.Errorf("%s holds class id %d, model has %d", args[1], v, n)
			}
			seen[v]++
		}
		fmt.Printf("%s: %d classes used, all ids < %d\n", args[1], len(seen), n)
		if len(seen) < 2 {
			return fmt.Errorf("%s holds one class only: the stroke did not land", args[1])
		}
	default:
		return fmt.Errorf("unknown check %q", args[0])
	}
	return nil
}
