package globals

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/scriptd/scriptd/runtime/ext"
)

// FetchOptions are fetch's network policy and limits. The zero value lets
// scripts reach any host, as fetch does in Node.js, with the default limits.
type FetchOptions struct {
	// AllowNet, when not empty, restricts fetch to these hosts (every
	// redirect hop included). An entry is a host name or IP address (any
	// port), HOST:PORT ("[::1]:8080" for IPv6), "*.example.com" (any
	// subdomain of example.com), an IP network in CIDR form
	// ("10.0.0.0/8", matching IP-literal URLs) or "*" (any host).
	AllowNet []string
	// DenyNet makes every fetch reject: scripts cannot reach the network.
	DenyNet bool
	// MaxBody bounds the size of a response body; a larger one rejects the
	// fetch. Default 10 MiB.
	MaxBody int64
	// MaxRedirects bounds the redirects one fetch follows. Default 20, as
	// the Fetch standard.
	MaxRedirects int
	// Timeout bounds a whole exchange, body included. Default 5 minutes
	// (undici's, Node.js's fetch, headers and body timeouts); scripts bound
	// their own calls with AbortSignal.timeout(ms).
	Timeout time.Duration
	// Transport carries the requests. Default: one clone of
	// http.DefaultTransport shared by every version (keep-alive connections
	// outlive reloads; proxies from the environment apply).
	Transport http.RoundTripper
}

// Default limits of fetch.
const (
	DefaultFetchMaxBody      = 10 << 20
	DefaultFetchMaxRedirects = 20
	DefaultFetchTimeout      = 5 * time.Minute
)

var defaultTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16 // scripts calling one API many times reuse connections
	return t
})

func (o FetchOptions) withDefaults() FetchOptions {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultFetchMaxBody
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultFetchMaxRedirects
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFetchTimeout
	}
	if o.Transport == nil {
		o.Transport = defaultTransport()
	}
	return o
}

// Validate reports an AllowNet entry that is not one of the forms above.
func (o FetchOptions) Validate() error {
	for _, s := range o.AllowNet {
		if _, err := parseNetRule(s); err != nil {
			return err
		}
	}
	return nil
}

// describe names the hosts fetch may reach, for error messages.
func (o FetchOptions) describe() string {
	switch {
	case o.DenyNet:
		return "none"
	case len(o.AllowNet) == 0:
		return "all"
	}
	return strings.Join(o.AllowNet, ", ")
}

// netRule is one AllowNet entry.
type netRule struct {
	all    bool
	host   string // lower case, without brackets
	port   string // "" for any
	suffix bool   // host is ".example.com": subdomains match
	cidr   *net.IPNet
}

func parseNetRule(s string) (netRule, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "":
		return netRule{}, fmt.Errorf("allow-net: empty host")
	case t == "*":
		return netRule{all: true}, nil
	case strings.Contains(t, "/"):
		_, n, err := net.ParseCIDR(t)
		if err != nil {
			return netRule{}, fmt.Errorf("allow-net %q: %v", s, err)
		}
		return netRule{cidr: n}, nil
	}
	host, port := t, ""
	if ip := net.ParseIP(strings.Trim(t, "[]")); ip != nil {
		host = strings.Trim(t, "[]")
	} else if hp, pp, err := net.SplitHostPort(t); err == nil {
		host, port = hp, pp
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return netRule{}, fmt.Errorf("allow-net %q: bad port", s)
		}
	}
	r := netRule{host: strings.TrimSuffix(host, "."), port: port}
	if strings.HasPrefix(r.host, "*.") {
		r.host, r.suffix = r.host[1:], true
	}
	if r.host == "" || r.host == "." || strings.ContainsAny(r.host, "*:/ ") && net.ParseIP(r.host) == nil {
		return netRule{}, fmt.Errorf("allow-net %q: not a host, HOST:PORT, *.DOMAIN or CIDR", s)
	}
	return r, nil
}

func (r netRule) match(host, port string) bool {
	switch {
	case r.all:
		return true
	case r.cidr != nil:
		ip := net.ParseIP(host)
		return ip != nil && r.cidr.Contains(ip)
	case r.port != "" && r.port != port:
		return false
	case r.suffix:
		return strings.HasSuffix(host, r.host)
	}
	return host == r.host
}

// netPolicy decides which URLs fetch may reach.
type netPolicy struct {
	deny  bool
	rules []netRule // empty: all
	desc  string
}

func newNetPolicy(o FetchOptions) netPolicy {
	p := netPolicy{deny: o.DenyNet, desc: o.describe()}
	for _, s := range o.AllowNet {
		if r, err := parseNetRule(s); err == nil {
			p.rules = append(p.rules, r)
		} else {
			// An entry that is not understood allows nothing.
			p.rules = append(p.rules, netRule{host: "\x00invalid"})
		}
	}
	return p
}

func (p netPolicy) check(u *url.URL) error {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p.deny {
		return fmt.Errorf("network access is disabled for scripts (%s:%s refused)", host, port)
	}
	if len(p.rules) == 0 {
		return nil
	}
	for _, r := range p.rules {
		if r.match(host, port) {
			return nil
		}
	}
	return fmt.Errorf("network access to %s:%s is not allowed (allowed: %s)", host, port, p.desc)
}

// fetchRequest is what a script asked for, copied off the runtime.
type fetchRequest struct {
	method, url, redirect string
	headers               []string // name, value, name, value...
	body                  []byte
	hasBody               bool
}

// fetchResult is the response handed back to the loop.
type fetchResult struct {
	status               int
	statusText, finalURL string
	redirected           bool
	headers              []string
	body                 []byte
}

// fetchError is a failed exchange: kind "type" (a network error: the
// script sees TypeError("fetch failed: ...")) or "abort" (the version
// retired: an AbortError).
type fetchError struct {
	kind, msg string
}

func (e *fetchError) Error() string { return e.msg }

var (
	errRedirectCount      = errors.New("redirect count exceeded")
	errUnexpectedRedirect = errors.New("unexpected redirect")
)

// fetcher runs exchanges for one version (any goroutine).
type fetcher struct {
	opts   FetchOptions
	policy netPolicy
	ctx    context.Context // the version's: ends when it retires
}

func (f *fetcher) do(ctx context.Context, r fetchRequest) (*fetchResult, error) {
	what := r.method + " " + r.url
	fail := func(format string, args ...any) error {
		return &fetchError{kind: "type", msg: what + ": " + fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(r.url)
	if err != nil {
		return nil, fail("%v", err)
	}
	if u.Scheme == "data" {
		return dataURL(r, fail)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fail("unsupported URL scheme %q (fetch reaches http:, https: and data: URLs)", u.Scheme)
	}
	if err := f.policy.check(u); err != nil {
		return nil, fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	var body io.Reader
	if r.hasBody {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fail("%v", err)
	}
	if r.hasBody && len(r.body) == 0 {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	for i := 0; i+1 < len(r.headers); i += 2 {
		name, value := r.headers[i], r.headers[i+1]
		switch strings.ToLower(name) {
		case "host":
			req.Host = value
		case "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade":
			// The transport's: Go sets them from the body and connection.
		default:
			req.Header.Add(name, value)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "scriptd")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	redirects := 0
	client := &http.Client{
		Transport: f.opts.Transport,
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			switch r.redirect {
			case "manual":
				return http.ErrUseLastResponse
			case "error":
				return errUnexpectedRedirect
			}
			if len(via) > f.opts.MaxRedirects {
				return errRedirectCount
			}
			if next.URL.Scheme != "http" && next.URL.Scheme != "https" {
				return fmt.Errorf("redirect to unsupported URL scheme %q", next.URL.Scheme)
			}
			if err := f.policy.check(next.URL); err != nil {
				return fmt.Errorf("redirect to %s: %w", next.URL, err)
			}
			redirects++
			return nil
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, f.describe(ctx, what, err)
	}
	defer resp.Body.Close()
	max := f.opts.MaxBody
	var rd io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); {
	case resp.Uncompressed || enc == "" || enc == "identity" || r.method == http.MethodHead:
		if resp.ContentLength > max {
			return nil, fail("response body of %d bytes exceeds the limit of %d bytes", resp.ContentLength, max)
		}
	case enc == "gzip" || enc == "x-gzip":
		// The script asked for it (Accept-Encoding) so Go left it
		// compressed; fetch decodes it (the limit bounds what it inflates to).
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fail("reading the gzip response body: %v", err)
		}
		rd = zr
	case enc == "deflate":
		zr, err := zlib.NewReader(resp.Body)
		if err != nil {
			return nil, fail("reading the deflate response body: %v", err)
		}
		rd = zr
	}
	data, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, f.describe(ctx, what, fmt.Errorf("reading the response body: %w", err))
	}
	if int64(len(data)) > max {
		return nil, fail("response body exceeds the limit of %d bytes", max)
	}
	res := &fetchResult{
		status:     resp.StatusCode,
		statusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		finalURL:   resp.Request.URL.String(),
		redirected: redirects > 0,
		body:       data,
	}
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			res.headers = append(res.headers, strings.ToLower(k), v)
		}
	}
	return res, nil
}

// dataURL answers a data: URL (RFC 2397) as fetch does: status 200, the
// media type as Content-Type.
func dataURL(r fetchRequest, fail func(string, ...any) error) (*fetchResult, error) {
	rest := strings.TrimPrefix(r.url, "data:")
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, fail("a data: URL needs a comma")
	}
	if i := strings.IndexByte(payload, '#'); i >= 0 {
		payload = payload[:i]
	}
	meta = strings.TrimSpace(meta)
	b64 := false
	if m, found := strings.CutSuffix(strings.TrimRight(meta, " "), "base64"); found && strings.HasSuffix(strings.TrimRight(m, " "), ";") {
		b64 = true
		meta = strings.TrimSuffix(strings.TrimRight(m, " "), ";")
	}
	raw, err := url.PathUnescape(payload)
	if err != nil {
		raw = payload
	}
	body := []byte(raw)
	if b64 {
		var ok bool
		if body, ok = forgivingBase64Decode(raw); !ok {
			return nil, fail("invalid base64 in a data: URL")
		}
	}
	ctype := meta
	if ctype == "" || strings.HasPrefix(ctype, ";") {
		ctype = "text/plain" + ctype
		if ctype == "text/plain" {
			ctype = "text/plain;charset=US-ASCII"
		}
	}
	return &fetchResult{status: 200, statusText: "OK", finalURL: r.url, headers: []string{"content-type", ctype}, body: body}, nil
}

// describe turns a client error into the script's error.
func (f *fetcher) describe(ctx context.Context, what string, err error) error {
	switch {
	case f.ctx.Err() != nil:
		return &fetchError{kind: "abort", msg: what + ": aborted: the scripts were reloaded or are shutting down"}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &fetchError{kind: "type", msg: fmt.Sprintf("%s: no complete response within %v", what, f.opts.Timeout)}
	case errors.Is(ctx.Err(), context.Canceled):
		return &fetchError{kind: "abort", msg: what + ": aborted"}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &fetchError{kind: "type", msg: what + ": " + err.Error()}
}

// fetchNative is web.js's fetch(method, url, headers, body, redirect):
// it copies the request off the runtime, runs the exchange on a goroutine
// and returns [promise, cancel]. The promise settles on the loop through a
// reservation (so the run waits for it); cancel aborts the exchange.
func fetchNative(h ext.Host, opts FetchOptions) goja.Value {
	vm := h.Runtime()
	f := &fetcher{opts: opts.withDefaults(), policy: newNetPolicy(opts), ctx: h.Context()}
	return h.Func("fetch", func(call goja.FunctionCall) goja.Value {
		r := fetchRequest{
			method:   call.Argument(0).String(),
			url:      call.Argument(1).String(),
			redirect: call.Argument(4).String(),
		}
		if err := vm.ExportTo(call.Argument(2), &r.headers); err != nil {
			ext.ThrowTypeError(vm, "fetch: headers: %v", err)
		}
		if b := call.Argument(3); !goja.IsUndefined(b) && !goja.IsNull(b) {
			var data []byte
			if err := vm.ExportTo(b, &data); err != nil {
				ext.ThrowTypeError(vm, "fetch: body: %v", err)
			}
			r.body, r.hasBody = append([]byte(nil), data...), true
		}
		promise, resolve, reject := vm.NewPromise()
		ctx, cancel := context.WithCancel(h.Context())
		complete := h.RegisterCallback()
		go func() {
			res, err := f.do(ctx, r)
			complete(func() {
				cancel()
				if err != nil {
					fe, ok := err.(*fetchError)
					if !ok {
						fe = &fetchError{kind: "type", msg: err.Error()}
					}
					o := vm.NewObject()
					_ = o.Set("kind", fe.kind)
					_ = o.Set("message", fe.msg)
					_ = reject(o)
					return
				}
				o := vm.NewObject()
				_ = o.Set("status", res.status)
				_ = o.Set("statusText", res.statusText)
				_ = o.Set("url", res.finalURL)
				_ = o.Set("redirected", res.redirected)
				hs := make([]any, len(res.headers))
				for i, s := range res.headers {
					hs[i] = s
				}
				_ = o.Set("headers", vm.NewArray(hs...))
				_ = o.Set("body", vm.NewArrayBuffer(res.body))
				_ = resolve(o)
			})
		}()
		abort := vm.ToValue(func(goja.FunctionCall) goja.Value {
			cancel()
			return goja.Undefined()
		})
		return vm.NewArray(promise, abort)
	})
}

// FetchExtension redefines fetch with opts in each version: the way a
// command-line network policy (or an embedder's) reaches the scripts.
// Install it after the core globals (engine.Config.Extensions run after
// them). An invalid AllowNet entry fails the version's start-up.
func FetchExtension(opts FetchOptions) ext.Extension {
	return func(h ext.Host) (func(), error) {
		if err := opts.Validate(); err != nil {
			return nil, err
		}
		vm := h.Runtime()
		internals, ok := vm.GlobalObject().GetSymbol(symWeb).(*goja.Object)
		if !ok {
			return nil, errors.New("fetch: the core globals are not installed")
		}
		makeFetch, ok := goja.AssertFunction(internals.Get("makeFetch"))
		if !ok {
			return nil, errors.New("fetch: the core globals are not installed")
		}
		fetch, err := makeFetch(goja.Undefined(), fetchNative(h, opts))
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		return nil, vm.Set("fetch", fetch)
	}
}
