// Command spadepaint paints semantic label maps and renders them into
// photos with a SPADE generator (Park et al., CVPR 2019).
//
// With no arguments it opens the painting app; subcommands run the model
// from the command line:
//
//	spadepaint import --generator netG.pth [--encoder netE.pth] ... --out model.safetensors
//	spadepaint render --model M --labels L.png|L.npy [--z z.npy | --style S | --seed N] --out O.png|O.npy
//	spadepaint encode --model M --style S.png|S.jpg|S.npy --out mu.npy [--logvar logvar.npy]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(args []string, stdout io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"import": {"convert official SPADE .pth checkpoints to a spadepaint model", runImport},
		"render": {"render label maps into images", runRender},
		"encode": {"encode style images into style codes (μ, log-variance)", runEncode},
		"bench":  {"time inference (and the PyTorch reference when installed)", runBench},
		"eval":   {"measure a model as the paper does: segmentation mIoU, style fidelity, diversity", runEval},
		"train":  {"train the generator, encoder and discriminator on a data set", runTrain},

		"dataset": {"write generated landscape data sets (dataset synth)", runDataset},
		"gallery": {"contact sheet of a model on held-out landscapes: labels | photo | styles", runGallery},
	}
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") && os.Args[1] != "-h" && os.Args[1] != "--help" {
		if err := runApp(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "spadepaint:", err)
			os.Exit(1)
		}
		return
	}
	name := os.Args[1]
	cmds := commands()
	if name == "help" || name == "-h" || name == "--help" {
		usage(os.Stdout, cmds)
		return
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "spadepaint: unknown command %q\n", name)
		usage(os.Stderr, cmds)
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		// One clear line: the error chain already carries the context.
		fmt.Fprintf(os.Stderr, "spadepaint %s: %s\n", name, strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: spadepaint [--model M]      open the painting app")
	fmt.Fprintln(w, "       spadepaint COMMAND [flags] (COMMAND -h for its flags)")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}

// newFlags makes a flag set that reports errors instead of exiting, so
// main prints them as one line.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("spadepaint "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// required checks that each named string flag was set.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return fmt.Errorf("--%s is required", n)
		}
	}
	return nil
}
