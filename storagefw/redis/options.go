package redis

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/internal/optreader"
)

// Defaults of Zeek's Storage::Backend::Redis::Options
// (scripts/policy/frameworks/storage/backend/redis/main.zeek).
const (
	DefaultPort             = 6379
	DefaultConnectTimeout   = 5 * time.Second
	DefaultOperationTimeout = 5 * time.Second
)

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

// parseOptions reads the backend's options sub-record (the fields of Zeek's
// Redis options record). Malformed options give INITIALIZATION_FAILED; a
// record naming no server gives CONNECTION_FAILED with Zeek's message.
func parseOptions(m map[string]any) (settings, error) {
	s := settings{
		connectTimeout:   DefaultConnectTimeout,
		operationTimeout: DefaultOperationTimeout,
	}
	if m == nil {
		return s, storagefw.Errorf(storagefw.InitializationFailed, "missing redis options record")
	}
	r := optreader.New("redis", m)
	host, _ := r.String("server_host")
	port := r.Port("server_port", DefaultPort)
	sock, _ := r.String("server_unix_socket")
	s.keyPrefix, _ = r.String("key_prefix")
	s.connectTimeout = positive(r, "connect_timeout", DefaultConnectTimeout)
	s.operationTimeout = positive(r, "operation_timeout", DefaultOperationTimeout)
	s.username, _ = r.String("username")
	s.password, _ = r.String("password")
	if err := r.Err(); err != nil {
		return s, err
	}

	// As in Zeek, server_host wins over server_unix_socket.
	switch {
	case host != "":
		s.network, s.addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	case sock != "":
		s.network, s.addr = "unix", sock
	default:
		return s, storagefw.Errorf(storagefw.ConnectionFailed,
			"Either server_host/server_port or server_unix_socket must be set in Redis options record")
	}
	return s, nil
}

// positive reads an interval option that must be above zero.
func positive(r *optreader.Reader, name string, def time.Duration) time.Duration {
	d := r.Interval(name, def)
	if d <= 0 {
		r.Fail(name, "must be positive")
		return def
	}
	return d
}

// String describes the options for error messages (no secrets).
func (s settings) String() string {
	return fmt.Sprintf("Redis server at %s", s.addr)
}
