package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/scriptd/scriptd/internal/tlsconf"
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

// topology is how the servers are laid out.
type topology uint8

const (
	standalone topology = iota // one server (TCP or Unix socket)
	cluster                    // Redis Cluster: keys spread over slots
	sentinel                   // a master found through Sentinel
)

func (t topology) String() string {
	switch t {
	case cluster:
		return "cluster"
	case sentinel:
		return "sentinel"
	}
	return "standalone"
}

// settings is the parsed options record.
type settings struct {
	topology topology
	network  string   // standalone: "tcp" or "unix"
	addr     string   // standalone: host:port or socket path; otherwise the first seed
	seeds    []string // cluster: node addresses; sentinel: sentinel addresses
	master   string   // sentinel: the master's name (sentinel_master)

	tls     *tls.Config // nil: plain TCP
	tlsDesc string      // what the TLS options say, for logs

	keyPrefix        string
	connectTimeout   time.Duration
	operationTimeout time.Duration
	username         string
	password         string
}

// LogValue implements slog.LogValuer; the password is never logged.
func (s settings) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("server", s.addr)}
	switch s.topology {
	case cluster:
		attrs = append(attrs, slog.String("cluster", strings.Join(s.seeds, ",")))
	case sentinel:
		attrs = append(attrs, slog.String("sentinel_master", s.master), slog.String("sentinels", strings.Join(s.seeds, ",")))
	}
	if s.tls != nil {
		attrs = append(attrs, slog.String("tls", s.tlsDesc))
	}
	attrs = append(attrs,
		slog.String("key_prefix", s.keyPrefix),
		slog.Duration("connect_timeout", s.connectTimeout),
		slog.Duration("operation_timeout", s.operationTimeout),
	)
	if s.username != "" {
		attrs = append(attrs, slog.String("username", s.username))
	}
	if s.password != "" {
		attrs = append(attrs, slog.String("password", "<redacted>"))
	}
	return slog.GroupValue(attrs...)
}

// parseOptions reads the backend's options sub-record: the fields of Zeek's
// Redis options record, then the ones of SPEC §7 (cluster, Sentinel, TLS).
// Malformed options give INITIALIZATION_FAILED; a record naming no server
// gives CONNECTION_FAILED with Zeek's message.
func parseOptions(m map[string]any) (settings, error) {
	s := settings{
		connectTimeout:   DefaultConnectTimeout,
		operationTimeout: DefaultOperationTimeout,
	}
	if m == nil {
		return s, storagefw.Errorf(storagefw.InitializationFailed, "missing redis options record")
	}
	r := optreader.New("redis", m)
	// Zeek's fields, in Zeek's order.
	host, _ := r.String("server_host")
	port := r.Port("server_port", DefaultPort)
	sock, _ := r.String("server_unix_socket")
	s.keyPrefix, _ = r.String("key_prefix")
	s.connectTimeout = positive(r, "connect_timeout", DefaultConnectTimeout)
	s.operationTimeout = positive(r, "operation_timeout", DefaultOperationTimeout)
	s.username, _ = r.String("username")
	s.password, _ = r.String("password")
	// Beyond Zeek.
	isCluster := boolean(r, "cluster")
	clusterAddrs, hasClusterAddrs := addrList(r, "cluster_addrs")
	master, hasMaster := r.String("sentinel_master")
	sentinelAddrs, hasSentinelAddrs := addrList(r, "sentinel_addrs")
	useTLS := boolean(r, "tls")
	caFile, hasCA := r.String("tls_ca_file")
	certFile, hasCert := r.String("tls_cert_file")
	keyFile, hasKey := r.String("tls_key_file")
	serverName, hasServerName := r.String("tls_server_name")
	insecure := boolean(r, "tls_insecure_skip_verify")
	_, hasInsecure := r.Value("tls_insecure_skip_verify")

	switch {
	case hasClusterAddrs && !isCluster:
		r.Fail("cluster_addrs", "needs cluster: true")
	case hasSentinelAddrs && !hasMaster:
		r.Fail("sentinel_addrs", "needs sentinel_master")
	case isCluster && hasMaster:
		r.Fail("sentinel_master", "cannot be combined with cluster: true")
	case hasMaster && master == "":
		r.Fail("sentinel_master", "must not be empty")
	case !useTLS && (hasCA || hasCert || hasKey || hasServerName || hasInsecure):
		for _, o := range []struct {
			set  bool
			name string
		}{{hasCA, "tls_ca_file"}, {hasCert, "tls_cert_file"}, {hasKey, "tls_key_file"}, {hasServerName, "tls_server_name"}, {hasInsecure, "tls_insecure_skip_verify"}} {
			if o.set {
				r.Fail(o.name, "needs tls: true")
			}
		}
	case hasCert != hasKey:
		r.Fail("tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	if err := r.Err(); err != nil {
		return s, err
	}

	hostPort := ""
	if host != "" {
		hostPort = net.JoinHostPort(host, strconv.Itoa(port))
	}
	switch {
	case isCluster:
		s.topology = cluster
		s.seeds = clusterAddrs
		if len(s.seeds) == 0 && hostPort != "" {
			s.seeds = []string{hostPort}
		}
		if len(s.seeds) == 0 {
			return s, storagefw.Errorf(storagefw.ConnectionFailed,
				"Either server_host/server_port or cluster_addrs must be set in Redis options record for a cluster")
		}
		if err := checkClusterPrefix(s.keyPrefix); err != nil {
			return s, err
		}
		s.network, s.addr = "tcp", s.seeds[0]
	case hasMaster:
		s.topology = sentinel
		s.master = master
		s.seeds = sentinelAddrs
		if len(s.seeds) == 0 && hostPort != "" {
			s.seeds = []string{hostPort}
		}
		if len(s.seeds) == 0 {
			return s, storagefw.Errorf(storagefw.ConnectionFailed,
				"Either server_host/server_port or sentinel_addrs must be set in Redis options record for Sentinel")
		}
		s.network, s.addr = "tcp", s.seeds[0]
	// As in Zeek, server_host wins over server_unix_socket.
	case host != "":
		s.network, s.addr = "tcp", hostPort
	case sock != "":
		s.network, s.addr = "unix", sock
	default:
		return s, storagefw.Errorf(storagefw.ConnectionFailed,
			"Either server_host/server_port or server_unix_socket must be set in Redis options record")
	}

	if useTLS {
		cfg, desc, err := tlsConfig(caFile, certFile, keyFile, serverName, insecure)
		if err != nil {
			return s, err
		}
		s.tls, s.tlsDesc = cfg, desc
	}
	return s, nil
}

// tlsConfig builds the client's TLS configuration (see tlsconf.Files):
// the CA file's certificates as roots (else the system's), a client
// certificate when given, and the server name to verify (tls_server_name;
// empty: the host dialled, see Backend.dial).
func tlsConfig(caFile, certFile, keyFile, serverName string, insecure bool) (*tls.Config, string, error) {
	f := tlsconf.Files{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: serverName, InsecureSkipVerify: insecure}
	cfg, err := f.Client()
	if err != nil {
		opt, msg := "tls", err.Error()
		var oe *tlsconf.OptionError
		if errors.As(err, &oe) {
			opt, msg = oe.Option, oe.Err.Error()
		}
		return nil, "", storagefw.Errorf(storagefw.InitializationFailed, "redis option %q: %s", opt, msg)
	}
	return cfg, f.Describe(), nil
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

// boolean reads a boolean option (unset: false).
func boolean(r *optreader.Reader, name string) bool {
	v, ok := r.Value(name)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		r.Fail(name, "must be a boolean, got %T", v)
	}
	return b
}

// addrList reads a list of "host:port" strings and whether it is set.
func addrList(r *optreader.Reader, name string) ([]string, bool) {
	v, ok := r.Value(name)
	if !ok {
		return nil, false
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	default:
		r.Fail(name, "must be a list of \"host:port\" strings, got %T", v)
		return nil, true
	}
	if len(items) == 0 {
		r.Fail(name, "must not be empty")
		return nil, true
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, isString := it.(string)
		if !isString {
			r.Fail(name, "must be a list of \"host:port\" strings, got an element of type %T", it)
			return nil, true
		}
		host, port, err := net.SplitHostPort(s)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			r.Fail(name, "%q is not \"host:port\"", s)
			return nil, true
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, true
}

// String describes the options for error messages (no secrets).
func (s settings) String() string {
	switch s.topology {
	case cluster:
		return fmt.Sprintf("Redis cluster at %s", strings.Join(s.seeds, ","))
	case sentinel:
		return fmt.Sprintf("Redis master %q of the sentinels at %s", s.master, strings.Join(s.seeds, ","))
	}
	return fmt.Sprintf("Redis server at %s", s.addr)
}
