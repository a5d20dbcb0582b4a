package app

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"spadepaint/train"
)

// The Train tab tests run the real trainer on a tiny model (ngf 2, 32²,
// the synthetic landscapes) for a few steps. They wait for the run
// through the tab's callbacks; the timeout below only turns a hang into
// a failure.
const trainTimeout = 2 * time.Minute

// trainUI opens a window on a tiny painter model and returns its Train
// tab, set to train a tiny model on the synthetic data in a fresh run
// folder.
func trainUI(t *testing.T) (*ui, *trainTab, string) {
	t.Helper()
	a := test.NewTempApp(t)
	path := filepath.Join(t.TempDir(), "painter.safetensors")
	if err := tinyModel(t, true).Save(path); err != nil {
		t.Fatal(err)
	}
	u := newUI(a)
	u.store = storage.NewFileURI(t.TempDir())
	t.Cleanup(u.cancel)
	u.renderer.deliver = func(Result) {}
	u.start(Options{ModelPath: path})
	tabs, ok := u.win.Content().(*container.AppTabs)
	if !ok || len(tabs.Items) != 2 || tabs.Items[0].Text != "Paint" || tabs.Items[1].Text != "Train" {
		t.Fatalf("window content %T is not the Paint and Train tabs", u.win.Content())
	}
	tab := tabs.Items[1].Content.(*trainTab)
	tab.adjust = func(o *train.Options) {
		o.Model.NGF, o.Model.NDF, o.Model.NHidden, o.Model.ZDim = 2, 2, 4, 4
		o.Workers, o.Samples, o.Styles = 1, 1, 1
	}
	dir := filepath.Join(t.TempDir(), "run")
	tab.dataKind.SetSelected(dataSynthetic)
	tab.size.SetText("32")
	tab.batch.SetText("1")
	tab.seed.SetText("3")
	tab.runDir.SetText(dir)
	return u, tab, dir
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(trainTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestTrainTabRun trains three steps from the tab: the progress bar, the
// loss plot and the sample grid follow, the model is exported, and "Use
// this model" puts it in the painter.
func TestTrainTabRun(t *testing.T) {
	u, tab, dir := trainUI(t)
	tab.steps.SetText("3")
	tab.colour.SetText("5")
	tab.pairs.SetChecked(true)
	finished := make(chan error, 1)
	tab.finished = func(err error) { finished <- err }
	var mu sync.Mutex
	var steps []int
	tab.onProgress = func(p train.Progress) {
		if p.Event == "" {
			mu.Lock()
			steps = append(steps, p.Step)
			mu.Unlock()
		}
	}
	test.Tap(tab.startBtn)
	if !tab.startBtn.Disabled() || tab.stopBtn.Disabled() {
		t.Error("Start stays enabled or Stop disabled while the run is on")
	}
	if err := waitFor(t, finished, "the run"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(steps) != 3 || steps[2] != 3 {
		t.Errorf("progress reported steps %v, want 1..3", steps)
	}
	mu.Unlock()
	if tab.bar.Value != 3 || tab.bar.Max != 3 {
		t.Errorf("progress bar %g/%g, want 3/3", tab.bar.Value, tab.bar.Max)
	}
	if tab.plot.Len() != 3 {
		t.Errorf("the loss plot has %d points, want 3", tab.plot.Len())
	}
	if tab.sample.Image == nil {
		t.Error("no sample grid shown")
	}
	mpath := filepath.Join(dir, train.ModelFile)
	if !exists(mpath) {
		t.Fatal("no exported model")
	}
	// The colour loss λ and style pairs from the form reached the run.
	if opt, err := train.ReadOptions(dir); err != nil || opt.LambdaColour != 5 || !opt.StylePairs {
		t.Errorf("run options: colour λ %v, style pairs %v, %v; want 5, true", opt.LambdaColour, opt.StylePairs, err)
	}
	if es, err := train.ReadLog(dir); err != nil || len(es) != 3 || !(es[2].Colour > 0) {
		t.Errorf("log %v, %v: want 3 steps with a colour loss", es, err)
	}
	if tab.startBtn.Disabled() || !tab.stopBtn.Disabled() || tab.useBtn.Disabled() {
		t.Error("after the run: want Start and Use enabled, Stop disabled")
	}
	if !tab.resume.Visible() {
		t.Error("the finished run's folder offers no Resume")
	}

	used := make(chan error, 1)
	tab.modelUsed = func(_ string, err error) { used <- err }
	old := u.model
	test.Tap(tab.useBtn)
	if err := waitFor(t, used, "the model"); err != nil {
		t.Fatal(err)
	}
	if u.model == old || u.modelRef != mpath || u.model.Config.Width != 32 || u.model.Config.NGF != 2 {
		t.Errorf("the painter has %s (ngf %d, width %d), want the trained model", u.modelRef, u.model.Config.NGF, u.model.Config.Width)
	}
	if tabs := u.win.Content().(*container.AppTabs); tabs.SelectedIndex() != 0 {
		t.Error("the Paint tab is not shown after Use")
	}
}

// TestTrainTabPauseStopResume pauses a run after its first step, takes
// the current weights into the painter, stops it (a checkpoint and the
// model) and resumes it to the end.
func TestTrainTabPauseStopResume(t *testing.T) {
	u, tab, dir := trainUI(t)
	tab.steps.SetText("50")
	finished := make(chan error, 1)
	tab.finished = func(err error) { finished <- err }
	used := make(chan error, 1)
	tab.modelUsed = func(_ string, err error) { used <- err }
	reached, ack := make(chan int), make(chan struct{})
	var once sync.Once
	tab.onProgress = func(p train.Progress) {
		if p.Event == "" && p.Step == 1 {
			once.Do(func() { reached <- p.Step; <-ack })
		}
	}
	old := u.model
	test.Tap(tab.startBtn)
	waitFor(t, reached, "step 1")
	// The trainer waits in the callback: act as a user between steps.
	test.Tap(tab.pauseBtn)
	test.Tap(tab.useBtn)
	ack <- struct{}{}
	if err := waitFor(t, used, "the current weights"); err != nil {
		t.Fatal(err)
	}
	if u.model == old || u.model.Config.Width != 32 {
		t.Error("Use during the run did not swap the painter's model")
	}
	if tab.run == nil || !tab.run.paused.Load() {
		t.Fatal("the run is not paused")
	}
	test.Tap(tab.stopBtn)
	err := waitFor(t, finished, "the stop")
	if !errors.Is(err, train.ErrStopped) {
		t.Fatalf("stopped run ended with %v, want ErrStopped", err)
	}
	cks, _ := train.Checkpoints(dir)
	if len(cks) != 1 || filepath.Base(cks[0]) != "step-00000001.safetensors" {
		t.Fatalf("checkpoints after Stop: %v, want step 1's", cks)
	}
	if !exists(filepath.Join(dir, train.ModelFile)) {
		t.Error("Stop exported no model")
	}
	if !tab.resume.Visible() {
		t.Fatal("no Resume offered for the stopped run")
	}

	// Resume to step 2: the form takes the run's settings.
	tab.resume.SetChecked(true)
	if tab.size.Text != "32" || tab.seed.Text != "3" || !tab.size.Disabled() {
		t.Errorf("resuming shows size %q seed %q (disabled %v), want the run's 32, 3, fixed", tab.size.Text, tab.seed.Text, tab.size.Disabled())
	}
	if tab.pairs.Checked || !tab.pairs.Disabled() {
		t.Errorf("resuming shows style pairs %v (disabled %v), want the run's off, fixed", tab.pairs.Checked, tab.pairs.Disabled())
	}
	tab.steps.SetText("2")
	test.Tap(tab.startBtn)
	if err := waitFor(t, finished, "the resumed run"); err != nil {
		t.Fatal(err)
	}
	es, err := train.ReadLog(dir)
	if err != nil || len(es) != 2 || es[1].Step != 2 {
		t.Fatalf("log after resuming: %d entries, %v; want steps 1, 2", len(es), err)
	}
	if tab.plot.Len() != 2 {
		t.Errorf("the plot has %d points after resuming, want 2 (the log's and the new step)", tab.plot.Len())
	}
}

// TestTrainTabCloseStops: closing the window during a run stops it with
// a checkpoint before the window goes.
func TestTrainTabCloseStops(t *testing.T) {
	u, tab, dir := trainUI(t)
	tab.steps.SetText("50")
	finished := make(chan error, 1)
	tab.finished = func(err error) { finished <- err }
	reached, ack := make(chan int), make(chan struct{})
	var once sync.Once
	tab.onProgress = func(p train.Progress) {
		if p.Event == "" && p.Step == 1 {
			once.Do(func() { reached <- p.Step; <-ack })
		}
	}
	closed := make(chan struct{})
	u.win.SetOnClosed(func() { u.cancel(); close(closed) })
	test.Tap(tab.startBtn)
	waitFor(t, reached, "step 1")
	tab.onClose() // the window's close button
	select {
	case <-closed:
		t.Fatal("the window closed before the run stopped")
	default:
	}
	ack <- struct{}{}
	if err := waitFor(t, finished, "the stop"); !errors.Is(err, train.ErrStopped) {
		t.Fatalf("run ended with %v, want ErrStopped", err)
	}
	waitFor(t, closed, "the window to close")
	if cks, _ := train.Checkpoints(dir); len(cks) != 1 {
		t.Errorf("checkpoints after closing: %v, want one", cks)
	}
}

// TestTrainTabErrors: a bad form or missing data shows a dialog, and the
// tab stays ready for the next try.
func TestTrainTabErrors(t *testing.T) {
	u, tab, _ := trainUI(t)
	for _, tc := range []struct {
		name, want string
		entry      *widget.Entry
		bad, good  string
	}{
		{"bad steps", "steps", tab.steps, "zero", "2"},
		{"bad colour λ", "colour loss", tab.colour, "-1", "0"},
	} {
		tc.entry.SetText(tc.bad)
		test.Tap(tab.startBtn)
		checkDialog(t, u, tc.name, tc.want)
		if tab.run != nil {
			t.Fatalf("%s: a run started from a bad form", tc.name)
		}
		tc.entry.SetText(tc.good)
	}

	finished := make(chan error, 1)
	tab.finished = func(err error) { finished <- err }
	tab.steps.SetText("2")
	tab.dataKind.SetSelected(dataFolder)
	tab.dataDir.SetText(filepath.Join(t.TempDir(), "missing"))
	test.Tap(tab.startBtn)
	if err := waitFor(t, finished, "the failed run"); err == nil {
		t.Fatal("a missing data folder trained")
	}
	checkDialog(t, u, "missing data", "missing")
	if tab.startBtn.Disabled() || tab.run != nil {
		t.Error("the tab is not ready again after a failed start")
	}
}
