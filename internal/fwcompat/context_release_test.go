package fwcompat

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/hashicorp/terraform-plugin-framework/action"
	aschema "github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// fakeServer registers every request's context the way the framework's
// proto6server does (registerContext), and cancels them all on StopProvider.
// Its handlers check that the wrapper holds its read lock, then wait (a
// little, or until cancelled) and record whether their context was
// cancelled while they ran.
type fakeServer struct {
	wrapper *contextReleaser
	block   bool // wait until the context is cancelled, instead of up to 1 ms

	mu      sync.Mutex
	cancels []context.CancelFunc
	called  map[string]int

	inFlight  atomic.Int64
	cancelled atomic.Int64 // requests that saw their context cancelled
	unlocked  atomic.Int64 // requests that ran without the wrapper's read lock
	stops     atomic.Int64
	started   chan struct{}
}

func newFake(block bool) (*fakeServer, *contextReleaser) {
	f := &fakeServer{block: block, called: map[string]int{}, started: make(chan struct{}, 100)}
	w, ok := releaseContexts(f).(*contextReleaser)
	if !ok {
		panic("releaseContexts did not wrap the fake")
	}
	f.wrapper = w
	return f, w
}

func (f *fakeServer) register(ctx context.Context, name string) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	f.cancels = append(f.cancels, cancel)
	f.called[name]++
	f.mu.Unlock()
	return ctx
}

func (f *fakeServer) registered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cancels)
}

// work is a request's body, run with its registered context.
func (f *fakeServer) work(ctx context.Context) {
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	if f.wrapper.mu.TryLock() {
		f.unlocked.Add(1)
		f.wrapper.mu.Unlock()
	}
	f.started <- struct{}{}
	if f.block {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	} else {
		runtime.Gosched()
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
	}
	if ctx.Err() != nil {
		f.cancelled.Add(1)
	}
}

func (f *fakeServer) handle(ctx context.Context, name string) {
	f.work(f.register(ctx, name))
}

// seq is a streaming response whose work happens while it is iterated,
// after the method has returned.
func seq[T any](f *fakeServer, ctx context.Context, name string) iter.Seq[T] {
	ctx = f.register(ctx, name)
	return func(yield func(T) bool) {
		f.work(ctx)
		var zero T
		yield(zero)
	}
}

func (f *fakeServer) StopProvider(context.Context, *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	f.stops.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cancels {
		c()
	}
	f.cancels = nil
	return &tfprotov6.StopProviderResponse{}, nil
}

func (f *fakeServer) GetMetadata(ctx context.Context, _ *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	f.handle(ctx, "GetMetadata")
	return nil, nil
}

func (f *fakeServer) GetProviderSchema(ctx context.Context, _ *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	f.handle(ctx, "GetProviderSchema")
	return nil, nil
}

func (f *fakeServer) GetResourceIdentitySchemas(ctx context.Context, _ *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	f.handle(ctx, "GetResourceIdentitySchemas")
	return nil, nil
}

func (f *fakeServer) ValidateProviderConfig(ctx context.Context, _ *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	f.handle(ctx, "ValidateProviderConfig")
	return nil, nil
}

func (f *fakeServer) ConfigureProvider(ctx context.Context, _ *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	f.handle(ctx, "ConfigureProvider")
	return nil, nil
}

func (f *fakeServer) ValidateResourceConfig(ctx context.Context, _ *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	f.handle(ctx, "ValidateResourceConfig")
	return nil, nil
}

func (f *fakeServer) UpgradeResourceState(ctx context.Context, _ *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	f.handle(ctx, "UpgradeResourceState")
	return nil, nil
}

func (f *fakeServer) ReadResource(ctx context.Context, _ *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	f.handle(ctx, "ReadResource")
	return nil, nil
}

func (f *fakeServer) PlanResourceChange(ctx context.Context, _ *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	f.handle(ctx, "PlanResourceChange")
	return nil, nil
}

func (f *fakeServer) ApplyResourceChange(ctx context.Context, _ *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	f.handle(ctx, "ApplyResourceChange")
	return nil, nil
}

func (f *fakeServer) ImportResourceState(ctx context.Context, _ *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	f.handle(ctx, "ImportResourceState")
	return nil, nil
}

func (f *fakeServer) MoveResourceState(ctx context.Context, _ *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	f.handle(ctx, "MoveResourceState")
	return nil, nil
}

func (f *fakeServer) UpgradeResourceIdentity(ctx context.Context, _ *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	f.handle(ctx, "UpgradeResourceIdentity")
	return nil, nil
}

func (f *fakeServer) GenerateResourceConfig(ctx context.Context, _ *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	f.handle(ctx, "GenerateResourceConfig")
	return nil, nil
}

func (f *fakeServer) ValidateDataResourceConfig(ctx context.Context, _ *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	f.handle(ctx, "ValidateDataResourceConfig")
	return nil, nil
}

func (f *fakeServer) ReadDataSource(ctx context.Context, _ *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	f.handle(ctx, "ReadDataSource")
	return nil, nil
}

func (f *fakeServer) CallFunction(ctx context.Context, _ *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	f.handle(ctx, "CallFunction")
	return nil, nil
}

func (f *fakeServer) GetFunctions(ctx context.Context, _ *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	f.handle(ctx, "GetFunctions")
	return nil, nil
}

func (f *fakeServer) ValidateEphemeralResourceConfig(ctx context.Context, _ *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	f.handle(ctx, "ValidateEphemeralResourceConfig")
	return nil, nil
}

func (f *fakeServer) OpenEphemeralResource(ctx context.Context, _ *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	f.handle(ctx, "OpenEphemeralResource")
	return nil, nil
}

func (f *fakeServer) RenewEphemeralResource(ctx context.Context, _ *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	f.handle(ctx, "RenewEphemeralResource")
	return nil, nil
}

func (f *fakeServer) CloseEphemeralResource(ctx context.Context, _ *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	f.handle(ctx, "CloseEphemeralResource")
	return nil, nil
}

func (f *fakeServer) ValidateListResourceConfig(ctx context.Context, _ *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	f.handle(ctx, "ValidateListResourceConfig")
	return nil, nil
}

func (f *fakeServer) ListResource(ctx context.Context, _ *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error) {
	return &tfprotov6.ListResourceServerStream{Results: seq[tfprotov6.ListResourceResult](f, ctx, "ListResource")}, nil
}

func (f *fakeServer) ValidateActionConfig(ctx context.Context, _ *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	f.handle(ctx, "ValidateActionConfig")
	return nil, nil
}

func (f *fakeServer) PlanAction(ctx context.Context, _ *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	f.handle(ctx, "PlanAction")
	return nil, nil
}

func (f *fakeServer) InvokeAction(ctx context.Context, _ *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	return &tfprotov6.InvokeActionServerStream{Events: seq[tfprotov6.InvokeActionEvent](f, ctx, "InvokeAction")}, nil
}

func (f *fakeServer) ValidateStateStoreConfig(ctx context.Context, _ *tfprotov6.ValidateStateStoreConfigRequest) (*tfprotov6.ValidateStateStoreConfigResponse, error) {
	f.handle(ctx, "ValidateStateStoreConfig")
	return nil, nil
}

func (f *fakeServer) ConfigureStateStore(ctx context.Context, _ *tfprotov6.ConfigureStateStoreRequest) (*tfprotov6.ConfigureStateStoreResponse, error) {
	f.handle(ctx, "ConfigureStateStore")
	return nil, nil
}

func (f *fakeServer) ReadStateBytes(ctx context.Context, _ *tfprotov6.ReadStateBytesRequest) (*tfprotov6.ReadStateBytesStream, error) {
	return &tfprotov6.ReadStateBytesStream{Chunks: seq[tfprotov6.ReadStateByteChunk](f, ctx, "ReadStateBytes")}, nil
}

func (f *fakeServer) WriteStateBytes(ctx context.Context, _ *tfprotov6.WriteStateBytesStream) (*tfprotov6.WriteStateBytesResponse, error) {
	f.handle(ctx, "WriteStateBytes")
	return nil, nil
}

func (f *fakeServer) GetStates(ctx context.Context, _ *tfprotov6.GetStatesRequest) (*tfprotov6.GetStatesResponse, error) {
	f.handle(ctx, "GetStates")
	return nil, nil
}

func (f *fakeServer) DeleteState(ctx context.Context, _ *tfprotov6.DeleteStateRequest) (*tfprotov6.DeleteStateResponse, error) {
	f.handle(ctx, "DeleteState")
	return nil, nil
}

func (f *fakeServer) LockState(ctx context.Context, _ *tfprotov6.LockStateRequest) (*tfprotov6.LockStateResponse, error) {
	f.handle(ctx, "LockState")
	return nil, nil
}

func (f *fakeServer) UnlockState(ctx context.Context, _ *tfprotov6.UnlockStateRequest) (*tfprotov6.UnlockStateResponse, error) {
	f.handle(ctx, "UnlockState")
	return nil, nil
}

// requestMethods are the names of every method of the server interface
// but StopProvider.
func requestMethods() []string {
	t := reflect.TypeFor[frameworkServer]()
	var names []string
	for i := range t.NumMethod() {
		if n := t.Method(i).Name; n != "StopProvider" {
			names = append(names, n)
		}
	}
	return names
}

// call invokes method name on s with a zero request, and runs its stream to
// the end if it returns one, as tf6server does.
func call(ctx context.Context, s tfprotov6.ProviderServer, name string) {
	m := reflect.ValueOf(s).MethodByName(name)
	out := m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.New(m.Type().In(1).Elem())})
	resp := out[0]
	if resp.IsNil() {
		return
	}
	if f := resp.Elem().Field(0); f.Kind() == reflect.Func {
		yield := reflect.MakeFunc(f.Type().In(0), func([]reflect.Value) []reflect.Value {
			return []reflect.Value{reflect.ValueOf(true)}
		})
		f.Call([]reflect.Value{yield})
	}
}

// The wrapper's clearing never cancels a request in flight, streams
// included, and every method runs under its read lock.
func TestContextRelease_neverCancelsARunningRequest(t *testing.T) {
	t.Parallel()
	f, w := newFake(false)
	go func() {
		for range f.started {
		}
	}()
	names := requestMethods()
	// Workers pause between requests, as Terraform does, so that the
	// wrapper finds idle moments to clear in.
	const workers, perWorker = 6, 150
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				call(t.Context(), w, names[(g*perWorker+i)%len(names)])
				time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	call(t.Context(), w, "GetMetadata") // alone: its end clears
	close(f.started)

	if n := f.cancelled.Load(); n != 0 {
		t.Errorf("%d of %d requests saw their context cancelled while running", n, workers*perWorker+1)
	}
	if n := f.unlocked.Load(); n != 0 {
		t.Errorf("%d requests ran without the wrapper's read lock", n)
	}
	if n := f.stops.Load(); n < 10 {
		t.Errorf("the wrapper cleared the registered contexts only %d times: the test proves little", n)
	}
	if n := f.registered(); n != 0 {
		t.Errorf("%d contexts still registered after the last request ended alone", n)
	}
	for _, n := range names {
		if f.called[n] == 0 {
			t.Errorf("%s was never forwarded to the inner server", n)
		}
	}
	t.Logf("%d requests, %d clears", workers*perWorker+1, f.stops.Load())
}

// A StopProvider from Terraform cancels every request in flight at once,
// whatever the method.
func TestContextRelease_stopProviderCancelsInFlight(t *testing.T) {
	t.Parallel()
	f, w := newFake(true)
	names := requestMethods()
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() { call(t.Context(), w, n) })
	}
	for range names {
		select {
		case <-f.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests started", f.inFlight.Load(), len(names))
		}
	}
	if f.stops.Load() != 0 {
		t.Fatalf("the wrapper cleared contexts while %d requests were in flight", f.inFlight.Load())
	}
	start := time.Now()
	if _, err := w.StopProvider(t.Context(), &tfprotov6.StopProviderRequest{}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := f.cancelled.Load(); n != int64(len(names)) {
		t.Errorf("StopProvider cancelled %d of the %d requests in flight", n, len(names))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the requests took %s to end after StopProvider", d)
	}
}

// retained counts how many of n requests' contexts, each carrying its own
// value, are still reachable after the requests have ended.
func retained(t *testing.T, s tfprotov6.ProviderServer, n int) int {
	t.Helper()
	return retainedBy(t, n, func(ctx context.Context) {
		if _, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
			t.Fatal(err)
		}
	})
}

// With the wrapper, the framework keeps no finished request's context.
func TestContextRelease_releasesFrameworkContexts(t *testing.T) {
	t.Parallel()
	s := releaseContexts(providerserver.NewProtocol6(testProvider())())
	if _, ok := s.(*contextReleaser); !ok {
		t.Fatalf("the framework's server (%T) lacks a method the wrapper needs: the workaround is off", providerserver.NewProtocol6(testProvider())())
	}
	if n := retained(t, s, 200); n > 1 {
		t.Errorf("%d of 200 finished requests' contexts are still reachable through the wrapper", n)
	}
}

// The framework still keeps every request's context: the retained-contexts
// canary. When this fails, the framework has fixed the leak: delete
// context_release.go (see its comment).
func TestContextRelease_frameworkStillLeaks(t *testing.T) {
	t.Parallel()
	s := providerserver.NewProtocol6(testProvider())()
	if n := retained(t, s, 200); n < 200 {
		t.Errorf("only %d of 200 finished requests' contexts are still reachable without the wrapper: "+
			"the framework no longer retains them, so context_release.go can go", n)
	}
}

// The acceptance tests' factory and Serve wrap the framework's server.
func TestContextRelease_factoryWraps(t *testing.T) {
	t.Parallel()
	s, err := NewProtocol6WithError(testProvider())()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*contextReleaser); !ok {
		t.Fatalf("NewProtocol6WithError served %T, not the wrapper", s)
	}
	if n := retained(t, s, 100); n > 1 {
		t.Errorf("%d of 100 finished requests' contexts are still reachable through the factory's server", n)
	}
}

// blockingResource's Read waits until release is closed or its context is
// cancelled, and reports which on done.
type blockingResource struct {
	release <-chan struct{}
	started chan<- struct{}
	done    chan<- bool // true: cancelled
}

func (*blockingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_block"
}

func (*blockingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = rschema.Schema{Attributes: map[string]rschema.Attribute{"id": rschema.StringAttribute{Computed: true}}}
}

func (r *blockingResource) Read(ctx context.Context, _ resource.ReadRequest, _ *resource.ReadResponse) {
	r.started <- struct{}{}
	select {
	case <-r.release:
		r.done <- ctx.Err() != nil
	case <-ctx.Done():
		r.done <- true
	}
}

func (*blockingResource) Create(context.Context, resource.CreateRequest, *resource.CreateResponse) {}
func (*blockingResource) Update(context.Context, resource.UpdateRequest, *resource.UpdateResponse) {}
func (*blockingResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

type blockingProvider struct{ res *blockingResource }

// testProvider is a framework provider with one resource, test_block, and
// one action, test_count.
func testProvider() fwprovider.Provider {
	return blockingProvider{&blockingResource{}}
}

var _ fwprovider.ProviderWithActions = blockingProvider{}

func (blockingProvider) Metadata(_ context.Context, _ fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	resp.TypeName = "test"
}
func (blockingProvider) Schema(context.Context, fwprovider.SchemaRequest, *fwprovider.SchemaResponse) {
}
func (blockingProvider) Configure(context.Context, fwprovider.ConfigureRequest, *fwprovider.ConfigureResponse) {
}
func (blockingProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
func (p blockingProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return p.res }}
}
func (blockingProvider) Actions(context.Context) []func() action.Action {
	return []func() action.Action{func() action.Action { return countAction{} }}
}

// countAction, test_count, reports three progress events.
type countAction struct{}

func (countAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_count"
}

func (countAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = aschema.Schema{}
}

func (countAction) Invoke(_ context.Context, _ action.InvokeRequest, resp *action.InvokeResponse) {
	for i := range 3 {
		resp.SendProgress(action.InvokeProgressEvent{Message: fmt.Sprint(i)})
	}
}

// With the real framework: while a Read is in flight, other requests come
// and go without cancelling it; once it is done, a real StopProvider cancels
// the Reads then in flight.
func TestContextRelease_realFramework(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started, done := make(chan struct{}, 10), make(chan bool, 10)
	s := releaseContexts(providerserver.NewProtocol6(blockingProvider{&blockingResource{release, started, done}})())
	objType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"id": tftypes.String}}
	state, err := tfprotov6.NewDynamicValue(objType, tftypes.NewValue(objType, map[string]tftypes.Value{"id": tftypes.NewValue(tftypes.String, "x")}))
	if err != nil {
		t.Fatal(err)
	}
	read := func() {
		resp, err := s.ReadResource(t.Context(), &tfprotov6.ReadResourceRequest{TypeName: "test_block", CurrentState: &state})
		if err != nil || len(resp.Diagnostics) > 0 {
			t.Errorf("ReadResource: %v %v", err, resp.Diagnostics)
		}
	}
	var wg sync.WaitGroup
	wg.Go(read)
	<-started
	for range 50 {
		if _, err := s.GetProviderSchema(t.Context(), &tfprotov6.GetProviderSchemaRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if <-done {
		t.Error("a Read in flight was cancelled by the wrapper's clearing")
	}
	wg.Wait()

	// Now three Reads that only a StopProvider can end.
	release = make(chan struct{}) // never closed
	s = releaseContexts(providerserver.NewProtocol6(blockingProvider{&blockingResource{release, started, done}})())
	for range 3 {
		wg.Go(read)
		<-started
	}
	if _, err := s.StopProvider(t.Context(), &tfprotov6.StopProviderRequest{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case cancelled := <-done:
			if !cancelled {
				t.Error("a Read ended without its context cancelled")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("StopProvider did not cancel the Reads in flight")
		}
	}
	wg.Wait()
}

// retainedBy counts how many of n calls' contexts, each carrying its own
// value, are still reachable after the calls (their streams run to the
// end) have returned.
func retainedBy(t *testing.T, n int, do func(ctx context.Context)) int {
	t.Helper()
	type key struct{}
	ptrs := make([]weak.Pointer[[4096]byte], n)
	for i := range n {
		v := new([4096]byte)
		ptrs[i] = weak.Make(v)
		do(context.WithValue(t.Context(), key{}, v))
	}
	runtime.GC()
	runtime.GC()
	alive := 0
	for _, p := range ptrs {
		if p.Value() != nil {
			alive++
		}
	}
	return alive
}

// The streaming requests, ListResource and InvokeAction, release their
// contexts too once their stream has run out, on the real framework (which
// without the wrapper keeps every one of them). The action's stream carries
// its three progress events and the completion; the list's carries the
// framework's own error (the test provider has no list resource), which ends
// the stream the same way.
func TestContextRelease_streamsReleaseTheirContexts(t *testing.T) {
	t.Parallel()
	emptyObject := tftypes.Object{AttributeTypes: map[string]tftypes.Type{}}
	config, err := tfprotov6.NewDynamicValue(emptyObject, tftypes.NewValue(emptyObject, map[string]tftypes.Value{}))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func(s tfprotov6.ProviderServer, ctx context.Context){
		"ListResource": func(s tfprotov6.ProviderServer, ctx context.Context) {
			ls, ok := s.(tfprotov6.ListResourceServer)
			if !ok {
				t.Fatal("the server serves no list resources")
			}
			resp, err := ls.ListResource(ctx, &tfprotov6.ListResourceRequest{TypeName: "test_block", Config: &config})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for r := range resp.Results {
				n++
				if len(r.Diagnostics) != 1 || r.Diagnostics[0].Summary != "List Resource Type Not Found" {
					t.Fatalf("ListResource: %+v, want the framework's List Resource Type Not Found", r.Diagnostics)
				}
			}
			if n != 1 {
				t.Fatalf("ListResource streamed %d results, want 1", n)
			}
		},
		"InvokeAction": func(s tfprotov6.ProviderServer, ctx context.Context) {
			as, ok := s.(tfprotov6.ActionServer)
			if !ok {
				t.Fatal("the server serves no actions")
			}
			resp, err := as.InvokeAction(ctx, &tfprotov6.InvokeActionRequest{ActionType: "test_count", Config: &config})
			if err != nil {
				t.Fatal(err)
			}
			var progress, completed int
			for e := range resp.Events {
				switch ev := e.Type.(type) {
				case tfprotov6.ProgressInvokeActionEventType:
					progress++
				case tfprotov6.CompletedInvokeActionEventType:
					completed++
					if len(ev.Diagnostics) > 0 {
						t.Fatalf("InvokeAction: %+v", ev.Diagnostics)
					}
				}
			}
			if progress != 3 || completed != 1 {
				t.Fatalf("InvokeAction streamed %d progress and %d completed events, want 3 and 1", progress, completed)
			}
		},
	} {
		wrapped := releaseContexts(providerserver.NewProtocol6(testProvider())())
		if n := retainedBy(t, 100, func(ctx context.Context) { call(wrapped, ctx) }); n > 1 {
			t.Errorf("%s: %d of 100 finished streams' contexts are still reachable through the wrapper", name, n)
		}
		bare := providerserver.NewProtocol6(testProvider())()
		if n := retainedBy(t, 100, func(ctx context.Context) { call(bare, ctx) }); n < 100 {
			t.Errorf("%s: without the wrapper only %d of 100 contexts are retained: the test proves nothing", name, n)
		}
	}
}

// earlyStream is the fake with an InvokeAction stream of three events.
type earlyStream struct {
	*fakeServer
	yielded atomic.Int64
}

func (e *earlyStream) InvokeAction(ctx context.Context, _ *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	e.register(ctx, "InvokeAction")
	return &tfprotov6.InvokeActionServerStream{Events: func(yield func(tfprotov6.InvokeActionEvent) bool) {
		for range 3 {
			e.yielded.Add(1)
			if !yield(tfprotov6.InvokeActionEvent{}) {
				return
			}
		}
	}}, nil
}

// An InvokeAction stream that its reader ends early (yield returns false,
// as when Terraform stops reading) still ends the request: the read lock is
// released and the contexts are cleared.
func TestContextRelease_streamEndedEarly(t *testing.T) {
	t.Parallel()
	f := &fakeServer{called: map[string]int{}, started: make(chan struct{}, 100)}
	e := &earlyStream{fakeServer: f}
	w := &contextReleaser{inner: e}
	f.wrapper = w
	resp, err := w.InvokeAction(t.Context(), &tfprotov6.InvokeActionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for range resp.Events {
		break // the reader stops after the first event
	}
	if n := e.yielded.Load(); n != 1 {
		t.Errorf("the stream went on for %d events after its reader stopped", n)
	}
	if !w.mu.TryLock() {
		t.Fatal("the read lock is still held after the stream ended early: no clear can ever run again")
	}
	w.mu.Unlock()
	if f.stops.Load() != 1 || f.registered() != 0 {
		t.Errorf("after the early end: %d clears, %d contexts registered; want 1 and 0", f.stops.Load(), f.registered())
	}
}

// After the wrapper's own StopProvider (a clear, when a request ends
// alone), the real framework serves the next requests as usual: nothing
// stopped, nothing cancelled.
func TestContextRelease_requestAfterAClear(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	close(release) // Reads return at once
	started, done := make(chan struct{}, 10), make(chan bool, 10)
	s := releaseContexts(providerserver.NewProtocol6(blockingProvider{&blockingResource{release, started, done}})())
	w, ok := s.(*contextReleaser)
	if !ok {
		t.Fatal("not wrapped")
	}
	objType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"id": tftypes.String}}
	state, err := tfprotov6.NewDynamicValue(objType, tftypes.NewValue(objType, map[string]tftypes.Value{"id": tftypes.NewValue(tftypes.String, "x")}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.GetProviderSchema(t.Context(), &tfprotov6.GetProviderSchemaRequest{}); err != nil {
			t.Fatal(err)
		}
		// The clear ran: the lock is free and the framework holds no context.
		if !w.mu.TryLock() {
			t.Fatal("the read lock is held with no request in flight")
		}
		w.mu.Unlock()
		resp, err := s.ReadResource(t.Context(), &tfprotov6.ReadResourceRequest{TypeName: "test_block", CurrentState: &state})
		if err != nil || len(resp.Diagnostics) > 0 || resp.NewState == nil {
			t.Fatalf("read %d after a clear: %v %v", i, err, resp.Diagnostics)
		}
		<-started
		if <-done {
			t.Errorf("read %d after a clear ran with a cancelled context", i)
		}
	}
}
