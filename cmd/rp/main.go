// Command rp is the ReConPatch anomaly-detection tool.
//
// Usage:
//
//	rp <command> [flags]
//
// Run `rp help` for the list of commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one rp subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"add-normal", "add normal images to a trained model's memory bank (no retraining)", runAddNormal},
		{"bench", "measure kernels and backbones (bench gemm, bench backbone)", runBench},
		{"classify", "top-5 ImageNet classes of images (backbone sanity check)", runClassify},
		{"convert", "convert weights (.pth, TF.js model.json) to safetensors", runConvert},
		{"demo", "synthesise a data set, train, evaluate and write an HTML report", runDemo},
		{"eval", "evaluate a model on a data set's test images", runEval},
		{"features", "extract backbone feature maps to safetensors", runFeatures},
		{"predict", "score images; write anomaly maps, heatmaps and masks", runPredict},
		{"serve", "serve a model over HTTP (POST /v1/predict, GET /healthz)", runServe},
		{"synth", "write a synthetic inspection data set with defect masks", runSynth},
		{"train", "train a model (ReConPatch or PatchCore) on normal images", runTrain},
		{"version", "print the version and the SIMD level", runVersion},
	}
}

// errUsage marks an error whose message is usage text already printed.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "rp %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "rp: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "rp — ReConPatch industrial anomaly detection in pure Go")
	fmt.Fprintln(w, "\nUsage: rp <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Getting started:
  make weights                                   install the default backbone (Keras ResNet-50)
  rp demo                                        synthetic data, training, evaluation and an HTML report in ~30 s
  rp train -data DIR -o model.rpm                train ReConPatch on DIR's normal images (MVTec AD, BTAD, a folder)
  rp eval -model model.rpm -data DIR -report out evaluate on DIR's test images; out/report.html
  rp predict -model model.rpm -o out IMAGES...   scores, labels, anomaly maps, heatmaps, masks
  rp serve -model model.rpm                      HTTP inference on 127.0.0.1:8080

Run `+"`rp <command> -h`"+` for a command's flags and examples.
`)
}
