// Package validators holds the plan-time validators and parsers that the
// framework-validators library does not offer: token expiry forms, day-aware
// durations, and API base URLs.
package validators

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Expiry presets and how many days each lasts.
var ExpiryPresets = map[string]int{"30d": 30, "90d": 90, "1y": 365}

// ExpiryNever is the expiry of a token that never expires.
const ExpiryNever = "never"

// ExpiryForms describes the accepted expiry values, for error messages.
const ExpiryForms = `"never", "30d", "90d", "1y", or an RFC3339 timestamp at least one hour ahead such as "2030-01-02T15:04:05Z"`

// Expiry is a parsed expiry: never, a preset number of days, or a date.
type Expiry struct {
	Never bool
	Days  int
	At    time.Time
}

// ParseExpiry parses one of the forms in ExpiryForms. It checks only the
// form: whether a date is far enough ahead depends on when it is used.
func ParseExpiry(s string) (Expiry, error) {
	if s == ExpiryNever {
		return Expiry{Never: true}, nil
	}
	if days, ok := ExpiryPresets[s]; ok {
		return Expiry{Days: days}, nil
	}
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return Expiry{}, fmt.Errorf("%q is not a valid expiry: use %s", s, ExpiryForms)
	}
	if y := at.UTC().Year(); y < 1 || y > 9999 {
		return Expiry{}, fmt.Errorf("%q is outside the years 0001 to 9999: use %s", s, ExpiryForms)
	}
	return Expiry{At: at.UTC()}, nil
}

// ExpiresAt is when a token with this expiry, created at created, expires;
// ok is false for a token that never expires.
func (e Expiry) ExpiresAt(created time.Time) (at time.Time, ok bool) {
	switch {
	case e.Never:
		return time.Time{}, false
	case e.Days > 0:
		return created.Add(time.Duration(e.Days) * 24 * time.Hour), true
	default:
		return e.At, true
	}
}

// MinCustomExpiryLead is how far ahead a custom expiry date must be.
const MinCustomExpiryLead = time.Hour

// ParseDuration parses a Go duration ("168h", "90m", "0s") or a whole
// number of days ("7d"). Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	const hint = `use a duration such as "168h", "30m" or "7d"`
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a valid duration: %s", s, hint)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a valid duration: %s", s, hint)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative: %s", s, hint)
	}
	return d, nil
}

// CheckBaseURL checks that s is an absolute https URL, or an http URL to a
// loopback host (cmdop-local), with no credentials, query or fragment.
// Its errors quote the value with anything token-shaped masked: a token
// pasted into the URL setting must not be printed.
func CheckBaseURL(s string) error {
	// Shown as scheme and host only: a secret pasted into the path (with or
	// without its prefix, percent-encoded or not) is never printed.
	quoted := strconv.Quote(cmdopapi.SafeURL(s))
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s is not an absolute http(s) URL: use a URL such as https://api.cmdop.com", quoted)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s must not contain credentials, a query or a fragment: use only scheme, host and an optional path",
			quoted)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%s uses plain http to a host that is not loopback, which would send the token unencrypted: use https, or http only to localhost/127.0.0.1 for cmdop-local", quoted)
	}
	return nil
}

// MaxRevokeGracePeriod bounds revoke_grace_period: a destroy that leaves a
// token working for longer is not a revocation.
const MaxRevokeGracePeriod = 7 * 24 * time.Hour

// CheckGracePeriod checks a revoke_grace_period: a duration of at most 7 days.
func CheckGracePeriod(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	if d > MaxRevokeGracePeriod {
		return fmt.Errorf("%q is longer than 7 days: a destroy must end the token soon; use at most \"7d\", or \"0s\" to revoke at once", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
