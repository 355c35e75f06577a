package cmdoplocal_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []cmdoplocal.Options{
		{AdminToken: "secret"},
		{FailRate: 2},
		{Latency: -time.Second},
		{RateLimit: -1},
	} {
		if _, err := cmdoplocal.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

// TestOversizeBodyKeepsConnection sends an 8 MiB create on one raw HTTP/1.1
// connection: the whole body is written without a broken pipe, the answer
// is a 413 that keeps the connection open, nothing is created, and the same
// connection then carries the next request.
func TestOversizeBodyKeepsConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cmdoplocal.Options{})
	hs := httptest.NewServer(e.srv) // the server as cmdop-local serves it, on a connection of our own
	t.Cleanup(hs.Close)
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(conn)

	const size = 8 << 20
	body := `{"name":"` + strings.Repeat("a", size-40) + `","scopes":["files:read"]}`
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: cmdop-local\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", personalPath, e.admin, len(body))
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(conn, head+body)
		wrote <- err
	}()
	res, err := http.ReadResponse(br, &http.Request{Method: "POST"})
	if err != nil {
		t.Fatalf("reading the answer to the 8 MiB body: %v", err)
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writing the 8 MiB body: %v (the server stopped reading it)", err)
	}
	mustf(t, res.StatusCode == http.StatusRequestEntityTooLarge, "status %d, want 413: %s", res.StatusCode, data)
	mustf(t, !res.Close, "the 413 closes the connection")
	var eb cmdopapi.ErrorBody
	mustf(t, json.Unmarshal(data, &eb) == nil && eb.Error.Code == cmdopapi.CodeValidation && strings.Contains(eb.Error.Message, "1 MiB"), "body %s", data)

	// The same connection carries the next request.
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: cmdop-local\r\nAuthorization: Bearer %s\r\n\r\n", personalPath, e.admin); err != nil {
		t.Fatalf("the connection is broken after the 413: %v", err)
	}
	res, err = http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("the connection is broken after the 413: %v", err)
	}
	var page cmdopapi.TokenPage
	data, _ = io.ReadAll(res.Body)
	res.Body.Close()
	mustf(t, res.StatusCode == 200 && json.Unmarshal(data, &page) == nil, "the next request: %d %s", res.StatusCode, data)
	mustf(t, page.Total == 1, "personal tokens after the refused create: %d, want the admin's 1", page.Total) // 0 writes

	// Through a Go client and the contract checker: a well-formed 413 too.
	req, _ := http.NewRequest("POST", e.url+personalPath, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	res, err = e.client.Do(req)
	if err != nil {
		t.Fatalf("a Go client's 8 MiB create: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	mustf(t, res.StatusCode == 413, "a Go client's 8 MiB create: %d", res.StatusCode)
	stats := e.srv.Stats()
	mustf(t, stats.ByStatus["201"] == 0, "a create succeeded: %v", stats.ByStatus)
}

// TestLogMasksSecretShapedPathSegments: a secret pasted into a base URL ends
// up in request paths; cmdop-local's request log, and the 404 that echoes
// the path of an unknown route, mask every segment shaped like one: with or without its cmdop_
// prefix, in any case, percent-encoded once or twice. Token IDs (UUIDs) and
// plain segments stay readable.
func TestLogMasksSecretShapedPathSegments(t *testing.T) {
	t.Parallel()
	var logs syncLog
	e := newEnv(t, cmdoplocal.Options{Logger: logs.logger()})
	const body = "Zq8Xw3RtYb5NcVd7LmKp2HsJf9GaUe4TiOo6PyQr" // 40 base62: a secret without its prefix
	tok := e.createFleetToken("kept", "files:read")
	for _, p := range []string{
		"/api/fleets/" + body + "/api-keys",
		"/api/cmdop%5F" + body + "/api-keys",
		"/api/CMDOP_" + body[:20],
		"/api/cmdop%255F" + body,
		"/api/x-" + body + "-y/api-keys",
	} {
		r := e.do("GET", p, e.admin, nil)
		mustf(t, r.status == 404, "GET %s: %d", p, r.status)
		if r.errBody(t).Reason == cmdopapi.ReasonRouteNotFound { // it echoes the path
			mustf(t, !strings.Contains(string(r.body), body[:16]), "the 404 of %s echoes the secret: %s", p, r.body)
		}
	}
	e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 200, "")
	out := logs.String()
	mustf(t, !strings.Contains(out, body[:16]) && !strings.Contains(out, body[20:36]), "the log shows the secret:\n%s", out)
	mustf(t, strings.Count(out, "/***") >= 5, "the log masks fewer than 5 paths:\n%s", out)
	mustf(t, strings.Contains(out, "/api/fleets/***/api-keys status=404"), "the masked path lost its shape:\n%s", out)
	mustf(t, strings.Contains(out, fleetPath(e.fleet)+"/"+tok.ID+" status=200"), "a token ID was masked:\n%s", out)
	mustf(t, strings.Contains(out, "/api/audit/events") || strings.Contains(out, fleetPath(e.fleet)+" status=201"), "plain paths were masked:\n%s", out)
}

// syncLog collects a server's log lines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *syncLog) logger() *log.Logger { return log.New(l, "", 0) }
