// Command scriptd runs event-driven JavaScript detection and automation
// scripts (see docs/cli.md):
//
//	scriptd run   [flags] PATH...
//	scriptd check PATH...
//	scriptd version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/scriptd/scriptd/internal/httpapi"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/input"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `usage:
  scriptd run   [flags] PATH...   load scripts, run, exit when idle
  scriptd check PATH...           compile every script; print file:line:col per error
  scriptd types                   print TypeScript declarations of the script globals
  scriptd version

run flags:
`

func main() {
	os.Exit(mainCode(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a script failed to load, an input could not be opened, check found errors
	exitUsage = 2
	// exitScriptsFailed: the run ended, but the scripts failed on every
	// input record (or, with --strict, reported any error).
	exitScriptsFailed = 3
)

func mainCode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		newRunFlags(stderr).fs.PrintDefaults()
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdin, stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "types":
		return cmdTypes(stdout)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "scriptd", buildVersion())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		newRunFlags(stdout).fs.PrintDefaults()
		return exitOK
	}
	fmt.Fprintf(stderr, "scriptd: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// runFlags are the flags of `scriptd run`.
type runFlags struct {
	fs             *flag.FlagSet
	inputs         multiFlag
	follow         bool
	watch          bool
	listen         string
	listenToken    string
	logDir         string
	handlerTimeout time.Duration
	drainTimeout   time.Duration
	strict         bool
	maxMemory      byteSize
	maxInFlight    int
	cpuProfile     string
	maxBody        int64
	progress       string
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func newRunFlags(out io.Writer) *runFlags {
	f := &runFlags{fs: flag.NewFlagSet("run", flag.ContinueOnError)}
	f.fs.SetOutput(out)
	f.fs.Var(&f.inputs, "input", "`[NAME=]FILE` to read records from (repeatable; - is stdin; JSON lines or Zeek TSV, .gz ok)")
	f.fs.BoolVar(&f.follow, "follow", false, "keep reading inputs as they grow (tail -F)")
	f.fs.BoolVar(&f.watch, "watch", false, "hot-reload the script PATHs when files change")
	f.fs.StringVar(&f.listen, "listen", "", "serve HTTP on `ADDR` (host:port; loopback unless a host is given)")
	f.fs.StringVar(&f.listenToken, "listen-token", "", "require `TOKEN` as a bearer token on HTTP requests")
	f.fs.StringVar(&f.logDir, "log-dir", ".", "`DIR` for Log.write streams")
	f.fs.DurationVar(&f.handlerTimeout, "handler-timeout", 10*time.Second, "interrupt a handler running longer than this")
	f.fs.DurationVar(&f.drainTimeout, "drain-timeout", 10*time.Second, "at shutdown and reload, how long pending handlers (operations, timers) may take to finish before what is left is abandoned and reported")
	f.fs.BoolVar(&f.strict, "strict", false, "exit 3 if any script error was reported (without it: only if the scripts failed on every input record)")
	f.maxMemory = defaultMaxMemory()
	f.fs.Var(&f.maxMemory, "max-memory", "bound on the scripts' live heap (`SIZE`: bytes, or with KiB/MiB/GiB/KB/MB/GB); past it the running script is interrupted and the scripts restart on a fresh runtime; 0 for none (default: half the machine's memory, at most 4GiB)")
	f.fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to `FILE` (for go tool pprof)")
	f.fs.IntVar(&f.maxInFlight, "max-in-flight", 10000, "pause input (and hold HTTP events) while this many async operations are outstanding")
	f.fs.Int64Var(&f.maxBody, "max-body", httpapi.DefaultMaxBody, "largest HTTP event body accepted, in `BYTES` (413 beyond)")
	f.fs.StringVar(&f.progress, "progress", string(progressAuto), "progress line for input replays: auto (when stderr is a terminal), always or never")
	return f
}

// parseInterspersed parses flags wherever they appear among positional
// arguments ("run s/ --input x" as well as "run --input x s/").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// splitScriptArgs splits `run [flags] PATH... -- ARG...` at the first
// "--": what follows is for the scripts (process.argv.slice(2)), never
// flags or PATHs.
func splitScriptArgs(args []string) (own, script []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

func cmdRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newRunFlags(stderr)
	args, scriptArgs := splitScriptArgs(args)
	paths, err := parseInterspersed(f.fs, args)
	if err != nil {
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "scriptd run: no script PATH given")
		return exitUsage
	}
	if f.handlerTimeout <= 0 {
		fmt.Fprintf(stderr, "scriptd run: --handler-timeout %v: must be positive\n", f.handlerTimeout)
		return exitUsage
	}
	if f.drainTimeout <= 0 {
		fmt.Fprintf(stderr, "scriptd run: --drain-timeout %v: must be positive\n", f.drainTimeout)
		return exitUsage
	}
	if f.maxInFlight <= 0 {
		fmt.Fprintf(stderr, "scriptd run: --max-in-flight %d: must be positive\n", f.maxInFlight)
		return exitUsage
	}
	var specs []input.Spec
	for _, a := range f.inputs {
		s, err := input.ParseSpec(a)
		if err != nil {
			fmt.Fprintf(stderr, "scriptd run: --input %q: %v\n", a, err)
			return exitUsage
		}
		specs = append(specs, s)
	}
	svc, err := newServices(f, specs, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scriptd run: %v\n", err)
		return exitUsage
	}
	defer svc.close()
	cfg := engine.Config{
		Paths:              paths,
		Args:               scriptArgs,
		Inputs:             specs,
		Follow:             f.follow,
		LogDir:             f.logDir,
		Stdin:              stdin,
		Stdout:             stdout,
		Stderr:             stderr,
		MaxInFlight:        f.maxInFlight,
		KeepAlive:          f.follow || f.watch || f.listen != "",
		Watch:              f.watch,
		HandlerTimeout:     f.handlerTimeout,
		MaxMemory:          uint64(f.maxMemory),
		Strict:             f.strict,
		ShutdownGrace:      f.drainTimeout,
		ReloadDrainTimeout: f.drainTimeout,
	}
	svc.configure(&cfg)
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "scriptd run: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintf(stderr, "scriptd run: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer pprof.StopCPUProfile()
	}
	if err := svc.listenHTTP(); err != nil {
		fmt.Fprintf(stderr, "scriptd: %v\n", err)
		return exitFail
	}
	eng, err := engine.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "scriptd: %v\n", err)
		return exitFail
	}
	if err := svc.run(eng); err != nil {
		fmt.Fprintf(stderr, "scriptd: %v\n", err)
		var sf *engine.ScriptsFailedError
		if errors.As(err, &sf) {
			return exitScriptsFailed
		}
		return exitFail
	}
	return exitOK
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "scriptd check: no script PATH given")
		return exitUsage
	}
	errs, err := engine.Check(args)
	if err != nil {
		fmt.Fprintf(stderr, "scriptd check: %v\n", err)
		return exitFail
	}
	for _, e := range errs {
		fmt.Fprintln(stdout, e.Error())
	}
	if len(errs) > 0 {
		return exitFail
	}
	return exitOK
}
