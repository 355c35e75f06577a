package cmdop_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
)

// RevokeTokenRequestID returns the X-Request-Id the API answered the
// DELETE with, on success and, through the *Error, on failure.
func TestClient_revokeTokenRequestID(t *testing.T) {
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || r.URL.Path != "/api/fleets/f1/api-keys/k1" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		w.Header().Set("X-Request-Id", "req_"+r.Method)
		if status != http.StatusNoContent {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","reason":"token_not_found","message":"no such token"}}`))
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c, err := cmdop.New(cmdop.Config{BaseURL: srv.URL, Token: "cmdop_" + "x", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.RevokeTokenRequestID(t.Context(), "f1", "k1")
	if err != nil || id != "req_DELETE" {
		t.Fatalf("got %q, %v; want req_DELETE, nil", id, err)
	}
	status = http.StatusNotFound
	id, err = c.RevokeTokenRequestID(t.Context(), "f1", "k1")
	var apiErr *cmdop.Error
	if !errors.As(err, &apiErr) || apiErr.RequestID != "req_DELETE" || id != "req_DELETE" {
		t.Fatalf("got %q, %v; want the request ID on the error too", id, err)
	}
}

// RevokeTokenAttempts counts the attempts of one revocation: one when the
// first answer is a success, more after a 503 that is retried, with the
// request ID of the last answer. WithToken calls the same API with another
// token.
func TestClient_revokeTokenAttempts(t *testing.T) {
	fail := 0
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if fail > 0 {
			fail--
			w.Header().Set("X-Request-Id", "req_503")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Request-Id", "req_ok")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := cmdop.New(cmdop.Config{BaseURL: srv.URL, Token: "first", MaxRetries: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.RevokeTokenAttempts(t.Context(), "f1", "k1")
	if err != nil || res.Attempts != 1 || res.RequestID != "req_ok" {
		t.Fatalf("got %+v, %v; want 1 attempt, req_ok", res, err)
	}
	fail = 2
	res, err = c.WithToken("second").RevokeTokenAttempts(t.Context(), "f1", "k1")
	if err != nil || res.Attempts != 3 || res.RequestID != "req_ok" {
		t.Fatalf("got %+v, %v; want 3 attempts, req_ok", res, err)
	}
	if auth != "Bearer second" {
		t.Fatalf("WithToken sent %q", auth)
	}
}
