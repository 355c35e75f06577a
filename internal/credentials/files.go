package credentials

// Reading the CMDOP CLI's credentials files: the workspaces file and the
// OAuth login per mode, each checked for permissions before it is trusted.

import (
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

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// resolveFromFiles tries the workspaces file, then the OAuth token file for
// res.Mode, filling in res.Token and res.Source from the first that supplies
// a token and appending any warnings. The OAuth login is used only when
// baseURL is "" or the mode's own API.
func resolveFromFiles(res *Result, baseURL string, now time.Time) error {
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

	token, source, err := fromWorkspacesFile(filepath.Join(res.ConfigDir, workspacesFileName))
	if err != nil {
		return err
	}
	if token != "" {
		res.Token, res.Source = token, source
		return nil
	}

	path := filepath.Join(res.ConfigDir, tokenFileName(res.Mode))
	token, warning, err := fromTokenFile(path, now)
	if err != nil {
		return err
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	if own := DefaultBaseURLs[res.Mode]; token != "" && baseURL != "" && !SameAPI(baseURL, own) {
		// The login carries the user's full rights: it goes to its own
		// mode's API and nowhere else.
		res.Warnings = append(res.Warnings, fmt.Sprintf("The CMDOP CLI's login in %s is for the %s API (%s), but the API base URL is %s, "+
			"so the login was not used and never sent there. Set %s (or the provider's token argument) to a token of that API.",
			path, res.Mode, own, cmdopapi.SafeURL(baseURL), EnvToken))
		return nil
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
