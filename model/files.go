package model

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"

	"spadepaint/model/nd"
	"spadepaint/model/npy"
)

// MaxImagePixels bounds decoded images (labels and styles): a larger file
// is refused from its header, before any pixel is decoded.
const MaxImagePixels = 8192 * 8192

// ReadLabels reads label maps from an 8-bit PNG (gray or paletted; pixel
// value = class id, the format SPADE datasets use) or a .npy of integer
// class ids shaped (N,1,H,W), (N,H,W) or (H,W).
func ReadLabels(path string) (*Labels, error) {
	l, err := readLabels(path)
	if err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	return l, nil
}

func readLabels(path string) (*Labels, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return LabelsFromArray(a)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeLabelPNG(f)
}

// LabelsFromArray converts integer class ids (N,1,H,W), (N,H,W) or (H,W).
func LabelsFromArray(a *nd.Array) (*Labels, error) {
	if a.DType != nd.Int64 {
		return nil, fmt.Errorf("class ids must be integers, the array holds %v", a.DType)
	}
	var n, h, w int
	switch s := a.Shape; {
	case len(s) == 4 && s[1] == 1:
		n, h, w = s[0], s[2], s[3]
	case len(s) == 3:
		n, h, w = s[0], s[1], s[2]
	case len(s) == 2:
		n, h, w = 1, s[0], s[1]
	default:
		return nil, fmt.Errorf("label array has shape %s, want (N,1,H,W), (N,H,W) or (H,W)", nd.ShapeString(a.Shape))
	}
	l := &Labels{N: n, H: h, W: w, Class: make([]uint8, len(a.I64))}
	for i, v := range a.I64 {
		if v < 0 || v > 255 {
			p := i % (h * w)
			return nil, fmt.Errorf("class id %d at x=%d y=%d (item %d) is outside 0..255", v, p%w, p/w, i/(h*w))
		}
		l.Class[i] = uint8(v)
	}
	return l, nil
}

// DecodeLabelPNG reads one label map from an 8-bit gray or paletted PNG.
func DecodeLabelPNG(r io.ReadSeeker) (*Labels, error) {
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("not a PNG label map: %w", err)
	}
	if cfg.Width*cfg.Height > MaxImagePixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("label map is %d×%d, larger than the %d pixels allowed", cfg.Width, cfg.Height, MaxImagePixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, err := png.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("decode PNG: %w", err)
	}
	b := img.Bounds()
	l := &Labels{N: 1, H: b.Dy(), W: b.Dx(), Class: make([]uint8, b.Dx()*b.Dy())}
	switch im := img.(type) {
	case *image.Paletted:
		for y := 0; y < l.H; y++ {
			copy(l.Class[y*l.W:(y+1)*l.W], im.Pix[y*im.Stride:y*im.Stride+l.W])
		}
	case *image.Gray:
		for y := 0; y < l.H; y++ {
			copy(l.Class[y*l.W:(y+1)*l.W], im.Pix[y*im.Stride:y*im.Stride+l.W])
		}
	default:
		return nil, fmt.Errorf("label PNG is %T; it must be 8-bit gray or paletted, pixel value = class id", img)
	}
	return l, nil
}

// ReadStyle reads style images: an image file (PNG, JPEG), resized to
// size×size with a Lanczos filter so that the encoder's own bilinear
// resize has nothing left to alias, or a .npy float32 (N,3,H,W) in
// [−1, 1] used as it is.
func ReadStyle(path string, size int) (*Image, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("style %s: %w", path, err)
		}
		if a.DType != nd.Float32 || len(a.Shape) != 4 || a.Shape[1] != 3 || a.Size() == 0 {
			return nil, fmt.Errorf("style %s: want float32 (N,3,H,W), have %v %s", path, a.DType, nd.ShapeString(a.Shape))
		}
		return &Image{N: a.Shape[0], H: a.Shape[2], W: a.Shape[3], Pix: a.F32}, nil
	}
	img, err := DecodeImageFile(path)
	if err != nil {
		return nil, err
	}
	return ImageFrom(img, size, size), nil
}

// DecodeImageFile decodes a PNG or JPEG, refusing oversize images from
// their header.
func DecodeImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	return img, nil
}

// DecodeImage decodes a PNG or JPEG from r, refusing oversize images.
func DecodeImage(r io.ReadSeeker) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxImagePixels {
		return nil, fmt.Errorf("%s image is %d×%d, larger than the %d pixels allowed", format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", format, err)
	}
	return img, nil
}

// ImageFrom converts img to one [1,3,h,w] image in [−1, 1], resizing with
// Lanczos when the size differs.
func ImageFrom(img image.Image, w, h int) *Image {
	nrgba := imaging.Resize(img, w, h, imaging.Lanczos)
	out := &Image{N: 1, H: h, W: w, Pix: make([]float32, 3*h*w)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := nrgba.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				out.Pix[c*h*w+y*w+x] = float32(nrgba.Pix[o+c])/127.5 - 1
			}
		}
	}
	return out
}

// RGBA returns item i as an 8-bit image, mapping [−1, 1] to [0, 255] as
// the official util.tensor2im does ((x+1)/2·255, clipped).
func (im *Image) RGBA(i int) *image.NRGBA {
	h, w := im.H, im.W
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	pix := im.Pix[i*3*h*w : (i+1)*3*h*w]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := out.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				v := (pix[c*h*w+y*w+x] + 1) / 2 * 255
				out.Pix[o+c] = uint8(max(0, min(255, v+0.5)))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// WriteImages writes a batch: .npy as raw float32 (N,3,H,W); PNG or JPEG
// as images, one file per item (name-1.png, name-2.png… for N > 1).
func WriteImages(path string, im *Image) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".npy" {
		a, err := nd.NewF32([]int{im.N, 3, im.H, im.W}, im.Pix)
		if err != nil {
			return err
		}
		return npy.WriteFile(path, a)
	}
	if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
		return fmt.Errorf("output %s: unknown extension %q (want .png, .jpg or .npy)", path, ext)
	}
	for i := 0; i < im.N; i++ {
		p := path
		if im.N > 1 {
			p = strings.TrimSuffix(path, filepath.Ext(path)) + fmt.Sprintf("-%d", i+1) + filepath.Ext(path)
		}
		if err := writeImage(p, im.RGBA(i), ext); err != nil {
			return err
		}
	}
	return nil
}

func writeImage(path string, img image.Image, ext string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if ext == ".png" {
		err = png.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadInstances reads an instance id map for l: a .npy of integer ids of
// l's shape, or a gray PNG (8 or 16 bit).
func ReadInstances(path string, l *Labels) ([]int32, error) {
	ids, err := readInstances(path)
	if err != nil {
		return nil, fmt.Errorf("instances %s: %w", path, err)
	}
	if len(ids) != l.N*l.H*l.W {
		return nil, fmt.Errorf("instances %s: %d values for %d label pixels", path, len(ids), l.N*l.H*l.W)
	}
	return ids, nil
}

func readInstances(path string) ([]int32, error) {
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if a.DType != nd.Int64 {
			return nil, fmt.Errorf("instance ids must be integers, the array holds %v", a.DType)
		}
		ids := make([]int32, len(a.I64))
		for i, v := range a.I64 {
			ids[i] = int32(v)
		}
		return ids, nil
	}
	img, err := DecodeImageFile(path)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	ids := make([]int32, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			ids = append(ids, int32(r))
		}
	}
	return ids, nil
}
