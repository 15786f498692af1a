// Package web is Hangar's web console: server-rendered pages under /console/ over the service
// layer, with the API's own authorization (every call passes the signed-in principal to the
// same service method an API route calls), its templates and assets embedded in the binary.
//
// Sessions are revocable credentials of their own (service.SignIn): the cookie is HttpOnly,
// SameSite=Strict and Secure behind TLS, and every request authenticates it again, so signing
// out, revoking the session key or the key it was started with, or its expiry ends it at once.
// Every state-changing form carries a synchronizer token derived from the session, and
// cross-site requests are refused by their Origin and Sec-Fetch-Site headers. Pages are sent
// with a strict Content-Security-Policy (no inline script or style); tenant strings go through
// html/template and, in live updates, through textContent only.
//
// Live views use server-sent events fed by a changes.Hub: a stream does nothing until a
// machine of its team changes, then reads that machine through the service (visibility
// included) and sends it.
package web
