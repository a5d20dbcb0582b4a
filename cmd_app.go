package main

import (
	"spadepaint/app"
)

// runApp opens the painting window; flags choose the model.
func runApp(args []string) error {
	fs := newFlags("")
	modelPath := fs.String("model", "", "model to open (.safetensors or an official .pth); default: the embedded model")
	dev := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return app.Run(app.Options{ModelPath: *modelPath, Device: *dev})
}
