package train

// Checkpoints lists the complete checkpoints of the run in dir, newest
// first (none, without error, when the folder holds no run), so that a
// front end can offer to resume it.
func Checkpoints(dir string) ([]string, error) { return checkpoints(dir) }
