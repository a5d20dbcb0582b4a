package app

import (
	"strings"
	"testing"

	"spadepaint/model/device"
)

// TestDeviceChoice: the window opens on the --device choice; asking for
// a GPU that cannot be used (no gpu build, or no device here) leaves the
// model rendering on the CPU, the chooser back on CPU and the status bar
// naming the CPU next to the render time.
func TestDeviceChoice(t *testing.T) {
	if _, err := device.Available(); err == nil {
		t.Skip("this machine has a usable GPU: the fallback cannot be seen")
	}
	_, u, path := newTestUI(t)
	got := make(chan Result, 16)
	u.renderer.deliver = func(r Result) { got <- r }
	u.start(Options{ModelPath: path, Device: device.GPU})
	if r := <-got; r.Err != nil {
		t.Fatal(r.Err)
	}
	if u.device != device.CPU || u.devDesc != device.CPUName || u.devSel.Selected != "CPU" || u.model.Device() != device.CPUName {
		t.Errorf("after a failed GPU start: device %v %q, chooser %q, model on %q; want the CPU", u.device, u.devDesc, u.devSel.Selected, u.model.Device())
	}
	u.showResult(Result{Took: 12e6})
	if s := u.status.Text; !strings.HasPrefix(s, "rendered in 12 ms · CPU") {
		t.Errorf("status %q does not name the device after the time", s)
	}
	u.devSel.SetSelected("GPU") // as the user does: fails the same way
	if u.device != device.CPU || u.devSel.Selected != "CPU" {
		t.Errorf("choosing the GPU: device %v, chooser %q; want back on the CPU", u.device, u.devSel.Selected)
	}
	if tt := newTrainTab(u); tt.device.Selected != "CPU" {
		t.Errorf("Train tab's device %q, want the painter's (CPU)", tt.device.Selected)
	}
}
