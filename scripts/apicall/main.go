// Command apicall makes one authenticated GET to the CMDOP API and prints
// the response body, so that make demo needs nothing but Go. The token is
// read from the first line of standard input, never from the command line,
// so that it shows up in no process listing.
//
//	printf '%s\n' "$CMDOP_TOKEN" | apicall "$CMDOP_API_BASE_URL/api/account"
//
// It exits 1 on a connection error or an HTTP status of 400 or more.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apicall:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: apicall URL (token on standard input)")
	}
	token, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, os.Args[1], nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d (request ID %s)", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	return nil
}
