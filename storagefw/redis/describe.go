package redis

import (
	"sort"

	"github.com/scriptd/scriptd/storagefw"
)

// zeekOptionFields are the fields of Zeek's Storage::Backend::Redis::Options
// in declared order, with their defaults (nil: optional, no default).
var zeekOptionFields = []struct {
	name string
	def  any
}{
	{"server_host", nil},
	{"server_port", DefaultPort},
	{"server_unix_socket", nil},
	{"key_prefix", ""},
	{"connect_timeout", DefaultConnectTimeout.Seconds()},
	{"operation_timeout", DefaultOperationTimeout.Seconds()},
	{"username", nil},
	{"password", nil},
}

// Describe is the options record as Zeek's Storage::backend_opened gets
// it: Zeek's fields in declared order with their defaults filled in
// (intervals in seconds), unset optional ones left out, then the options
// scriptd adds beyond Zeek's (TLS, cluster, sentinel), as given. The
// password is redacted by the framework.
func Describe(sub map[string]any) storagefw.Record {
	var out storagefw.Record
	known := make(map[string]bool, len(zeekOptionFields))
	for _, f := range zeekOptionFields {
		known[f.name] = true
		v, given := sub[f.name]
		if given && v != nil {
			if f.name == "connect_timeout" || f.name == "operation_timeout" {
				if d, err := storagefw.ParseInterval(v, 0); err == nil {
					v = d.Seconds()
				}
			}
		} else {
			v = f.def
		}
		if v != nil {
			out = append(out, storagefw.Field{Name: f.name, Value: v})
		}
	}
	var extra []string
	for k := range sub {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		out = append(out, storagefw.Field{Name: k, Value: sub[k]})
	}
	return out
}
