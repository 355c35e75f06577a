package cmdopapi

import "regexp"

// SecretPattern matches anything shaped like a CMDOP token. It is used to
// mask log output and to scrub error text that came from outside the provider.
var SecretPattern = regexp.MustCompile(`cmdop_[0-9A-Za-z]{16,}`)

// Redact replaces anything shaped like a CMDOP token in s.
func Redact(s string) string {
	return SecretPattern.ReplaceAllString(s, "cmdop_***")
}
