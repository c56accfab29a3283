package tlsconf

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scriptd/scriptd/internal/testutil"
)

func TestClient(t *testing.T) {
	p := testutil.NewPKI(t)
	f := Files{CAFile: p.CA, CertFile: p.ClientCert, KeyFile: p.ClientKey, ServerName: "localhost"}
	cfg, err := f.Client()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "localhost" || cfg.InsecureSkipVerify {
		t.Fatalf("Client() = %+v, %v", cfg, err)
	}
	if d := f.Describe(); d != "on ca="+p.CA+" cert="+p.ClientCert+" server_name=localhost" {
		t.Errorf("Describe() = %q", d)
	}
	if cfg, err := (Files{}).Client(); err != nil || cfg.RootCAs != nil || cfg.MinVersion == 0 {
		t.Errorf("zero Files: %+v %v", cfg, err)
	}
	for _, tc := range []struct {
		f         Files
		opt, want string
	}{
		{Files{CertFile: p.ClientCert}, "tls_cert_file", "go together"},
		{Files{KeyFile: p.ClientKey}, "tls_cert_file", "go together"},
		{Files{CAFile: filepath.Join(p.Dir, "missing.pem")}, "tls_ca_file", "no such file"},
		{Files{CAFile: p.ServerKey}, "tls_ca_file", "no PEM certificate"},
		{Files{CertFile: p.ClientCert, KeyFile: p.ServerKey}, "tls_cert_file", "private key does not match"},
	} {
		_, err := tc.f.Client()
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != tc.opt || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error of %s containing %q", tc.f, err, tc.opt, tc.want)
		}
	}
}
