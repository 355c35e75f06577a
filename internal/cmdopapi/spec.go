package cmdopapi

import _ "embed"

// OpenAPISpec is the v1 API contract that the client and cmdop-local are both held to.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
