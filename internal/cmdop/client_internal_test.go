package cmdop

import (
	"net/http"
	"testing"
	"time"
)

// New fills each unset or non-positive setting with its default, and keeps
// a set one.
func TestNew_defaults(t *testing.T) {
	for _, c := range []struct {
		cfg             Config
		retries         int
		timeout, lo, hi time.Duration
	}{
		{Config{}, DefaultMaxRetries, DefaultRequestTimeout, 250 * time.Millisecond, 8 * time.Second},
		{Config{MaxRetries: -1, RequestTimeout: -1, RetryWaitMin: -1, RetryWaitMax: -1}, 0, DefaultRequestTimeout, 250 * time.Millisecond, 8 * time.Second},
		{Config{MaxRetries: 1, RequestTimeout: time.Nanosecond, RetryWaitMin: time.Nanosecond, RetryWaitMax: time.Nanosecond}, 1, time.Nanosecond, time.Nanosecond, time.Nanosecond},
		{Config{MaxRetries: 2, RequestTimeout: 3 * time.Second, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Second}, 2, 3 * time.Second, time.Millisecond, time.Second},
	} {
		cl, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := cl.http
		if h.RetryMax != c.retries || h.HTTPClient.Timeout != c.timeout || h.RetryWaitMin != c.lo || h.RetryWaitMax != c.hi {
			t.Errorf("New(%+v): retries %d, timeout %v, waits %v..%v; want %d, %v, %v..%v",
				c.cfg, h.RetryMax, h.HTTPClient.Timeout, h.RetryWaitMin, h.RetryWaitMax, c.retries, c.timeout, c.lo, c.hi)
		}
	}
}

// backoff: without Retry-After, "equal jitter" over lo<<attempt capped at
// hi (and hi when lo is 0); with it, never earlier than the server said,
// and at most half as long again (plus a millisecond).
func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	within := func(name string, got, from, to time.Duration) {
		t.Helper()
		if got < from || got > to {
			t.Errorf("%s: %v, want %v..%v", name, got, from, to)
		}
	}
	for range 200 {
		within("attempt 0", backoff(lo, hi, 0, nil), 50*time.Millisecond, 100*time.Millisecond)
		within("attempt 3", backoff(lo, hi, 3, nil), 400*time.Millisecond, 800*time.Millisecond)
		within("attempt 4, capped", backoff(lo, hi, 4, nil), 500*time.Millisecond, time.Second)
		within("attempt 60, capped", backoff(lo, hi, 60, nil), 500*time.Millisecond, time.Second)
		within("lo 0", backoff(0, hi, 2, nil), 500*time.Millisecond, time.Second)
		retryAfter := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}}
		within("Retry-After 2", backoff(lo, hi, 1, retryAfter), 2*time.Second, 3*time.Second+time.Millisecond)
		now := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"0"}}}
		within("Retry-After 0", backoff(lo, hi, 1, now), 0, time.Millisecond)
	}
}
