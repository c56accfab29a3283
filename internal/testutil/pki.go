package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PKI is a certificate authority made for one test, with a server
// certificate for 127.0.0.1 and localhost and a client certificate, all
// written as PEM files in Dir.
type PKI struct {
	Dir                   string
	CA                    string // the CA's certificate
	ServerCert, ServerKey string // also usable as a client (cluster bus, replication)
	ClientCert, ClientKey string
	OtherCA               string // a second CA's certificate, which signed nothing here
}

// NewPKI makes a CA and its certificates (ECDSA P-256, valid from an hour
// ago for a day).
func NewPKI(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{Dir: tb.TempDir()}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(p.Dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			tb.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			tb.Fatal(err)
		}
		return der
	}
	now := time.Now()
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			tb.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		return cert, key, der
	}
	caCert, caKey, caDER := newCA("scriptd test CA")
	p.CA = write("ca.pem", "CERTIFICATE", caDER)
	_, _, otherDER := newCA("another test CA")
	p.OtherCA = write("other-ca.pem", "CERTIFICATE", otherDER)
	leaf := func(serial int64, name string, usage ...x509.ExtKeyUsage) (string, string) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage,
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "PRIVATE KEY", keyDER(k))
	}
	// Servers use theirs as clients too (the cluster bus, replication).
	p.ServerCert, p.ServerKey = leaf(2, "server", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	p.ClientCert, p.ClientKey = leaf(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}

// RedisTLSArgs are the redis-server arguments serving TLS on tlsPort with
// the PKI's server certificate; authClients is --tls-auth-clients (yes,
// no, optional).
func (p *PKI) RedisTLSArgs(tlsPort int, authClients string) []string {
	return []string{"--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", p.ServerCert, "--tls-key-file", p.ServerKey,
		"--tls-ca-cert-file", p.CA, "--tls-auth-clients", authClients}
}

// StartRedisTLS starts a redis-server with a plain port (Port, for the
// test's own checks) and a TLS port (TLSPort), skipping the test when
// redis-server is not installed or was built without TLS.
func StartRedisTLS(tb testing.TB, p *PKI, authClients string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed")
	}
	tlsPort := FreePort(tb)
	args := p.RedisTLSArgs(tlsPort, authClients)
	// A redis-server built without TLS (BUILD_TLS=no) refuses the options
	// and exits: skip. One that accepts them keeps running.
	probe := exec.Command(bin, append([]string{"--port", "0", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", tb.TempDir()}, args...)...)
	out := &Buffer{}
	probe.Stdout, probe.Stderr = out, out
	if err := probe.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = probe.Wait(); close(exited) }()
	select {
	case <-exited:
		tb.Skipf("redis-server does not run with TLS (built without BUILD_TLS=yes?): %s", strings.TrimSpace(out.String()))
	case <-time.After(500 * time.Millisecond):
		_ = probe.Process.Kill()
		<-exited
	}
	s := &Server{Port: FreePort(tb), TLSPort: tlsPort, Dir: tb.TempDir(), bin: bin}
	s.args = append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--dir", s.Dir, "--appendonly", "no"}, args...)
	s.start(tb)
	return s
}
