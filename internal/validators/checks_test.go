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
