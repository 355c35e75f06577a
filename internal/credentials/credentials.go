// Package credentials resolves the API token the CMDOP provider
// authenticates with, from a chain of sources, much like the AWS provider
// reads shared credentials.
//
// The chain, in order; the first source that supplies a non-empty value wins:
//
//  1. the provider's token attribute;
//  2. the CMDOP_TOKEN environment variable;
//  3. the CMDOP_API_KEY environment variable;
//  4. the api_key of the active workspace in <config_dir>/ssh_workspaces.json,
//     the file where the CMDOP CLI keeps API tokens;
//  5. the access_token in <config_dir>/token_<mode>.json, the OAuth login the
//     CMDOP CLI keeps per mode ("prod" or "dev"). It carries the user's full
//     rights, so it is used only when the base URL is that mode's own API
//     (DefaultBaseURLs); with any other base URL it is skipped with a
//     warning, as gh keeps a login to its own host. The other sources are
//     tokens the user chose, and work with any base URL.
//
// The config dir is the CMDOP_CONFIG_DIR environment variable, or ~/.cmdop.
// Files are opened only when every earlier source supplied nothing, so a
// token from the configuration or the environment means no file is read. A
// missing config dir or file is skipped. A file that exists but cannot be
// trusted (readable by other users, malformed, naming an unknown workspace)
// is an error rather than being skipped silently, so that a broken setup is
// not mistaken for "no credentials".
//
// No token value ever appears in an error, a warning or a log line, and
// errors about a file never quote its contents.
package credentials

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Modes of the CMDOP CLI. Each mode has its own API and its own OAuth login.
const (
	ModeProd = "prod"
	ModeDev  = "dev"
)

// DefaultBaseURLs maps each mode to the base URL of its API.
var DefaultBaseURLs = map[string]string{
	ModeProd: "https://api.cmdop.com",
	ModeDev:  "https://api-dev.cmdop.com",
}

// Environment variables read by Resolve.
const (
	EnvToken     = "CMDOP_TOKEN"
	EnvAPIKey    = "CMDOP_API_KEY"
	EnvMode      = "CMDOP_MODE"
	EnvConfigDir = "CMDOP_CONFIG_DIR"
)

// Names of the CLI's config dir (under the home directory) and its files.
const (
	defaultConfigDirName = ".cmdop"
	workspacesFileName   = "ssh_workspaces.json"
)

// tokenFileName is the name of the file holding the CLI's OAuth login for
// mode, e.g. "token_prod.json".
func tokenFileName(mode string) string { return "token_" + mode + ".json" }

// Result.Source values for the sources that are not files. File sources are
// described by their path (see Result.Source).
const (
	sourceAttribute = "provider configuration"
	sourceEnvToken  = "environment variable " + EnvToken
	sourceEnvAPIKey = "environment variable " + EnvAPIKey
)

// Kinds of error Resolve returns; test for them with errors.Is. The error
// messages themselves are meant for the user and say what to do.
var (
	// ErrInvalidMode: the mode is neither "prod" nor "dev".
	ErrInvalidMode = errors.New("invalid CMDOP mode")
	// ErrInsecureFile: a credentials file can be read or written by users
	// other than its owner.
	ErrInsecureFile = errors.New("credentials file is accessible by other users")
	// ErrMalformedFile: a credentials file is not valid JSON, a field has
	// the wrong type, or a time is not RFC 3339.
	ErrMalformedFile = errors.New("malformed credentials file")
	// ErrUnknownWorkspace: ssh_workspaces.json names an active workspace
	// that it does not define.
	ErrUnknownWorkspace = errors.New("active CMDOP workspace not found")
	// ErrUnreadable: the config dir or a credentials file exists but cannot
	// be used (not a directory / regular file, permission denied, too large).
	ErrUnreadable = errors.New("cannot read CMDOP credentials")
)

// maxFileSize bounds how much of a credentials file is read; the real files
// are a few hundred bytes.
const maxFileSize = 1 << 20

// Input is what Resolve resolves from. The zero value means: no token
// attribute, mode and config dir from the environment or their defaults.
type Input struct {
	// Token is the provider's token attribute ("" = unset).
	Token string
	// Mode is "prod" or "dev"; "" means the CMDOP_MODE environment
	// variable, then "prod".
	Mode string
	// ConfigDir is the CLI's config dir; "" means the CMDOP_CONFIG_DIR
	// environment variable, then ~/.cmdop. A leading "~" is expanded to
	// the home directory.
	ConfigDir string
	// BaseURL is the API the token will be sent to; "" means the mode's own
	// API. The CLI's OAuth login is used only for its mode's API.
	BaseURL string
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Now is the current time, for expires_at checks; nil means time.Now.
	Now func() time.Time
}

// Result is the outcome of Resolve.
type Result struct {
	// Token is the credential, or "" when no source supplied one.
	Token string
	// Source names where Token came from: SourceAttribute,
	// SourceEnvToken, SourceEnvAPIKey,
	// `<config_dir>/ssh_workspaces.json (workspace "name")`,
	// `<config_dir>/token_<mode>.json`, or "" when there is no token.
	Source string
	// Mode is the resolved mode, "prod" or "dev".
	Mode string
	// ConfigDir is the resolved config dir ("" when it could not be
	// determined because the home directory is unknown).
	ConfigDir string
	// Warnings are problems that did not stop resolution, e.g. an expired
	// OAuth login that was skipped. They never contain token values.
	Warnings []string
	// Searched lists the sources looked at, in order, for an error that
	// says where no token was found.
	Searched []string
}

// SameAPI reports whether two base URLs name the same API: the same scheme
// and host (the default port made explicit), and the same path but for a
// trailing slash.
func SameAPI(a, b string) bool {
	ua, errA := url.Parse(strings.TrimSpace(a))
	ub, errB := url.Parse(strings.TrimSpace(b))
	if errA != nil || errB != nil {
		return false
	}
	norm := func(u *url.URL) string {
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[strings.ToLower(u.Scheme)]
		}
		return strings.ToLower(u.Scheme) + "://" + host + ":" + port + strings.TrimRight(u.EscapedPath(), "/")
	}
	return ua.User == nil && ub.User == nil && norm(ua) == norm(ub)
}

// validMode reports whether m is a known mode ("prod" or "dev").
func validMode(m string) bool {
	_, ok := DefaultBaseURLs[m]
	return ok
}

// Resolve finds the CMDOP API token from the chain described in the package
// documentation. Finding no token is not an error: Result.Token is then "".
// It logs one debug line naming the source (never the value).
func Resolve(ctx context.Context, in Input) (Result, error) {
	getenv := in.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	now := in.Now
	if now == nil {
		now = time.Now
	}

	mode := strings.TrimSpace(in.Mode)
	if mode == "" {
		mode = strings.TrimSpace(getenv(EnvMode))
	}
	if mode == "" {
		mode = ModeProd
	}
	if !validMode(mode) {
		return Result{}, newError(ErrInvalidMode, nil, "mode %q is not valid: use %q or %q", mode, ModeProd, ModeDev)
	}

	res := Result{Mode: mode, ConfigDir: resolveConfigDir(in.ConfigDir, getenv)}

	var err error
	switch {
	case set(in.Token):
		res.Token, res.Source = strings.TrimSpace(in.Token), sourceAttribute
	case set(getenv(EnvToken)):
		res.Token, res.Source = strings.TrimSpace(getenv(EnvToken)), sourceEnvToken
	case set(getenv(EnvAPIKey)):
		res.Token, res.Source = strings.TrimSpace(getenv(EnvAPIKey)), sourceEnvAPIKey
	default:
		err = resolveFromFiles(&res, strings.TrimSpace(in.BaseURL), now())
	}
	if err != nil {
		return Result{}, err
	}

	res.Searched = []string{"the provider's token argument", sourceEnvToken, sourceEnvAPIKey}
	if res.ConfigDir != "" {
		res.Searched = append(res.Searched,
			filepath.Join(res.ConfigDir, workspacesFileName)+" (the active workspace's api_key)",
			filepath.Join(res.ConfigDir, tokenFileName(mode))+" (the CMDOP CLI's login, for "+DefaultBaseURLs[mode]+" only)")
	}
	if res.Token != "" {
		tflog.Debug(ctx, "CMDOP credential resolved", map[string]any{"source": res.Source, "mode": res.Mode})
	} else {
		tflog.Debug(ctx, "No CMDOP credential found", map[string]any{"mode": res.Mode, "config_dir": res.ConfigDir})
	}
	return res, nil
}

// set reports whether a source value counts as supplied. Tokens never
// contain whitespace, so surrounding whitespace (a stray newline in an
// environment variable) is ignored.
func set(s string) bool { return strings.TrimSpace(s) != "" }

// resolveConfigDir returns the config dir from the input, the environment or
// the default, expanded and made absolute; "" when no home directory is
// known for the default.
func resolveConfigDir(dir string, getenv func(string) string) string {
	dir = strings.TrimSpace(dir)
	if dir == "" {
		dir = strings.TrimSpace(getenv(EnvConfigDir))
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, defaultConfigDirName)
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") || strings.HasPrefix(dir, "~"+string(filepath.Separator)) {
		if home, err := os.UserHomeDir(); err == nil && home != "" {
			dir = filepath.Join(home, dir[1:])
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}
