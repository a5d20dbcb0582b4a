package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"spadepaint/canvas"
)

// Project is a painting saved as one file: the label map, the style (a
// seed or the style photo itself) and the model it was painted for.
type Project struct {
	Version int `json:"version"`
	// Labels is the label map as an 8-bit paletted PNG (class ids).
	Labels []byte `json:"labels"`
	// Seed is the random style seed, used when StyleImage is empty.
	Seed int64 `json:"seed"`
	// StyleImage is the style photo as PNG, and StyleName its label.
	StyleImage []byte `json:"style_image,omitempty"`
	StyleName  string `json:"style_name,omitempty"`
	// Model is the path of the model file ("" for the embedded model).
	Model string `json:"model,omitempty"`
}

const projectExt = ".spadepaint"

// EncodeProject writes a project file.
func EncodeProject(w io.Writer, lm *canvas.LabelMap, s Style, modelRef string) error {
	var buf bytes.Buffer
	if err := lm.Save(&buf); err != nil {
		return err
	}
	p := Project{Version: 1, Labels: buf.Bytes(), Seed: s.Seed, Model: modelRef}
	if s.Image != nil {
		b, err := pngBytes(s.Image)
		if err != nil {
			return err
		}
		p.StyleImage, p.StyleName = b, s.Name
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(p)
}

// DecodeProject reads a project file; the label map is checked against
// pal (the open model's classes).
func DecodeProject(r io.Reader, pal canvas.Palette) (*canvas.LabelMap, Style, string, error) {
	var p Project
	if err := json.NewDecoder(io.LimitReader(r, 512<<20)).Decode(&p); err != nil {
		return nil, Style{}, "", fmt.Errorf("not a spadepaint project: %w", err)
	}
	if p.Version != 1 {
		return nil, Style{}, "", fmt.Errorf("project version %d is not supported", p.Version)
	}
	lm, err := canvas.Load(bytes.NewReader(p.Labels), pal)
	if err != nil {
		return nil, Style{}, "", fmt.Errorf("project labels: %w", err)
	}
	s := Style{Seed: p.Seed, Name: fmt.Sprintf("seed %d", p.Seed)}
	if len(p.StyleImage) > 0 {
		img, err := decodeImage(bytes.NewReader(p.StyleImage))
		if err != nil {
			return nil, Style{}, "", fmt.Errorf("project style image: %w", err)
		}
		s = Style{Seed: p.Seed, Image: img, Name: p.StyleName}
	}
	return lm, s, p.Model, nil
}

// ---- dialogs ----

func (u *ui) showErr(err error) { dialog.ShowError(err, u.win) }

// openFrom asks for a file with one of exts and hands it to use (which
// must not keep the reader); a failed dialog is reported.
func (u *ui) openFrom(exts []string, use func(fyne.URIReadCloser)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showErr(err)
			return
		}
		if r == nil {
			return // cancelled
		}
		defer r.Close()
		use(r)
	}, u.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
}

func (u *ui) openStyleDialog() {
	u.openFrom([]string{".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"}, func(r fyne.URIReadCloser) {
		u.loadStyleURI(r.URI())
	})
}

func (u *ui) openLabelsDialog() {
	u.openFrom([]string{".png", ".PNG"}, func(r fyne.URIReadCloser) {
		lm, err := canvas.Load(r, u.pal)
		if err != nil {
			u.showErr(fmt.Errorf("open label map %s: %w", r.URI().Name(), err))
			return // the painting is untouched
		}
		u.setMap(lm)
	})
}

// saveTo runs write into a file chosen by the user; a failed save is
// reported and leaves the painting as it was.
func (u *ui) saveTo(name string, write func(io.Writer, string) error) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			u.showErr(err)
			return
		}
		if w == nil {
			return
		}
		err = write(w, strings.ToLower(w.URI().Extension()))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			u.showErr(fmt.Errorf("save %s: %w", w.URI().Name(), err))
		}
	}, u.win)
	d.SetFileName(name)
	d.Show()
}

func (u *ui) saveLabelsDialog() {
	u.saveTo("labels.png", func(w io.Writer, _ string) error { return u.cw.Map().Save(w) })
}

func (u *ui) exportDialog() {
	if u.lastOut == nil {
		u.showErr(errors.New("nothing rendered yet"))
		return
	}
	img := u.lastOut
	u.saveTo("photo.png", func(w io.Writer, ext string) error {
		switch ext {
		case ".jpg", ".jpeg":
			return jpeg.Encode(w, img, &jpeg.Options{Quality: 95})
		case ".png", "":
			return png.Encode(w, img)
		}
		return fmt.Errorf("unknown image type %q (use .png or .jpg)", ext)
	})
}

func (u *ui) saveProjectDialog() {
	u.saveTo("painting"+projectExt, func(w io.Writer, _ string) error {
		return EncodeProject(w, u.cw.Map(), u.style, u.modelRef)
	})
}

func (u *ui) openProjectDialog() {
	u.openFrom([]string{projectExt}, func(r fyne.URIReadCloser) {
		b, err := io.ReadAll(r)
		if err != nil {
			u.showErr(err)
			return
		}
		// The project names its model: open that first so the labels are
		// checked against the right classes.
		var p Project
		if json.Unmarshal(b, &p) == nil && p.Model != "" && p.Model != u.modelRef {
			m, ref, err := openModel(p.Model)
			if err != nil {
				u.showErr(fmt.Errorf("project model: %w", err))
				return
			}
			u.setModel(m, ref)
		}
		lm, s, _, err := DecodeProject(bytes.NewReader(b), u.pal)
		if err != nil {
			u.showErr(fmt.Errorf("open project %s: %w", r.URI().Name(), err))
			return
		}
		u.setMap(lm)
		u.setStyle(s)
	})
}

func (u *ui) openModelDialog() {
	u.openFrom([]string{".safetensors", ".pth"}, func(r fyne.URIReadCloser) {
		m, ref, err := openModel(r.URI().Path())
		if err != nil {
			u.showErr(fmt.Errorf("open model: %w", err))
			return
		}
		u.setModel(m, ref)
	})
}

// newCanvasDialog offers sizes at the model's aspect ratio.
func (u *ui) newCanvasDialog() {
	w0, h0 := defaultCanvas, defaultCanvas
	if u.model != nil {
		w0, h0 = u.model.Config.Width, u.model.Config.Height()
	}
	var opts []string
	sizes := map[string]image.Point{}
	for _, k := range []int{1, 2, 4} {
		s := fmt.Sprintf("%d × %d", w0*k, h0*k)
		opts = append(opts, s)
		sizes[s] = image.Pt(w0*k, h0*k)
	}
	sel := widget.NewSelect(opts, nil)
	sel.SetSelected(opts[0])
	dialog.ShowForm("New canvas", "Create", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Size", sel)},
		func(ok bool) {
			if !ok {
				return
			}
			p := sizes[sel.Selected]
			u.setMap(u.startScene(p.X, p.Y))
		}, u.win)
}
