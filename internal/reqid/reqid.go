// Package reqid carries the id of the request being served through a context, so that the
// HTTP layer, the service and the logs name the same request.
package reqid

import "context"

type key struct{}

// With returns a copy of ctx that carries id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
