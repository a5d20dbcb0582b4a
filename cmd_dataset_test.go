package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIDatasetSynth(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runDataset([]string{"synth", "--n", "3", "--size", "32", "--seed", "4", "--format", "png", "--out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote 3 pairs") {
		t.Errorf("stdout %q", out.String())
	}
	for _, p := range []string{"images/00000.png", "images/00002.png", "labels/00002.png", "classes.txt", "styles.csv"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	if err := runDataset([]string{"synth", "--n", "2"}, &out); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("missing --out: %v", err)
	}
	if err := runDataset([]string{"nope"}, &out); err == nil {
		t.Error("unknown subcommand accepted")
	}
}
