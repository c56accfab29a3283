package main

import (
	"io"

	"github.com/scriptd/scriptd/scripts"
)

// cmdTypes prints the TypeScript declarations of the script globals, for
// editors: scriptd types > scriptd.d.ts
func cmdTypes(args []string, stdout, stderr io.Writer) int {
	if code, done := noArgs(cmdTypesInfo, args, stdout, stderr); done {
		return code
	}
	if _, err := stdout.Write(scripts.Declarations()); err != nil {
		return exitFail
	}
	return exitOK
}
