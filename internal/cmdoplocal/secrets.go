package cmdoplocal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

const (
	secretPrefix    = "cmdop_"
	secretRandomLen = 40 // base62 characters after the prefix
	keyPrefixLen    = 12 // "cmdop_" and six characters
	base62Alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// secretPattern is what a bearer token must look like before it is looked up.
var secretPattern = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{32,}$`)

// newSecret returns "cmdop_" followed by 40 uniformly random base62 characters.
func newSecret() string {
	out := make([]byte, 0, len(secretPrefix)+secretRandomLen)
	out = append(out, secretPrefix...)
	buf := make([]byte, 64)
	for len(out) < cap(out) {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the distribution uniform.
			if b < 248 && len(out) < cap(out) {
				out = append(out, base62Alphabet[b%62])
			}
		}
	}
	return string(out)
}

// hashSecret returns the hex SHA-256 of a secret, the only form ever stored.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// hashesEqual compares two hex hashes in constant time.
func hashesEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// controlTokenPrefix starts a generated control token: it is not shaped like
// an API token, so neither can be taken for the other.
const controlTokenPrefix = "cmdoplocal_control_"

var controlTokenPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{32,256}$`)

// newControlToken returns a fresh control token.
func newControlToken() string {
	return controlTokenPrefix + newSecret()[len(secretPrefix):]
}

// validControlToken reports whether s can be a control token.
func validControlToken(s string) bool { return controlTokenPattern.MatchString(s) }

// validSecret reports whether s has the shape of a CMDOP token.
func validSecret(s string) bool { return secretPattern.MatchString(s) }

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID returns an identifier for one request.
func newRequestID() string { return "req_" + randomHex(8) }

// A request path may carry a secret by mistake: pasted into a base URL, with
// or without its cmdop_ prefix, percent-encoded or not. These match one.
var (
	prefixedSecretPattern = regexp.MustCompile(`(?i)cmdop_[0-9a-z]{16,}`)
	bareSecretPattern     = regexp.MustCompile(`[0-9A-Za-z]{32,}`)
)

// secretShaped reports whether a path segment, once percent-decoded (up to
// three times), holds something shaped like a secret: cmdop_ and 16 or more
// base62 characters in any case, or a run of 32 or more base62 characters
// with both letters and digits, as the random part of a secret or a control
// token has. UUIDs and words are not.
func secretShaped(seg string) bool {
	for range 3 {
		u, err := url.PathUnescape(seg)
		if err != nil || u == seg {
			break
		}
		seg = u
	}
	if prefixedSecretPattern.MatchString(seg) {
		return true
	}
	for _, m := range bareSecretPattern.FindAllString(seg, -1) {
		if strings.ContainsAny(m, "0123456789") && strings.IndexFunc(m, func(r rune) bool { return r > '9' }) >= 0 {
			return true
		}
	}
	return false
}

// maskPath replaces each secret-shaped segment of an escaped request path
// with "***", for the log and for messages that echo the path.
func maskPath(escaped string) string {
	segs := strings.Split(escaped, "/")
	for i, s := range segs {
		if secretShaped(s) {
			segs[i] = "***"
		}
	}
	return strings.Join(segs, "/")
}
