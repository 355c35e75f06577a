// Package contracttest holds the CMDOP API contract (internal/cmdopapi/openapi.yaml)
// over live traffic: it wraps an http.Handler, such as cmdop-local, and checks
// every request and response against the OpenAPI document with kin-openapi.
// Tests of the client and of the provider run their traffic through it.
package contracttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Checker validates the traffic of a wrapped handler against the contract.
type Checker struct {
	next   http.Handler
	router routers.Router

	mu         sync.Mutex
	checked    int
	violations []string
}

// Wrap returns a Checker around next.
func Wrap(next http.Handler) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(cmdopapi.OpenAPISpec)
	if err != nil {
		return nil, fmt.Errorf("loading the contract: %w", err)
	}
	doc.Servers = nil // match paths on any host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Checker{next: next, router: router}, nil
}

// Checked is how many API exchanges were validated.
func (c *Checker) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Violations lists every departure from the contract seen so far.
func (c *Checker) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

func (c *Checker) violate(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations = append(c.violations, cmdopapi.Redact(fmt.Sprintf(format, args...)))
}

// ServeHTTP validates the request, serves it, and validates the response.
// A request that breaks the contract is a violation unless the server
// rejected it with a 4xx. Test controls under /_local/ are not part of the
// contract and pass through.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_local/") {
		c.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	name := r.Method + " " + r.URL.Path

	route, params, err := c.router.FindRoute(r)
	if err != nil {
		// A path outside the contract must be refused: 401 without a valid
		// token (the API authenticates first), else 404 route_not_found or 405.
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		c.next.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		c.mu.Lock()
		c.checked++
		c.mu.Unlock()
		switch reason := errorReason(rec.body.Bytes()); {
		case rec.status == http.StatusUnauthorized, rec.status == http.StatusMethodNotAllowed:
		case rec.status == http.StatusNotFound && reason == cmdopapi.ReasonRouteNotFound:
		default:
			c.violate("%s: not in the contract (%v), yet the server answered %d (reason %q) instead of 401, 405 or 404 route_not_found",
				name, err, rec.status, reason)
		}
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: r.Clone(ctx), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	reqErr := openapi3filter.ValidateRequest(ctx, in)

	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	if rec.hijacked {
		return // a dropped connection: no response to check
	}

	c.mu.Lock()
	c.checked++
	c.mu.Unlock()
	if reqErr != nil && (rec.status < 400 || rec.status >= 500) {
		c.violate("%s: the request breaks the contract, yet the server answered %d: %v", name, rec.status, reqErr)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		c.violate("%s: response %d has no X-Request-Id", name, rec.status)
	}
	if rec.body.Len() > 0 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		c.violate("%s: response %d has Content-Type %q", name, rec.status, rec.Header().Get("Content-Type"))
	}
	in.Options = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.status,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options:                in.Options,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.violate("%s: response %d breaks the contract: %v", name, rec.status, err)
	}
	if rec.status == http.StatusNotFound && errorReason(rec.body.Bytes()) == "" {
		c.violate("%s: a 404 without a reason: every 404 must say what is missing", name)
	}
}

// errorReason is the reason of an error envelope, if any.
func errorReason(body []byte) string {
	var env cmdopapi.ErrorBody
	_ = json.Unmarshal(body, &env)
	return env.Error.Reason
}

// recorder passes the response through while keeping a copy. It lets the
// server hijack the connection, to inject a dropped connection.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
	wrote    bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}
