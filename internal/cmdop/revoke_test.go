package cmdop_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

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
