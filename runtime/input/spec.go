package input

import (
	"errors"
	"fmt"
	"strings"
)

// Spec is one --input argument: "[NAME=]FILE". Path "-" is standard input.
// An empty Event means the event name comes from each record (its "_path"
// field, or the "#path" header of a Zeek TSV log).
type Spec struct {
	Event string
	Path  string
}

// String renders the spec back in its command-line form.
func (s Spec) String() string {
	if s.Event == "" {
		return s.Path
	}
	return s.Event + "=" + s.Path
}

// ParseSpec parses one --input argument, "[NAME=]FILE".
//
// The argument is split at its first '=' only when the part before it is a
// valid event name: one or more of [A-Za-z0-9_.:-] (so never a path with a
// '/'). Otherwise the whole argument is the path. Thus "dns=/x/dns.log"
// names the event "dns", "/a/b=c.json" and "./a=b.json" are plain paths,
// and a file in the current directory whose name contains '=' can be given
// as "./NAME" or "EVENT=NAME".
func ParseSpec(arg string) (Spec, error) {
	if arg == "" {
		return Spec{}, errors.New("input: empty argument")
	}
	if i := strings.IndexByte(arg, '='); i >= 0 {
		name := arg[:i]
		if name == "" {
			return Spec{}, fmt.Errorf("input %q: empty event name before '='", arg)
		}
		if ValidEventName(name) {
			path := arg[i+1:]
			if path == "" {
				return Spec{}, fmt.Errorf("input %q: empty file name after '='", arg)
			}
			return Spec{Event: name, Path: path}, nil
		}
	}
	return Spec{Path: arg}, nil
}

// ValidEventName reports whether name may be given as NAME in "NAME=FILE":
// non-empty and made only of ASCII letters, digits and "_.:-".
func ValidEventName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// ReservedEvent reports whether name belongs to the engine rather than to
// records: the lifecycle events init and done, and the events of the
// storage framework ("Storage.*") and the engine ("scriptd.*"). A record
// naming one is a bad record; HTTP and emit() refuse them.
func ReservedEvent(name string) bool {
	return name == "init" || name == "done" || strings.HasPrefix(name, "Storage.") || strings.HasPrefix(name, "scriptd.")
}
