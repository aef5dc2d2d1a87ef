package http1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRoute(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/users/123/orders/9f86d081884c7d659a2feaa0c55ad015", "/users/{id}/orders/{id}"},
		{"/", "/"},
		{"", ""},
		{"*", "*"},
		{"/v1/users/42", "/v1/users/{id}"},
		{"/api/v2/items", "/api/v2/items"},
		{"/api/v2beta1/items/7", "/api/v2beta1/items/{id}"},
		{"/v1.2/x", "/v1.2/x"},
		{"/items/550e8400-e29b-41d4-a716-446655440000", "/items/{id}"},
		{"/items/550E8400E29B41D4A716446655440000/", "/items/{id}/"},
		{"/objects/507f1f77bcf86cd799439011", "/objects/{id}"}, // Mongo ObjectId
		{"/v2/app/blobs/sha256:9f86d081884c7d659a2feaa0c55ad0159f86d081884c7d659a2feaa0c55ad015", "/v2/app/blobs/{id}"},
		{"/sha256", "/sha256"},
		{"/u/ab12cd34", "/u/{id}"},
		{"/u/user12345/profile", "/u/{id}/profile"},
		{"/covid19-stats", "/covid19-stats"},
		{"/oauth2/callback", "/oauth2/callback"},
		{"/x86_64/packages", "/x86_64/packages"},
		{"/ipv6-addresses", "/ipv6-addresses"},
		{"/reports/2024-01-15", "/reports/{id}"},
		{"/pkg/1.2.3/files", "/pkg/{id}/files"},
		{"/t/eyJhbGciOiJIUzI1NiJ9", "/t/{id}"},
		{"/t/dGhpcyBpcyBhIGxvbmcgdG9rZW4=", "/t/{id}"},
		{"/getUserAccountSettings", "/getUserAccountSettings"},
		{"/this-is-a-long-slug-for-an-article", "/this-is-a-long-slug-for-an-article"},
		{"/img/9f86d081884c7d659a2feaa0c55ad015.png", "/img/{id}.png"},
		{"/files/42.json", "/files/{id}.json"},
		{"/index.html", "/index.html"},
		{"/users/jane@example.com", "/users/{id}"},
		{"/users/123?x=1", "/users/{id}"},
		{"/a//b/12", "/a//b/{id}"},
		{"users/12", "users/{id}"},
		{"12", "{id}"},
		{"/deadbeef", "/deadbeef"},
		{"/deadbeefdeadbeef", "/{id}"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Route(tc.in), tc.in)
		got, changed := AppendRoute([]byte("GET "), tc.in)
		assert.Equal(t, "GET "+tc.want, string(got), tc.in)
		trimmed := tc.in
		if i := strings.IndexAny(trimmed, "?#"); i >= 0 {
			trimmed = trimmed[:i]
		}
		assert.Equal(t, tc.want != trimmed, changed, tc.in)
	}
}

func TestRouteNoAllocWhenUnchanged(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _ = Route("/api/v2/items/list") })
	assert.Zero(t, allocs)
	buf := make([]byte, 0, 64)
	allocs = testing.AllocsPerRun(100, func() { buf, _ = AppendRoute(buf[:0], "/api/v2/items/42") })
	assert.Zero(t, allocs)
}
