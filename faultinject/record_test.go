package faultinject_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fi "github.com/retrylab/retrylab/faultinject"
)

func TestRecorderWritesAReplayableScenario(t *testing.T) {
	n := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Set-Cookie", "session=secret")
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/users/7" && n == 1 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"path": "`+r.URL.Path+`"}`)
	}))
	defer up.Close()
	rec, err := fi.NewRecorder(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(rec)
	defer front.Close()
	for _, p := range []string{"/users/7", "/users/7", "/users/8", "/orders/6f1c2b3a-1d2e-4f50-9a6b-7c8d9e0f1a2b/items"} {
		resp, err := http.Get(front.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p != "/users/7" || resp.StatusCode == 200 {
			if !strings.Contains(string(body), p) {
				t.Errorf("%s: relayed %q", p, body)
			}
		}
	}
	if rec.Len() != 4 {
		t.Errorf("recorded %d responses, want 4", rec.Len())
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "recorded.yaml")
	if err := rec.WriteScenario(file, "recorded"); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(file)
	if strings.Contains(string(text), "secret") || strings.Contains(string(text), "Set-Cookie") {
		t.Errorf("a secret was written:\n%s", text)
	}
	// Replay it offline, from another working directory.
	s, err := fi.LoadScenario(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var routes []string
	for _, r := range s.Routes {
		routes = append(routes, r.Pattern)
	}
	if strings.Join(routes, " | ") != "GET /orders/{id}/items | GET /users/{id}" {
		t.Errorf("routes %q", routes)
	}
	srv := fi.NewPipeServer(s)
	defer srv.Close()
	var got []string
	for _, p := range []string{"/users/1", "/users/1", "/users/1"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, resp.Status[:3]+" "+string(b))
	}
	want := []string{"503 ", `200 {"path": "/users/7"}`, `200 {"path": "/users/8"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replayed:\n%s\nwant:\n%s\nscenario:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), text)
	}
}

func TestRecorderBadInput(t *testing.T) {
	if _, err := fi.NewRecorder("ftp://x"); err == nil {
		t.Error("an ftp upstream was accepted")
	}
	rec, _ := fi.NewRecorder("http://127.0.0.1:9")
	if err := rec.WriteScenario(filepath.Join(t.TempDir(), "x.yaml"), "x"); err == nil || !strings.Contains(err.Error(), "nothing was recorded") {
		t.Errorf("empty recording: %v", err)
	}
}
