package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	fynecanvas "fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"spadepaint/model"
	"spadepaint/model/device"
	"spadepaint/train"
	"spadepaint/train/landscape"
)

// The Train tab runs the trainer (package train) inside the app: the same
// runs as `spadepaint train`, configured with a form, on a goroutine of
// their own. Every widget is touched on Fyne's UI goroutine only; the
// trainer's progress callback hands its reports over with fyne.Do.

const (
	dataSynthetic = "Built-in synthetic landscapes"
	dataFolder    = "Folder"
	presetAuto    = "auto (from the data)"

	// The tab draws samples more often than the command line's default
	// (500), so that the grid visibly follows the run.
	tabSampleEvery     = 100
	tabCheckpointEvery = 500
	defaultTabSteps    = 5000
)

// runSlot admits one training run per process at a time (a second window
// must not start another: they would share the same cores).
var runSlot = make(chan struct{}, 1)

// trainTab is the Train tab's content and state.
type trainTab struct {
	widget.BaseWidget
	u       *ui
	content fyne.CanvasObject

	dataKind   *widget.RadioGroup
	dataDir    *widget.Entry
	dataBrowse *widget.Button
	format     *widget.Select
	preset     *widget.Select
	size       *widget.SelectEntry
	batch      *widget.Entry
	steps      *widget.Entry
	seed       *widget.Entry
	colour     *widget.Entry // λ of the colour loss (train --lambda-colour)
	pairs      *widget.Check // style from another scene (train --style-pairs)
	device     *widget.Select
	runDir     *widget.Entry
	runBrowse  *widget.Button
	resume     *widget.Check

	startBtn, pauseBtn, stopBtn, useBtn *widget.Button

	bar    *widget.ProgressBar
	stats  *widget.Label
	note   *widget.Label
	plot   *lossPlot
	sample *fynecanvas.Image

	// run is the active run, nil when idle.
	run *trainRun
	// closing: the window waits for the run to stop, then closes.
	closing bool
	// barText is what the progress bar says.
	barText string

	// Test hooks. adjust edits a new run's options before it starts;
	// onProgress sees every report on the trainer's goroutine (before the
	// tab shows it); finished is called on the UI goroutine when a run
	// has ended and the tab shows it; modelUsed when "Use this model"
	// has loaded a model into the painter (or failed to).
	adjust     func(*train.Options)
	onProgress func(train.Progress)
	finished   func(error)
	modelUsed  func(path string, err error)
}

// trainRun is one run in progress.
type trainRun struct {
	dir    string
	cancel context.CancelFunc
	// paused holds the trainer between two steps; wantModel asks it to
	// export the current weights for the painter at the next step
	// boundary; wake interrupts a pause for either change.
	paused    atomic.Bool
	wantModel atomic.Bool
	wake      chan struct{}
	step      int // last step shown (UI goroutine)
}

func (r *trainRun) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// runSpec is the form, read and checked on the UI goroutine.
type runSpec struct {
	resume bool
	dir    string
	data   string // folder path, or the synthetic source's name
	format string
	preset string // "" for the data's own
	size   int    // 0 for the preset's
	batch  int
	steps  int
	seed   int64
	colour float64 // λ of the colour loss, 0 = off
	pairs  bool    // style pairs (synthetic data only)
	device device.Kind
}

// trainTabItem builds the Train tab of u's window.
func (u *ui) trainTabItem() *container.TabItem {
	return container.NewTabItemWithIcon("Train", theme.MediaPlayIcon(), newTrainTab(u))
}

func newTrainTab(u *ui) *trainTab {
	t := &trainTab{u: u}
	t.ExtendBaseWidget(t)

	t.dataDir = widget.NewEntry()
	t.dataDir.SetPlaceHolder("images/ + labels/, ADE20K, COCO-Stuff or Cityscapes folder")
	t.dataBrowse = widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() { t.chooseFolder(t.dataDir) })
	t.format = widget.NewSelect(append([]string{train.FormatAuto}, train.Formats()...), nil)
	t.format.SetSelected(train.FormatAuto)
	t.dataKind = widget.NewRadioGroup([]string{dataSynthetic, dataFolder}, func(string) { t.refreshEnabled() })
	t.dataKind.Required = true
	t.dataKind.SetSelected(dataSynthetic)

	presets := []string{presetAuto}
	for _, p := range model.Presets() {
		presets = append(presets, p.String())
	}
	t.preset = widget.NewSelect(presets, nil)
	t.preset.SetSelected(presetAuto)
	t.size = widget.NewSelectEntry([]string{"64", "128", "256", "512"})
	t.size.SetPlaceHolder("the preset's (256)")
	t.batch = widget.NewEntry()
	t.batch.SetText("1")
	t.steps = widget.NewEntry()
	t.steps.SetText(strconv.Itoa(defaultTabSteps))
	t.seed = widget.NewEntry()
	t.seed.SetText("1")
	t.colour = widget.NewEntry()
	t.colour.SetText("0")
	t.colour.SetPlaceHolder("0: off, as the paper")
	t.pairs = widget.NewCheck("Encode the style from another scene (generated data)", nil)
	t.device = widget.NewSelect(deviceNames(), nil)
	t.device.SetSelected(deviceName(u.device))

	t.runDir = widget.NewEntry()
	t.runDir.SetText(t.defaultRunDir())
	t.runDir.OnChanged = func(string) { t.refreshRunDir() }
	t.runBrowse = widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() { t.chooseFolder(t.runDir) })
	t.resume = widget.NewCheck("Resume", func(on bool) { t.resumeChanged(on) })
	t.resume.Hide()

	t.startBtn = widget.NewButtonWithIcon("Start", theme.MediaPlayIcon(), t.start)
	t.startBtn.Importance = widget.HighImportance
	t.pauseBtn = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), t.togglePause)
	t.stopBtn = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), t.stop)
	t.useBtn = widget.NewButtonWithIcon("Use this model in the painter", theme.ConfirmIcon(), t.useModel)

	t.bar = widget.NewProgressBar()
	t.bar.TextFormatter = func() string { return t.barText }
	t.stats = widget.NewLabel("Not running.")
	t.stats.Wrapping = fyne.TextWrapWord
	t.note = widget.NewLabel("")
	t.note.Wrapping = fyne.TextWrapWord
	t.plot = newLossPlot()
	t.sample = fynecanvas.NewImageFromImage(nil)
	t.sample.FillMode = fynecanvas.ImageFillContain
	t.sample.ScaleMode = fynecanvas.ImageScaleSmooth
	t.sample.SetMinSize(fyne.NewSize(300, 200))

	form := widget.NewForm(
		widget.NewFormItem("Data", t.dataKind),
		widget.NewFormItem("Folder", container.NewBorder(nil, nil, nil, t.dataBrowse, t.dataDir)),
		widget.NewFormItem("Format", t.format),
		widget.NewFormItem("Preset", t.preset),
		widget.NewFormItem("Size", t.size),
		widget.NewFormItem("Batch", t.batch),
		widget.NewFormItem("Steps", t.steps),
		widget.NewFormItem("Seed", t.seed),
		widget.NewFormItem("Colour loss λ", t.colour),
		widget.NewFormItem("Style pairs", t.pairs),
		widget.NewFormItem("Device", t.device),
		widget.NewFormItem("Run folder", container.NewBorder(nil, nil, nil, t.runBrowse, t.runDir)),
		widget.NewFormItem("", t.resume),
	)
	left := container.NewVBox(
		widget.NewLabelWithStyle("Training run", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form,
		container.NewGridWithColumns(3, t.startBtn, t.pauseBtn, t.stopBtn),
		t.useBtn,
		t.note,
	)
	sampleTitle := widget.NewLabelWithStyle("Latest samples (labels · generated · real · random styles)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	right := container.NewBorder(container.NewVBox(t.bar, t.stats), nil, nil, nil,
		container.NewVSplit(t.plot, container.NewBorder(sampleTitle, nil, nil, nil, t.sample)))
	split := container.NewHSplit(container.NewVScroll(left), right)
	split.Offset = 0.36
	t.content = split

	t.refreshRunDir()
	t.refreshEnabled()
	u.win.SetCloseIntercept(t.onClose)
	return t
}

func (t *trainTab) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.content) }

// defaultRunDir is a fresh folder under ~/spadepaint-runs, or under the
// app's storage when there is no home folder.
func (t *trainTab) defaultRunDir() string {
	name := "run-" + time.Now().Format("20060102-150405")
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, "spadepaint-runs", name)
	}
	if t.u.store != nil && t.u.store.Scheme() == "file" {
		return filepath.Join(t.u.store.Path(), "runs", name)
	}
	return filepath.Join(os.TempDir(), "spadepaint-runs", name)
}

// chooseFolder fills e from a folder dialog that opens where e points.
func (t *trainTab) chooseFolder(e *widget.Entry) {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil {
			dialog.ShowError(err, t.u.win)
			return
		}
		if dir != nil {
			e.SetText(dir.Path())
		}
	}, t.u.win)
	for p := strings.TrimSpace(e.Text); p != "" && p != "." && p != string(filepath.Separator); p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if l, err := storage.ListerForURI(storage.NewFileURI(p)); err == nil {
				d.SetLocation(l)
			}
			break
		}
	}
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// refreshEnabled enables the fields that apply now: nothing while a run
// is active; a resumed run keeps its own model, data format and seed.
func (t *trainTab) refreshEnabled() {
	if t.startBtn == nil {
		return // still building
	}
	idle := t.run == nil
	resuming := t.resume.Visible() && t.resume.Checked
	folder := t.dataKind.Selected == dataFolder
	set := func(on bool, ws ...fyne.Disableable) {
		for _, w := range ws {
			if on {
				w.Enable()
			} else {
				w.Disable()
			}
		}
	}
	set(idle && !resuming, t.dataKind, t.format, t.preset, t.size, t.batch, t.seed, t.colour)
	if resuming || !folder {
		t.format.Disable()
	}
	set(idle && folder, t.dataDir, t.dataBrowse)
	set(idle && !resuming && !folder, t.pairs)
	set(idle, t.steps, t.device, t.runDir, t.runBrowse, t.resume, t.startBtn)
	set(!idle, t.pauseBtn, t.stopBtn)
	set(!idle || t.hasModel(), t.useBtn)
}

func (t *trainTab) hasModel() bool {
	dir := strings.TrimSpace(t.runDir.Text)
	if dir == "" {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, train.ModelFile))
	return err == nil && st.Mode().IsRegular()
}

// refreshRunDir offers to resume when the run folder holds a run.
func (t *trainTab) refreshRunDir() {
	if t.resume == nil || t.run != nil {
		return
	}
	dir := strings.TrimSpace(t.runDir.Text)
	_, err := os.Stat(filepath.Join(dir, train.ConfigFile))
	if dir == "" || err != nil {
		t.resume.SetChecked(false)
		t.resume.Hide()
		t.refreshEnabled()
		return
	}
	cks, _ := train.Checkpoints(dir)
	if len(cks) > 0 {
		t.resume.Text = "Resume from the last checkpoint"
		name := strings.TrimSuffix(filepath.Base(cks[0]), filepath.Ext(cks[0]))
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "step-")); err == nil {
			t.resume.Text = fmt.Sprintf("Resume from the checkpoint at step %d", n)
		}
	} else {
		t.resume.Text = "Resume (no checkpoint yet: starts again from step 0)"
	}
	t.resume.Show()
	t.resume.Refresh()
	if t.resume.Checked {
		t.resumeChanged(true)
	}
	t.refreshEnabled()
}

// resumeChanged shows the run's own settings when resuming it.
func (t *trainTab) resumeChanged(on bool) {
	if on {
		opt, err := train.ReadOptions(strings.TrimSpace(t.runDir.Text))
		if err != nil {
			t.note.SetText(err.Error())
		} else {
			if opt.Data.Format == landscape.SourceName {
				t.dataKind.SetSelected(dataSynthetic)
			} else {
				t.dataKind.SetSelected(dataFolder)
				t.dataDir.SetText(opt.Data.Path)
				t.format.SetSelected(opt.Data.Format)
			}
			if _, err := model.ParsePreset(opt.Model.Name); err == nil {
				t.preset.SetSelected(opt.Model.Name)
			}
			t.size.SetText(strconv.Itoa(opt.Model.Width))
			t.batch.SetText(strconv.Itoa(opt.Batch))
			t.seed.SetText(strconv.FormatInt(opt.Seed, 10))
			t.colour.SetText(strconv.FormatFloat(opt.LambdaColour, 'g', -1, 64))
			t.pairs.SetChecked(opt.StylePairs)
			t.steps.SetText(strconv.Itoa(opt.Steps))
		}
	}
	t.refreshEnabled()
}

// spec reads the form.
func (t *trainTab) spec() (runSpec, error) {
	s := runSpec{resume: t.resume.Visible() && t.resume.Checked, format: t.format.Selected, device: deviceKind(t.device.Selected)}
	num := func(name, text string, min int, blank int) (int, error) {
		text = strings.TrimSpace(text)
		if text == "" && blank >= 0 {
			return blank, nil
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < min {
			return 0, fmt.Errorf("%s %q: want a whole number ≥ %d", name, text, min)
		}
		return n, nil
	}
	var err error
	if s.size, err = num("size", t.size.Text, 8, 0); err != nil {
		return s, err
	}
	if s.batch, err = num("batch", t.batch.Text, 1, -1); err != nil {
		return s, err
	}
	if s.steps, err = num("steps", t.steps.Text, 1, -1); err != nil {
		return s, err
	}
	if s.seed, err = strconv.ParseInt(strings.TrimSpace(t.seed.Text), 10, 64); err != nil {
		return s, fmt.Errorf("seed %q: want a whole number", t.seed.Text)
	}
	if text := strings.TrimSpace(t.colour.Text); text != "" {
		if s.colour, err = strconv.ParseFloat(text, 64); err != nil || !(s.colour >= 0) || math.IsInf(s.colour, 0) {
			return s, fmt.Errorf("colour loss λ %q: want a number ≥ 0", t.colour.Text)
		}
	}
	if t.preset.Selected != presetAuto {
		s.preset = t.preset.Selected
	}
	// Only a generated data set can show a scene in another one's style.
	s.pairs = t.pairs.Checked && t.dataKind.Selected == dataSynthetic
	if t.dataKind.Selected == dataFolder {
		if s.data = strings.TrimSpace(t.dataDir.Text); s.data == "" {
			return s, errors.New("choose the data set's folder")
		}
		if s.data, err = filepath.Abs(s.data); err != nil {
			return s, err
		}
	} else {
		s.data, s.format = landscape.SourceName, landscape.SourceName
	}
	if s.dir = strings.TrimSpace(t.runDir.Text); s.dir == "" {
		return s, errors.New("choose a run folder")
	}
	if s.dir, err = filepath.Abs(s.dir); err != nil {
		return s, err
	}
	return s, nil
}

// start begins a run off the UI goroutine.
func (t *trainTab) start() {
	if t.run != nil {
		return
	}
	s, err := t.spec()
	if err != nil {
		dialog.ShowError(err, t.u.win)
		return
	}
	select {
	case runSlot <- struct{}{}:
	default:
		dialog.ShowError(errors.New("another training run is in progress in this app: stop it first"), t.u.win)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &trainRun{dir: s.dir, cancel: cancel, wake: make(chan struct{}, 1)}
	t.run = r
	t.pauseBtn.SetText("Pause")
	t.pauseBtn.SetIcon(theme.MediaPauseIcon())
	t.plot.Reset()
	t.sample.Image = nil
	t.sample.Refresh()
	t.setBar(0, s.steps)
	t.stats.SetText("Preparing: opening the data and building the networks…")
	t.note.SetText("")
	t.refreshEnabled()
	go t.work(ctx, r, s)
}

// stop asks the run to stop: the trainer checkpoints the last step done,
// and the tab exports the model.
func (t *trainTab) stop() {
	r := t.run
	if r == nil {
		return
	}
	t.stopBtn.Disable()
	t.pauseBtn.Disable()
	t.note.SetText("Stopping: writing a checkpoint and the model…")
	r.cancel() // last: the trainer's goroutine reacts at once
	r.poke()
}

func (t *trainTab) togglePause() {
	r := t.run
	if r == nil {
		return
	}
	pause := !r.paused.Load()
	if pause {
		t.pauseBtn.SetText("Continue")
		t.pauseBtn.SetIcon(theme.MediaPlayIcon())
		t.note.SetText("Pausing after the current step.")
	} else {
		t.pauseBtn.SetText("Pause")
		t.pauseBtn.SetIcon(theme.MediaPauseIcon())
		t.note.SetText("")
	}
	r.paused.Store(pause)
	r.poke()
}

// onClose stops an active run cleanly (checkpoint, model) before the
// window closes.
func (t *trainTab) onClose() {
	if t.run == nil {
		t.u.win.Close()
		return
	}
	if t.closing {
		return
	}
	t.closing = true
	t.stop()
	dialog.NewCustomWithoutButtons("Stopping training",
		widget.NewLabel("Writing a checkpoint before closing…"), t.u.win).Show()
}

// useModel puts the run's model in the painter: the current weights of
// an active run (exported between two steps), else the run folder's
// model.safetensors.
func (t *trainTab) useModel() {
	if r := t.run; r != nil {
		t.note.SetText("Exporting the current weights for the painter…")
		r.wantModel.Store(true)
		r.poke()
		return
	}
	path := filepath.Join(strings.TrimSpace(t.runDir.Text), train.ModelFile)
	go func() {
		m, err := model.Load(path)
		fyne.Do(func() { t.modelLoaded(m, path, err) })
	}()
}

// modelLoaded hands a loaded model to the painter and shows it.
func (t *trainTab) modelLoaded(m *model.Model, path string, err error) {
	if err != nil {
		dialog.ShowError(err, t.u.win)
	} else {
		t.u.setModel(m, path)
		t.note.SetText("The painter now uses " + path + ".")
		if tabs, ok := t.u.win.Content().(*container.AppTabs); ok {
			tabs.SelectIndex(0)
		}
	}
	if t.modelUsed != nil {
		t.modelUsed(path, err)
	}
}

// work runs on its own goroutine: it opens the data, starts or resumes
// the run, trains, and on a stop exports the model.
func (t *trainTab) work(ctx context.Context, r *trainRun, s runSpec) {
	var err error
	var done string
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("training failed: %v", p)
		}
		<-runSlot
		fyne.Do(func() { t.ended(r, err, done) })
	}()
	tr, notes, err := t.prepare(s)
	if err != nil {
		return
	}
	if len(notes) > 0 {
		msg := strings.Join(notes, "; ")
		fyne.Do(func() { t.note.SetText(msg) })
	}
	if s.resume {
		if es, err := train.ReadLog(s.dir); err == nil {
			fyne.Do(func() {
				for _, e := range es {
					t.plot.Add(e.Step, e.Losses.G(), e.Losses.D(), e.GANFeat)
				}
			})
		}
	}
	c := tr.Options.Model
	info := fmt.Sprintf("%s %d×%d, %d classes, ngf %d; %s data; batch %d; steps %d→%d",
		c.Name, c.Width, c.Height(), c.LabelNC, c.NGF, tr.Info().Format, tr.Options.Batch, tr.Step(), tr.Options.Steps)
	fyne.Do(func() {
		t.stats.SetText("Training " + info)
		t.setBar(tr.Step(), tr.Options.Steps)
	})
	// The GPU takes the large GEMMs for this run; when it cannot, the
	// run goes on on the CPU and says why.
	where := "CPU"
	desc, restore, uerr := device.Use(s.device)
	if uerr != nil {
		msg := fmt.Sprintf("GPU unavailable (%v); training on the CPU.", uerr)
		fyne.Do(func() { t.note.SetText(msg) })
	} else {
		where = desc
		defer func() {
			if gerr := restore(); gerr != nil {
				msg := fmt.Sprintf("The GPU failed during the run (%v); the rest of it ran on the CPU.", gerr)
				fyne.Do(func() { t.note.SetText(msg) })
			}
		}()
	}
	fyne.Do(func() { t.stats.SetText("Training " + info + "; on " + where) })
	tr.OnProgress = func(p train.Progress) { t.progress(ctx, r, tr, p) }
	err = tr.Run(ctx)
	path := filepath.Join(s.dir, train.ModelFile)
	switch {
	case err == nil:
		done = fmt.Sprintf("Finished at step %d: the model is %s.", tr.Step(), path)
	case errors.Is(err, train.ErrStopped):
		done = fmt.Sprintf("%v. Tick Resume and Start to continue.", err)
		if tr.Step() > 0 {
			if eerr := tr.Export(path); eerr != nil {
				err = fmt.Errorf("%v, but exporting the model failed: %w", err, eerr)
				return
			}
			done += " The model so far is " + path + "."
		}
	default:
		return
	}
	if r.wantModel.Swap(false) {
		m, lerr := model.Load(path)
		fyne.Do(func() { t.modelLoaded(m, path, lerr) })
	}
}

// prepare opens the data and makes the trainer, as `spadepaint train`.
func (t *trainTab) prepare(s runSpec) (*train.Trainer, []string, error) {
	if s.resume {
		opt, err := train.ReadOptions(s.dir)
		if err != nil {
			return nil, nil, err
		}
		if s.data != landscape.SourceName && opt.Data.Format != landscape.SourceName {
			opt.Data.Path = s.data // the same data, maybe moved
		}
		src, err := train.Open(opt.Data.Path, train.OpenOptions{Format: opt.Data.Format, ADERawIDs: opt.Data.ADERawIDs,
			SkipBad: opt.Data.SkipBad, Size: opt.Model.Width, Seed: opt.Seed})
		if err != nil {
			return nil, nil, err
		}
		opt.Steps = s.steps
		opt.DecaySteps = min(opt.DecaySteps, opt.Steps)
		if _, err := train.CheckFiles(src, opt.Data.Format == train.FormatFolder); err != nil {
			return nil, nil, err
		}
		return train.Resume(s.dir, src, opt)
	}
	name := s.preset
	if name == "" && s.data == landscape.SourceName {
		name = model.Landscape.String()
	}
	width := s.size
	if width == 0 && name != "" {
		p, err := model.ParsePreset(name)
		if err != nil {
			return nil, nil, err
		}
		width = p.Config().Width
	}
	src, err := train.Open(s.data, train.OpenOptions{Format: s.format, Size: width, Seed: s.seed})
	if err != nil {
		return nil, nil, err
	}
	info := src.Info()
	if name == "" {
		name = model.Landscape.String()
		switch info.Format {
		case train.FormatADE20K, train.FormatCOCO, train.FormatCityscapes:
			name = info.Format
		}
	}
	p, err := model.ParsePreset(name)
	if err != nil {
		return nil, nil, err
	}
	c := p.Config()
	if s.size > 0 {
		c.Width = s.size
	}
	c = train.ConfigForData(c, info)
	opt := train.DefaultOptions(c)
	opt.Data = train.DataSpec{Path: s.data, Format: info.Format}
	opt.Batch, opt.Steps, opt.DecaySteps, opt.Seed = s.batch, s.steps, s.steps/2, s.seed
	opt.LambdaColour = s.colour
	opt.StylePairs = s.pairs
	opt.CheckpointEvery, opt.SampleEvery = tabCheckpointEvery, tabSampleEvery
	if t.adjust != nil {
		t.adjust(&opt)
	}
	if err := opt.Validate(); err != nil {
		return nil, nil, err
	}
	dropped, err := train.CheckFiles(src, opt.Data.Format == train.FormatFolder)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("skipping %d bad example(s)", len(dropped)))
	}
	tr, err := train.New(s.dir, src, opt)
	return tr, notes, err
}

// progress runs on the trainer's goroutine after every step and event.
func (t *trainTab) progress(ctx context.Context, r *trainRun, tr *train.Trainer, p train.Progress) {
	if t.onProgress != nil {
		t.onProgress(p)
	}
	ev := p.Event
	switch {
	case ev == "":
		fyne.Do(func() { t.showStep(r, p) })
		t.between(ctx, r, tr)
	case strings.HasPrefix(ev, "samples "):
		path := strings.TrimPrefix(ev, "samples ")
		img, err := readPNG(path)
		fyne.Do(func() {
			if err != nil {
				t.note.SetText("samples: " + err.Error())
				return
			}
			t.sample.Image = img
			t.sample.Refresh()
		})
	case strings.HasPrefix(ev, "checkpoint "):
		msg := fmt.Sprintf("Checkpoint at step %d: %s", p.Step, strings.TrimPrefix(ev, "checkpoint "))
		fyne.Do(func() { t.note.SetText(msg) })
	case strings.HasPrefix(ev, "model "):
		// the run's end: ended says it
	default:
		fyne.Do(func() { t.note.SetText(fmt.Sprintf("Step %d: %s", p.Step, ev)) })
	}
}

// between runs between two steps on the trainer's goroutine: it exports
// the weights when the painter asked for them and holds the trainer
// while paused.
func (t *trainTab) between(ctx context.Context, r *trainRun, tr *train.Trainer) {
	noted := false
	for {
		if r.paused.Load() && !noted && ctx.Err() == nil {
			noted = true
			step := tr.Step()
			fyne.Do(func() {
				if t.run == r && r.paused.Load() {
					t.note.SetText(fmt.Sprintf("Paused after step %d.", step))
				}
			})
		}
		if r.wantModel.Swap(false) {
			path := filepath.Join(r.dir, train.ModelFile)
			err := tr.Export(path)
			var m *model.Model
			if err == nil {
				m, err = model.Load(path)
			}
			fyne.Do(func() { t.modelLoaded(m, path, err) })
		}
		if !r.paused.Load() || ctx.Err() != nil {
			return
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (t *trainTab) setBar(step, steps int) {
	t.barText = fmt.Sprintf("%d / %d steps", step, steps)
	t.bar.Max = float64(max(1, steps))
	t.bar.SetValue(float64(step))
}

// showStep shows a step's report: bar, speed, ETA and the loss plot.
func (t *trainTab) showStep(r *trainRun, p train.Progress) {
	r.step = p.Step
	t.setBar(p.Step, p.Steps)
	eta := "?"
	if p.Rate > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	t.stats.SetText(fmt.Sprintf("Step %d of %d · epoch %.2f · %.2f steps/s (%.2f s/step) · ETA %s",
		p.Step, p.Steps, p.Epoch, p.Rate, p.StepTime.Seconds(), eta))
	l := p.Losses
	t.plot.Add(p.Step, l.G(), l.D(), l.GANFeat)
}

// ended shows how a run ended: a finished or stopped run in the note, a
// failure in a dialog.
func (t *trainTab) ended(r *trainRun, err error, done string) {
	if t.run == r {
		t.run = nil
	}
	r.cancel()
	failed := err != nil && !errors.Is(err, train.ErrStopped)
	if failed {
		t.note.SetText("The run failed: " + err.Error())
		if t.closing {
			fyne.LogError("training", err)
		} else {
			dialog.ShowError(err, t.u.win)
		}
	} else {
		t.note.SetText(done)
	}
	if r.step == 0 && failed {
		t.stats.SetText("Not running.")
	}
	t.resume.SetChecked(false)
	t.refreshRunDir()
	t.refreshEnabled()
	if t.closing {
		t.u.win.Close()
	}
	if t.finished != nil {
		t.finished(err)
	}
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}

// ---- loss plot ----

// plotSeries are the curves of the loss plot.
var plotSeries = [...]struct {
	name string
	col  color.NRGBA
}{
	{"G total", color.NRGBA{0x3b, 0x82, 0xf6, 0xff}},
	{"D total", color.NRGBA{0xef, 0x44, 0x44, 0xff}},
	{"feature matching", color.NRGBA{0x22, 0xa5, 0x5a, 0xff}},
}

// lossPlot draws the run's losses against the step, one panel per series
// with its own scale (the terms differ by an order of magnitude), each
// curve a polyline of fynecanvas lines. Points are averaged into at most
// one per two pixels, so that a long run draws as fast as a short one.
type lossPlot struct {
	widget.BaseWidget
	steps []int
	vals  [len(plotSeries)][]float64
}

func newLossPlot() *lossPlot {
	p := &lossPlot{}
	p.ExtendBaseWidget(p)
	return p
}

// Add appends one step's values (in plotSeries' order).
func (p *lossPlot) Add(step int, v ...float64) {
	if n := len(p.steps); n > 0 && step <= p.steps[n-1] {
		// A resumed run repeats the steps after its checkpoint.
		i := n
		for i > 0 && p.steps[i-1] >= step {
			i--
		}
		p.steps = p.steps[:i]
		for s := range p.vals {
			p.vals[s] = p.vals[s][:i]
		}
	}
	p.steps = append(p.steps, step)
	for s := range p.vals {
		x := math.NaN()
		if s < len(v) {
			x = v[s]
		}
		p.vals[s] = append(p.vals[s], x)
	}
	p.Refresh()
}

// Reset empties the plot.
func (p *lossPlot) Reset() {
	p.steps = nil
	for s := range p.vals {
		p.vals[s] = nil
	}
	p.Refresh()
}

// Len is the number of steps plotted.
func (p *lossPlot) Len() int { return len(p.steps) }

func (p *lossPlot) MinSize() fyne.Size { return fyne.NewSize(320, 200) }

func (p *lossPlot) CreateRenderer() fyne.WidgetRenderer {
	fg := theme.Color(theme.ColorNameForeground)
	caption := func(c color.Color, align fyne.TextAlign) *fynecanvas.Text {
		tx := fynecanvas.NewText("", c)
		tx.TextSize = theme.CaptionTextSize()
		tx.Alignment = align
		return tx
	}
	r := &plotRenderer{p: p,
		bg:    fynecanvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		xLo:   caption(fg, fyne.TextAlignLeading),
		xHi:   caption(fg, fyne.TextAlignTrailing),
		empty: caption(theme.Color(theme.ColorNamePlaceHolder), fyne.TextAlignCenter),
	}
	r.empty.Text = "The losses appear here as the run trains."
	for s := range plotSeries {
		pn := &r.panels[s]
		pn.frame = fynecanvas.NewRectangle(color.Transparent)
		pn.frame.StrokeColor = theme.Color(theme.ColorNameSeparator)
		pn.frame.StrokeWidth = 1
		pn.name = caption(plotSeries[s].col, fyne.TextAlignLeading)
		pn.name.TextStyle.Bold = true
		pn.hi = caption(fg, fyne.TextAlignTrailing)
		pn.lo = caption(fg, fyne.TextAlignTrailing)
	}
	r.update()
	return r
}

type plotPanel struct {
	frame        *fynecanvas.Rectangle
	name, hi, lo *fynecanvas.Text
	lines        []*fynecanvas.Line
}

type plotRenderer struct {
	p               *lossPlot
	bg              *fynecanvas.Rectangle
	xLo, xHi, empty *fynecanvas.Text
	panels          [len(plotSeries)]plotPanel
	objects         []fyne.CanvasObject
}

func (r *plotRenderer) Destroy()                     {}
func (r *plotRenderer) MinSize() fyne.Size           { return r.p.MinSize() }
func (r *plotRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *plotRenderer) Layout(fyne.Size)             { r.update() }

func (r *plotRenderer) Refresh() {
	r.update()
	for _, o := range r.objects {
		fynecanvas.Refresh(o)
	}
}

// update lays the plot out at the widget's size.
func (r *plotRenderer) update() {
	p := r.p
	size := p.Size()
	const left, right, top, bottom, gap = 46, 8, 4, 16, 6
	x0, w := float32(left), max(1, size.Width-left-right)
	ph := max(1, (size.Height-top-bottom-gap*float32(len(plotSeries)-1))/float32(len(plotSeries)))
	r.bg.Move(fyne.NewPos(0, 0))
	r.bg.Resize(size)
	r.objects = append(r.objects[:0], r.bg)

	// Average the points into buckets, at most one per two pixels.
	n := len(p.steps)
	buckets := min(n, max(2, int(w/2)))
	var xs []float64
	var ys [len(plotSeries)][]float64
	for b := 0; b < buckets; b++ {
		i0, i1 := b*n/buckets, (b+1)*n/buckets
		if i1 <= i0 {
			continue
		}
		var sx float64
		for i := i0; i < i1; i++ {
			sx += float64(p.steps[i])
		}
		xs = append(xs, sx/float64(i1-i0))
		for s := range p.vals {
			var sum float64
			k := 0
			for i := i0; i < i1; i++ {
				if v := p.vals[s][i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
					sum += v
					k++
				}
			}
			v := math.NaN()
			if k > 0 {
				v = sum / float64(k)
			}
			ys[s] = append(ys[s], v)
		}
	}
	xLo, xHi := 0.0, 1.0
	if n > 0 {
		xLo, xHi = float64(p.steps[0]), float64(p.steps[n-1])
		if xHi <= xLo {
			xLo, xHi = xLo-1, xHi+1
		}
	}
	px := func(x float64) float32 { return x0 + float32((x-xLo)/(xHi-xLo))*w }

	for s := range plotSeries {
		pn := &r.panels[s]
		y0 := top + float32(s)*(ph+gap)
		pn.frame.Move(fyne.NewPos(x0, y0))
		pn.frame.Resize(fyne.NewSize(w, ph))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range ys[s] {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if !(hi >= lo) {
			lo, hi = 0, 1
		}
		if hi-lo < 1e-6 {
			lo, hi = lo-0.5, hi+0.5
		}
		pad := (hi - lo) * 0.08
		lo, hi = lo-pad, hi+pad
		py := func(y float64) float32 { return y0 + ph - float32((y-lo)/(hi-lo))*ph }
		r.objects = append(r.objects, pn.frame)
		k := 0
		for i := 1; i < len(xs); i++ {
			a, b := ys[s][i-1], ys[s][i]
			if math.IsNaN(a) || math.IsNaN(b) {
				continue
			}
			if k == len(pn.lines) {
				l := fynecanvas.NewLine(plotSeries[s].col)
				l.StrokeWidth = 1.5
				pn.lines = append(pn.lines, l)
			}
			l := pn.lines[k]
			l.Position1 = fyne.NewPos(px(xs[i-1]), py(a))
			l.Position2 = fyne.NewPos(px(xs[i]), py(b))
			r.objects = append(r.objects, l)
			k++
		}
		pn.name.Text = plotSeries[s].name
		if n > 0 && !math.IsNaN(p.vals[s][n-1]) {
			pn.name.Text += fmt.Sprintf("  %.3f", p.vals[s][n-1])
		}
		pn.name.Move(fyne.NewPos(x0+6, y0+2))
		pn.hi.Text, pn.lo.Text = "", ""
		if n > 0 {
			pn.hi.Text, pn.lo.Text = fmt.Sprintf("%.3g", hi), fmt.Sprintf("%.3g", lo)
		}
		pn.hi.Move(fyne.NewPos(0, y0))
		pn.hi.Resize(fyne.NewSize(left-4, 12))
		pn.lo.Move(fyne.NewPos(0, y0+ph-12))
		pn.lo.Resize(fyne.NewSize(left-4, 12))
		r.objects = append(r.objects, pn.name, pn.hi, pn.lo)
	}

	r.xLo.Text, r.xHi.Text = "", ""
	if n > 0 {
		r.xLo.Text, r.xHi.Text = fmt.Sprintf("step %d", p.steps[0]), fmt.Sprintf("step %d", p.steps[n-1])
	}
	yx := size.Height - bottom + 2
	r.xLo.Move(fyne.NewPos(x0, yx))
	r.xHi.Move(fyne.NewPos(x0, yx))
	r.xHi.Resize(fyne.NewSize(w, 12))
	r.empty.Hidden = n > 0
	r.empty.Move(fyne.NewPos(x0, size.Height/2-8))
	r.empty.Resize(fyne.NewSize(w, 14))
	r.objects = append(r.objects, r.xLo, r.xHi, r.empty)
}
