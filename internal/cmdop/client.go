// Package cmdop is the Go client for the CMDOP token and audit API (v1),
// whose contract is openapi.yaml in this package.
package cmdop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL        = "https://api.cmdop.com"
	DefaultMaxRetries     = 5
	DefaultRequestTimeout = 30 * time.Second
	// DefaultCallTimeout bounds one call, retries included, when the
	// caller's context has no deadline of its own.
	DefaultCallTimeout = 5 * time.Minute
)

// Config configures a Client.
type Config struct {
	BaseURL string
	// Token is the bearer token. It is sent in the Authorization header and
	// never logged.
	Token string
	// Version goes into the User-Agent: terraform-provider-cmdop/<Version>.
	Version string
	// MaxRetries bounds the retries of one call (0 means DefaultMaxRetries,
	// a negative value disables retries).
	MaxRetries int
	// RequestTimeout bounds a single HTTP attempt.
	RequestTimeout time.Duration
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff
	// used when the server gives no Retry-After.
	RetryWaitMin, RetryWaitMax time.Duration
	// HTTPClient is optional; its Timeout is replaced by RequestTimeout.
	HTTPClient *http.Client
}

// Client calls the CMDOP API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	userAgent string
	http      *retryablehttp.Client

	clockMu      sync.Mutex
	serverDate   time.Time // the last Date header seen
	serverDateAt time.Time // local monotonic time it was seen at
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("the API base URL %q is not an absolute http(s) URL", cmdopapi.SafeURL(cfg.BaseURL))
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 250 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 8 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = cleanhttp.DefaultPooledClient()
	}
	hc.Timeout = cfg.RequestTimeout

	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil // every call is logged once, through tflog, by do
	rc.RetryMax = cfg.MaxRetries
	rc.RetryWaitMin = cfg.RetryWaitMin
	rc.RetryWaitMax = cfg.RetryWaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
		if n, ok := req.Context().Value(attemptsKey{}).(*int); ok {
			*n = attempt + 1
		}
		if attempt > 0 {
			tflog.Debug(req.Context(), "Retrying CMDOP API call", map[string]any{
				"method": req.Method, "attempt": attempt + 1,
			})
		}
	}

	return &Client{
		base:      base,
		token:     cfg.Token,
		userAgent: "terraform-provider-cmdop/" + cfg.Version,
		http:      rc,
	}, nil
}

type retryKey struct{}

// attemptsKey marks a request's context with an *int that counts its
// attempts (RevokeTokenAttempts).
type attemptsKey struct{}

// checkRetry retries 429, 502, 503, 504 and connection errors, unless the
// request is marked unsafe to repeat (a POST without an Idempotency-Key).
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if unsafe, _ := ctx.Value(retryKey{}).(bool); unsafe {
		return false, nil
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// backoff waits as long as Retry-After says, when the server says, and
// otherwise a jittered exponential backoff ("equal jitter").
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.Header.Get("Retry-After") != "" {
		wait := retryablehttp.DefaultBackoff(lo, hi, attempt, resp)
		// Never earlier than the server said, but spread out: every call
		// refused in the same second is told the same Retry-After, and
		// coming back all at once would only be refused again.
		return wait + rand.N(wait/2+time.Millisecond)
	}
	wait := lo << min(attempt, 16)
	if wait <= 0 || wait > hi {
		wait = hi
	}
	return wait/2 + rand.N(wait/2+1)
}

// ServerNow returns the API server's current time, estimated from the Date
// header of the latest response. Decisions about expiry use it, so that a
// skewed local clock cannot rotate a token early or late. Before any
// response it returns the local time.
func (c *Client) ServerNow() time.Time {
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	if c.serverDate.IsZero() {
		return time.Now().UTC()
	}
	return c.serverDate.Add(time.Since(c.serverDateAt)).UTC()
}

func (c *Client) observeDate(h http.Header) {
	d, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return
	}
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	c.serverDate, c.serverDateAt = d, time.Now()
}

// call is one API call: a route template with its parameters filled in.
type call struct {
	method string
	route  string            // template, as in the contract
	params map[string]string // path parameters
	query  url.Values
	body   any
	header http.Header
	out    any // decoded on 2xx
	// requestID, when set, receives the response's X-Request-Id (revoke.go).
	requestID *string
	// check, when set, says what is wrong with the decoded out ("" when
	// nothing is): the answer must be about what was asked (contract.go).
	check func() string
}

func (c *call) path() string {
	p := c.route
	for k, v := range c.params {
		p = strings.ReplaceAll(p, "{"+k+"}", url.PathEscape(v))
	}
	return p
}

// do performs a call with retries, logs it once, and turns error responses
// into *Error.
func (c *Client) do(ctx context.Context, cl call) error {
	ctx = MaskSecrets(ctx)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultCallTimeout)
		defer cancel()
	}
	if c.token == "" {
		return errors.New("no CMDOP API token is configured")
	}

	// path() escapes each parameter once; parsing the joined, escaped path
	// keeps it that way (assigning it to URL.Path would escape it again).
	u, err := url.Parse(c.base.String() + cl.path())
	if err != nil {
		return fmt.Errorf("%s %s: building the URL: %w", cl.method, cl.route, err)
	}
	u.RawQuery = cl.query.Encode()

	var body []byte
	if cl.body != nil {
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
	}
	if cl.method == http.MethodPost && cl.header.Get("Idempotency-Key") == "" {
		ctx = context.WithValue(ctx, retryKey{}, true)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, cl.method, u.String(), bodyOrNil(body))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	fields := map[string]any{
		"method":      cl.method,
		"route":       cl.route,
		"duration_ms": time.Since(start).Milliseconds(),
	}
	if err != nil {
		if resp != nil { // a response that arrived as the deadline hit
			_ = resp.Body.Close()
		}
		fields["error"] = err.Error()
		tflog.Debug(ctx, "CMDOP API call failed", fields)
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: gave up waiting for the CMDOP API (%w); the API may be slow or rate limiting, retry later or raise the timeout", cl.method, cl.route, ctx.Err())
		}
		return fmt.Errorf("%s %s: could not reach the CMDOP API at %s: %s", cl.method, cl.route, c.BaseURL(), cmdopapi.Redact(unwrapURLError(err).Error()))
	}
	defer func() { _ = resp.Body.Close() }()
	c.observeDate(resp.Header)
	requestID := resp.Header.Get("X-Request-Id")
	if cl.requestID != nil {
		*cl.requestID = requestID
	}
	fields["status"] = resp.StatusCode
	fields["request_id"] = requestID
	tflog.Debug(ctx, "CMDOP API call", fields)

	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response (request ID %s): %w", cl.method, cl.route, requestID, err)
	}
	if resp.StatusCode >= 300 {
		apiErr := decodeError(cl, resp.StatusCode, requestID, raw)
		if apiErr.fromEnvelope {
			// The envelope decides what is gone and what is refused: hold
			// it to the contract too.
			if err := checkContract(ctx, cl, req.Request, resp.StatusCode, resp.Header, raw); err != nil {
				return err
			}
		}
		return apiErr
	}
	if err := checkContract(ctx, cl, req.Request, resp.StatusCode, resp.Header, raw); err != nil {
		tflog.Warn(ctx, "CMDOP API answer breaks the contract", map[string]any{"method": cl.method, "route": cl.route, "request_id": requestID})
		return err
	}
	if cl.out != nil {
		if err := json.Unmarshal(raw, cl.out); err != nil {
			return &ContractError{Method: cl.method, Route: cl.route, StatusCode: resp.StatusCode, RequestID: requestID,
				Why: "the body cannot be decoded: " + cmdopapi.Redact(err.Error())}
		}
	}
	if cl.check != nil {
		if why := cl.check(); why != "" {
			return &ContractError{Method: cl.method, Route: cl.route, StatusCode: resp.StatusCode, RequestID: requestID, Why: why}
		}
	}
	return nil
}

func bodyOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func decodeError(cl call, status int, requestID string, raw []byte) *Error {
	e := &Error{StatusCode: status, RequestID: requestID, Method: cl.method, Route: cl.route}
	var env cmdopapi.ErrorBody
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.fromEnvelope = true
		e.Code = env.Error.Code
		e.Reason = env.Error.Reason
		e.Message = cmdopapi.RedactEcho(env.Error.Message) // it may quote the path, base URL included
		e.Details = env.Error.Details
	} else {
		e.Code = codeForStatus(status)
		if status == http.StatusNotFound {
			// Not the API's 404 (its errors carry the envelope): a wrong
			// api_base_url or a proxy. Never mistake it for "token gone".
			e.Code = cmdopapi.CodeServer
			e.Message = "HTTP 404 without the CMDOP API's error body: check that api_base_url points at the CMDOP API"
		}
	}
	return e
}

// BaseURL is the API base URL the client calls, for error messages: its
// scheme and host only, so that a secret pasted into its path never shows.
func (c *Client) BaseURL() string { return cmdopapi.SafeURL(c.base.String()) }
