// Command scriptd runs event-driven JavaScript detection and automation
// scripts (see docs/cli.md):
//
//	scriptd run   [flags] PATH...
//	scriptd check PATH...
//	scriptd types
//	scriptd version
//	scriptd help [COMMAND]
//
// Every command takes --help; cli.go holds the usage texts, the help
// command and the "did you mean" suggestions, version.go the version line,
// duration.go the duration flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/scriptd/scriptd/internal/globals"
	"github.com/scriptd/scriptd/internal/httpapi"
	"github.com/scriptd/scriptd/runtime/engine"
	"github.com/scriptd/scriptd/runtime/input"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

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
		fmt.Fprint(stderr, overview)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdin, stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "types":
		return cmdTypes(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return cmdVersion(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return cmdHelp(args[1:], stdout, stderr)
	}
	return unknownCommand(args[0], stderr)
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
	allowNet       multiFlag
	denyNet        bool
	maxMemory      byteSize
	maxInFlight    int
	cpuProfile     string
	maxBody        int64
	progress       string
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func newRunFlags() *runFlags {
	f := &runFlags{fs: newFlagSet("run")}
	f.fs.Var(&f.inputs, "input", "`[NAME=]FILE` to read records from (repeatable; - is stdin; JSON lines or Zeek TSV, .gz ok)")
	f.fs.BoolVar(&f.follow, "follow", false, "keep reading inputs as they grow (tail -F)")
	f.fs.BoolVar(&f.watch, "watch", false, "hot-reload the script PATHs when files change")
	f.fs.StringVar(&f.listen, "listen", "", "serve HTTP on `ADDR` (host:port; loopback unless a host is given)")
	f.fs.StringVar(&f.listenToken, "listen-token", "", "require `TOKEN` as a bearer token on HTTP requests")
	f.fs.StringVar(&f.logDir, "log-dir", ".", "`DIR` for Log.write streams")
	f.handlerTimeout, f.drainTimeout = 10*time.Second, 10*time.Second
	f.fs.Var((*durationValue)(&f.handlerTimeout), "handler-timeout", "interrupt a handler running longer than `DURATION` (seconds, or 250ms, 5s, \"5 secs\", \"2 mins\", \"1 hr\")")
	f.fs.Var((*durationValue)(&f.drainTimeout), "drain-timeout", "at shutdown and reload, wait at most `DURATION` for pending handlers (operations, timers) to finish; what is left is abandoned and reported")
	f.fs.BoolVar(&f.strict, "strict", false, "exit 3 if any script error was reported (without it: only if the scripts failed on every input record)")
	f.fs.Var(&f.allowNet, "allow-net", "let fetch() reach only `HOST`s (repeatable, comma-separated: host, host:port, *.example.com, a CIDR; checked on every redirect); default: any host")
	f.fs.BoolVar(&f.denyNet, "deny-net", false, "fetch() reaches no network at all")
	f.maxMemory = defaultMaxMemory()
	f.fs.Var(&f.maxMemory, "max-memory", "bound on the scripts' live heap (`SIZE`: bytes, or with KiB/MiB/GiB/KB/MB/GB); past it the running script is interrupted and the scripts restart on a fresh runtime; 0 for none (default: half the machine's memory, at most 4GiB)")
	f.fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to `FILE` (for go tool pprof)")
	f.fs.IntVar(&f.maxInFlight, "max-in-flight", 10000, "pause input (and hold HTTP events) while `N` async operations are outstanding")
	f.fs.Int64Var(&f.maxBody, "max-body", httpapi.DefaultMaxBody, "largest HTTP event body accepted, in `BYTES` (413 beyond)")
	f.fs.StringVar(&f.progress, "progress", string(progressAuto), "progress line for input replays (`MODE`): auto (when stderr is a terminal), always or never")
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
	f := newRunFlags()
	args, scriptArgs := splitScriptArgs(args)
	paths, err := parseInterspersed(f.fs, args)
	if code, done := flagError(cmdRunInfo, f.fs, err, stdout, stderr); done {
		return code
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "scriptd run: no script PATH given")
		fmt.Fprintln(stderr, cmdRunInfo.hint())
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
	if len(f.allowNet) > 0 || f.denyNet {
		var hosts []string
		for _, a := range f.allowNet {
			hosts = append(hosts, strings.Split(a, ",")...)
		}
		opts := globals.FetchOptions{AllowNet: hosts, DenyNet: f.denyNet}
		if err := opts.Validate(); err != nil {
			fmt.Fprintf(stderr, "scriptd run: --allow-net: %v\n", err)
			return exitUsage
		}
		cfg.Extensions = append(cfg.Extensions, globals.FetchExtension(opts))
	}
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
	fs := newFlagSet("check")
	paths, err := parseInterspersed(fs, args)
	if code, done := flagError(cmdCheckInfo, fs, err, stdout, stderr); done {
		return code
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "scriptd check: no script PATH given")
		fmt.Fprintln(stderr, cmdCheckInfo.hint())
		return exitUsage
	}
	errs, err := engine.Check(paths)
	if err != nil {
		fmt.Fprintf(stderr, "scriptd check: %v\n", err)
		return exitFail
	}
	failed := false
	for _, e := range errs {
		fmt.Fprintln(stdout, e.Error())
		failed = failed || !e.Warning
	}
	if failed {
		return exitFail
	}
	return exitOK
}
