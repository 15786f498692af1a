package httpapi

import (
	"net/http"
	"strings"

	"hangar/internal/core"
)

// MetricsPath is where Config.Metrics is served.
const MetricsPath = "/metrics"

// operatorOnly serves h only to a caller presenting an operator's API key, in x-api-key or as
// Authorization: Bearer (what Prometheus's authorization setting sends). Any other caller gets
// 401 in the Paperspace shape: no key, an unknown key, and a team user's valid key alike. A
// team key is refused with 401 rather than the 403 of the operator API because the issue asks
// for "answered only to the operator's key; 401 otherwise": to a scraper the endpoint either
// accepts its credentials or it does not, and the answer then tells nothing about whether a
// given key is a valid team key.
func (s *Server) operatorOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writeError(w, r, core.Errorf(core.NotFound, "Cannot %s %s", r.Method, r.URL.Path))
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.method, sw.pattern = http.MethodGet, MetricsPath
		}
		denied := func() {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hangar metrics"`)
			s.writeError(w, r, core.Errorf(core.Unauthorized,
				"Metrics require the operator's API key: send it in an x-api-key header or as Authorization: Bearer"))
		}
		key := metricsKey(r)
		if key == "" {
			denied()
			return
		}
		pr, err := s.svc.Authenticate(r.Context(), key)
		switch {
		case core.ErrorCode(err) == core.Unauthorized:
			denied()
			return
		case err != nil:
			s.writeError(w, r, err)
			return
		}
		if err := s.lim.allowKey(key); err != nil {
			s.writeError(w, r, err)
			return
		}
		if pr.User.Role != core.RoleOperator {
			denied()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// metricsKey is the API key of a metrics request: the x-api-key header, else the token of an
// Authorization: Bearer header (the scheme name is case-insensitive, RFC 9110 §11.1).
func metricsKey(r *http.Request) string {
	if key := strings.TrimSpace(r.Header.Get("x-api-key")); key != "" {
		return key
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(auth) > len("Bearer ") && strings.EqualFold(auth[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(auth[len("Bearer "):])
	}
	return ""
}
