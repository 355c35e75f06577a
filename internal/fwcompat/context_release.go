package fwcompat

// A workaround for a memory leak in terraform-plugin-framework v1.19.0.
//
// The framework's internal/proto6server/serve.go wraps every request's
// context in registerContext, which appends the context's cancel function to
// Server.contextCancels. Only StopProvider (cancelRegisteredContexts) empties
// that slice, and Terraform sends StopProvider only on an interrupt. So every
// request's context, with its loggers and values, stays reachable for the
// life of the process: about 35 KB a request, 160 MiB in a no-op plan of
// 1,000 resources (bench/README.md, "Upstream").
//
// The wrapper below lets the framework's own StopProvider empty the slice,
// but only at moments when no request is in flight, so that it cancels
// nothing that is running: every request holds a read lock from before the
// framework registers its context until the response (or, for a streaming
// response, the whole stream) is done, and the clearer runs only under the
// write lock, taken with TryLock so that it never waits and never delays a
// request. A StopProvider from Terraform goes straight through and cancels
// everything in flight, as before. In v1.19.0 StopProvider does nothing else
// (no stopped flag, nothing that fails later requests).
//
// Remove this file, and go back to providerserver.Serve and
// providerserver.NewProtocol6WithError, once the framework stops retaining
// the cancel functions of finished requests: TestContextRelease_frameworkStillLeaks
// fails on that day. Each new framework version is to be checked against
// this comment first (framework_version_test.go).

import (
	"context"
	"iter"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// Serve is providerserver.Serve (protocol 6) with the workaround. It calls
// providerFunc once.
func Serve(_ context.Context, providerFunc func() provider.Provider, opts providerserver.ServeOpts) error {
	var serveOpts []tf6server.ServeOpt
	if opts.Debug {
		serveOpts = append(serveOpts, tf6server.WithManagedDebug())
	}
	p := providerFunc()
	return tf6server.Serve(opts.Address, func() tfprotov6.ProviderServer {
		return releaseContexts(providerserver.NewProtocol6(p)())
	}, serveOpts...)
}

// NewProtocol6WithError is providerserver.NewProtocol6WithError with the
// workaround, for the acceptance tests.
func NewProtocol6WithError(p provider.Provider) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) {
		return releaseContexts(providerserver.NewProtocol6(p)()), nil
	}
}

// frameworkServer is what the framework's server implements.
type frameworkServer interface {
	tfprotov6.ProviderServer
	tfprotov6.ListResourceServer
	tfprotov6.ActionServer
	tfprotov6.StateStoreServer
}

// contextReleaser wraps the framework's server. It implements every method
// explicitly, without embedding, so that a method added to the interface
// fails to compile here instead of running without the lock.
type contextReleaser struct {
	inner frameworkServer
	// mu is read-locked by every request in flight; the clearer holds it
	// for writing.
	mu sync.RWMutex
}

var _ frameworkServer = (*contextReleaser)(nil)

func releaseContexts(inner tfprotov6.ProviderServer) tfprotov6.ProviderServer {
	s, ok := inner.(frameworkServer)
	if !ok {
		return inner
	}
	return &contextReleaser{inner: s}
}

func (s *contextReleaser) enter() { s.mu.RLock() }

// leave ends a request and, if no other is in flight, has the framework
// drop the contexts it registered. A clear missed when two requests end at
// once is made up at the next request's end.
func (s *contextReleaser) leave() {
	s.mu.RUnlock()
	if s.mu.TryLock() {
		_, _ = s.inner.StopProvider(context.Background(), &tfprotov6.StopProviderRequest{})
		s.mu.Unlock()
	}
}

// serve runs one unary request under the read lock.
func serve[Req, Resp any](s *contextReleaser, f func(context.Context, Req) (Resp, error), ctx context.Context, req Req) (Resp, error) {
	s.enter()
	defer s.leave()
	return f(ctx, req)
}

// stream keeps the read lock until seq, which runs after the method has
// returned, has finished.
func stream[T any](s *contextReleaser, seq iter.Seq[T], err error) (iter.Seq[T], bool) {
	if err != nil || seq == nil {
		s.leave()
		return seq, false
	}
	var once sync.Once
	return func(yield func(T) bool) {
		defer once.Do(s.leave)
		seq(yield)
	}, true
}

// StopProvider is Terraform's: it cancels every request in flight.
func (s *contextReleaser) StopProvider(ctx context.Context, req *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	return s.inner.StopProvider(ctx, req)
}

func (s *contextReleaser) GetMetadata(ctx context.Context, req *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	return serve(s, s.inner.GetMetadata, ctx, req)
}

func (s *contextReleaser) GetProviderSchema(ctx context.Context, req *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	return serve(s, s.inner.GetProviderSchema, ctx, req)
}

func (s *contextReleaser) GetResourceIdentitySchemas(ctx context.Context, req *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return serve(s, s.inner.GetResourceIdentitySchemas, ctx, req)
}

func (s *contextReleaser) ValidateProviderConfig(ctx context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return serve(s, s.inner.ValidateProviderConfig, ctx, req)
}

func (s *contextReleaser) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return serve(s, s.inner.ConfigureProvider, ctx, req)
}

func (s *contextReleaser) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return serve(s, s.inner.ValidateResourceConfig, ctx, req)
}

func (s *contextReleaser) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return serve(s, s.inner.UpgradeResourceState, ctx, req)
}

func (s *contextReleaser) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return serve(s, s.inner.ReadResource, ctx, req)
}

func (s *contextReleaser) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return serve(s, s.inner.PlanResourceChange, ctx, req)
}

func (s *contextReleaser) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return serve(s, s.inner.ApplyResourceChange, ctx, req)
}

func (s *contextReleaser) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return serve(s, s.inner.ImportResourceState, ctx, req)
}

func (s *contextReleaser) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return serve(s, s.inner.MoveResourceState, ctx, req)
}

func (s *contextReleaser) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return serve(s, s.inner.UpgradeResourceIdentity, ctx, req)
}

func (s *contextReleaser) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return serve(s, s.inner.GenerateResourceConfig, ctx, req)
}

func (s *contextReleaser) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return serve(s, s.inner.ValidateDataResourceConfig, ctx, req)
}

func (s *contextReleaser) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return serve(s, s.inner.ReadDataSource, ctx, req)
}

func (s *contextReleaser) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return serve(s, s.inner.CallFunction, ctx, req)
}

func (s *contextReleaser) GetFunctions(ctx context.Context, req *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return serve(s, s.inner.GetFunctions, ctx, req)
}

func (s *contextReleaser) ValidateEphemeralResourceConfig(ctx context.Context, req *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	return serve(s, s.inner.ValidateEphemeralResourceConfig, ctx, req)
}

func (s *contextReleaser) OpenEphemeralResource(ctx context.Context, req *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	return serve(s, s.inner.OpenEphemeralResource, ctx, req)
}

func (s *contextReleaser) RenewEphemeralResource(ctx context.Context, req *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	return serve(s, s.inner.RenewEphemeralResource, ctx, req)
}

func (s *contextReleaser) CloseEphemeralResource(ctx context.Context, req *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	return serve(s, s.inner.CloseEphemeralResource, ctx, req)
}

func (s *contextReleaser) ValidateListResourceConfig(ctx context.Context, req *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	return serve(s, s.inner.ValidateListResourceConfig, ctx, req)
}

func (s *contextReleaser) ListResource(ctx context.Context, req *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error) {
	s.enter()
	resp, err := s.inner.ListResource(ctx, req)
	var results iter.Seq[tfprotov6.ListResourceResult]
	if resp != nil {
		results = resp.Results
	}
	if wrapped, ok := stream(s, results, err); ok {
		resp = &tfprotov6.ListResourceServerStream{Results: wrapped}
	}
	return resp, err
}

func (s *contextReleaser) ValidateActionConfig(ctx context.Context, req *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	return serve(s, s.inner.ValidateActionConfig, ctx, req)
}

func (s *contextReleaser) PlanAction(ctx context.Context, req *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	return serve(s, s.inner.PlanAction, ctx, req)
}

func (s *contextReleaser) InvokeAction(ctx context.Context, req *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	s.enter()
	resp, err := s.inner.InvokeAction(ctx, req)
	var events iter.Seq[tfprotov6.InvokeActionEvent]
	if resp != nil {
		events = resp.Events
	}
	if wrapped, ok := stream(s, events, err); ok {
		resp = &tfprotov6.InvokeActionServerStream{Events: wrapped}
	}
	return resp, err
}

func (s *contextReleaser) ValidateStateStoreConfig(ctx context.Context, req *tfprotov6.ValidateStateStoreConfigRequest) (*tfprotov6.ValidateStateStoreConfigResponse, error) {
	return serve(s, s.inner.ValidateStateStoreConfig, ctx, req)
}

func (s *contextReleaser) ConfigureStateStore(ctx context.Context, req *tfprotov6.ConfigureStateStoreRequest) (*tfprotov6.ConfigureStateStoreResponse, error) {
	return serve(s, s.inner.ConfigureStateStore, ctx, req)
}

func (s *contextReleaser) ReadStateBytes(ctx context.Context, req *tfprotov6.ReadStateBytesRequest) (*tfprotov6.ReadStateBytesStream, error) {
	s.enter()
	resp, err := s.inner.ReadStateBytes(ctx, req)
	var chunks iter.Seq[tfprotov6.ReadStateByteChunk]
	if resp != nil {
		chunks = resp.Chunks
	}
	if wrapped, ok := stream(s, chunks, err); ok {
		resp = &tfprotov6.ReadStateBytesStream{Chunks: wrapped}
	}
	return resp, err
}

// WriteStateBytes consumes its request stream before it returns.
func (s *contextReleaser) WriteStateBytes(ctx context.Context, req *tfprotov6.WriteStateBytesStream) (*tfprotov6.WriteStateBytesResponse, error) {
	return serve(s, s.inner.WriteStateBytes, ctx, req)
}

func (s *contextReleaser) GetStates(ctx context.Context, req *tfprotov6.GetStatesRequest) (*tfprotov6.GetStatesResponse, error) {
	return serve(s, s.inner.GetStates, ctx, req)
}

func (s *contextReleaser) DeleteState(ctx context.Context, req *tfprotov6.DeleteStateRequest) (*tfprotov6.DeleteStateResponse, error) {
	return serve(s, s.inner.DeleteState, ctx, req)
}

func (s *contextReleaser) LockState(ctx context.Context, req *tfprotov6.LockStateRequest) (*tfprotov6.LockStateResponse, error) {
	return serve(s, s.inner.LockState, ctx, req)
}

func (s *contextReleaser) UnlockState(ctx context.Context, req *tfprotov6.UnlockStateRequest) (*tfprotov6.UnlockStateResponse, error) {
	return serve(s, s.inner.UnlockState, ctx, req)
}
