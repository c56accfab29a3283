package redis

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scriptd/scriptd/storagefw"
)

// Defaults of Zeek's Storage::Backend::Redis::Options
// (scripts/policy/frameworks/storage/backend/redis/main.zeek).
const (
	DefaultPort             = 6379
	DefaultConnectTimeout   = 5 * time.Second
	DefaultOperationTimeout = 5 * time.Second
)

// optionNames are the fields of Zeek's Redis options record.
var optionNames = []string{
	"server_host", "server_port", "server_unix_socket", "key_prefix",
	"connect_timeout", "operation_timeout", "username", "password",
}

// settings is the parsed options record.
type settings struct {
	network string // "tcp" or "unix"
	addr    string // host:port or socket path

	keyPrefix        string
	connectTimeout   time.Duration
	operationTimeout time.Duration
	username         string
	password         string
}

// LogValue implements slog.LogValuer; the password is never logged.
func (s settings) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("server", s.addr),
		slog.String("key_prefix", s.keyPrefix),
		slog.Duration("connect_timeout", s.connectTimeout),
		slog.Duration("operation_timeout", s.operationTimeout),
	}
	if s.username != "" {
		attrs = append(attrs, slog.String("username", s.username))
	}
	if s.password != "" {
		attrs = append(attrs, slog.String("password", "<redacted>"))
	}
	return slog.GroupValue(attrs...)
}

// parseOptions reads the backend's options sub-record. Malformed options
// give INITIALIZATION_FAILED; a record naming no server gives
// CONNECTION_FAILED with Zeek's message.
func parseOptions(m map[string]any) (settings, error) {
	s := settings{
		connectTimeout:   DefaultConnectTimeout,
		operationTimeout: DefaultOperationTimeout,
	}
	if m == nil {
		return s, storagefw.Errorf(storagefw.InitializationFailed, "missing redis options record")
	}
	for k := range m {
		if !slices.Contains(optionNames, k) {
			return s, storagefw.Errorf(storagefw.InitializationFailed,
				"unknown redis option %q (known: %s)", k, strings.Join(optionNames, ", "))
		}
	}
	var err error
	str := func(name string) (string, bool) {
		if err != nil {
			return "", false
		}
		v, ok := m[name]
		if !ok || v == nil {
			return "", false
		}
		sv, isStr := v.(string)
		if !isStr {
			err = storagefw.Errorf(storagefw.InitializationFailed, "redis option %s must be a string, got %T", name, v)
			return "", false
		}
		return sv, true
	}
	interval := func(name string, def time.Duration) time.Duration {
		if err != nil {
			return def
		}
		d, perr := storagefw.ParseInterval(m[name], def)
		if perr != nil {
			err = storagefw.Errorf(storagefw.InitializationFailed, "redis option %s: %v", name, perr)
			return def
		}
		if d <= 0 {
			err = storagefw.Errorf(storagefw.InitializationFailed, "redis option %s must be positive", name)
			return def
		}
		return d
	}

	host, hasHost := str("server_host")
	sock, hasSock := str("server_unix_socket")
	s.keyPrefix, _ = str("key_prefix")
	s.username, _ = str("username")
	s.password, _ = str("password")
	s.connectTimeout = interval("connect_timeout", DefaultConnectTimeout)
	s.operationTimeout = interval("operation_timeout", DefaultOperationTimeout)
	if err != nil {
		return s, err
	}
	port, err := parsePort(m["server_port"])
	if err != nil {
		return s, err
	}

	// As in Zeek, server_host wins over server_unix_socket.
	switch {
	case hasHost && host != "":
		s.network, s.addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	case hasSock && sock != "":
		s.network, s.addr = "unix", sock
	default:
		return s, storagefw.Errorf(storagefw.ConnectionFailed,
			"Either server_host/server_port or server_unix_socket must be set in Redis options record")
	}
	return s, nil
}

// parsePort accepts a number or a Zeek port literal such as "6379/tcp".
func parsePort(v any) (int, error) {
	bad := func(format string, args ...any) (int, error) {
		return 0, storagefw.Errorf(storagefw.InitializationFailed, "redis option server_port: "+format, args...)
	}
	var p float64
	switch x := v.(type) {
	case nil:
		return DefaultPort, nil
	case float64:
		p = x
	case float32:
		p = float64(x)
	case int:
		p = float64(x)
	case int64:
		p = float64(x)
	case string:
		num, proto, hasProto := strings.Cut(x, "/")
		if hasProto && proto != "tcp" {
			return bad("%q is not a TCP port", x)
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return bad("%q is not a port", x)
		}
		p = float64(n)
	default:
		return bad("must be a number or a string like \"6379/tcp\", got %T", v)
	}
	if p != math.Trunc(p) || p < 1 || p > 65535 {
		return bad("%v is out of range", v)
	}
	return int(p), nil
}

// String describes the options for error messages (no secrets).
func (s settings) String() string {
	return fmt.Sprintf("Redis server at %s", s.addr)
}
