package eval

import "testing"

// BenchmarkSegStep times one training step (batch 8, the shipped config,
// 256² toy scenes) and BenchmarkSegPredict one 256² prediction.
func BenchmarkSegStep(b *testing.B) {
	tr, err := NewSegTrainer(SegTrainOptions{Config: DefaultSegConfig(16), Source: toySource, DataSize: 256, Steps: 1 << 30, Batch: 8})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tr.TrainStep()
	}
}

func BenchmarkSegPredict(b *testing.B) {
	net, _ := NewSegNet(DefaultSegConfig(16), 1)
	_, photo, _ := toySource(1, 1, 256, 256)
	for b.Loop() {
		net.Predict(photo, 256, 256)
	}
}
