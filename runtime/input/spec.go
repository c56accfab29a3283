package input

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Spec is one --input argument: "[NAME=]FILE". Path "-" is standard input;
// a Path starting "nats://", "redis://" or "rediss://" is a stream (see [ParseStreamURL]).
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
//
// A FILE starting "nats://", "redis://" or "rediss://" is a stream URL, checked with
// [ParseStreamURL] (so a mistake in one is an error here); a file whose
// name starts so can be given as "./nats:/...".
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
			return checkStream(arg, Spec{Event: name, Path: path})
		}
	}
	return checkStream(arg, Spec{Path: arg})
}

func checkStream(arg string, s Spec) (Spec, error) {
	if IsStreamURL(s.Path) {
		if _, err := ParseStreamURL(s.Path); err != nil {
			return Spec{}, fmt.Errorf("input %q: %w", arg, err)
		}
	}
	return s, nil
}

// DefaultRedeliverAfter is how long a stream record delivered to a process
// may stay unacknowledged before the stream hands it to another process of
// the group (SPEC §7's 30 s).
const DefaultRedeliverAfter = 30 * time.Second

// StreamURL is a parsed stream input:
//
//	nats://[USER:PASS@]HOST[:PORT]/STREAM?durable=GROUP[&redeliver_after=DUR][&tls=true[&TLS OPTIONS]]
//	redis://[[USER]:PASS@]HOST[:PORT]/STREAMKEY?group=GROUP[&redeliver_after=DUR][&db=N]
//	rediss://... the same over TLS[&tls_ca_file=F][&tls_cert_file=F&tls_key_file=F][&tls_server_name=N][&tls_insecure_skip_verify=true]
//
// DUR is a Go duration ("45s", "2m") or a number of seconds; the default
// is [DefaultRedeliverAfter]. The ports default to 4222 and 6379. The
// Redis stream key is the URL-unescaped rest of the path (it may contain
// '/'). TLS is rediss:// for Redis and tls=true (or 1) for NATS; its
// options (see [StreamTLS]) are named as the Redis storage backend's and
// need TLS on.
type StreamURL struct {
	Scheme         string        // "nats" or "redis" (also for rediss://, whose TLS is set)
	Addr           string        // HOST:PORT
	User           *url.Userinfo // credentials, if any
	Name           string        // the JetStream stream, or the Redis stream key
	Group          string        // the durable consumer, or the Redis consumer group
	RedeliverAfter time.Duration // unacknowledged this long: delivered to another process
	DB             int           // Redis: the database number
	TLS            *StreamTLS    // rediss://, or nats:// with tls=true: TLS with these options; nil: plain TCP
}

// StreamTLS are the TLS options of a rediss:// URL, or of a nats:// URL with tls=true, named as the
// Redis storage backend's options. The zero value verifies the server
// against the system's roots, by the host dialled.
type StreamTLS struct {
	CAFile             string // tls_ca_file: PEM certificates to verify the server with
	CertFile, KeyFile  string // tls_cert_file, tls_key_file: a client certificate and its key
	ServerName         string // tls_server_name: the name to verify instead of the host
	InsecureSkipVerify bool   // tls_insecure_skip_verify: no verification (tests only)
}

// String renders the stream for messages: scheme, address and name, no
// credentials or options ("nats://127.0.0.1:4222/ZEEK",
// "rediss://10.0.0.5:6379/zeek").
func (u *StreamURL) String() string {
	scheme := u.Scheme
	if u.TLS != nil && scheme == "redis" {
		scheme = "rediss"
	}
	return scheme + "://" + u.Addr + "/" + u.Name
}

// DisplayPath is an --input path as messages, summaries and metrics
// labels show it: a stream URL with its password, if any, replaced by
// "xxxxx"; a file path as it is.
func DisplayPath(path string) string {
	if !IsStreamURL(path) {
		return path
	}
	if u, err := url.Parse(path); err == nil {
		return u.Redacted()
	}
	return path
}

// IsStreamURL reports whether an --input path names a stream rather than a
// file: it starts "nats://", "redis://" or "rediss://".
func IsStreamURL(path string) bool {
	return strings.HasPrefix(path, "nats://") || strings.HasPrefix(path, "redis://") || strings.HasPrefix(path, "rediss://")
}

// ParseStreamURL parses a stream input's URL (see [StreamURL]). Unknown
// query parameters are errors, so that a misspelt option does not pass
// silently.
func ParseStreamURL(raw string) (*StreamURL, error) {
	shown := DisplayPath(raw) // in errors: no password
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, fmt.Errorf("stream URL: %w", err)
	}
	out := &StreamURL{Scheme: u.Scheme, User: u.User, RedeliverAfter: DefaultRedeliverAfter}
	groupParam, port := "", ""
	switch u.Scheme {
	case "nats":
		groupParam, port = "durable", "4222"
	case "redis":
		groupParam, port = "group", "6379"
	case "rediss":
		groupParam, port = "group", "6379"
		out.Scheme, out.TLS = "redis", &StreamTLS{}
	default:
		return nil, fmt.Errorf("stream URL %q: scheme must be nats, redis or rediss", shown)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("stream URL %q: no host", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("stream URL %q: bad port %q", shown, p)
		}
		port = p
	}
	out.Addr = net.JoinHostPort(host, port)
	out.Name = strings.TrimPrefix(u.Path, "/")
	if out.Name == "" {
		if u.Scheme == "nats" {
			return nil, fmt.Errorf("stream URL %q: no stream name (nats://HOST:PORT/STREAM?durable=GROUP)", shown)
		}
		return nil, fmt.Errorf("stream URL %q: no stream key (redis://HOST:PORT/STREAMKEY?group=GROUP)", shown)
	}
	if u.Scheme == "nats" && strings.ContainsAny(out.Name, "/.*> \t") {
		return nil, fmt.Errorf("stream URL %q: %q is not a JetStream stream name (no '.', '*', '>', '/' or spaces)", shown, out.Name)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("stream URL %q: unexpected #fragment", shown)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("stream URL %q: %w", shown, err)
	}
	tlsOpts, tlsGiven, natsTLS := StreamTLS{}, "", false
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("stream URL %q: %s given %d times", shown, k, len(vs))
		}
		v := vs[0]
		switch {
		case k == groupParam:
			if v == "" || strings.ContainsAny(v, ".*> \t") {
				return nil, fmt.Errorf("stream URL %q: %s=%q: want a name without '.', '*', '>' or spaces", shown, k, v)
			}
			out.Group = v
		case k == "redeliver_after":
			d, err := parseSeconds(v)
			if err != nil || d < 100*time.Millisecond {
				return nil, fmt.Errorf("stream URL %q: redeliver_after=%q: want a duration of at least 100ms (\"30s\", \"2m\") or a number of seconds", shown, v)
			}
			out.RedeliverAfter = d
		case k == "db" && out.Scheme == "redis":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("stream URL %q: db=%q: want a database number", shown, v)
			}
			out.DB = n
		case k == "tls" && out.Scheme == "nats":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("stream URL %q: tls=%q: want true or false", shown, v)
			}
			natsTLS = b
		case slices.Contains(tlsParams, k):
			if tlsGiven == "" {
				tlsGiven = k
			}
			if err := tlsOpts.set(k, v); err != nil {
				return nil, fmt.Errorf("stream URL %q: %s=%q: %w", shown, k, v, err)
			}
		default:
			known := groupParam + ", redeliver_after"
			if out.Scheme == "redis" {
				known += ", db, " + strings.Join(tlsParams, ", ")
			} else {
				known += ", tls, " + strings.Join(tlsParams, ", ")
			}
			return nil, fmt.Errorf("stream URL %q: unknown parameter %q (known: %s)", shown, k, known)
		}
	}
	switch {
	case out.Scheme == "nats" && natsTLS:
		out.TLS = &StreamTLS{}
	case tlsGiven != "" && out.Scheme == "nats":
		return nil, fmt.Errorf("stream URL %q: %s needs tls=true", shown, tlsGiven)
	case tlsGiven != "" && out.TLS == nil:
		return nil, fmt.Errorf("stream URL %q: %s needs TLS: write rediss:// instead of redis://", shown, tlsGiven)
	}
	if out.TLS != nil {
		*out.TLS = tlsOpts
	}
	if t := out.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("stream URL %q: tls_cert_file and tls_key_file go together", shown)
	}
	if out.Group == "" {
		return nil, fmt.Errorf("stream URL %q: %s=GROUP is required (the processes sharing the feed name the same group)", shown, groupParam)
	}
	return out, nil
}

// tlsParams are the query parameters of rediss:// URLs ([StreamTLS]).
var tlsParams = []string{"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name", "tls_insecure_skip_verify"}

func (t *StreamTLS) set(k, v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	switch k {
	case "tls_ca_file":
		t.CAFile = v
	case "tls_cert_file":
		t.CertFile = v
	case "tls_key_file":
		t.KeyFile = v
	case "tls_server_name":
		t.ServerName = v
	case "tls_insecure_skip_verify":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		t.InsecureSkipVerify = b
	}
	return nil
}

// parseSeconds parses a Go duration or a plain number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f != f || f > 1e9 {
			return 0, errors.New("out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
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
