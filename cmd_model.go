package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"spadepaint/model"
	"spadepaint/model/nd"
	"spadepaint/model/npy"
)

func runImport(args []string, stdout io.Writer) error {
	fs := newFlags("import")
	gPath := fs.String("generator", "", "official generator checkpoint (latest_net_G.pth)")
	ePath := fs.String("encoder", "", "official style encoder checkpoint (latest_net_E.pth), for VAE models")
	up := fs.String("upsampling", "normal", "official --num_upsampling_layers: normal or more (most is detected)")
	aspect := fs.Float64("aspect-ratio", 1, "official --aspect_ratio (width/height)")
	instance := fs.Bool("instance", false, "the model takes an instance edge map (last input channel)")
	dontcare := fs.Bool("dontcare", false, "the last label class is the \"don't care\" label (ADE20K, COCO-Stuff)")
	width := fs.Int("width", 0, "output width (official --crop_size) for models without a VAE; default 256")
	out := fs.String("out", "", "model file to write (.safetensors)")
	f16 := fs.Bool("f16", false, "store the weights as float16: half the file size, renders within ~1e-3 (buffers stay float32)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "generator", "out"); err != nil {
		return err
	}
	u, err := model.ParseUpsampling(*up)
	if err != nil {
		return err
	}
	m, err := model.ImportPTH(*gPath, *ePath, model.ImportOptions{
		Upsampling: u, AspectRatio: *aspect, Instance: *instance, DontCare: *dontcare, Width: *width,
	})
	if err != nil {
		return err
	}
	o := saveOptions(*f16)
	if err := m.SaveWith(*out, o); err != nil {
		return err
	}
	c := m.Config
	fmt.Fprintf(stdout, "wrote %s: ngf %d, %d classes, %d×%d, %s norm, %s upsampling, encoder %v, %v weights\n",
		*out, c.NGF, c.NumClasses(), c.Width, c.Height(), c.Norm, c.Upsampling, m.HasEncoder(), o.Weights)
	return nil
}

func runRender(args []string, stdout io.Writer) error {
	fs := newFlags("render")
	modelPath := fs.String("model", "", "model file (.safetensors)")
	labelsPath := fs.String("labels", "", "label map: 8-bit PNG (pixel = class id) or .npy of class ids")
	instPath := fs.String("instance", "", "instance id map (.npy or 16/8-bit PNG), for models with instance edges")
	zPath := fs.String("z", "", "style codes, .npy float32 (N, z_dim)")
	stylePath := fs.String("style", "", "style image (PNG, JPEG) or .npy float32 (N,3,H,W) in [-1,1]; z = its μ")
	seed := fs.Int64("seed", 0, "random style seed (when neither --z nor --style is given)")
	out := fs.String("out", "", "output: .png/.jpg (one file per item) or .npy float32 (N,3,H,W)")
	dev := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "model", "labels", "out"); err != nil {
		return err
	}
	if *zPath != "" && *stylePath != "" {
		return fmt.Errorf("give --z or --style, not both")
	}
	m, err := model.Load(*modelPath)
	if err != nil {
		return err
	}
	useDevice(os.Stderr, m, *dev, "rendering")
	defer m.SetBackend(nil)
	l, err := model.ReadLabels(*labelsPath)
	if err != nil {
		return err
	}
	if *instPath != "" {
		if l.Instance, err = model.ReadInstances(*instPath, l); err != nil {
			return err
		}
	}
	ctx := context.Background()
	var z []float32
	switch {
	case !m.Config.UseVAE:
		if *zPath != "" || *stylePath != "" {
			return fmt.Errorf("this model has no VAE: it takes no --z or --style")
		}
	case *zPath != "":
		a, err := npy.ReadFile(*zPath)
		if err != nil {
			return fmt.Errorf("z %s: %w", *zPath, err)
		}
		if a.DType != nd.Float32 || len(a.Shape) != 2 || a.Shape[0] != l.N || a.Shape[1] != m.Config.ZDim {
			return fmt.Errorf("z %s: want float32 (%d, %d), have %v %s", *zPath, l.N, m.Config.ZDim, a.DType, nd.ShapeString(a.Shape))
		}
		z = a.F32
	case *stylePath != "":
		style, err := model.ReadStyle(*stylePath, m.Config.EncoderSize())
		if err != nil {
			return err
		}
		mu, _, err := m.Encode(ctx, style)
		if err != nil {
			return err
		}
		if z, err = broadcastZ(mu, style.N, l.N, m.Config.ZDim); err != nil {
			return err
		}
	default:
		z = m.RandomZ(l.N, *seed)
	}
	img, err := m.Generate(ctx, l, z)
	if err != nil {
		return err
	}
	return model.WriteImages(*out, img)
}

// broadcastZ lets one style drive a whole batch of label maps.
func broadcastZ(z []float32, have, want, dim int) ([]float32, error) {
	if have == want {
		return z, nil
	}
	if have != 1 {
		return nil, fmt.Errorf("%d style images for %d label maps (give 1 or %d)", have, want, want)
	}
	out := make([]float32, 0, want*dim)
	for i := 0; i < want; i++ {
		out = append(out, z...)
	}
	return out, nil
}

func runEncode(args []string, stdout io.Writer) error {
	fs := newFlags("encode")
	modelPath := fs.String("model", "", "model file (.safetensors) with a style encoder")
	stylePath := fs.String("style", "", "style image (PNG, JPEG) or .npy float32 (N,3,H,W) in [-1,1]")
	out := fs.String("out", "", "μ as .npy float32 (N, z_dim)")
	logvarPath := fs.String("logvar", "", "also write the log-variance as .npy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "model", "style", "out"); err != nil {
		return err
	}
	m, err := model.Load(*modelPath)
	if err != nil {
		return err
	}
	if !m.HasEncoder() {
		return model.ErrNoEncoder
	}
	style, err := model.ReadStyle(*stylePath, m.Config.EncoderSize())
	if err != nil {
		return err
	}
	mu, logvar, err := m.Encode(context.Background(), style)
	if err != nil {
		return err
	}
	shape := []int{style.N, m.Config.ZDim}
	if err := writeNpy(*out, shape, mu); err != nil {
		return err
	}
	if *logvarPath != "" {
		return writeNpy(*logvarPath, shape, logvar)
	}
	return nil
}

func writeNpy(path string, shape []int, data []float32) error {
	a, err := nd.NewF32(shape, data)
	if err != nil {
		return err
	}
	if err := npy.WriteFile(path, a); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// saveOptions are the model-file options of the --f16 flag of import and
// train export.
func saveOptions(f16 bool) model.SaveOptions {
	if f16 {
		return model.SaveOptions{Weights: model.WeightsF16}
	}
	return model.SaveOptions{Weights: model.WeightsF32}
}
