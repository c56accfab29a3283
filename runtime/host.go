package runtime

import (
	"fmt"

	"github.com/dop251/goja"
)

// SetFunc defines a global function for scripts, implemented in Go. A panic
// inside fn becomes a JS Error, never a crash. Call it from an Extension
// (on the loop goroutine).
func (h *Host) SetFunc(name string, fn func(goja.FunctionCall) goja.Value) error {
	if err := h.e.loop.Runtime().Set(name, h.e.loop.Func(name, fn)); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}

// SetValue defines a global value (converted with goja's ToValue).
func (h *Host) SetValue(name string, v any) error {
	if err := h.e.loop.Runtime().Set(name, v); err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	return nil
}
