// Package tlsconf builds TLS client configurations from the options
// scriptd spells the same everywhere: the Redis storage backend's options
// (tls_ca_file, tls_cert_file, tls_key_file, tls_server_name,
// tls_insecure_skip_verify) and the query of a stream input (rediss://,
// nats:// with tls=true).
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Files are a TLS client's options. The zero value verifies the server
// against the system's roots, by the name or address dialled.
type Files struct {
	CAFile             string // tls_ca_file: PEM certificates to verify the server with, instead of the system's roots
	CertFile, KeyFile  string // tls_cert_file, tls_key_file: a client certificate and its key (PEM), both or neither
	ServerName         string // tls_server_name: the name to verify (empty: the host dialled)
	InsecureSkipVerify bool   // tls_insecure_skip_verify: no verification at all (tests only)
}

// OptionError is a problem with one option, named as the user spells it.
type OptionError struct {
	Option string // "tls_ca_file", ...
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Check reports option combinations that cannot work, without reading
// the files.
func (f Files) Check() error {
	if (f.CertFile == "") != (f.KeyFile == "") {
		return &OptionError{"tls_cert_file", errors.New("tls_cert_file and tls_key_file go together")}
	}
	return nil
}

// Client reads the files and returns the client configuration (TLS 1.2 at
// least). Errors are *OptionError.
func (f Files) Client() (*tls.Config, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, &OptionError{"tls_ca_file", err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &OptionError{"tls_ca_file", fmt.Errorf("no PEM certificate in %s", f.CAFile)}
		}
		cfg.RootCAs = pool
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, &OptionError{"tls_cert_file", err}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Describe says what the options are, for logs: "on ca=FILE cert=FILE
// server_name=NAME insecure_skip_verify" (only what is set).
func (f Files) Describe() string {
	desc := []string{"on"}
	if f.CAFile != "" {
		desc = append(desc, "ca="+f.CAFile)
	}
	if f.CertFile != "" {
		desc = append(desc, "cert="+f.CertFile)
	}
	if f.ServerName != "" {
		desc = append(desc, "server_name="+f.ServerName)
	}
	if f.InsecureSkipVerify {
		desc = append(desc, "insecure_skip_verify")
	}
	return strings.Join(desc, " ")
}
