package cmdopapi

import (
	"strings"
	"testing"
)

func TestRedactAndSafeURL(t *testing.T) {
	body := strings.Repeat("Ab3", 11)
	for in, want := range map[string]string{
		"token cmdop_" + body:                  "token cmdop_***",
		"path /cmdop%5F" + body + "/api":       "path /cmdop_***/api",
		"path /cmdop%5f" + body:                "path /cmdop_***",
		"GET /" + body + "/api/account":        "GET /" + body + "/api/account", // Redact alone keeps a bare run
		"uuid 5f0c3c52-8f51-4d5e-9d4c-0f6b1b0": "uuid 5f0c3c52-8f51-4d5e-9d4c-0f6b1b0",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := RedactEcho("GET /" + body + "/api/account"); got != "GET /***/api/account" {
		t.Errorf("RedactEcho = %q", got)
	}
	for in, want := range map[string]string{
		"https://api.cmdop.com/" + body + "?q=1": "https://api.cmdop.com",
		"http://127.0.0.1:8790/cmdop%5F" + body:  "http://127.0.0.1:8790",
		"https://u:" + body + "@api.cmdop.com/x": "https://api.cmdop.com",
		"http://cmdop_" + body + ".example.com/": "http://cmdop_***.example.com",
		"https://" + body + ".example.com":       "https://***.example.com",
		"cmdop_" + body:                          "cmdop_***",
	} {
		if got := SafeURL(in); got != want {
			t.Errorf("SafeURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := KeyPrefix("cmdop_" + body); got != "cmdop_Ab3Ab3" {
		t.Errorf("KeyPrefix = %q", got)
	}
	if got := KeyPrefix("ghp_" + body); got != "" {
		t.Errorf("KeyPrefix of another service's token = %q, want empty", got)
	}
}
