package input

import "testing"

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
