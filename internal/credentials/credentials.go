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
//     CMDOP CLI keeps per mode ("prod" or "dev").
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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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
	DefaultConfigDirName = ".cmdop"
	WorkspacesFileName   = "ssh_workspaces.json"
)

// TokenFileName is the name of the file holding the CLI's OAuth login for
// mode, e.g. "token_prod.json".
func TokenFileName(mode string) string { return "token_" + mode + ".json" }

// Result.Source values for the sources that are not files. File sources are
// described by their path (see Result.Source).
const (
	SourceAttribute = "provider configuration"
	SourceEnvToken  = "environment variable " + EnvToken
	SourceEnvAPIKey = "environment variable " + EnvAPIKey
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
}

// ValidMode reports whether m is a known mode ("prod" or "dev").
func ValidMode(m string) bool {
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
	if !ValidMode(mode) {
		return Result{}, newError(ErrInvalidMode, nil, "mode %q is not valid: use %q or %q", mode, ModeProd, ModeDev)
	}

	res := Result{Mode: mode, ConfigDir: resolveConfigDir(in.ConfigDir, getenv)}

	var err error
	switch {
	case set(in.Token):
		res.Token, res.Source = strings.TrimSpace(in.Token), SourceAttribute
	case set(getenv(EnvToken)):
		res.Token, res.Source = strings.TrimSpace(getenv(EnvToken)), SourceEnvToken
	case set(getenv(EnvAPIKey)):
		res.Token, res.Source = strings.TrimSpace(getenv(EnvAPIKey)), SourceEnvAPIKey
	default:
		err = resolveFromFiles(&res, now())
	}
	if err != nil {
		return Result{}, err
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
		dir = filepath.Join(home, DefaultConfigDirName)
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

// resolveFromFiles tries the workspaces file, then the OAuth token file for
// res.Mode, filling in res.Token and res.Source from the first that supplies
// a token and appending any warnings.
func resolveFromFiles(res *Result, now time.Time) error {
	if res.ConfigDir == "" {
		return nil
	}
	st, err := os.Stat(res.ConfigDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return newError(ErrUnreadable, err, "cannot read CMDOP config directory %s: %v", res.ConfigDir, osReason(err))
	case !st.IsDir():
		return newError(ErrUnreadable, nil, "CMDOP config directory %s is not a directory", res.ConfigDir)
	}

	token, source, err := fromWorkspacesFile(filepath.Join(res.ConfigDir, WorkspacesFileName))
	if err != nil {
		return err
	}
	if token != "" {
		res.Token, res.Source = token, source
		return nil
	}

	path := filepath.Join(res.ConfigDir, TokenFileName(res.Mode))
	token, warning, err := fromTokenFile(path, now)
	if err != nil {
		return err
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	if token != "" {
		res.Token, res.Source = token, path
	}
	return nil
}

// workspacesFile is the part of ssh_workspaces.json the provider uses.
// Other fields (remote_id, remote_name, last_synced_at) are ignored, so a
// change to them in the CLI cannot break the provider.
type workspacesFile struct {
	Active     string      `json:"active"`
	Workspaces []workspace `json:"workspaces"`
}

type workspace struct {
	Name   string `json:"name"`
	APIKey string `json:"api_key"`
}

// fromWorkspacesFile returns the active workspace's api_key from path and the
// source describing it; "" when the file is missing, selects no workspace,
// or the active workspace has no api_key.
func fromWorkspacesFile(path string) (token, source string, err error) {
	data, err := readCredentialsFile(path)
	if err != nil || data == nil {
		return "", "", err
	}
	var wf workspacesFile
	if err := decodeJSON(path, data, &wf); err != nil {
		return "", "", err
	}
	if wf.Active == "" {
		return "", "", nil
	}
	names := make([]string, 0, len(wf.Workspaces))
	for _, ws := range wf.Workspaces {
		if ws.Name == wf.Active {
			if !set(ws.APIKey) {
				return "", "", nil
			}
			return strings.TrimSpace(ws.APIKey), fmt.Sprintf("%s (workspace %q)", path, ws.Name), nil
		}
		names = append(names, fmt.Sprintf("%q", ws.Name))
	}
	available := "none"
	if len(names) > 0 {
		available = strings.Join(names, ", ")
	}
	return "", "", newError(ErrUnknownWorkspace, nil,
		"%s: the active workspace %q does not exist (available workspaces: %s). Run: cmdop workspace use <name>, or set %s",
		path, wf.Active, available, EnvToken)
}

// tokenFile is the part of token_<mode>.json the provider uses.
type tokenFile struct {
	AccessToken string `json:"access_token"`
	ExpiresAt   string `json:"expires_at"`
}

// fromTokenFile returns the access_token from path; "" when the file is
// missing or has no access_token, and "" with a warning when the login
// has expired (by now).
func fromTokenFile(path string, now time.Time) (token, warning string, err error) {
	data, err := readCredentialsFile(path)
	if err != nil || data == nil {
		return "", "", err
	}
	var tf tokenFile
	if err := decodeJSON(path, data, &tf); err != nil {
		return "", "", err
	}
	var expiresAt time.Time
	if tf.ExpiresAt != "" {
		// The parse error is not wrapped: it would quote the value.
		if expiresAt, err = time.Parse(time.RFC3339, tf.ExpiresAt); err != nil {
			return "", "", newError(ErrMalformedFile, nil, "%s: field %q is not an RFC3339 time", path, "expires_at")
		}
	}
	if !set(tf.AccessToken) {
		return "", "", nil
	}
	if !expiresAt.IsZero() && !now.Before(expiresAt) {
		return "", fmt.Sprintf("The CMDOP login in %s expired at %s and was skipped. Run \"cmdop login\" again, or set %s.",
			path, expiresAt.UTC().Format(time.RFC3339), EnvToken), nil
	}
	return strings.TrimSpace(tf.AccessToken), "", nil
}

// readCredentialsFile returns the contents of path, or nil (and no error)
// when it does not exist. It refuses files that are not regular files, are
// accessible by other users (except on Windows, where Unix permission bits
// mean nothing), or are implausibly large.
func readCredentialsFile(path string) ([]byte, error) {
	// Stat before opening: opening a FIFO would block.
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, newError(ErrUnreadable, err, "cannot read credentials file %s: %v", path, osReason(err))
	case !st.Mode().IsRegular():
		return nil, newError(ErrUnreadable, nil, "credentials file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		access := "written"
		if perm&0o044 != 0 {
			access = "read"
		}
		return nil, newError(ErrInsecureFile, nil,
			"credentials file %s can be %s by other users (mode %04o); the provider refuses to use it. Run: chmod 600 %s",
			path, access, uint32(perm), path)
	}
	if st.Size() > maxFileSize {
		return nil, newError(ErrUnreadable, nil, "credentials file %s is too large (%d bytes)", path, st.Size())
	}

	f, err := os.Open(path)
	if err != nil {
		return nil, newError(ErrUnreadable, err, "cannot read credentials file %s: %v", path, osReason(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, newError(ErrUnreadable, err, "cannot read credentials file %s: %v", path, osReason(err))
	}
	if len(data) > maxFileSize {
		return nil, newError(ErrUnreadable, nil, "credentials file %s is too large", path)
	}
	return data, nil
}

// decodeJSON unmarshals data (the contents of path) into v. Its errors name
// the file and, for a type mismatch, the field, but never quote the data:
// encoding/json's own messages may contain a character or a number taken
// from the input, which could be part of a token.
func decodeJSON(path string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return newError(ErrMalformedFile, nil, "%s: not valid JSON (at byte offset %d)", path, syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return newError(ErrMalformedFile, nil, "%s: the top-level value is not a JSON object", path)
	case errors.As(err, &typeErr):
		return newError(ErrMalformedFile, nil, "%s: field %q has the wrong type (want %s)", path, typeErr.Field, jsonKind(typeErr.Type))
	default:
		return newError(ErrMalformedFile, nil, "%s: not valid JSON", path)
	}
}

// jsonKind names the JSON kind that decodes into t (the decoded structs
// hold only strings, arrays and objects).
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "another type"
	}
}

// osReason returns the bare reason of an os error ("permission denied"),
// without the path and operation, which the caller states itself.
func osReason(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// credError is an error with a user-facing message that matches its kind
// (one of the Err* sentinels) and, optionally, an underlying cause under
// errors.Is/As.
type credError struct {
	kind  error
	cause error
	msg   string
}

func newError(kind, cause error, format string, args ...any) error {
	return &credError{kind: kind, cause: cause, msg: fmt.Sprintf(format, args...)}
}

func (e *credError) Error() string { return e.msg }

func (e *credError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}
