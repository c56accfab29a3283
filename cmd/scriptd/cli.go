package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/scriptd/scriptd/internal/textdist"
	"io"
	"os"
	"sort"
	"strings"
)

// commandInfo describes a command for its --help, for `scriptd help
// COMMAND` and for the one-line hints printed after a usage error.
type commandInfo struct {
	name     string
	synopsis string               // after "usage: "
	about    string               // what it does, a paragraph
	flags    func() *flag.FlagSet // nil: no flags
}

var (
	cmdRunInfo = commandInfo{
		name:     "run",
		synopsis: "scriptd run [flags] PATH... [-- PATH...]",
		about: `Loads the scripts (a file, or a directory's top-level *.js files in lexical
order; subdirectories hold modules for require), fires init, reads the
--input records as events, fires done and exits once idle. --follow,
--watch and --listen keep it running until SIGINT, SIGTERM or SIGHUP.
Flags may come before, between or after the PATHs; "--" ends them.
Durations are seconds (5, 0.5) or a duration: 250ms, 5s, 1m30s, or Zeek's
"5 secs", "2 mins", "1 hr".`,
		flags: func() *flag.FlagSet { return newRunFlags().fs },
	}
	cmdCheckInfo = commandInfo{
		name:     "check",
		synopsis: "scriptd check PATH...",
		about: `Compiles every script exactly as run loads it, without running anything:
a file PATH, every *.js file under a directory PATH (recursively), and the
modules they require by relative path. Prints FILE:LINE:COL: message for
each compile error (and for a relative require that finds no module), and
FILE:LINE:COL: warning: message for what is certainly a typo: an unknown
key in a literal options object of on(), when() or a Storage call
({priorty: 5}, put(h, {key, value, expire: "1h"})).
Exits 1 if there is an error, 0 if there are only warnings.`,
	}
	cmdTypesInfo = commandInfo{
		name:     "types",
		synopsis: "scriptd types > scriptd.d.ts",
		about:    `Prints TypeScript declarations of the script globals, Storage and the bundled modules, for editors.`,
	}
	cmdVersionInfo = commandInfo{
		name:     "version",
		synopsis: "scriptd version",
		about: `Prints the module version, the VCS revision and commit time the binary was
built from ("-dirty" if the tree had changes), and the Go version:
  scriptd v0.0.0-20261201170000-94d6ccb1e2f3 (rev 94d6ccb, 2026-12-01T17:00:00Z) go1.26.8 linux/amd64
--version is the same.`,
	}
	cmdHelpInfo = commandInfo{
		name:     "help",
		synopsis: "scriptd help [COMMAND]",
		about:    `Prints the usage of COMMAND, or an overview and the run flags.`,
	}
	commands = []*commandInfo{&cmdRunInfo, &cmdCheckInfo, &cmdTypesInfo, &cmdVersionInfo, &cmdHelpInfo}
)

// overview is the list of commands.
const overview = `usage: scriptd COMMAND [ARG...]

commands:
  run [flags] PATH...   load scripts, run, exit when idle
  check PATH...         compile every script as run does; print FILE:LINE:COL per error
  types                 print TypeScript declarations of the script globals
  version               print the version, VCS revision and Go version
  help [COMMAND]        print a command's usage and flags

"scriptd COMMAND --help" or "scriptd help COMMAND" for details.
`

// hint is the one line printed after a usage error.
func (c *commandInfo) hint() string {
	return fmt.Sprintf("usage: %s (scriptd %s --help for more)", c.synopsis, c.name)
}

// usage prints the command's full usage: synopsis, what it does, flags.
func (c *commandInfo) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.synopsis, c.about)
	if c.flags != nil {
		fmt.Fprintf(w, "\nflags:\n")
		printFlags(w, c.flags())
	}
}

// printFlags lists fs's flags as flag.PrintDefaults does, with two dashes
// (the form the documentation uses; one works too).
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		usage = strings.ReplaceAll(usage, "\n", "\n    \t")
		if !strings.Contains(usage, "(default") && f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, usage)
	})
}

// newFlagSet is a flag set whose errors and help the caller prints (see
// flagError): nothing is written by the flag package itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// flagError handles the error of parsing c's flags: -h/--help prints the
// usage on stdout (exit 0); an unknown flag is reported with the nearest
// known one, other errors as they are, each followed by the one-line hint
// (exit 2). done is false when err is nil.
func flagError(c commandInfo, fs *flag.FlagSet, err error, stdout, stderr io.Writer) (code int, done bool) {
	if err == nil {
		return 0, false
	}
	if errors.Is(err, flag.ErrHelp) {
		c.usage(stdout)
		return exitOK, true
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		msg = "unknown flag --" + name
		if s := suggest(name, known); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	} else {
		msg = strings.NewReplacer("flag -", "flag --", "argument: -", "argument: --").Replace(msg)
	}
	fmt.Fprintf(stderr, "scriptd %s: %s\n%s\n", c.name, msg, c.hint())
	return exitUsage, true
}

// noArgs parses the flags of a command that takes no arguments.
func noArgs(c commandInfo, args []string, stdout, stderr io.Writer) (int, bool) {
	fs := newFlagSet(c.name)
	rest, err := parseInterspersed(fs, args)
	if code, done := flagError(c, fs, err, stdout, stderr); done {
		return code, true
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "scriptd %s: unexpected argument %q\n%s\n", c.name, rest[0], c.hint())
		return exitUsage, true
	}
	return 0, false
}

// cmdHelp: `scriptd help` prints the overview and the run flags,
// `scriptd help COMMAND` that command's usage.
func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, overview)
		fmt.Fprintf(stdout, "\nrun flags:\n")
		printFlags(stdout, newRunFlags().fs)
		return exitOK
	}
	name := strings.TrimLeft(args[0], "-")
	if name == "h" {
		name = "help"
	}
	for _, c := range commands {
		if c.name == name {
			c.usage(stdout)
			return exitOK
		}
	}
	fmt.Fprintf(stderr, "scriptd help: unknown command %q%s\n%s\n", args[0], commandSuggestion(args[0]), cmdHelpInfo.hint())
	return exitUsage
}

// unknownCommand reports a first argument that names no command, with
// the nearest command or, for what looks like a script, `scriptd run`.
func unknownCommand(arg string, stderr io.Writer) int {
	hint := "usage: scriptd run|check|types|version|help ... (scriptd help for more)"
	if strings.HasPrefix(arg, "-") {
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		msg := fmt.Sprintf("scriptd: unknown flag %s before a command", arg)
		var runFlags []string
		newRunFlags().fs.VisitAll(func(f *flag.Flag) { runFlags = append(runFlags, f.Name) })
		if s := suggest(name, runFlags); s != "" {
			msg += fmt.Sprintf("; did you mean scriptd run --%s ...?", s)
		}
		fmt.Fprintf(stderr, "%s\n%s\n", msg, hint)
		return exitUsage
	}
	fmt.Fprintf(stderr, "scriptd: unknown command %q%s\n%s\n", arg, commandSuggestion(arg), hint)
	return exitUsage
}

func commandSuggestion(arg string) string {
	if looksLikeScript(arg) {
		return fmt.Sprintf("; did you mean scriptd run %s?", arg)
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	if s := suggest(arg, names); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// looksLikeScript: a script file name or an existing path.
func looksLikeScript(arg string) bool {
	for _, ext := range []string{".js", ".mjs", ".cjs", ".ts", ".mts"} {
		if strings.HasSuffix(arg, ext) {
			return true
		}
	}
	if strings.ContainsRune(arg, os.PathSeparator) {
		_, err := os.Stat(arg)
		return err == nil
	}
	return false
}

// suggest returns the candidate nearest to word, if it is near enough to
// be a typo: within an edit distance of a third of its length (at least 1,
// a transposition counting once), or word is a prefix of exactly one
// candidate. Ties go to the earliest in sorted order.
func suggest(word string, candidates []string) string {
	word = strings.ToLower(word)
	if word == "" {
		return ""
	}
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestDist := "", -1
	for _, c := range sorted {
		d := textdist.Distance(word, c)
		if d > max(1, len([]rune(c))/3) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best
	}
	var prefixed []string
	for _, c := range sorted {
		if len(word) >= 2 && strings.HasPrefix(c, word) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}
