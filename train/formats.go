package train

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "image/jpeg" // photos
	_ "image/png"

	"spadepaint/model"
)

// Data set formats.
const (
	FormatAuto       = "auto"
	FormatFolder     = "folder"
	FormatADE20K     = "ade20k"
	FormatCOCO       = "coco"
	FormatCityscapes = "cityscapes"
)

// Formats lists the on-disk formats, for help texts.
func Formats() []string {
	return []string{FormatFolder, FormatADE20K, FormatCOCO, FormatCityscapes}
}

// OpenOptions say how to read a data set.
type OpenOptions struct {
	// Format is one of Formats, FormatAuto (detect) or a registered
	// source name.
	Format string
	// ADERawIDs keeps ADE20K's ids as stored (0 = "other" as class 0, the
	// don't-care channel then holding class 150), which is what the
	// official code ends up feeding its network (its ADE20K postprocess
	// computes the shifted map but never stores it), and so what the
	// official pretrained ADE20K model expects. By default id 0 becomes
	// "don't care" (150) and the others shift down by one, as that
	// postprocess intends.
	ADERawIDs bool
	// SkipBad drops unpaired files instead of failing.
	SkipBad bool
	// Size and Seed are passed to generated sources.
	Size int
	Seed int64
}

// Open opens the data set at dir (or a registered source's name).
func Open(dir string, o OpenOptions) (Source, error) {
	if open, ok := registered(dir); ok && (o.Format == "" || o.Format == FormatAuto || o.Format == dir) {
		return open(o.Size, o.Seed)
	}
	if open, ok := registered(o.Format); ok {
		return open(o.Size, o.Seed)
	}
	st, err := os.Stat(dir)
	if err != nil {
		if dir == "synthetic" {
			return nil, fmt.Errorf("the built-in synthetic data set is not available in this build")
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	format := o.Format
	if format == "" || format == FormatAuto {
		if format, err = Detect(dir); err != nil {
			return nil, err
		}
	}
	var src *fileSource
	switch format {
	case FormatFolder:
		src, err = openFolder(dir, o)
	case FormatADE20K:
		src, err = openADE20K(dir, o)
	case FormatCOCO:
		src, err = openCOCO(dir, o)
	case FormatCityscapes:
		src, err = openCityscapes(dir, o)
	default:
		return nil, fmt.Errorf("unknown data format %q (want auto, %s%s)", format, strings.Join(Formats(), ", "), registeredSuffix())
	}
	if err != nil {
		return nil, fmt.Errorf("%s data set %s: %w", format, dir, err)
	}
	src.skipBad = o.SkipBad
	return src, nil
}

func registeredSuffix() string {
	var s string
	for _, n := range RegisteredSources() {
		s += ", " + n
	}
	return s
}

// Detect tells the format of the data set in dir from its layout.
func Detect(dir string) (string, error) {
	has := func(parts ...string) bool {
		st, err := os.Stat(filepath.Join(append([]string{dir}, parts...)...))
		return err == nil && st.IsDir()
	}
	switch {
	case has("ADEChallengeData2016"), has("images", "training") && has("annotations", "training"):
		return FormatADE20K, nil
	case has("train_img") && has("train_label"):
		return FormatCOCO, nil
	case has("leftImg8bit") && has("gtFine"):
		return FormatCityscapes, nil
	case has("images") && has("labels"):
		return FormatFolder, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s: want images/ + labels/ (folder), ADEChallengeData2016/ (ade20k), train_img/ + train_label/ (coco) or leftImg8bit/ + gtFine/ (cityscapes)", dir)
}

// fileSource is a data set of image, label (and instance) files.
type fileSource struct {
	info    Info
	items   []fileItem
	skipBad bool
	// ids maps a stored label value to the model's class id; valid says
	// which stored values are allowed.
	ids   [256]uint8
	valid [256]bool
}

type fileItem struct {
	image, label, instance string
}

func (s *fileSource) Info() Info { return s.info }
func (s *fileSource) Len() int   { return len(s.items) }

// Example reads example i.
func (s *fileSource) Example(i int) (*Example, error) {
	it := s.items[i]
	l, err := model.ReadLabels(it.label)
	if err != nil {
		return nil, err
	}
	for p, v := range l.Class {
		if !s.valid[v] {
			return nil, fmt.Errorf("label %s: value %d at x=%d y=%d is not a class of this %s data set (%d classes%s)",
				it.label, v, p%l.W, p/l.W, s.info.Format, s.info.LabelNC, map[bool]string{true: ", 255 = don't care", false: ""}[s.info.DontCare && s.info.Format != FormatADE20K])
		}
		l.Class[p] = s.ids[v]
	}
	img, err := model.DecodeImageFile(it.image)
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() != l.W || b.Dy() != l.H {
		return nil, fmt.Errorf("image %s is %d×%d but its label map %s is %d×%d", it.image, b.Dx(), b.Dy(), it.label, l.W, l.H)
	}
	if it.instance != "" {
		if l.Instance, err = readInstanceMap(it.instance, l.W, l.H); err != nil {
			return nil, err
		}
	}
	return &Example{Name: it.image, Image: img, Labels: l}, nil
}

// readInstanceMap reads an instance id map (8- or 16-bit gray PNG).
func readInstanceMap(path string, w, h int) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := model.DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("instances %s: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("instance map %s is %d×%d, its label map %d×%d", path, b.Dx(), b.Dy(), w, h)
	}
	ids := make([]int32, w*h)
	switch im := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				ids[y*w+x] = int32(im.Pix[y*im.Stride+x])
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := y*im.Stride + 2*x
				ids[y*w+x] = int32(im.Pix[o])<<8 | int32(im.Pix[o+1])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				ids[y*w+x] = int32(r>>8)<<16 | int32(g>>8)<<8 | int32(bb>>8)
			}
		}
	}
	return ids, nil
}

// identity sets ids[v] = v for v < n.
func (s *fileSource) identity(n int) {
	for v := 0; v < n && v < 256; v++ {
		s.ids[v], s.valid[v] = uint8(v), true
	}
}

// dontCare255 maps the stored 255 to the don't-care id (the official
// Pix2pixDataset's `label[label == 255] = label_nc`).
func (s *fileSource) dontCare255() {
	s.ids[255], s.valid[255] = uint8(s.info.LabelNC), true
}

// listFiles returns the files under dir (recursively when deep) with one
// of the extensions, by key (from keyOf; "" skips the file).
func listFiles(dir string, deep bool, keyOf func(name string) string) (map[string]string, error) {
	out := map[string]string{}
	walk := func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && !deep {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		k := keyOf(d.Name())
		if k == "" {
			return nil
		}
		if prev, dup := out[k]; dup {
			return fmt.Errorf("%s and %s have the same name", prev, path)
		}
		out[k] = path
		return nil
	}
	if err := filepath.WalkDir(dir, walk); err != nil {
		return nil, err
	}
	return out, nil
}

// stemWith keys files by name without extension, for the extensions given.
func stemWith(exts ...string) func(string) string {
	return func(name string) string {
		ext := strings.ToLower(filepath.Ext(name))
		for _, e := range exts {
			if ext == e {
				return strings.TrimSuffix(name, filepath.Ext(name))
			}
		}
		return ""
	}
}

var imageExts = []string{".jpg", ".jpeg", ".png"}

// pair matches images to labels (and instances) by key; unmatched files
// are an error naming them, or dropped with skipBad.
func pair(images, labels, instances map[string]string, needInst, skipBad bool) ([]fileItem, error) {
	var problems []string
	var items []fileItem
	keys := make([]string, 0, len(images))
	for k := range images {
		keys = append(keys, k)
	}
	for k := range labels {
		if _, ok := images[k]; !ok {
			problems = append(problems, fmt.Sprintf("label %s has no image", labels[k]))
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		l, ok := labels[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("image %s has no label map", images[k]))
			continue
		}
		it := fileItem{image: images[k], label: l}
		if instances != nil {
			it.instance = instances[k]
			if it.instance == "" && needInst {
				problems = append(problems, fmt.Sprintf("image %s has no instance map", images[k]))
				continue
			}
		}
		items = append(items, it)
	}
	sort.Strings(problems)
	if len(problems) > 0 && !skipBad {
		return nil, badFiles(problems)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no image with a label map")
	}
	return items, nil
}

// badFiles is an error listing problem files (the first ten).
func badFiles(problems []string) error {
	msg := strings.Join(problems[:min(10, len(problems))], "; ")
	if len(problems) > 10 {
		msg += fmt.Sprintf("; and %d more", len(problems)-10)
	}
	return fmt.Errorf("%d bad file(s) (--skip-bad drops them): %s", len(problems), msg)
}

// openFolder: DIR/images/*.{jpg,png} and DIR/labels/*.png paired by name,
// optional DIR/instances/*.png, optional DIR/classes.txt. Label pixels are
// class ids; 255 is "don't care".
func openFolder(dir string, o OpenOptions) (*fileSource, error) {
	images, err := listFiles(filepath.Join(dir, "images"), false, stemWith(imageExts...))
	if err != nil {
		return nil, err
	}
	labels, err := listFiles(filepath.Join(dir, "labels"), false, stemWith(".png"))
	if err != nil {
		return nil, err
	}
	var instances map[string]string
	if st, err := os.Stat(filepath.Join(dir, "instances")); err == nil && st.IsDir() {
		if instances, err = listFiles(filepath.Join(dir, "instances"), false, stemWith(".png")); err != nil {
			return nil, err
		}
	}
	items, err := pair(images, labels, instances, instances != nil, o.SkipBad)
	if err != nil {
		return nil, err
	}
	s := &fileSource{items: items, info: Info{Format: FormatFolder, AspectRatio: 1, Preprocess: ResizeAndCrop, Instance: instances != nil}}
	classes, err := readClasses(filepath.Join(dir, "classes.txt"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Count the classes from the labels themselves.
		maxID, dc, err := scanLabels(items)
		if err != nil {
			return nil, err
		}
		s.info.LabelNC, s.info.DontCare = maxID+1, dc
	case err != nil:
		return nil, err
	default:
		s.info.Classes = nil
		for _, c := range classes {
			if c.ID == 255 {
				s.info.DontCare = true
				continue
			}
			s.info.LabelNC = max(s.info.LabelNC, c.ID+1)
			s.info.Classes = append(s.info.Classes, c)
		}
	}
	if s.info.LabelNC < 1 || s.info.LabelNC > 254 {
		return nil, fmt.Errorf("%d classes: want 1 to 254", s.info.LabelNC)
	}
	s.identity(s.info.LabelNC)
	if s.info.DontCare {
		s.dontCare255()
	}
	return s, nil
}

// readClasses reads classes.txt: one class per line, "[ID] NAME [#RRGGBB]",
// ids counting from 0 in line order when absent; blank lines and lines
// starting with # are skipped. Id 255 declares the "don't care" label.
func readClasses(path string) ([]Class, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cs []Class
	seen := map[int]bool{}
	sc := bufio.NewScanner(f)
	next, line := 0, 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		fields := strings.Fields(t)
		c := Class{ID: next}
		if id, err := strconv.Atoi(fields[0]); err == nil && len(fields) > 1 {
			c.ID = id
			fields = fields[1:]
		}
		if last := fields[len(fields)-1]; strings.HasPrefix(last, "#") && len(last) == 7 && len(fields) > 1 {
			v, err := strconv.ParseUint(last[1:], 16, 32)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: bad colour %q", path, line, last)
			}
			c.Color = [3]uint8{uint8(v >> 16), uint8(v >> 8), uint8(v)}
			fields = fields[:len(fields)-1]
		} else {
			c.Color = defaultColor(c.ID)
		}
		c.Name = strings.Join(fields, " ")
		if c.ID < 0 || c.ID > 255 || seen[c.ID] {
			return nil, fmt.Errorf("%s:%d: class id %d is out of range or repeated", path, line, c.ID)
		}
		seen[c.ID] = true
		cs = append(cs, c)
		next = c.ID + 1
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%s lists no class", path)
	}
	return cs, nil
}

// scanLabels reads every label map (in parallel) for the largest class
// id below 255 and whether 255 ("don't care") occurs.
func scanLabels(items []fileItem) (maxID int, dontCare bool, err error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var problems []string
	maxID = -1
	next := make(chan string)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range next {
				l, err := model.ReadLabels(path)
				mu.Lock()
				if err != nil {
					problems = append(problems, err.Error())
				} else {
					for _, v := range l.Class {
						if v == 255 {
							dontCare = true
						} else if int(v) > maxID {
							maxID = int(v)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range items {
		next <- it.label
	}
	close(next)
	wg.Wait()
	if len(problems) > 0 {
		sort.Strings(problems)
		return 0, false, badFiles(problems)
	}
	return maxID, dontCare, nil
}

// openADE20K: ADEChallengeData2016/images/training/*.jpg and
// annotations/training/*.png; 150 classes, stored 0 = "other".
func openADE20K(dir string, o OpenOptions) (*fileSource, error) {
	if st, err := os.Stat(filepath.Join(dir, "ADEChallengeData2016")); err == nil && st.IsDir() {
		dir = filepath.Join(dir, "ADEChallengeData2016")
	}
	images, err := listFiles(filepath.Join(dir, "images", "training"), true, stemWith(".jpg", ".jpeg", ".png"))
	if err != nil {
		return nil, err
	}
	labels, err := listFiles(filepath.Join(dir, "annotations", "training"), true, stemWith(".png"))
	if err != nil {
		return nil, err
	}
	items, err := pair(images, labels, nil, false, o.SkipBad)
	if err != nil {
		return nil, err
	}
	s := &fileSource{items: items, info: Info{Format: FormatADE20K, LabelNC: 150, DontCare: true, AspectRatio: 1, Preprocess: ResizeAndCrop}}
	if o.ADERawIDs {
		s.identity(151)
		return s, nil
	}
	s.ids[0], s.valid[0] = 150, true
	for v := 1; v <= 150; v++ {
		s.ids[v], s.valid[v] = uint8(v-1), true
	}
	return s, nil
}

// openCOCO: train_img/*.jpg, train_label/*.png (182 classes, 255 = don't
// care) and, when present, train_inst/*.png instance maps.
func openCOCO(dir string, o OpenOptions) (*fileSource, error) {
	images, err := listFiles(filepath.Join(dir, "train_img"), false, stemWith(imageExts...))
	if err != nil {
		return nil, err
	}
	labels, err := listFiles(filepath.Join(dir, "train_label"), false, stemWith(".png"))
	if err != nil {
		return nil, err
	}
	var instances map[string]string
	if st, err := os.Stat(filepath.Join(dir, "train_inst")); err == nil && st.IsDir() {
		if instances, err = listFiles(filepath.Join(dir, "train_inst"), false, stemWith(".png")); err != nil {
			return nil, err
		}
	}
	items, err := pair(images, labels, instances, instances != nil, o.SkipBad)
	if err != nil {
		return nil, err
	}
	s := &fileSource{items: items, info: Info{Format: FormatCOCO, LabelNC: 182, DontCare: true, Instance: instances != nil, AspectRatio: 1, Preprocess: ResizeAndCrop}}
	s.identity(182)
	s.dontCare255()
	return s, nil
}

// openCityscapes: leftImg8bit/train/CITY/*_leftImg8bit.png with
// gtFine/train/CITY/*_gtFine_labelIds.png and *_instanceIds.png, paired by
// their first three name parts (city_sequence_frame); 35 classes, 2:1.
func openCityscapes(dir string, o OpenOptions) (*fileSource, error) {
	key := func(suffix string) func(string) string {
		return func(name string) string {
			if !strings.HasSuffix(name, suffix) {
				return ""
			}
			parts := strings.Split(name, "_")
			if len(parts) < 4 {
				return ""
			}
			return strings.Join(parts[:3], "_")
		}
	}
	images, err := listFiles(filepath.Join(dir, "leftImg8bit", "train"), true, key("_leftImg8bit.png"))
	if err != nil {
		return nil, err
	}
	gt := filepath.Join(dir, "gtFine", "train")
	labels, err := listFiles(gt, true, key("_labelIds.png"))
	if err != nil {
		return nil, err
	}
	instances, err := listFiles(gt, true, key("_instanceIds.png"))
	if err != nil {
		return nil, err
	}
	if len(instances) == 0 {
		instances = nil
	}
	items, err := pair(images, labels, instances, instances != nil, o.SkipBad)
	if err != nil {
		return nil, err
	}
	s := &fileSource{items: items, info: Info{Format: FormatCityscapes, LabelNC: 35, Instance: instances != nil, AspectRatio: 2, Preprocess: Fixed}}
	s.identity(35)
	return s, nil
}

// checkItems reads every file's header (with full, every label map
// entirely) in parallel, so that unreadable files, size mismatches and
// (with full) class ids outside the data set's classes are found before
// training starts. It returns one message per bad example, by index.
func checkItems(s *fileSource, full bool) map[int]string {
	var mu sync.Mutex
	bad := map[int]string{}
	var wg sync.WaitGroup
	next := make(chan int)
	size := func(path string) (int, int, error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		return cfg.Width, cfg.Height, nil
	}
	check := func(it fileItem) string {
		iw, ih, err := size(it.image)
		if err != nil {
			return err.Error()
		}
		lw, lh, err := size(it.label)
		if err != nil {
			return err.Error()
		}
		if iw != lw || ih != lh {
			return fmt.Sprintf("image %s is %d×%d but its label map %s is %d×%d", it.image, iw, ih, it.label, lw, lh)
		}
		if it.instance != "" {
			if nw, nh, err := size(it.instance); err != nil {
				return err.Error()
			} else if nw != lw || nh != lh {
				return fmt.Sprintf("instance map %s is %d×%d but its label map %s is %d×%d", it.instance, nw, nh, it.label, lw, lh)
			}
		}
		if full {
			l, err := model.ReadLabels(it.label)
			if err != nil {
				return err.Error()
			}
			for p, v := range l.Class {
				if !s.valid[v] {
					return fmt.Sprintf("label %s: value %d at x=%d y=%d is not a class of this data set (%d classes)", it.label, v, p%l.W, p/l.W, s.info.LabelNC)
				}
			}
		}
		return ""
	}
	for w := 0; w < 2*runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if msg := check(s.items[i]); msg != "" {
					mu.Lock()
					bad[i] = msg
					mu.Unlock()
				}
			}
		}()
	}
	for i := range s.items {
		next <- i
	}
	close(next)
	wg.Wait()
	return bad
}

// CheckFiles checks a file data set before training: every file's header
// (missing or corrupt files, image/label size mismatches) and, with full,
// every label's class ids. Bad examples are an error naming the files,
// or with OpenOptions.SkipBad are dropped from the data set and returned.
// Generated sources pass.
func CheckFiles(src Source, full bool) (dropped []string, err error) {
	s, ok := src.(*fileSource)
	if !ok {
		return nil, nil
	}
	bad := checkItems(s, full)
	if len(bad) == 0 {
		return nil, nil
	}
	var msgs []string
	for _, m := range bad {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	if !s.skipBad {
		return nil, badFiles(msgs)
	}
	kept := s.items[:0:0]
	for i, it := range s.items {
		if _, b := bad[i]; !b {
			kept = append(kept, it)
		}
	}
	if len(kept) == 0 {
		return msgs, fmt.Errorf("every example is bad: %w", badFiles(msgs))
	}
	s.items = kept
	return msgs, nil
}

// defaultColor is a fixed, well-spread colour per class id for sample
// grids of data sets without colours.
func defaultColor(id int) [3]uint8 {
	// PASCAL VOC's bit-reversal palette.
	var r, g, b uint8
	c := id
	for j := 0; j < 8; j++ {
		r |= uint8((c>>0)&1) << (7 - j)
		g |= uint8((c>>1)&1) << (7 - j)
		b |= uint8((c>>2)&1) << (7 - j)
		c >>= 3
	}
	return [3]uint8{r, g, b}
}
