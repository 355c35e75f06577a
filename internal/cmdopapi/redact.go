package cmdopapi

import (
	"net/url"
	"regexp"
)

// SecretPattern matches anything shaped like a CMDOP token, also with its
// underscore percent-encoded (cmdop%5F…), as a token pasted into a URL is.
// It is used to mask log output and to scrub error text that came from
// outside the provider.
var SecretPattern = regexp.MustCompile(`cmdop(?:_|%5[Ff])[0-9A-Za-z]{16,}`)

// TokenPattern is the shape of a whole CMDOP token: cmdop_ followed by at
// least 32 base62 characters (the contract's bearer scheme).
var TokenPattern = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{32,}$`)

// bareSecret is a run of base62 characters as long as a token's body: a
// secret pasted without its cmdop_ prefix.
var bareSecret = regexp.MustCompile(`[0-9A-Za-z]{32,}`)

// Redact replaces anything shaped like a CMDOP token in s.
func Redact(s string) string {
	return SecretPattern.ReplaceAllString(s, "cmdop_***")
}

// RedactEcho is Redact, and also masks any run of base62 characters as
// long as a token's body: for text that may echo a request's path, such as
// an API error quoting a base URL into which a secret was pasted without
// its cmdop_ prefix. (UUIDs and key prefixes are far shorter runs.)
func RedactEcho(s string) string {
	return bareSecret.ReplaceAllString(Redact(s), "***")
}

// KeyPrefix is the public prefix of a token (cmdop_ and 6 characters), which
// the API shows in every token's key_prefix; "" for a string not shaped like
// a token.
func KeyPrefix(token string) string {
	if !TokenPattern.MatchString(token) {
		return ""
	}
	return token[:len("cmdop_")+6]
}

// SafeURL shows a base URL as its scheme and host only, so that a path,
// a query or user info, where a pasted secret may sit (with or without its
// prefix, percent-encoded or not), is never printed. A host that looks like
// a secret is masked too.
func SafeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return bareSecret.ReplaceAllString(Redact(s), "***")
	}
	host := bareSecret.ReplaceAllString(Redact(u.Host), "***")
	if u.Scheme == "" {
		return host
	}
	return u.Scheme + "://" + host
}
