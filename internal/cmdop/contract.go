package cmdop

// Every answer is held to the contract before the caller sees it: a wrong
// base URL (a proxy, a health endpoint, a gateway that says 200 with a JSON
// body to every path) must fail, never reach the Terraform state.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// ContractError says that the server at the base URL did not answer like the
// CMDOP API: a status, a body or a field that the contract does not allow,
// or a token other than the one asked for. Nothing it said may be trusted.
type ContractError struct {
	Method, Route string
	StatusCode    int
	RequestID     string
	// Why says what was wrong, never quoting a secret.
	Why string
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("%s %s: the server does not answer like the CMDOP API (HTTP %d, request ID %s): %s",
		e.Method, e.Route, e.StatusCode, orNone(e.RequestID), e.Why)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ErrNotCMDOPAPI matches every *ContractError with errors.Is.
var ErrNotCMDOPAPI = errors.New("the server does not answer like the CMDOP API")

// Is makes errors.Is(err, ErrNotCMDOPAPI) true.
func (e *ContractError) Is(target error) bool { return target == ErrNotCMDOPAPI }

// AsContractError returns the contract error wrapped in err, if any.
func AsContractError(err error) (*ContractError, bool) {
	var ce *ContractError
	ok := errors.As(err, &ce)
	return ce, ok
}

var contract struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

func contractDoc() (*openapi3.T, error) {
	contract.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(cmdopapi.OpenAPISpec)
		if err == nil {
			err = doc.Validate(context.Background())
		}
		contract.doc, contract.err = doc, err
	})
	return contract.doc, contract.err
}

// checkContract validates a response against its operation in the
// contract: a status the operation documents (a success only if listed),
// and a body that its schema accepts.
func checkContract(ctx context.Context, cl call, req *http.Request, status int, header http.Header, raw []byte) error {
	doc, err := contractDoc()
	if err != nil {
		return fmt.Errorf("loading the API contract: %w", err)
	}
	pathItem := doc.Paths.Value(cl.route)
	if pathItem == nil || pathItem.GetOperation(cl.method) == nil {
		return fmt.Errorf("%s %s is not in the API contract", cl.method, cl.route)
	}
	op := pathItem.GetOperation(cl.method)
	fail := func(why string) error {
		return &ContractError{Method: cl.method, Route: cl.route, StatusCode: status, RequestID: header.Get("X-Request-Id"), Why: why}
	}
	if status < 300 && op.Responses.Status(status) == nil {
		return fail(fmt.Sprintf("HTTP %d is not an answer of this operation", status))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: cl.route, PathItem: pathItem, Method: cl.method, Operation: op},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fail(schemaReason(err))
	}
	return nil
}

// schemaReason names what failed without quoting the body, which may hold
// anything, a secret included.
func schemaReason(err error) string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			field := "the body"
			if p := se.JSONPointer(); len(p) > 0 {
				field = "field " + joinPointer(p)
			}
			return fmt.Sprintf("%s does not match the contract's schema (%s)", field, cmdopapi.Redact(se.Reason))
		}
		if re.Reason != "" {
			return cmdopapi.Redact(re.Reason)
		}
	}
	return "the response does not match the contract"
}

func joinPointer(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(cmdopapi.Redact(s))
	}
	return b.String()
}

// tokenCheck is what a token answer must say besides its schema: the ID
// asked for (or, for a create, a new one), and the same kind and fleet.
type tokenCheck struct {
	id      string // "" for a create: any new ID
	fleetID string // "" for a personal token
	name    string // for a create: the name asked for
}

func (w tokenCheck) check(t *cmdopapi.Token) string {
	if u, err := uuid.Parse(t.ID); err != nil || u.String() != t.ID {
		return "the token's id is not a UUID"
	}
	if w.id != "" && t.ID != w.id {
		return fmt.Sprintf("asked for token %s, the answer is token %s", w.id, t.ID)
	}
	if w.fleetID == "" {
		if t.FleetID != "" || t.UserID == "" {
			return "asked for a personal token, the answer is not one (it names a fleet, or no user)"
		}
	} else if t.FleetID != w.fleetID || t.UserID != "" {
		return fmt.Sprintf("asked for a token of fleet %q, the answer is a token of %s", cmdopapi.Redact(w.fleetID), tokenOwner(t))
	}
	if w.name != "" && t.Name != w.name {
		return "the created token's name is not the name asked for"
	}
	if t.CreatedAt.IsZero() {
		return "the token has no created_at"
	}
	return ""
}

func tokenOwner(t *cmdopapi.Token) string {
	if t.FleetID != "" {
		return fmt.Sprintf("fleet %q", cmdopapi.Redact(t.FleetID))
	}
	return "no fleet"
}

// checkAccount is what a who-am-I answer must say besides its schema.
func checkAccount(a *cmdopapi.Account) string {
	if u, err := uuid.Parse(a.TokenID); err != nil || u.String() != a.TokenID {
		return "token_id is not a UUID"
	}
	switch a.TokenType {
	case cmdopapi.TokenTypePersonal:
		if a.UserID == "" || a.FleetID != "" {
			return "a personal token's account must name its user and no fleet"
		}
	case cmdopapi.TokenTypeFleet:
		if a.FleetID == "" || a.UserID != "" {
			return "a fleet token's account must name its fleet and no user"
		}
	}
	if slices.Contains(a.Scopes, "") {
		return "a scope is empty"
	}
	return ""
}
