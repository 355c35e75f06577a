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
