package users

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// User is a user of the API.
type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Client calls the users API through HTTP, whose transport decides retries.
// A Client is safe for concurrent use.
type Client struct {
	HTTP    *http.Client
	BaseURL string
}

// StatusError is an answer other than the one expected.
type StatusError struct{ Status int }

// Error says which status arrived.
func (e *StatusError) Error() string {
	return fmt.Sprintf("users: unexpected status %d %s", e.Status, http.StatusText(e.Status))
}

// Get fetches a user.
func (c *Client) Get(ctx context.Context, id int) (User, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/users/%d", c.BaseURL, id), nil)
	if err != nil {
		return User{}, err
	}
	var u User
	return u, c.do(req, http.StatusOK, &u)
}

// Rename renames a user with a POST. A non-empty idempotencyKey makes the
// request safe to retry; the same key must be used for every attempt of one
// logical rename.
func (c *Client) Rename(ctx context.Context, id int, name, idempotencyKey string) (User, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/users/%d/rename", c.BaseURL, id), strings.NewReader(string(body)))
	if err != nil {
		return User{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	var u User
	return u, c.do(req, http.StatusOK, &u)
}

func (c *Client) do(req *http.Request, want int, into any) error {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		_, _ = io.Copy(io.Discard, resp.Body)
		return &StatusError{Status: resp.StatusCode}
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
