package input

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Spec is one --input argument: "[NAME=]FILE". Path "-" is standard input;
// a Path starting "nats://" or "redis://" is a stream (see [ParseStreamURL]).
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
// A FILE starting "nats://" or "redis://" is a stream URL, checked with
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
//
// DUR is a Go duration ("45s", "2m") or a number of seconds; the default
// is [DefaultRedeliverAfter]. The ports default to 4222 and 6379. The
// Redis stream key is the URL-unescaped rest of the path (it may contain
// '/'). A NATS connection uses TLS with tls=true (or 1), verified against
// the system's roots unless tls_ca_file=PEM names others; the other TLS
// options, which need tls=true, are those of the Redis storage backend:
// tls_cert_file and tls_key_file (a client certificate, together),
// tls_server_name (the name to verify, default HOST) and
// tls_insecure_skip_verify=true.
type StreamURL struct {
	Scheme         string        // "nats" or "redis"
	Addr           string        // HOST:PORT
	User           *url.Userinfo // credentials, if any
	Name           string        // the JetStream stream, or the Redis stream key
	Group          string        // the durable consumer, or the Redis consumer group
	RedeliverAfter time.Duration // unacknowledged this long: delivered to another process
	DB             int           // Redis: the database number
	TLS            *StreamTLS    // NATS: TLS options (tls=true); nil: plain TCP
}

// StreamTLS is a stream URL's TLS options (paths as given).
type StreamTLS struct {
	CAFile, CertFile, KeyFile string
	ServerName                string
	InsecureSkipVerify        bool
}

// String renders the stream for messages: scheme, address and name, no
// credentials or options ("nats://127.0.0.1:4222/ZEEK").
func (u *StreamURL) String() string {
	return u.Scheme + "://" + u.Addr + "/" + u.Name
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
// file: it starts "nats://" or "redis://".
func IsStreamURL(path string) bool {
	return strings.HasPrefix(path, "nats://") || strings.HasPrefix(path, "redis://")
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
	default:
		return nil, fmt.Errorf("stream URL %q: scheme must be nats or redis", shown)
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
	tlsOpts, tlsOn, tlsGiven := &StreamTLS{}, false, ""
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("stream URL %q: %s given %d times", shown, k, len(vs))
		}
		v := vs[0]
		if u.Scheme == "nats" && strings.HasPrefix(k, "tls") {
			if k != "tls" && tlsGiven == "" {
				tlsGiven = k
			}
			switch k {
			case "tls", "tls_insecure_skip_verify":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, fmt.Errorf("stream URL %q: %s=%q: want true or false", shown, k, v)
				}
				if k == "tls" {
					tlsOn = b
				} else {
					tlsOpts.InsecureSkipVerify = b
				}
				continue
			case "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name":
				if v == "" {
					return nil, fmt.Errorf("stream URL %q: %s is empty", shown, k)
				}
				switch k {
				case "tls_ca_file":
					tlsOpts.CAFile = v
				case "tls_cert_file":
					tlsOpts.CertFile = v
				case "tls_key_file":
					tlsOpts.KeyFile = v
				default:
					tlsOpts.ServerName = v
				}
				continue
			}
		}
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
		case k == "db" && u.Scheme == "redis":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("stream URL %q: db=%q: want a database number", shown, v)
			}
			out.DB = n
		default:
			known := groupParam + ", redeliver_after"
			if u.Scheme == "redis" {
				known += ", db"
			} else {
				known += ", tls, tls_ca_file, tls_cert_file, tls_key_file, tls_server_name, tls_insecure_skip_verify"
			}
			return nil, fmt.Errorf("stream URL %q: unknown parameter %q (known: %s)", shown, k, known)
		}
	}
	if out.Group == "" {
		return nil, fmt.Errorf("stream URL %q: %s=GROUP is required (the processes sharing the feed name the same group)", shown, groupParam)
	}
	switch {
	case !tlsOn && tlsGiven != "":
		return nil, fmt.Errorf("stream URL %q: %s needs tls=true", shown, tlsGiven)
	case (tlsOpts.CertFile == "") != (tlsOpts.KeyFile == ""):
		return nil, fmt.Errorf("stream URL %q: tls_cert_file and tls_key_file go together", shown)
	case tlsOn:
		out.TLS = tlsOpts
	}
	return out, nil
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
