// Package app is spadepaint's window: the label canvas with its tools and
// class palette, the style panel, and the generated photo, re-rendered
// live off the UI goroutine as the user paints.
package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"spadepaint/assets"
	"spadepaint/canvas"
	"spadepaint/model"
	"spadepaint/model/device"
)

// AppID is the Fyne application id (also in FyneApp.toml).
const AppID = "io.github.spadepaint"

// Options choose what the window opens with.
type Options struct {
	// ModelPath is a model to open (.safetensors, or an official .pth
	// imported on the fly); empty means the embedded default model.
	ModelPath string
	// Device is where models render (and the Train tab's default): the
	// GPU falls back to the CPU with a message when it cannot be used.
	Device device.Kind
}

// Run opens the window and blocks until it is closed.
func Run(o Options) error {
	a := fyneapp.NewWithID(AppID)
	u := newUI(a)
	u.start(o)
	u.win.ShowAndRun()
	return nil
}

// ui holds the window's state. Every field is touched only on Fyne's UI
// goroutine; renders run in the Renderer and come back with fyne.Do.
type ui struct {
	app fyne.App
	win fyne.Window

	model    *model.Model
	modelRef string // path of the open model ("" for the embedded one)
	pal      canvas.Palette
	cw       *canvas.Widget
	renderer *Renderer
	cancel   context.CancelFunc

	out       *fynecanvas.Image
	lastOut   image.Image
	outNote   *widget.Label
	status    *widget.Label
	toolGroup *widget.RadioGroup
	sizeSl    *widget.Slider
	overlay   *widget.Slider
	classSw   *fynecanvas.Rectangle
	className *widget.Label
	palBox    *fyne.Container
	search    *widget.Entry
	devSel    *widget.Select

	// device is where models render; devDesc names it for the status
	// bar ("CPU" or the GPU's name), kept here so that the status bar
	// never waits on a model busy rendering.
	device  device.Kind
	devDesc string

	style      Style
	styleThumb *fynecanvas.Image
	styleName  *widget.Label
	seedEntry  *widget.Entry
	historyBox *fyne.Container
	history    []Style

	// quiet suppresses autosave while the app itself replaces the map.
	quiet bool
	// store is where the autosave lives (the app's storage; tests use
	// a temporary folder).
	store fyne.URI
}

const (
	defaultCanvas = 256
	historyLen    = 8
	autosaveName  = "autosave.png"
)

func newUI(a fyne.App) *ui {
	u := &ui{app: a, win: a.NewWindow("spadepaint"), store: a.Storage().RootURI()}
	u.status = widget.NewLabel("")
	u.outNote = widget.NewLabel("")
	u.outNote.Wrapping = fyne.TextWrapWord
	u.out = fynecanvas.NewImageFromImage(nil)
	u.out.FillMode = fynecanvas.ImageFillContain
	u.out.ScaleMode = fynecanvas.ImageScaleSmooth
	u.out.SetMinSize(fyne.NewSize(320, 320))
	u.renderer = NewRenderer(nil, func(r Result) { fyne.Do(func() { u.showResult(r) }) })
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	go u.renderer.Run(ctx)
	u.win.SetOnClosed(cancel)
	return u
}

// start loads the model, builds the window and restores an autosave.
func (u *ui) start(o Options) {
	u.device, u.devDesc = o.Device, device.CPUName
	u.pal = assets.GenericPalette(1)
	if p, err := assets.Palette(assets.Landscape); err == nil {
		u.pal = p
	}
	saved := u.readAutosave() // before anything overwrites it
	m, ref, err := openModel(o.ModelPath)
	lm := u.startScene(defaultCanvas, defaultCanvas)
	u.cw = canvas.NewWidget(lm, canvas.NewHistory(0, 0))
	u.cw.SetTool(canvas.RoundBrush{Size: 24})
	u.cw.OnChanged = u.onChanged
	u.cw.OnClassPicked = func(uint8) { u.showClass() }
	u.style = Style{Seed: 1, Name: "seed 1"}
	u.build()
	switch {
	case err != nil:
		u.setStatus("no model")
		dialog.ShowError(err, u.win)
	case m == nil:
		u.setStatus("no model")
		u.outNote.SetText("No model is loaded. This build embeds no default model yet: open a trained or imported model with File → Open model… (see the README).")
	default:
		u.setModel(m, ref)
	}
	u.offerRestore(saved)
}

// openModel loads path, or the embedded default model when path is empty
// (nil without error when the build embeds none).
func openModel(path string) (*model.Model, string, error) {
	if path == "" {
		b, ok := assets.DefaultModel()
		if !ok {
			return nil, "", nil
		}
		m, err := model.LoadBytes(b)
		if err != nil {
			return nil, "", fmt.Errorf("embedded default model: %w", err)
		}
		return m, "", nil
	}
	if strings.EqualFold(filepath.Ext(path), ".pth") {
		m, err := model.ImportPTH(path, "", model.ImportOptions{})
		return m, path, err
	}
	m, err := model.Load(path)
	return m, path, err
}

// startScene is the canvas a new painting starts from: sky over grass,
// the way GauGAN opens, or a plain map of the first class.
func (u *ui) startScene(w, h int) *canvas.LabelMap {
	sky, grass := u.classByName("sky-other", "sky"), u.classByName("grass")
	first := u.pal.Classes[0].ID
	if sky < 0 {
		sky = int(first)
	}
	lm, err := canvas.NewLabelMap(w, h, u.pal, uint8(sky))
	if err != nil {
		lm, _ = canvas.NewLabelMap(defaultCanvas, defaultCanvas, u.pal, first)
		return lm
	}
	if grass >= 0 {
		lm.FillRect(image.Rect(0, h*3/5, w, h), uint8(grass))
	}
	return lm
}

func (u *ui) classByName(names ...string) int {
	for _, n := range names {
		for _, c := range u.pal.Classes {
			if c.Name == n {
				return int(c.ID)
			}
		}
	}
	return -1
}

// setModel switches to m: palette, canvas size and classes follow it.
func (u *ui) setModel(m *model.Model, ref string) {
	prev := u.model
	u.attach(m, u.device)
	u.model, u.modelRef = m, ref
	u.renderer.SetSynth(NewModelSynth(m))
	if prev != nil && prev != m {
		// Frees the old model's GPU memory once a render still running
		// on it ends (SetBackend waits for it).
		go prev.SetBackend(nil)
	}
	pal := paletteFor(m.Config)
	old := u.cw.Map()
	u.pal = pal
	keep := old.Bounds().Dx()*m.Config.Height() == old.Bounds().Dy()*m.Config.Width && fitsPalette(old, pal)
	if !keep {
		u.setMap(u.startScene(m.Config.Width, m.Config.Height()))
	} else if lm, err := rebase(old, pal); err == nil {
		u.setMap(lm)
	}
	if !m.HasEncoder() && u.style.Image != nil {
		u.style = Style{Seed: u.style.Seed, Name: fmt.Sprintf("seed %d", u.style.Seed)}
	}
	u.refreshPalette()
	u.refreshStyle()
	u.showClass()
	u.outNote.SetText("")
	u.requestRender()
}

// fitsPalette reports whether every pixel of m is a class of pal.
func fitsPalette(m *canvas.LabelMap, pal canvas.Palette) bool {
	ok := make([]bool, 256)
	for _, c := range pal.Classes {
		ok[c.ID] = true
	}
	for _, v := range m.Image().Pix {
		if !ok[v] {
			return false
		}
	}
	return true
}

// rebase copies m's pixels into a map with palette pal.
func rebase(m *canvas.LabelMap, pal canvas.Palette) (*canvas.LabelMap, error) {
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		return nil, err
	}
	return canvas.Load(&buf, pal)
}

func (u *ui) build() {
	u.win.SetMainMenu(u.menu())
	u.devSel = widget.NewSelect(deviceNames(), func(s string) { u.setDevice(deviceKind(s)) })
	u.devSel.SetSelected(deviceName(u.device)) // before OnChanged would act: u.model is not set yet
	bottom := container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewLabel("Device"), u.devSel), u.status)
	paint := container.NewBorder(nil, bottom, u.leftPanel(), nil,
		container.NewHSplit(u.cw, u.rightPanel()))
	u.win.SetContent(container.NewAppTabs(container.NewTabItem("Paint", paint), u.trainTabItem()))
	u.win.Resize(fyne.NewSize(1280, 760))
	u.shortcuts()
	u.win.SetOnDropped(u.onDropped)
}

// ---- left panel: tools, brush size, current class, palette ----

var toolNames = []string{"Brush", "Square brush", "Pencil", "Eraser", "Fill", "Eyedropper", "Line", "Rectangle", "Filled rectangle"}

func (u *ui) toolFor(name string, size int) canvas.Tool {
	switch name {
	case "Square brush":
		return canvas.SquareBrush{Size: size}
	case "Pencil":
		return canvas.Pencil{}
	case "Eraser":
		bg := uint8(0)
		if sky := u.classByName("sky-other", "sky"); sky >= 0 {
			bg = uint8(sky)
		}
		return canvas.Eraser{Size: size, Background: bg}
	case "Fill":
		return canvas.Fill{}
	case "Eyedropper":
		return canvas.Eyedropper{}
	case "Line":
		return canvas.Line{Size: size}
	case "Rectangle":
		return canvas.Rectangle{Size: size}
	case "Filled rectangle":
		return canvas.Rectangle{Size: size, Filled: true}
	}
	return canvas.RoundBrush{Size: size}
}

func (u *ui) leftPanel() fyne.CanvasObject {
	u.toolGroup = widget.NewRadioGroup(toolNames, func(s string) {
		if s == "" {
			u.toolGroup.SetSelected("Brush")
			return
		}
		u.cw.SetTool(u.toolFor(s, u.cw.BrushSize()))
	})
	u.toolGroup.Required = true
	u.toolGroup.SetSelected("Brush")
	u.sizeSl = widget.NewSlider(1, 128)
	u.sizeSl.Step = 1
	u.sizeSl.SetValue(24)
	sizeLabel := widget.NewLabel("Size 24")
	u.sizeSl.OnChanged = func(v float64) {
		u.cw.SetBrushSize(int(v))
		sizeLabel.SetText(fmt.Sprintf("Size %d", int(v)))
	}
	u.classSw = fynecanvas.NewRectangle(theme.Color(theme.ColorNameForeground))
	u.classSw.SetMinSize(fyne.NewSize(28, 28))
	u.className = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	u.search = widget.NewEntry()
	u.search.SetPlaceHolder("Search classes…")
	u.search.OnChanged = func(string) { u.refreshPalette() }
	u.palBox = container.NewVBox()
	u.refreshPalette()
	u.showClass()
	top := container.NewVBox(
		widget.NewLabelWithStyle("Tool", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), u.toolGroup,
		sizeLabel, u.sizeSl, widget.NewSeparator(),
		container.NewHBox(u.classSw, u.className), u.search)
	scroll := container.NewVScroll(u.palBox)
	scroll.SetMinSize(fyne.NewSize(220, 200))
	return container.NewBorder(top, nil, nil, nil, scroll)
}

// refreshPalette lists the classes by group, filtered by the search text.
func (u *ui) refreshPalette() {
	if u.palBox == nil {
		return
	}
	q := strings.ToLower(strings.TrimSpace(u.search.Text))
	u.palBox.RemoveAll()
	for g := canvas.SkyWater; g <= canvas.Other; g++ {
		var items []fyne.CanvasObject
		for _, c := range u.pal.Classes {
			if c.Group != g || (q != "" && !strings.Contains(strings.ToLower(c.Name), q)) {
				continue
			}
			c := c
			items = append(items, newSwatch(c, func() {
				u.cw.SetClass(c.ID)
				if k := canvas.KindOf(u.cw.Tool()); k == canvas.Click && u.toolGroup.Selected == "Eyedropper" {
					u.toolGroup.SetSelected("Brush")
				}
				u.showClass()
			}))
		}
		if len(items) == 0 {
			continue
		}
		u.palBox.Add(widget.NewLabelWithStyle(g.String(), fyne.TextAlignLeading, fyne.TextStyle{Italic: true}))
		u.palBox.Add(container.NewGridWrap(fyne.NewSize(104, 28), items...))
	}
	u.palBox.Refresh()
}

func (u *ui) showClass() {
	if u.classSw == nil {
		return
	}
	c, ok := u.pal.Class(u.cw.Class())
	if !ok {
		return
	}
	u.classSw.FillColor = c.Color
	u.classSw.Refresh()
	u.className.SetText(fmt.Sprintf("%s (%d)", c.Name, c.ID))
}

// ---- right panel: generated photo, overlay, style ----

func (u *ui) rightPanel() fyne.CanvasObject {
	u.overlay = widget.NewSlider(0, 1)
	u.overlay.Step = 0.05
	u.overlay.OnChanged = func(v float64) {
		u.cw.SetOverlayOpacity(v)
		u.cw.SetOverlay(u.lastOut)
	}
	u.styleThumb = fynecanvas.NewImageFromImage(nil)
	u.styleThumb.FillMode = fynecanvas.ImageFillContain
	u.styleThumb.SetMinSize(fyne.NewSize(72, 72))
	u.styleName = widget.NewLabel("")
	u.seedEntry = widget.NewEntry()
	u.seedEntry.OnSubmitted = func(s string) {
		seed, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			dialog.ShowError(fmt.Errorf("seed %q is not a whole number", s), u.win)
			return
		}
		u.setStyle(Style{Seed: seed, Name: fmt.Sprintf("seed %d", seed)})
	}
	random := widget.NewButtonWithIcon("Random style (R)", theme.ViewRefreshIcon(), u.randomStyle)
	random.Importance = widget.HighImportance
	openStyle := widget.NewButtonWithIcon("Open style image…", theme.FolderOpenIcon(), u.openStyleDialog)
	presets := container.NewHBox()
	if ps, err := assets.StylePresets(); err == nil {
		for _, p := range ps {
			p := p
			name := presetLabel(p.Name)
			presets.Add(newThumb(p.Image, name, func() { u.setStyle(Style{Image: p.Image, Name: name}) }))
		}
	}
	u.historyBox = container.NewHBox()
	style := container.NewVBox(
		widget.NewLabelWithStyle("Style", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, u.styleThumb, nil, container.NewVBox(u.styleName,
			container.NewBorder(nil, nil, widget.NewLabel("Seed"), nil, u.seedEntry))),
		container.NewGridWithColumns(2, random, openStyle),
		widget.NewLabel("Presets"), container.NewHScroll(presets),
		widget.NewLabel("Recent styles"), container.NewHScroll(u.historyBox),
		container.NewBorder(nil, nil, widget.NewLabel("Overlay on canvas"), nil, u.overlay),
	)
	return container.NewBorder(nil, container.NewVBox(u.outNote, style), nil, nil, u.out)
}

// presetLabel is how a style preset is named in the window: the
// generator's looks (gen-<look>.jpg) by their look.
func presetLabel(file string) string {
	if look, ok := strings.CutPrefix(file, "gen-"); ok {
		return strings.ReplaceAll(look, "-", " ") + " (generated look)"
	}
	return file
}

func (u *ui) randomStyle() {
	seed := rand.Int63n(1_000_000)
	u.setStyle(Style{Seed: seed, Name: fmt.Sprintf("seed %d", seed)})
}

// setStyle makes s current, remembers it in the history strip and
// re-renders.
func (u *ui) setStyle(s Style) {
	if s.Image != nil && (u.model == nil || !u.model.HasEncoder()) {
		dialog.ShowError(model.ErrNoEncoder, u.win)
		return
	}
	u.style = s
	u.pushHistory(s)
	u.refreshStyle()
	u.requestRender()
}

func (u *ui) pushHistory(s Style) {
	h := []Style{s}
	for _, o := range u.history {
		if o.Image != s.Image || (s.Image == nil && o.Seed != s.Seed) {
			h = append(h, o)
		}
	}
	if len(h) > historyLen {
		h = h[:historyLen]
	}
	u.history = h
	u.historyBox.RemoveAll()
	for _, o := range h {
		o := o
		if o.Image != nil {
			u.historyBox.Add(newThumb(o.Image, o.Name, func() { u.setStyle(o) }))
		} else {
			u.historyBox.Add(widget.NewButton(o.Name, func() { u.setStyle(o) }))
		}
	}
}

func (u *ui) refreshStyle() {
	if u.style.Image != nil {
		u.styleThumb.Image = u.style.Image
		u.styleName.SetText("Style image: " + u.style.Name)
	} else {
		u.styleThumb.Image = nil
		u.styleName.SetText(fmt.Sprintf("Random style, seed %d", u.style.Seed))
		u.seedEntry.SetText(strconv.FormatInt(u.style.Seed, 10))
	}
	u.styleThumb.Refresh()
}

// ---- rendering ----

func (u *ui) onChanged(_ image.Rectangle, final bool) {
	u.requestRender()
	if final && !u.quiet {
		u.autosave()
	}
}

// setMap replaces the painting (new canvas, opened file, new model)
// without counting it as the user's work to autosave.
func (u *ui) setMap(lm *canvas.LabelMap) {
	u.quiet = true
	u.cw.SetMap(lm)
	u.quiet = false
	u.requestRender()
}

func (u *ui) requestRender() {
	if u.model == nil {
		return
	}
	u.renderer.Request(u.cw.Map().Image(), u.style)
}

func (u *ui) showResult(r Result) {
	if r.Err != nil {
		u.setStatus("render failed")
		u.outNote.SetText(r.Err.Error())
		return
	}
	u.lastOut = r.Image
	u.out.Image = r.Image
	u.out.Refresh()
	u.outNote.SetText("")
	if u.overlay.Value > 0 {
		u.cw.SetOverlay(r.Image)
	}
	u.setStatus(fmt.Sprintf("rendered in %d ms", r.Took.Milliseconds()))
}

func (u *ui) setStatus(s string) {
	name := "no model"
	if u.model != nil {
		c := u.model.Config
		name = fmt.Sprintf("%s %d×%d, %d classes", c.Name, c.Width, c.Height(), c.NumClasses())
		if u.modelRef != "" {
			name += " (" + filepath.Base(u.modelRef) + ")"
		}
	}
	tool := u.toolGroup.Selected
	where := u.devDesc
	if where == device.CPUName {
		where += ", GEMM: " + model.EngineGEMM()
	}
	u.status.SetText(fmt.Sprintf("%s · %s · %s · tool: %s", s, where, name, tool))
}

// ---- device ----

func deviceName(k device.Kind) string { return strings.ToUpper(k.String()) }

func deviceNames() []string {
	var ns []string
	for _, k := range device.Kinds() {
		ns = append(ns, deviceName(k))
	}
	return ns
}

func deviceKind(name string) device.Kind {
	k, err := device.ParseKind(name)
	if err != nil {
		return device.CPU
	}
	return k
}

// attach moves m to k. When the GPU cannot be used the user is told why
// and m renders on the CPU; the device choice falls back to the CPU too,
// so that the next model does not fail the same way.
func (u *ui) attach(m *model.Model, k device.Kind) {
	desc, err := device.Attach(m, k)
	if err != nil {
		dialog.ShowError(fmt.Errorf("GPU unavailable (%w); rendering on the CPU", err), u.win)
		desc, k = device.CPUName, device.CPU
	}
	u.device, u.devDesc = k, desc
	if u.devSel != nil && u.devSel.Selected != deviceName(k) {
		u.devSel.Selected = deviceName(k) // shown without calling OnChanged again
		u.devSel.Refresh()
	}
}

// setDevice is the device chooser's action: the open model moves there
// and renders again.
func (u *ui) setDevice(k device.Kind) {
	if u.model == nil {
		u.device = k
		return
	}
	if k == u.device {
		return
	}
	u.attach(u.model, k)
	u.setStatus("device: " + u.devDesc)
	u.requestRender()
}

// ---- menus, keys, drops ----

func (u *ui) menu() *fyne.MainMenu {
	file := fyne.NewMenu("File",
		fyne.NewMenuItem("New canvas…", u.newCanvasDialog),
		fyne.NewMenuItem("Open label map…", u.openLabelsDialog),
		fyne.NewMenuItem("Save label map…", u.saveLabelsDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open project…", u.openProjectDialog),
		fyne.NewMenuItem("Save project…", u.saveProjectDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open style image…", u.openStyleDialog),
		fyne.NewMenuItem("Export photo…", u.exportDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open model…", u.openModelDialog),
	)
	edit := fyne.NewMenu("Edit",
		fyne.NewMenuItem("Undo", func() { u.cw.Undo() }),
		fyne.NewMenuItem("Redo", func() { u.cw.Redo() }),
	)
	return fyne.NewMainMenu(file, edit)
}

func (u *ui) shortcuts() {
	c := u.win.Canvas()
	add := func(k fyne.KeyName, mod fyne.KeyModifier, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: mod}, func(fyne.Shortcut) { f() })
	}
	ctrl := fyne.KeyModifierShortcutDefault
	add(fyne.KeyZ, ctrl, func() { u.cw.Undo() })
	add(fyne.KeyZ, ctrl|fyne.KeyModifierShift, func() { u.cw.Redo() })
	add(fyne.KeyY, ctrl, func() { u.cw.Redo() })
	add(fyne.KeyS, ctrl, u.saveProjectDialog)
	add(fyne.KeyO, ctrl, u.openProjectDialog)
	add(fyne.KeyE, ctrl, u.exportDialog)
	c.SetOnTypedRune(func(r rune) {
		switch r {
		case '[':
			u.sizeSl.SetValue(max(1, u.sizeSl.Value-2))
		case ']':
			u.sizeSl.SetValue(min(128, u.sizeSl.Value+2))
		case 'r', 'R':
			u.randomStyle()
		case 'b':
			u.toolGroup.SetSelected("Brush")
		case 'e':
			u.toolGroup.SetSelected("Eraser")
		case 'f':
			u.toolGroup.SetSelected("Fill")
		case 'i':
			u.toolGroup.SetSelected("Eyedropper")
		}
	})
}

// onDropped takes the first dropped file as the style image.
func (u *ui) onDropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 {
		return
	}
	u.loadStyleURI(uris[0])
}

func (u *ui) loadStyleURI(uri fyne.URI) {
	r, err := storage.Reader(uri)
	if err != nil {
		dialog.ShowError(fmt.Errorf("open %s: %w", uri.Name(), err), u.win)
		return
	}
	defer r.Close()
	img, err := decodeImage(r)
	if err != nil {
		dialog.ShowError(fmt.Errorf("style image %s: %w", uri.Name(), err), u.win)
		return
	}
	u.setStyle(Style{Image: img, Name: uri.Name()})
}

// decodeImage reads a whole image file, refusing oversize ones from
// their header (model.DecodeImage).
func decodeImage(r io.Reader) (image.Image, error) {
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, err
	}
	return model.DecodeImage(bytes.NewReader(b))
}

// ---- autosave ----

// autosave writes the label map to the app's storage after every stroke,
// so a crash never loses a painting; the next start offers it back.
func (u *ui) autosave() {
	var buf bytes.Buffer
	if err := u.cw.Map().Save(&buf); err != nil {
		u.setStatus("autosave failed: " + err.Error())
		return
	}
	uri, err := u.autosaveURI()
	if err != nil {
		return
	}
	w, err := storage.Writer(uri)
	if err != nil {
		u.setStatus("autosave failed: " + err.Error())
		return
	}
	_, err = w.Write(buf.Bytes())
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		u.setStatus("autosave failed: " + err.Error())
	}
}

func (u *ui) autosaveURI() (fyne.URI, error) {
	return storage.Child(u.store, autosaveName)
}

// readAutosave returns the last session's autosaved label map, if any.
func (u *ui) readAutosave() []byte {
	uri, err := u.autosaveURI()
	if err != nil {
		return nil
	}
	if ok, _ := storage.Exists(uri); !ok {
		return nil
	}
	r, err := storage.Reader(uri)
	if err != nil {
		return nil
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil
	}
	return b
}

// offerRestore asks to bring back an autosaved painting that differs from
// the one on screen and fits the open model's classes.
func (u *ui) offerRestore(saved []byte) {
	if saved == nil {
		return
	}
	lm, err := canvas.Load(bytes.NewReader(saved), u.pal)
	if err != nil {
		return // painted with another model's classes: nothing to offer here
	}
	cur := u.cw.Map().Image()
	if lm.Bounds() == cur.Bounds() && bytes.Equal(lm.Image().Pix, cur.Pix) {
		return
	}
	dialog.ShowConfirm("Restore painting?", "A label map from your last session was saved automatically. Restore it?",
		func(yes bool) {
			if yes {
				u.cw.SetMap(lm)
				u.requestRender()
			}
		}, u.win)
}

// ---- small widgets ----

// swatch is a palette entry: the class colour and name; tapping selects it.
type swatch struct {
	widget.BaseWidget
	class canvas.Class
	onTap func()
}

func newSwatch(c canvas.Class, onTap func()) *swatch {
	s := &swatch{class: c, onTap: onTap}
	s.ExtendBaseWidget(s)
	return s
}

func (s *swatch) Tapped(*fyne.PointEvent) { s.onTap() }

func (s *swatch) CreateRenderer() fyne.WidgetRenderer {
	rect := fynecanvas.NewRectangle(s.class.Color)
	rect.SetMinSize(fyne.NewSize(16, 16))
	rect.StrokeColor = theme.Color(theme.ColorNameForeground)
	rect.StrokeWidth = 0.5
	text := fynecanvas.NewText(s.class.Name, theme.Color(theme.ColorNameForeground))
	text.TextSize = theme.CaptionTextSize()
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewCenter(rect), nil, text))
}

// thumb is a clickable style thumbnail.
type thumb struct {
	widget.BaseWidget
	img   image.Image
	name  string
	onTap func()
}

func newThumb(img image.Image, name string, onTap func()) *thumb {
	t := &thumb{img: img, name: name, onTap: onTap}
	t.ExtendBaseWidget(t)
	return t
}

func (t *thumb) Tapped(*fyne.PointEvent) { t.onTap() }

func (t *thumb) CreateRenderer() fyne.WidgetRenderer {
	im := fynecanvas.NewImageFromImage(t.img)
	im.FillMode = fynecanvas.ImageFillContain
	im.SetMinSize(fyne.NewSize(64, 64))
	return widget.NewSimpleRenderer(im)
}

// pngBytes encodes an image as PNG.
func pngBytes(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}
