package redis

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scriptd/scriptd/internal/testutil"
	"github.com/scriptd/scriptd/storagefw"
	"github.com/scriptd/scriptd/storagefw/storagetest"
)

// testPKI is a certificate authority made for one test (see
// testutil.NewPKI), in this file's spelling.
type testPKI struct {
	dir                                          string
	ca, serverCert, serverKey, client, clientKey string
	pki                                          *testutil.PKI
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := testutil.NewPKI(t)
	return &testPKI{dir: p.Dir, ca: p.CA, serverCert: p.ServerCert, serverKey: p.ServerKey, client: p.ClientCert, clientKey: p.ClientKey, pki: p}
}

// startTLSServer starts a redis-server with a plain port (for the test's
// own checks) and a TLS port, skipping the test when redis-server was built
// without TLS.
func startTLSServer(t *testing.T, p *testPKI, authClients string) (*testServer, int) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	tlsPort := testutil.FreePort(t)
	args := p.pki.RedisTLSArgs(tlsPort, authClients)
	// A redis-server built without TLS (BUILD_TLS=no) refuses the options
	// and exits: skip. One that accepts them keeps running.
	probe := exec.Command("redis-server", append([]string{"--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir()}, args...)...)
	out := &testutil.Buffer{}
	probe.Stdout, probe.Stderr = out, out
	if err := probe.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { probe.Wait(); close(exited) }()
	select {
	case <-exited:
		t.Skipf("redis-server does not run with TLS (built without BUILD_TLS=yes?): %s", strings.TrimSpace(out.String()))
	case <-time.After(500 * time.Millisecond):
		probe.Process.Kill()
		<-exited
	}
	return startServer(t, args...), tlsPort
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	srv, tlsPort := startTLSServer(t, p, "optional")
	open := func(kv ...any) (storagefw.Backend, error) {
		opts := map[string]any{"server_host": "127.0.0.1", "server_port": float64(tlsPort), "key_prefix": "tls", "tls": true, "connect_timeout": "3s"}
		for i := 0; i+1 < len(kv); i += 2 {
			opts[kv[i].(string)] = kv[i+1]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return Open(ctx, storagefw.OpenConfig{Options: opts, Clock: wallNow})
	}
	mustFail := func(what string, err error, want string) {
		t.Helper()
		var se *storagefw.Error
		if !errors.As(err, &se) || se.Code != storagefw.ConnectionFailed || !strings.Contains(se.Msg, want) {
			t.Fatalf("%s: %v; want CONNECTION_FAILED mentioning %q", what, err, want)
		}
	}
	use := func(what string, b storagefw.Backend, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer b.Close(context.Background())
		now := wallNow()
		expect(t, what+": put", do(t, b, storagetest.PutOp(ser(what), ser(1), true, 0, now)), storagefw.Success, nil)
		expect(t, what+": get", do(t, b, storagetest.GetOp(ser(what), now)), storagefw.Success, ser(1))
		// Zeek's layout, read through the plain port.
		if got := srv.client().Get(context.Background(), "tls:"+string(ser(what))).Val(); got != string(ser(1)) {
			t.Fatalf("%s: stored %q", what, got)
		}
	}

	// The CA verifies the server, whose name is the host dialled (an IP
	// SAN) or tls_server_name.
	b, err := open("tls_ca_file", p.ca)
	use("ca", b, err)
	b, err = open("tls_ca_file", p.ca, "tls_server_name", "localhost")
	use("server name", b, err)
	_, err = open("tls_ca_file", p.ca, "tls_server_name", "redis.example.org")
	mustFail("wrong server name", err, "certificate is valid for")
	_, err = open()
	mustFail("no CA (the system's roots)", err, "certificate signed by unknown authority")
	b, err = open("tls_insecure_skip_verify", true)
	use("insecure", b, err)
	b, err = open("tls_ca_file", p.ca, "tls_cert_file", p.client, "tls_key_file", p.clientKey)
	use("client certificate", b, err)
	// Plain text against the TLS port, TLS against the plain port.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Open(ctx, storagefw.OpenConfig{Options: map[string]any{"server_host": "127.0.0.1", "server_port": float64(tlsPort), "connect_timeout": "1s"}})
	mustFail("plain text to the TLS port", err, "")
	_, err = open("server_port", float64(srv.port), "tls_ca_file", p.ca)
	mustFail("TLS to the plain port", err, "TLS handshake")
}

// TestTLSClientAuth: a server requiring client certificates refuses a
// client without one and accepts the configured one; a lost TLS connection
// is reported and re-established like a plain one.
func TestTLSClientAuth(t *testing.T) {
	p := newPKI(t)
	srv, tlsPort := startTLSServer(t, p, "yes")
	opts := map[string]any{"server_host": "127.0.0.1", "server_port": float64(tlsPort), "tls": true, "tls_ca_file": p.ca, "connect_timeout": "2s"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, storagefw.OpenConfig{Options: opts}); err == nil {
		t.Fatal("opened without the client certificate the server requires")
	}
	opts["tls_cert_file"], opts["tls_key_file"] = p.client, p.clientKey
	ev := newEvents()
	b := openTest(t, storagefw.OpenConfig{Options: opts, Clock: wallNow, Notify: ev.notify})
	expect(t, "put", do(t, b, storagetest.PutOp(ser(1), ser(1), true, 0, wallNow())), storagefw.Success, nil)
	srv.kill()
	ev.wait(t, storagefw.BackendLost, 5*time.Second)
	expect(t, "while down", do(t, b, storagetest.GetOp(ser(1), wallNow())), storagefw.NotConnected, nil)
	srv.restart()
	ev.wait(t, storagefw.BackendOpened, 10*time.Second)
	expect(t, "put after restart", do(t, b, storagetest.PutOp(ser(2), ser(2), true, 0, wallNow())), storagefw.Success, nil)
}

func TestTLSOptions(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		opts map[string]any
		msg  string
	}{
		{map[string]any{"server_host": "h", "tls_ca_file": p.ca}, `"tls_ca_file": needs tls: true`},
		{map[string]any{"server_host": "h", "tls": "yes"}, `"tls": must be a boolean`},
		{map[string]any{"server_host": "h", "tls": true, "tls_ca_file": filepath.Join(p.dir, "missing.pem")}, "no such file"},
		{map[string]any{"server_host": "h", "tls": true, "tls_ca_file": p.serverKey}, "no PEM certificate"},
		{map[string]any{"server_host": "h", "tls": true, "tls_cert_file": p.client}, "go together"},
		{map[string]any{"server_host": "h", "tls": true, "tls_cert_file": p.client, "tls_key_file": p.serverKey}, "tls_cert_file"},
		{map[string]any{"server_host": "h", "cluster_addrs": []any{"a:1"}}, "needs cluster: true"},
		{map[string]any{"cluster": true, "cluster_addrs": []any{"a"}}, `"a" is not "host:port"`},
		{map[string]any{"cluster": true, "cluster_addrs": "a:1"}, "must be a list"},
		{map[string]any{"cluster": true, "sentinel_master": "m", "server_host": "h"}, "cannot be combined"},
		{map[string]any{"sentinel_addrs": []any{"a:1"}}, "needs sentinel_master"},
		{map[string]any{"cluster": true, "server_host": "h", "key_prefix": "a{b"}, "hash tag"},
	} {
		_, err := parseOptions(tc.opts)
		var se *storagefw.Error
		if !errors.As(err, &se) || se.Code != storagefw.InitializationFailed || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("parseOptions(%v) = %v; want INITIALIZATION_FAILED containing %q", tc.opts, err, tc.msg)
		}
	}
	s, err := parseOptions(map[string]any{"cluster": true, "server_host": "::1", "server_port": 7000.0})
	if err != nil || s.topology != cluster || len(s.seeds) != 1 || s.seeds[0] != "[::1]:7000" {
		t.Fatalf("cluster from server_host: %+v %v", s, err)
	}
	s, err = parseOptions(map[string]any{"sentinel_master": "m", "sentinel_addrs": []any{"a:26379", "b:26380"}})
	if err != nil || s.topology != sentinel || s.master != "m" || len(s.seeds) != 2 {
		t.Fatalf("sentinel: %+v %v", s, err)
	}
	if _, err := parseOptions(map[string]any{"cluster": true}); err == nil || !strings.Contains(err.Error(), "cluster_addrs") {
		t.Fatalf("cluster without addresses: %v", err)
	}
}

// TestTLSCluster runs a 3-master cluster whose nodes talk TLS to clients
// and to each other (tls-cluster yes): the backend connects to the seeds'
// TLS ports and follows CLUSTER SLOTS, which names the TLS ports to a TLS
// client, to every master.
func TestTLSCluster(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed")
	}
	p := newPKI(t)
	startTLSServer(t, p, "no") // skips without TLS support
	// Built by hand, through the plain ports: redis-cli --cluster create
	// cannot name the cluster bus ports, which here are not port+10000.
	var addrs []any
	var nodes []*testServer
	var tlsPorts, busPorts []int
	for range 3 {
		tlsPort, busPort := testutil.FreePort(t), testutil.FreePort(t)
		nodes = append(nodes, startServer(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey,
			"--tls-ca-cert-file", p.ca, "--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
			"--cluster-port", strconv.Itoa(busPort)))
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)))
		tlsPorts, busPorts = append(tlsPorts, tlsPort), append(busPorts, busPort)
	}
	ctx := context.Background()
	for i, n := range nodes {
		rc := n.client()
		lo, hi := i*numSlots/3, (i+1)*numSlots/3-1
		if err := rc.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if err := nodes[0].client().Do(ctx, "CLUSTER", "MEET", "127.0.0.1", tlsPorts[i], busPorts[i]).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	(&testCluster{tb: t, nodes: nodes}).waitOK()
	opts := map[string]any{"cluster": true, "cluster_addrs": addrs, "tls": true, "tls_ca_file": p.ca, "key_prefix": "tc"}
	var b *Backend
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		bi, err := Open(ctx, storagefw.OpenConfig{Options: opts, Clock: wallNow})
		cancel()
		if err == nil {
			b = bi.(*Backend)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // the cluster is converging (cluster_state)
	}
	defer b.Close(context.Background())
	for i := range 100 {
		expect(t, "put", do(t, b, storagetest.PutOp(ser(i), ser(i), true, 0, wallNow())), storagefw.Success, nil)
	}
	for i := range 100 {
		expect(t, "get", do(t, b, storagetest.GetOp(ser(i), wallNow())), storagefw.Success, ser(i))
	}
	masters, err := b.masters(context.Background())
	if err != nil || len(masters) != 3 {
		t.Fatalf("masters %v %v", masters, err)
	}
	for _, m := range masters {
		if !slices.Contains(addrs, any(m)) {
			t.Fatalf("master %s is not a TLS port of %v", m, addrs)
		}
	}
}
