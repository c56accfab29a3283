package main

import (
	"io"

	"github.com/scriptd/scriptd/scripts"
)

// cmdTypes prints the TypeScript declarations of the script globals, for
// editors: scriptd types > scriptd.d.ts
func cmdTypes(stdout io.Writer) int {
	if _, err := stdout.Write(scripts.Declarations()); err != nil {
		return exitFail
	}
	return exitOK
}
