package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// cmdVersion prints versionLine.
func cmdVersion(args []string, stdout, stderr io.Writer) int {
	if code, done := noArgs(cmdVersionInfo, args, stdout, stderr); done {
		return code
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(version, bi, runtime.GOOS+"/"+runtime.GOARCH))
	return exitOK
}

// buildVersion is the version alone: the one set with -ldflags
// "-X main.version=…", else the Go module version (a pseudo-version from
// the VCS when built in a repository), else "devel".
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return moduleVersion(version, bi)
}

func moduleVersion(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return set
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionLine is what `scriptd version` prints:
//
//	scriptd v0.0.0-20261201170000-94d6ccb1e2f3 (rev 94d6ccb, 2026-12-01T17:00:00Z) go1.26.8 linux/amd64
//
// The parenthesis is there when the build recorded its VCS revision (go
// build in a git checkout; -buildvcs=false or a build outside one records
// none); "-dirty" follows the revision if the tree had local changes.
func versionLine(set string, bi *debug.BuildInfo, platform string) string {
	line := "scriptd " + moduleVersion(set, bi)
	if bi == nil {
		return line + " " + runtime.Version() + " " + platform
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 7 {
			rev = rev[:7]
		}
		if dirty {
			rev += "-dirty"
		}
		line += " (rev " + rev
		if at != "" {
			line += ", " + at
		}
		line += ")"
	}
	goVersion := bi.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return line + " " + goVersion + " " + platform
}
