package handler

import (
	"fmt"
	"log/slog"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/fetchsession"
	"github.com/samsa-streaming/samsa/internal/network"
)

// api describes one request type this broker serves: its key, the version
// range it advertises in ApiVersions and accepts, and the function that
// serves a decoded request. Each API lives in its own file (NN_name.go) and
// registers its api in an init function, so adding an API touches one file.
type api struct {
	key   int16
	name  string
	min   int16
	max   int16
	serve func(h *Handler, c *Context, req kmsg.Request)
}

// registry holds every api, indexed by key. It is written only by init
// functions and read-only afterwards, so it is safe for concurrent reads.
var registry [kmsg.MaxKey + 1]*api

// register adds a to the registry. max < 0 means "the newest version kmsg
// knows", which is how most APIs advertise: kmsg is generated from Kafka's
// own message definitions, and serving its newest version is what a current
// client negotiates.
func register[R kmsg.Request](key int16, min, max int16, serve func(*Handler, *Context, R)) {
	proto := kmsg.RequestForKey(key)
	if proto == nil {
		panic(fmt.Sprintf("handler: kmsg does not know api key %d", key))
	}
	if max < 0 {
		max = proto.MaxVersion()
	}
	if registry[key] != nil {
		panic(fmt.Sprintf("handler: api key %d registered twice", key))
	}
	registry[key] = &api{
		key:  key,
		name: kmsg.NameForKey(key),
		min:  min,
		max:  max,
		serve: func(h *Handler, c *Context, req kmsg.Request) {
			serve(h, c, req.(R))
		},
	}
}

// supportedAPIs returns the registered apis ordered by key.
func supportedAPIs() []*api {
	var out []*api
	for _, a := range registry {
		if a != nil {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// Handler decodes requests, checks their versions and dispatches them to
// the API that serves them. It implements network.Handler and is safe for
// concurrent use by every connection.
type Handler struct {
	deps          Deps
	log           *slog.Logger
	fetchSessions *fetchsession.Cache // incremental fetch sessions (KIP-227)
	producerIDs   producerIDBlock     // InitProducerId's ids (22_init_producer_id.go)
}

// New returns a Handler serving with deps.
func New(deps Deps) *Handler {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Handler{
		deps:          deps,
		log:           log.With("component", "handler"),
		fetchSessions: newFetchSessionCache(deps.Config),
	}
}

// Handle implements network.Handler. It runs on the connection's reader
// goroutine; every path completes req exactly once.
func (h *Handler) Handle(req *network.Request) {
	hdr := req.Header
	a := apiFor(hdr.APIKey)
	if a == nil {
		// Kafka closes a connection that sends an API key it does not
		// know: there is no response format to answer in.
		h.log.Info("closing connection: unknown api key", "api_key", hdr.APIKey, "remote", req.Conn.RemoteAddr())
		_ = req.CloseConnection()
		return
	}
	if hdr.APIVersion < a.min || hdr.APIVersion > a.max {
		if hdr.APIKey == kmsg.ApiVersions.Int16() {
			// KIP-511: answer an ApiVersions newer than ours with
			// UNSUPPORTED_VERSION and our ranges, in a v0 body that any
			// client can read, so it can retry with a version we speak.
			_ = req.RespondMsg(apiVersionsResponse(0, unsupportedVersion))
			return
		}
		h.log.Info("closing connection: unsupported api version",
			"api", a.name, "version", hdr.APIVersion, "supported", fmt.Sprintf("%d-%d", a.min, a.max),
			"remote", req.Conn.RemoteAddr())
		_ = req.CloseConnection()
		return
	}
	msg := kmsg.RequestForKey(hdr.APIKey)
	msg.SetVersion(hdr.APIVersion)
	if err := msg.ReadFrom(req.Body); err != nil {
		// Kafka closes the connection on a body it cannot parse.
		h.log.Info("closing connection: malformed request body",
			"api", a.name, "version", hdr.APIVersion, "err", err, "remote", req.Conn.RemoteAddr())
		_ = req.CloseConnection()
		return
	}
	c := &Context{Req: req, h: h}
	a.serve(h, c, msg)
}

func apiFor(key int16) *api {
	if key < 0 || int(key) >= len(registry) {
		return nil
	}
	return registry[key]
}

// Context is one request being served: the network request and the
// handler serving it. It is owned by the request's serve function and
// whatever it parks; it is not safe for concurrent use.
type Context struct {
	Req *network.Request
	h   *Handler
}

// Version returns the request's API version.
func (c *Context) Version() int16 { return c.Req.Header.APIVersion }

// Principal returns the identity the request was made with.
func (c *Context) Principal() network.Principal { return c.Req.Principal }

// ClientID returns the request header's client id, or "" if null.
func (c *Context) ClientID() string {
	if c.Req.Header.ClientID == nil {
		return ""
	}
	return *c.Req.Header.ClientID
}

// respond completes the request with resp encoded at the request's version.
func (c *Context) respond(resp kmsg.Response) {
	resp.SetVersion(c.Version())
	if err := c.Req.RespondMsg(resp); err != nil {
		c.h.log.Warn("response not sent", "api", kmsg.NameForKey(resp.Key()), "err", err)
	}
}
