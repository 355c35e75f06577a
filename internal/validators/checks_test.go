package validators

import (
	"strings"
	"testing"
)

func TestCheckGracePeriod(t *testing.T) {
	for s, ok := range map[string]bool{"0s": true, "1h": true, "7d": true, "168h": true, "169h": false, "8d": false, "65535d": false, "soon": false} {
		if err := CheckGracePeriod(s); (err == nil) != ok {
			t.Errorf("CheckGracePeriod(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func TestCheckBaseURL_masksSecrets(t *testing.T) {
	secret := "cmdop_" + strings.Repeat("Zz9", 11)
	for _, u := range []string{secret, "http://" + secret + ".example.com", "https://me:" + secret + "@api.cmdop.com"} {
		err := CheckBaseURL(u)
		if err == nil {
			t.Fatalf("CheckBaseURL(%s…) accepted it", u[:10])
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

// A base URL that fails validation is shown as scheme and host only, so a
// secret in its path (prefix-less or percent-encoded) or query never shows.
func TestCheckBaseURL_showsSchemeAndHostOnly(t *testing.T) {
	body := strings.Repeat("Qq7", 11)
	for _, u := range []string{
		"https://api.cmdop.com/" + body + "?x=1",
		"https://api.cmdop.com/cmdop%5F" + body + "#f",
		"http://api.cmdop.com/" + body,
		"https://me:" + body + "@api.cmdop.com/",
	} {
		err := CheckBaseURL(u)
		if err == nil {
			t.Fatalf("CheckBaseURL accepted %s…", u[:24])
		}
		if strings.Contains(err.Error(), body) || !strings.Contains(err.Error(), `"`+strings.SplitN(u, ":", 2)[0]+`://api.cmdop.com"`) {
			t.Errorf("want only the scheme and host, got: %v", err)
		}
	}
}

// CheckBaseURL: an absolute http(s) URL with a host, no credentials,
// query or fragment, and plain http only to a loopback host.
func TestCheckBaseURL(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.cmdop.com":           "",
		"https://api.cmdop.com/prefix":    "",
		"http://localhost:8790":           "",
		"http://127.0.0.1:8790":           "",
		"http://[::1]:8790":               "",
		"api.cmdop.com":                   "is not an absolute http(s) URL",
		"ftp://api.cmdop.com":             "is not an absolute http(s) URL",
		"https://":                        "is not an absolute http(s) URL",
		"https://%zz":                     "is not an absolute http(s) URL",
		"https://user:pw@api.cmdop.com":   "must not contain credentials",
		"https://api.cmdop.com/?q=1":      "must not contain credentials, a query",
		"https://api.cmdop.com/#frag":     "must not contain credentials, a query or a fragment",
		"http://api.cmdop.com":            "uses plain http to a host that is not loopback",
		"http://10.0.0.1:8790":            "uses plain http to a host that is not loopback",
		"http://localhost.example.com:80": "uses plain http to a host that is not loopback",
	} {
		err := CheckBaseURL(url)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckBaseURL(%q) = %v, want nil", url, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckBaseURL(%q) = %v, want an error containing %q", url, err, want)
		}
	}
}

// The years 0001 to 9999, in UTC, and not beyond.
func TestParseExpiry_yearBounds(t *testing.T) {
	for s, ok := range map[string]bool{
		"0001-01-01T00:00:00Z":      true,
		"9999-12-31T00:00:00Z":      true,
		"0001-01-01T00:30:00+01:00": false, // year 0 in UTC
		"9999-12-31T23:30:00-01:00": false, // year 10000 in UTC
	} {
		if _, err := ParseExpiry(s); (err == nil) != ok {
			t.Errorf("ParseExpiry(%q) = %v, want ok %v", s, err, ok)
		}
	}
}
