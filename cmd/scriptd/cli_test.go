package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
)

func TestSuggest(t *testing.T) {
	cmds := []string{"run", "check", "types", "version", "help"}
	flags := []string{"input", "follow", "watch", "listen", "listen-token", "log-dir", "handler-timeout", "drain-timeout", "max-memory", "max-in-flight", "max-body", "progress", "cpuprofile"}
	for _, c := range []struct {
		word, want string
		in         []string
	}{
		{"rnu", "run", cmds}, {"chek", "check", cmds}, {"verison", "version", cmds}, {"type", "types", cmds},
		{"RUN", "run", cmds}, {"xyzzy", "", cmds}, {"r", "", cmds},
		{"inptu", "input", flags}, {"folow", "follow", flags}, {"handler-timout", "handler-timeout", flags},
		{"max-inflight", "max-in-flight", flags}, {"log", "log-dir", flags}, {"max", "", flags},
		{"listen-tokn", "listen-token", flags}, {"verbose", "", flags},
	} {
		if got := suggest(c.word, c.in); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

// TestDurationFlag: duration flags take what storage takes for intervals.
func TestDurationFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5": 5 * time.Second, "0.25": 250 * time.Millisecond, "5s": 5 * time.Second, "250ms": 250 * time.Millisecond,
		"1m30s": 90 * time.Second, "5 secs": 5 * time.Second, "2 mins": 2 * time.Minute, "1 hr": time.Hour,
		"1 day": 24 * time.Hour, "100 msec": 100 * time.Millisecond, " 3 ": 3 * time.Second,
	} {
		var d durationValue
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
		// The same parser as a script's interval option.
		var v any = in
		if n, ok := map[string]float64{"5": 5, "0.25": 0.25, " 3 ": 3}[in]; ok {
			v = n
		}
		if sd, err := storagefw.ParseInterval(v, 0); err != nil || sd != want {
			t.Errorf("storagefw.ParseInterval(%v) = %v, %v", v, sd, err)
		}
	}
	// A negative value is read as such, for the flag's own check to refuse.
	for in, want := range map[string]time.Duration{"-5": -5 * time.Second, "-1s": -time.Second, "- 2 mins": -2 * time.Minute} {
		var d durationValue
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, bad := range []string{"", "abc", "--5", "5 parsecs", "NaN", "Inf", "-"} {
		var d durationValue
		if err := d.Set(bad); err == nil {
			t.Errorf("Set(%q) = %v, want an error", bad, time.Duration(d))
		}
	}
	f := newRunFlags()
	if err := f.fs.Parse([]string{"--handler-timeout", "5", "--drain-timeout=2 mins"}); err != nil {
		t.Fatal(err)
	}
	if f.handlerTimeout != 5*time.Second || f.drainTimeout != 2*time.Minute {
		t.Fatalf("handler %v drain %v", f.handlerTimeout, f.drainTimeout)
	}
	if g := newRunFlags(); g.handlerTimeout != 10*time.Second || g.drainTimeout != 10*time.Second {
		t.Fatalf("defaults: handler %v drain %v", g.handlerTimeout, g.drainTimeout)
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/scriptd/scriptd", Version: "v0.0.0-20261201170000-94d6ccb1e2f3+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "94d6ccb1e2f3a4b5c6d7e8f90123456789abcdef"},
			{Key: "vcs.time", Value: "2026-12-01T17:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, c := range []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"", bi, "scriptd v0.0.0-20261201170000-94d6ccb1e2f3+dirty (rev 94d6ccb-dirty, 2026-12-01T17:00:00Z) go1.26.8 linux/amd64"},
		{"v1.2.3", bi, "scriptd v1.2.3 (rev 94d6ccb-dirty, 2026-12-01T17:00:00Z) go1.26.8 linux/amd64"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "scriptd devel go1.26.8 linux/amd64"},
		{"", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.0.0"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}}, "scriptd v1.0.0 (rev abc) go1.26.8 linux/amd64"},
		{"", nil, "scriptd devel " + runtime.Version() + " linux/amd64"},
	} {
		if got := versionLine(c.set, c.bi, "linux/amd64"); got != c.want {
			t.Errorf("versionLine = %q\nwant          %q", got, c.want)
		}
	}
}

// TestUsageErrors: help on stdout with exit 0, usage errors as one message
// and one hint line on stderr with exit 2.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args     []string
		code     int
		out, err string // substrings; "" means the stream must be empty
		errLines int    // lines on stderr, if > 0
	}{
		{[]string{"run", "--help"}, 0, "usage: scriptd run [flags] PATH...", "", 0},
		{[]string{"run", "-h"}, 0, "--handler-timeout DURATION", "", 0},
		{[]string{"run", "s/", "-help"}, 0, "--input [NAME=]FILE", "", 0},
		{[]string{"check", "--help"}, 0, "usage: scriptd check PATH...", "", 0},
		{[]string{"types", "-h"}, 0, "usage: scriptd types", "", 0},
		{[]string{"version", "--help"}, 0, "usage: scriptd version", "", 0},
		{[]string{"help", "run"}, 0, "usage: scriptd run [flags] PATH...", "", 0},
		{[]string{"help", "check"}, 0, "usage: scriptd check PATH...", "", 0},
		{[]string{"help"}, 0, "run flags:", "", 0},
		{[]string{"--help"}, 0, "commands:", "", 0},
		{[]string{"rnu", "s/"}, 2, "", `unknown command "rnu"; did you mean run?`, 2},
		{[]string{"chekc"}, 2, "", "did you mean check?", 2},
		{[]string{"detect.js"}, 2, "", "did you mean scriptd run detect.js?", 2},
		{[]string{"--input", "x"}, 2, "", "did you mean scriptd run --input ...?", 2},
		{[]string{"run", "--inptu", "x.json", "s/"}, 2, "", "unknown flag --inptu; did you mean --input?", 2},
		{[]string{"run", "s/", "--handler-timout=5"}, 2, "", "unknown flag --handler-timout; did you mean --handler-timeout?", 2},
		{[]string{"run", "--verbose", "s/"}, 2, "", "scriptd run: unknown flag --verbose\n", 2},
		{[]string{"run", "--handler-timeout", "soon", "s/"}, 2, "", `invalid value "soon" for flag --handler-timeout`, 2},
		{[]string{"check", "--strict", "s/"}, 2, "", "scriptd check: unknown flag --strict", 2},
		{[]string{"help", "rnu"}, 2, "", "did you mean run?", 2},
		{[]string{"version", "now"}, 2, "", `unexpected argument "now"`, 2},
	} {
		var stdout, stderr testutil.Buffer
		code := mainCode(c.args, nil, &stdout, &stderr)
		ok := code == c.code
		if c.out == "" {
			ok = ok && stdout.String() == ""
		} else {
			ok = ok && strings.Contains(stdout.String(), c.out)
		}
		if c.err == "" {
			ok = ok && stderr.String() == ""
		} else {
			ok = ok && strings.Contains(stderr.String(), c.err)
		}
		if c.errLines > 0 {
			ok = ok && strings.Count(stderr.String(), "\n") == c.errLines && strings.Contains(stderr.String(), "usage: scriptd ")
		}
		if !ok {
			t.Errorf("scriptd %s: exit %d (want %d)\nstdout: %q\nstderr: %q", strings.Join(c.args, " "), code, c.code, stdout.String(), stderr.String())
		}
	}
}
