package input

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		arg  string
		want Spec
		err  bool
	}{
		{arg: "dns=/x/dns.log", want: Spec{Event: "dns", Path: "/x/dns.log"}},
		{arg: "/x/dns.log", want: Spec{Path: "/x/dns.log"}},
		{arg: "dns.json", want: Spec{Path: "dns.json"}},
		{arg: "-", want: Spec{Path: "-"}},
		{arg: "dns=-", want: Spec{Event: "dns", Path: "-"}},
		{arg: "/a/b=c.json", want: Spec{Path: "/a/b=c.json"}},
		{arg: "./a=b.json", want: Spec{Path: "./a=b.json"}},
		{arg: "dir/a=b.json", want: Spec{Path: "dir/a=b.json"}},
		{arg: "a=b.json", want: Spec{Event: "a", Path: "b.json"}},
		{arg: "ev=/a/b=c.json", want: Spec{Event: "ev", Path: "/a/b=c.json"}},
		{arg: "Zeek::Notice.v-1_x=n.log", want: Spec{Event: "Zeek::Notice.v-1_x", Path: "n.log"}},
		{arg: "my event=x.log", want: Spec{Path: "my event=x.log"}},
		{arg: "", err: true},
		{arg: "=x.log", err: true},
		{arg: "dns=", err: true},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.arg)
		if (err != nil) != tt.err {
			t.Errorf("ParseSpec(%q) error %v, want error %v", tt.arg, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.arg, got, tt.want)
		}
		if err == nil {
			if back, _ := ParseSpec(got.String()); back != got {
				t.Errorf("String round trip of %+v gives %+v", got, back)
			}
		}
	}
}

func TestParseStreamURL(t *testing.T) {
	good := []struct {
		arg  string
		want StreamURL
	}{
		{"nats://127.0.0.1:4222/ZEEK?durable=g", StreamURL{Scheme: "nats", Addr: "127.0.0.1:4222", Name: "ZEEK", Group: "g", RedeliverAfter: DefaultRedeliverAfter}},
		{"nats://nats.example/ZEEK?durable=g&redeliver_after=45s", StreamURL{Scheme: "nats", Addr: "nats.example:4222", Name: "ZEEK", Group: "g", RedeliverAfter: 45 * time.Second}},
		{"redis://10.0.0.1/zeek:dns?group=workers&redeliver_after=1.5", StreamURL{Scheme: "redis", Addr: "10.0.0.1:6379", Name: "zeek:dns", Group: "workers", RedeliverAfter: 1500 * time.Millisecond}},
		{"redis://[::1]:7000/a/b%20c?group=g&db=3", StreamURL{Scheme: "redis", Addr: "[::1]:7000", Name: "a/b c", Group: "g", DB: 3, RedeliverAfter: DefaultRedeliverAfter}},
	}
	for _, tt := range good {
		got, err := ParseStreamURL(tt.arg)
		if err != nil {
			t.Errorf("ParseStreamURL(%q): %v", tt.arg, err)
			continue
		}
		got.User = nil
		if *got != tt.want {
			t.Errorf("ParseStreamURL(%q) = %+v, want %+v", tt.arg, *got, tt.want)
		}
	}
	bad := map[string]string{
		"nats://h/S":                                 "durable=GROUP is required",
		"redis://h/k?durable=g":                      "unknown parameter \"durable\"",
		"nats://h/S?durable=g&db=1":                  "unknown parameter \"db\"",
		"nats://h/?durable=g":                        "no stream name",
		"redis://h?group=g":                          "no stream key",
		"nats://h/A.B?durable=g":                     "not a JetStream stream name",
		"nats://h/S?durable=g&redeliver_after=10ms":  "redeliver_after",
		"nats://h/S?durable=g&redeliver_after=soon":  "redeliver_after",
		"nats://h:99999/S?durable=g":                 "port",
		"redis://h/k?group=a&group=b":                "given 2 times",
		"redis://h/k?group=g&db=-1":                  "db=",
		"nats://:4222/S?durable=g":                   "no host",
		"nats://h/S?durable=a.b":                     "durable=",
		"nats://h/S?durable=g&tls_ca_file=ca.pem":    "tls_ca_file needs tls=true",
		"nats://h/S?durable=g&tls=yes please":        "tls=",
		"nats://h/S?durable=g&tls=1&tls_cert_file=c": "tls_cert_file and tls_key_file go together",
		"nats://h/S?durable=g&tls=1&tls_ca_file=":    `tls_ca_file="": empty value`,
		"nats://h/S?durable=g&tls=1&tls_ca=x":        "unknown parameter \"tls_ca\"",
		"redis://h/k?group=g&tls=1":                  "unknown parameter \"tls\"",
	}
	for arg, want := range bad {
		_, err := ParseStreamURL(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStreamURL(%q) = %v, want an error containing %q", arg, err, want)
		}
		if _, err := ParseSpec("dns=" + arg); err == nil {
			t.Errorf("ParseSpec(dns=%s) accepted it", arg)
		}
	}
	// TLS options (NATS).
	u, err := ParseStreamURL("nats://h/S?durable=g&tls=true&tls_ca_file=/etc/ca.pem&tls_cert_file=c.pem&tls_key_file=k.pem&tls_server_name=nats.example&tls_insecure_skip_verify=false")
	if err != nil || u.TLS == nil || *u.TLS != (StreamTLS{CAFile: "/etc/ca.pem", CertFile: "c.pem", KeyFile: "k.pem", ServerName: "nats.example"}) {
		t.Errorf("TLS options: %+v, %v", u, err)
	}
	if u, err := ParseStreamURL("nats://h/S?durable=g&tls=0"); err != nil || u.TLS != nil {
		t.Errorf("tls=0: %+v, %v", u, err)
	}
	// A stream URL is a path even though its query has '='.
	sp, err := ParseSpec("nats://h/S?durable=g")
	if err != nil || sp.Event != "" || sp.Path != "nats://h/S?durable=g" {
		t.Errorf("ParseSpec = %+v, %v", sp, err)
	}
	sp, err = ParseSpec("dns=redis://h/k?group=g")
	if err != nil || sp.Event != "dns" || sp.Path != "redis://h/k?group=g" || !IsStreamURL(sp.Path) {
		t.Errorf("ParseSpec = %+v, %v", sp, err)
	}
	if IsStreamURL("./nats://x") || IsStreamURL("dns.json") {
		t.Error("IsStreamURL of a file")
	}
}

func TestDisplayPath(t *testing.T) {
	for in, want := range map[string]string{
		"dns.json":                               "dns.json",
		"nats://u:secret@h:4222/S?durable=g":     "nats://u:xxxxx@h:4222/S?durable=g",
		"redis://:secret@h/k?group=g":            "redis://:xxxxx@h/k?group=g",
		"redis://h/k?group=g&redeliver_after=5s": "redis://h/k?group=g&redeliver_after=5s",
	} {
		if got := DisplayPath(in); got != want {
			t.Errorf("DisplayPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// rediss:// is Redis over TLS, with the storage backend's option names in
// the query; the TLS options need rediss://.
func TestParseRedissURL(t *testing.T) {
	u, err := ParseStreamURL("rediss://:pw@redis.example/zeek?group=g&tls_ca_file=/etc/ca.pem&tls_cert_file=c.pem&tls_key_file=k.pem&tls_server_name=r1&db=2")
	if err != nil {
		t.Fatal(err)
	}
	want := StreamTLS{CAFile: "/etc/ca.pem", CertFile: "c.pem", KeyFile: "k.pem", ServerName: "r1"}
	if u.Scheme != "redis" || u.Addr != "redis.example:6379" || u.Group != "g" || u.DB != 2 || u.TLS == nil || *u.TLS != want {
		t.Fatalf("ParseStreamURL = %+v (TLS %+v)", u, u.TLS)
	}
	if s := u.String(); s != "rediss://redis.example:6379/zeek" {
		t.Errorf("String() = %q", s)
	}
	u, err = ParseStreamURL("rediss://h:7000/k?group=g&tls_insecure_skip_verify=true")
	if err != nil || u.TLS == nil || !u.TLS.InsecureSkipVerify || u.TLS.CAFile != "" {
		t.Fatalf("insecure: %+v %v", u, err)
	}
	u, err = ParseStreamURL("rediss://h/k?group=g")
	if err != nil || u.TLS == nil || *u.TLS != (StreamTLS{}) {
		t.Fatalf("bare rediss: %+v %v", u, err)
	}
	if u, err := ParseStreamURL("redis://h/k?group=g"); err != nil || u.TLS != nil {
		t.Fatalf("redis:// has TLS: %+v %v", u, err)
	}
	if !IsStreamURL("rediss://h/k?group=g") {
		t.Error("rediss:// is not a stream URL")
	}
	if got := DisplayPath("rediss://:secret@h/k?group=g&tls_ca_file=ca.pem"); got != "rediss://:xxxxx@h/k?group=g&tls_ca_file=ca.pem" {
		t.Errorf("DisplayPath = %q", got)
	}
	for arg, want := range map[string]string{
		"redis://h/k?group=g&tls_ca_file=ca.pem":              "needs TLS: write rediss://",
		"redis://h/k?group=g&tls_insecure_skip_verify=true":   "needs TLS",
		"rediss://h/k?group=g&tls_cert_file=c.pem":            "tls_cert_file and tls_key_file go together",
		"rediss://h/k?group=g&tls_key_file=k.pem":             "go together",
		"rediss://h/k?group=g&tls_insecure_skip_verify=maybe": "want true or false",
		"rediss://h/k?group=g&tls_ca_file=":                   "empty value",
		"rediss://h/k?group=g&tls_ca=x":                       "unknown parameter \"tls_ca\" (known: group, redeliver_after, db, tls_ca_file",
		"nats://h/S?durable=g&tls_ca_file=ca.pem":             "tls_ca_file needs tls=true",
		"rediss://h/k":          "group=GROUP is required",
		"redisss://h/k?group=g": "scheme must be nats, redis or rediss",
		"rediss://h/k?group=g&tls_server_name=a&tls_server_name=b":   "given 2 times",
		"rediss://:secret@h/k?group=g&tls_cert_file=/x&tls_ca_file=": "empty value",
	} {
		_, err := ParseStreamURL(arg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStreamURL(%q) = %v, want an error containing %q", arg, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseStreamURL(%q): the error shows the password: %v", arg, err)
		}
	}
}
