package sqlite

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/internal/optreader"
)

// Defaults of Zeek's Storage::Backend::SQLite::Options
// (scripts/policy/frameworks/storage/backend/sqlite/main.zeek).
const (
	DefaultBusyTimeout      = 5 * time.Second
	DefaultPragmaTimeout    = 500 * time.Millisecond
	DefaultPragmaWaitOnBusy = 5 * time.Millisecond
)

// DefaultPragmas returns Zeek's default pragma_commands table, in Zeek's
// order (quick_check since Zeek PR #5248; earlier releases ran
// integrity_check). Each call returns a fresh slice.
func DefaultPragmas() []Pragma {
	return []Pragma{
		{"quick_check", ""},
		{"journal_mode", "WAL"},
		{"synchronous", "normal"},
		{"temp_store", "memory"},
	}
}

// Pragma is one entry of pragma_commands: it runs as "pragma Name = Value",
// or "pragma Name" when Value is empty.
type Pragma struct{ Name, Value string }

func (p Pragma) sql() string {
	if p.Value == "" {
		return "pragma " + p.Name
	}
	return "pragma " + p.Name + " = " + p.Value
}

// Options are the parsed sqlite options.
type Options struct {
	DatabasePath     string
	TableName        string
	BusyTimeout      time.Duration
	Pragmas          []Pragma
	PragmaTimeout    time.Duration // 0: retry a busy pragma forever
	PragmaWaitOnBusy time.Duration
}

var (
	pragmaNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	pragmaValueRE = regexp.MustCompile(`^([-+]?[A-Za-z0-9_.]*|'[^']*')$`)
)

// pragmaRank orders pragmas given as an (unordered) object: the checks first
// (Zeek's default order), then pragmas that only work before the database is
// first written, then journal_mode, then the rest by name.
func pragmaRank(name string) int {
	switch strings.ToLower(name) {
	case "integrity_check", "quick_check":
		return 0
	case "page_size", "auto_vacuum", "encoding":
		return 1
	case "journal_mode":
		return 2
	}
	return 3
}

// ParseOptions reads the sqlite options sub-record. database_path and
// table_name are required (Zeek's record has no default for them); a missing
// (or null) or malformed option gives an INITIALIZATION_FAILED
// *storagefw.Error naming it. pragma_commands is an object {name: value}
// (run in the order described at pragmaRank) or an array of [name, value]
// pairs (run in array order); it replaces the default table, as in Zeek. A
// busy_timeout pragma is ignored in favour of the busy_timeout option, as in
// Zeek.
func ParseOptions(m map[string]any) (Options, error) {
	o := Options{
		BusyTimeout:      DefaultBusyTimeout,
		Pragmas:          DefaultPragmas(),
		PragmaTimeout:    DefaultPragmaTimeout,
		PragmaWaitOnBusy: DefaultPragmaWaitOnBusy,
	}
	r := optreader.New("sqlite", m)
	path, hasPath := r.String("database_path")
	if strings.ContainsRune(path, 0) {
		r.Fail("database_path", "contains a NUL byte")
	}
	table, hasTable := r.String("table_name")
	if hasTable && (table == "" || strings.ContainsRune(table, 0)) {
		r.Fail("table_name", "must be a non-empty name without NUL bytes")
	}
	o.DatabasePath, o.TableName = path, table
	o.BusyTimeout = r.Interval("busy_timeout", DefaultBusyTimeout)
	if v, ok := r.Value("pragma_commands"); ok {
		pragmas, err := parsePragmas(v)
		if err != nil {
			r.Fail("pragma_commands", "%v", err)
		}
		o.Pragmas = pragmas
	}
	o.PragmaTimeout = r.Interval("pragma_timeout", DefaultPragmaTimeout)
	o.PragmaWaitOnBusy = r.Interval("pragma_wait_on_busy", DefaultPragmaWaitOnBusy)
	if err := r.Err(); err != nil {
		return o, err
	}
	switch {
	case !hasPath:
		r.Fail("database_path", "missing (use \":memory:\" for an in-memory database)")
	case !hasTable:
		r.Fail("table_name", "missing")
	}
	return o, r.Err()
}

func parsePragmas(v any) ([]Pragma, error) {
	var out []Pragma
	switch x := v.(type) {
	case map[string]any:
		for name, val := range x {
			p, err := pragma(name, val)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		slices.SortFunc(out, func(a, b Pragma) int {
			if ra, rb := pragmaRank(a.Name), pragmaRank(b.Name); ra != rb {
				return ra - rb
			}
			return strings.Compare(a.Name, b.Name)
		})
	case []any:
		for i, e := range x {
			var name, val any
			switch pair := e.(type) {
			case []any:
				if len(pair) != 2 {
					return nil, fmt.Errorf("entry %d: want [name, value], got %d elements", i, len(pair))
				}
				name, val = pair[0], pair[1]
			case map[string]any:
				name, val = pair["name"], pair["value"]
			default:
				return nil, fmt.Errorf("entry %d: want [name, value], got %T", i, e)
			}
			s, ok := name.(string)
			if !ok {
				return nil, fmt.Errorf("entry %d: pragma name must be a string, got %T", i, name)
			}
			p, err := pragma(s, val)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	default:
		return nil, fmt.Errorf("must be an object of pragma name to value, got %T", v)
	}
	return out, nil
}

func pragma(name string, val any) (Pragma, error) {
	if !pragmaNameRE.MatchString(name) {
		return Pragma{}, fmt.Errorf("pragma name %q is not an identifier", name)
	}
	var s string
	switch x := val.(type) {
	case nil:
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	default:
		return Pragma{}, fmt.Errorf("pragma %q: value must be a string or number, got %T", name, val)
	}
	s = strings.TrimSpace(s)
	if !pragmaValueRE.MatchString(s) {
		return Pragma{}, fmt.Errorf("pragma %q: value %q is not a plain word, number or 'quoted string'", name, s)
	}
	return Pragma{Name: name, Value: s}, nil
}

// Describe is the options record as Zeek's Storage::backend_opened gets
// it (Storage::Backend::SQLite::Options, defaults filled in, in declared
// order; intervals in seconds, pragma_commands as an ordered table).
func Describe(sub map[string]any) storagefw.Record {
	o, _ := ParseOptions(sub) // the open succeeded: the options parse
	pragmas := make(storagefw.Record, len(o.Pragmas))
	for i, p := range o.Pragmas {
		pragmas[i] = storagefw.Field{Name: p.Name, Value: p.Value}
	}
	return storagefw.Record{
		{Name: "database_path", Value: o.DatabasePath},
		{Name: "table_name", Value: o.TableName},
		{Name: "busy_timeout", Value: o.BusyTimeout.Seconds()},
		{Name: "pragma_commands", Value: pragmas},
		{Name: "pragma_timeout", Value: o.PragmaTimeout.Seconds()},
		{Name: "pragma_wait_on_busy", Value: o.PragmaWaitOnBusy.Seconds()},
	}
}
