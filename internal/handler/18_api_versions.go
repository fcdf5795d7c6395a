package handler

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(kmsg.ApiVersions.Int16(), 0, -1, serveApiVersions)
}

const unsupportedVersion = true

// clientSoftwareRe is Kafka's rule for ApiVersions v3+ client software name
// and version (KIP-511): alphanumerics, '-' and '.', starting and ending
// with an alphanumeric.
var clientSoftwareRe = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func serveApiVersions(h *Handler, c *Context, req *kmsg.ApiVersionsRequest) {
	if c.Version() >= 3 &&
		(!clientSoftwareRe.MatchString(req.ClientSoftwareName) || !clientSoftwareRe.MatchString(req.ClientSoftwareVersion)) {
		resp := apiVersionsResponse(c.Version(), false)
		resp.ErrorCode = kerr.InvalidRequest.Code
		c.respond(resp)
		return
	}
	c.respond(apiVersionsResponse(c.Version(), false))
}

// apiVersionsResponse lists every API this broker serves with its version
// range. With unsupported set it carries UNSUPPORTED_VERSION: the answer to
// an ApiVersions request newer than ours (sent as v0, which every client
// reads), still listing our ranges so the client can pick a version.
func apiVersionsResponse(version int16, unsupported bool) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(version)
	if unsupported {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
	}
	for _, a := range supportedAPIs() {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.key, a.min, a.max
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	return resp
}
